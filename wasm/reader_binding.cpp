// C ABI glue for the GGUF push reader: bytes in, a header (as info JSON) or an error out.
// JS owns the reading (Blob slices, node file reads, async iterables) and feeds chunks; this file
// only wraps gguf_reader in a handle. Nothing here parses or formats on its own.
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "estimate/gguf_info_text.h"
#include "format/gguf_json.h"
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

using wasm_glue::model_handle;

// A count or index from JS (a double): negative and NaN are 0, from 2^64 on (Infinity) the
// largest count.
uint64_t item_count(double v) {
    if (!(v > 0)) return 0;
    if (v >= 18446744073709551616.0) return UINT64_MAX;
    return uint64_t(v);
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
// a truncated file gets, naming the field being read.
EMSCRIPTEN_KEEPALIVE int gs_reader_end(reader_handle* h) {
    if (h->reader.finished()) return 0;
    if (h->error.ok()) h->error = h->reader.end_of_input();
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

// What the reader has parsed so far, finished or not (after an error, or when the input ended
// inside the header), as preview info JSON: the page shows the keys and tensors a truncated file
// still holds. Only complete keys and tensors are in it.
EMSCRIPTEN_KEEPALIVE char* gs_reader_partial_json(reader_handle* h, double max_items) {
    gguf_json_options options;
    options.max_array_items = item_count(max_items);
    return wasm_glue::to_c_string(gguf_header_to_json(h->reader.header(), options));
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
    return wasm_glue::to_c_string(gguf_header_to_json(m->header));
}

// The same with at most `max_items` items per array, cut arrays marked "truncated" (see
// core/format/gguf_json.h); Infinity writes everything.
EMSCRIPTEN_KEEPALIVE char* gs_model_info_json_preview(model_handle* m, double max_items) {
    gguf_json_options options;
    options.max_array_items = item_count(max_items);
    return wasm_glue::to_c_string(gguf_header_to_json(m->header, options));
}

// Items [start, start + count) of the metadata array `key` (key_len bytes) as a JSON array, or
// {error, code} for an unknown key or one that is not an array.
EMSCRIPTEN_KEEPALIVE char* gs_model_array_items_json(model_handle* m, const char* key,
                                                     size_t key_len, double start, double count) {
    result<std::string> items = gguf_array_items_json(m->header, std::string_view(key, key_len),
                                                      item_count(start), item_count(count));
    return wasm_glue::to_c_string(items.ok() ? items.value()
                                             : wasm_glue::error_json(items.error()));
}

// `gguf-squash info` output for one file, as the native CLI prints it: the JSON object on one
// line, or the path and the text summary (both from core/format).
EMSCRIPTEN_KEEPALIVE char* gs_model_info_text(model_handle* m, int json, const char* path) {
    if (json) return wasm_glue::to_c_string(gguf_header_to_json(m->header) + "\n");
    return wasm_glue::to_c_string(std::string(path) + ":\n" + gguf_header_to_text(m->header));
}

EMSCRIPTEN_KEEPALIVE const char* gs_status_name(int code) {
    return status_code_name(status_code(code));
}

EMSCRIPTEN_KEEPALIVE void gs_free_string(char* s) {
    std::free(s);
}

}  // extern "C"
