// C ABI glue for the GGUF push reader: bytes in, a header (as info JSON) or an error out.
// JS owns the reading (Blob slices, node file reads, async iterables) and feeds chunks; this file
// only wraps gguf_reader in a handle. Nothing here parses or formats on its own.
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "format/gguf_reader.h"
#include "glue_json.h"

namespace {

using namespace gguf_squash;

struct reader_handle {
    gguf_reader reader;
    status error;
    uint64_t wanted = 1;
    explicit reader_handle(gguf_reader_options options) : reader(options) {}
};

using wasm_glue::append_json_string;
using wasm_glue::json_number;
using wasm_glue::model_handle;

void append_scalar(std::string& out, gguf_value_type type, const uint8_t* p) {
    uint64_t bits = 0;
    std::memcpy(&bits, p, gguf_value_type_size(type));
    gguf_value v;
    v.type = type;
    v.scalar_bits = bits;
    switch (type) {
        case gguf_value_type::boolean:
            out += bits ? "true" : "false";
            break;
        case gguf_value_type::float32:
        case gguf_value_type::float64: {
            const double d = v.as_f64();
            out += std::isfinite(d) ? json_number(d) : "null";
            break;
        }
        case gguf_value_type::int8:
        case gguf_value_type::int16:
        case gguf_value_type::int32:
        case gguf_value_type::int64:
            out += std::to_string(v.as_i64());
            break;
        default:
            out += std::to_string(v.as_u64());
            break;
    }
}

void append_value(std::string& out, const gguf_value& v) {
    if (v.type == gguf_value_type::string) return append_json_string(out, v.str);
    if (!v.is_array()) {
        uint8_t raw[8];
        std::memcpy(raw, &v.scalar_bits, 8);
        return append_scalar(out, v.type, raw);
    }
    out += '[';
    if (v.item_type == gguf_value_type::string) {
        for (size_t i = 0; i < v.strings.size(); ++i) {
            if (i) out += ',';
            append_json_string(out, v.strings[i]);
        }
    } else if (v.item_type == gguf_value_type::array) {
        for (size_t i = 0; i < v.arrays.size(); ++i) {
            if (i) out += ',';
            append_value(out, v.arrays[i]);
        }
    } else {
        const size_t n = gguf_value_type_size(v.item_type);
        for (size_t i = 0; n && i * n < v.raw_items.size(); ++i) {
            if (i) out += ',';
            append_scalar(out, v.item_type, v.raw_items.data() + i * n);
        }
    }
    out += ']';
}

// The header in the shape of `gguf-squash info --json`: version, alignment, data_offset,
// metadata {key: {type, value} or {type: "ARRAY", item_type, len, value}}, tensors in file order.
std::string header_json(const gguf_header& h) {
    std::string out = "{\"version\":" + std::to_string(h.version) +
                      ",\"alignment\":" + std::to_string(h.alignment) +
                      ",\"data_offset\":" + std::to_string(h.data_offset) + ",\"metadata\":{";
    for (size_t i = 0; i < h.kv.size(); ++i) {
        const gguf_kv& kv = h.kv[i];
        if (i) out += ',';
        append_json_string(out, kv.key);
        out += ":{\"type\":";
        append_json_string(out, gguf_value_type_name(kv.value.type));
        if (kv.value.is_array()) {
            out += ",\"item_type\":";
            append_json_string(out, gguf_value_type_name(kv.value.item_type));
            out += ",\"len\":" + std::to_string(kv.value.count);
        }
        out += ",\"value\":";
        append_value(out, kv.value);
        out += '}';
    }
    out += "},\"tensors\":[";
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const gguf_tensor_info& t = h.tensors[i];
        if (i) out += ',';
        out += "{\"name\":";
        append_json_string(out, t.name);
        out += ",\"type\":";
        append_json_string(out, type_name(t.type));
        out += ",\"shape\":[";
        for (uint32_t d = 0; d < t.n_dims; ++d) out += (d ? "," : "") + std::to_string(t.ne[d]);
        out += "],\"offset\":" + std::to_string(t.offset);
        out += ",\"nbytes\":" + std::to_string(t.nbytes()) + '}';
    }
    out += "]}";
    return out;
}

}  // namespace

extern "C" {

// file_size < 0: unknown (async iterables), which disables the checks against the file's end.
EMSCRIPTEN_KEEPALIVE reader_handle* gs_reader_new(double file_size) {
    gguf_reader_options options;
    if (file_size >= 0) options.file_size = uint64_t(file_size);
    return new (std::nothrow) reader_handle(options);
}

EMSCRIPTEN_KEEPALIVE void gs_reader_free(reader_handle* h) {
    delete h;
}

// Feeds `size` bytes. Returns the status code (0 ok). Afterwards gs_reader_position says how far
// the reader got (bytes past it were not consumed) and gs_reader_wanted what it wants next
// (0 once the header is complete).
EMSCRIPTEN_KEEPALIVE int gs_reader_feed(reader_handle* h, const uint8_t* data, size_t size) {
    input_span in{data, size, 0};
    result<size_t> r = h->reader.feed(in);
    if (!r.ok()) {
        h->error = r.error();
        return int(h->error.code());
    }
    h->wanted = r.value();
    return 0;
}

// The input ended. Returns 0 if the header was complete, else records (and returns) the error
// a truncated file gets, with the offset where the bytes ran out.
EMSCRIPTEN_KEEPALIVE int gs_reader_end(reader_handle* h) {
    if (h->reader.finished()) return 0;
    if (h->error.ok())
        h->error = invalid_file_at("header", h->reader.position(),
                                   "file is truncated: it ends before the header is complete");
    return int(h->error.code());
}

EMSCRIPTEN_KEEPALIVE double gs_reader_position(reader_handle* h) {
    return double(h->reader.position());
}
EMSCRIPTEN_KEEPALIVE double gs_reader_wanted(reader_handle* h) {
    return double(h->wanted);
}
EMSCRIPTEN_KEEPALIVE int gs_reader_finished(reader_handle* h) {
    return h->reader.finished();
}
EMSCRIPTEN_KEEPALIVE const char* gs_reader_error(reader_handle* h) {
    return h->error.message().c_str();
}

// Hands the finished header over to a model handle (the reader keeps nothing).
EMSCRIPTEN_KEEPALIVE model_handle* gs_reader_take_model(reader_handle* h) {
    if (!h->reader.finished()) return nullptr;
    model_handle* m = new (std::nothrow) model_handle;
    if (m) m->header = h->reader.take_header();
    return m;
}

// The model's header as info JSON (malloc'd; JS frees it with gs_free_string).
EMSCRIPTEN_KEEPALIVE char* gs_model_info_json(model_handle* m) {
    return wasm_glue::to_c_string(header_json(m->header));
}

// `gguf-squash info` output for one file: JSON (json != 0) or text.
// TODO(web): switch to core/format/gguf_json.h once it lands, so the output matches the native CLI.
EMSCRIPTEN_KEEPALIVE char* gs_model_info_text(model_handle* m, int json, const char* path) {
    if (json) return wasm_glue::to_c_string(header_json(m->header) + "\n");
    std::string out = std::string(path) + ": GGUF v" + std::to_string(m->header.version) + ", " +
                      std::to_string(m->header.kv.size()) + " keys, " +
                      std::to_string(m->header.tensors.size()) + " tensors\n";
    return wasm_glue::to_c_string(out);
}

EMSCRIPTEN_KEEPALIVE const char* gs_status_name(int code) {
    return status_code_name(status_code(code));
}

EMSCRIPTEN_KEEPALIVE void gs_free_string(char* s) {
    std::free(s);
}

}  // extern "C"
