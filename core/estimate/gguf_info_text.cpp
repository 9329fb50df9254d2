#include "gguf_info_text.h"

#include <cstdio>
#include <cstring>

#include "format/gguf_json.h"
#include "plan/llama_ftype.h"

namespace gguf_squash {
namespace {

constexpr size_t kMaxShownBytes = 80;

// A string as one printable line: JSON escapes without the quotes, cut on a UTF-8 boundary.
std::string printable(std::string_view s) {
    std::string quoted;
    append_json_string(quoted, s);
    std::string body = quoted.substr(1, quoted.size() - 2);
    if (body.size() <= kMaxShownBytes) return body;
    size_t cut = kMaxShownBytes;
    while (cut > 0 && (uint8_t(body[cut]) & 0xc0) == 0x80) --cut;  // not inside a character
    return body.substr(0, cut) + "...";
}

std::string scalar_text(const gguf_value& v) {
    switch (v.type) {
        case gguf_value_type::float32:
            return format_float32(float(v.as_f64()));
        case gguf_value_type::float64:
            return format_float64(v.as_f64());
        case gguf_value_type::boolean:
            return v.as_bool() ? "true" : "false";
        case gguf_value_type::string:
            return printable(v.str);
        case gguf_value_type::int8:
        case gguf_value_type::int16:
        case gguf_value_type::int32:
        case gguf_value_type::int64:
            return std::to_string(v.as_i64());
        default:
            return std::to_string(v.as_u64());
    }
}

std::string value_text(const gguf_value& v) {
    if (!v.is_array()) return scalar_text(v);
    return std::string(gguf_value_type_name(v.item_type)) + "[" + std::to_string(v.count) + "]";
}

std::string pad_right(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1024.0 * 1024.0));
    return buf;
}

}  // namespace

std::string gguf_header_to_text(const gguf_header& h) {
    std::string out;
    uint64_t data_bytes = 0;
    for (const gguf_tensor_info& t : h.tensors) data_bytes += t.nbytes();
    out += "GGUF version " + std::to_string(h.version) + ", alignment " +
           std::to_string(h.alignment) + ", data section at byte " + std::to_string(h.data_offset) +
           "\n";
    out += std::to_string(h.kv.size()) + " metadata keys, " + std::to_string(h.tensors.size()) +
           " tensors, " + std::to_string(data_bytes) + " bytes of tensor data (" + mib(data_bytes) +
           ")\n";

    // The interesting metadata, under the architecture's own key prefix.
    const std::string arch = h.get_string("general.architecture").value_or("");
    struct shown {
        const char* label;
        std::string key;
    };
    const shown interesting[] = {
        {"architecture", "general.architecture"},
        {"name", "general.name"},
        {"context length", arch + ".context_length"},
        {"embedding length", arch + ".embedding_length"},
        {"layers", arch + ".block_count"},
        {"feed forward length", arch + ".feed_forward_length"},
        {"heads", arch + ".attention.head_count"},
        {"KV heads", arch + ".attention.head_count_kv"},
        {"vocabulary size", "tokenizer.ggml.tokens"},
        {"file type", "general.file_type"},
    };
    for (const shown& s : interesting) {
        const gguf_value* v = h.find(s.key);
        if (!v) continue;
        std::string text = v->is_array() ? std::to_string(v->count) : scalar_text(*v);
        if (s.key == "general.file_type" && v->is_integer())
            text += " (" + ftype_display_name(llama_ftype(uint32_t(v->as_u64()))) + ")";
        out += "  " + pad_right(std::string(s.label) + ":", 22) + text + "\n";
    }

    out += "metadata:\n";
    size_t key_width = 0;
    for (const gguf_kv& kv : h.kv) key_width = std::max(key_width, printable(kv.key).size());
    for (const gguf_kv& kv : h.kv) {
        out += "  " + pad_right(printable(kv.key), key_width + 2) +
               pad_right(gguf_value_type_name(kv.value.type), 9) + value_text(kv.value) + "\n";
    }

    if (!h.tensors.empty()) {
        out += "tensors:\n";
        size_t name_width = 4;
        for (const gguf_tensor_info& t : h.tensors)
            name_width = std::max(name_width, printable(t.name).size());
        const size_t index_width = std::to_string(h.tensors.size()).size();
        out += "  " + pad_right("#", index_width + 2) + pad_right("name", name_width + 2) +
               pad_right("type", 9) + pad_right("shape", 24) + pad_right("offset", 14) + "bytes\n";
        for (size_t i = 0; i < h.tensors.size(); ++i) {
            const gguf_tensor_info& t = h.tensors[i];
            std::string shape;
            for (uint32_t d = 0; d < t.n_dims && d < kMaxTensorDims; ++d)
                shape += (d ? " x " : "") + std::to_string(t.ne[d]);
            const ggml_type_info* info = ggml_type_lookup(uint32_t(t.type));
            out += "  " + pad_right(std::to_string(i), index_width + 2) +
                   pad_right(printable(t.name), name_width + 2) +
                   pad_right(info ? info->name : "?", 9) + pad_right(shape, 24) +
                   pad_right(std::to_string(t.offset), 14) +
                   std::to_string(info && info->valid ? t.nbytes() : 0) + "\n";
        }
    }
    return out;
}

}  // namespace gguf_squash
