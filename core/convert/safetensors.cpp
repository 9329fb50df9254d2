#include "convert/safetensors.h"

#include <algorithm>

#include "convert/json_value.h"

namespace gguf_squash::convert {

namespace {

struct dtype_entry {
    const char* name;
    st_dtype dtype;
    uint32_t size;
};

constexpr dtype_entry kDtypes[] = {
    {"F64", st_dtype::f64, 8},         {"F32", st_dtype::f32, 4},
    {"F16", st_dtype::f16, 2},         {"BF16", st_dtype::bf16, 2},
    {"I64", st_dtype::i64, 8},         {"I32", st_dtype::i32, 4},
    {"I16", st_dtype::i16, 2},         {"I8", st_dtype::i8, 1},
    {"U8", st_dtype::u8, 1},           {"BOOL", st_dtype::boolean, 1},
    {"F8_E4M3", st_dtype::f8_e4m3, 1}, {"F8_E5M2", st_dtype::f8_e5m2, 1},
};

constexpr uint64_t kMaxHeaderLength = uint64_t(100) << 20;  // the safetensors library's limit

status bad(const std::string& file, const std::string& field, const std::string& why) {
    return make_error(status_code::invalid_file,
                      file + ": safetensors header: " + field + ": " + why);
}

}  // namespace

const char* st_dtype_name(st_dtype dtype) {
    for (const auto& e : kDtypes)
        if (e.dtype == dtype) return e.name;
    return "?";
}

uint32_t st_dtype_size(st_dtype dtype) {
    for (const auto& e : kDtypes)
        if (e.dtype == dtype) return e.size;
    return 0;
}

uint64_t st_tensor::n_elements() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
}

result<uint64_t> safetensors_header_length(const uint8_t* first8, uint64_t file_size,
                                           const std::string& file) {
    if (file_size < 8) return bad(file, "length", "file shorter than 8 bytes");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | first8[i];
    if (n > kMaxHeaderLength)
        return bad(file, "length", std::to_string(n) + " bytes is over 100 MiB");
    if (n > file_size - 8)
        return bad(file, "length",
                   std::to_string(n) + " bytes, but the file has " + std::to_string(file_size - 8) +
                       " after the length");
    return n;
}

result<st_header> parse_safetensors_header(std::string_view json, uint64_t file_size,
                                           const std::string& file) {
    auto doc = parse_json(json, file + " (safetensors header)");
    if (!doc) return doc.error();
    if (!doc->is_object()) return bad(file, "header", "not a JSON object");
    st_header h;
    h.header_length = json.size();
    h.data_offset = 8 + json.size();
    if (h.data_offset > file_size)
        return bad(file, "length", "header runs past the end of the file");
    const uint64_t data_size = file_size - h.data_offset;
    for (const auto& [name, meta] : doc->members()) {
        if (name == "__metadata__") continue;
        const std::string field = "tensor '" + name + "'";
        if (!meta.is_object()) return bad(file, field, "not an object");
        const json_value* dtype = meta.find("dtype");
        const json_value* shape = meta.find("shape");
        const json_value* offsets = meta.find("data_offsets");
        if (!dtype || !dtype->is_string())
            return bad(file, field + ".dtype", "missing or not a string");
        if (!shape || !shape->is_array())
            return bad(file, field + ".shape", "missing or not an array");
        if (!offsets || !offsets->is_array() || offsets->items().size() != 2)
            return bad(file, field + ".data_offsets", "missing or not a pair");
        st_tensor t;
        t.name = name;
        t.dtype_text = dtype->text();
        for (const auto& e : kDtypes)
            if (dtype->text() == e.name) t.dtype = e.dtype;
        if (shape->items().size() > 8) return bad(file, field + ".shape", "more than 8 dimensions");
        uint64_t n = 1;
        for (const auto& d : shape->items()) {
            auto v = d.as_u64();
            if (!v) return bad(file, field + ".shape", "not a list of non-negative integers");
            if (*v != 0 && n > data_size / *v + 1) return bad(file, field + ".shape", "too large");
            n *= *v;
            t.shape.push_back(*v);
        }
        auto begin = offsets->items()[0].as_u64();
        auto end = offsets->items()[1].as_u64();
        if (!begin || !end || *end < *begin)
            return bad(file, field + ".data_offsets", "not an increasing pair of integers");
        if (*end > data_size)
            return bad(file, field + ".data_offsets",
                       "ends at " + std::to_string(*end) + ", past the data section's " +
                           std::to_string(data_size) + " bytes");
        t.nbytes = *end - *begin;
        t.data_begin = h.data_offset + *begin;
        const uint32_t esize = st_dtype_size(t.dtype);
        if (esize != 0 && t.nbytes != n * esize)
            return bad(file, field + ".data_offsets",
                       std::to_string(t.nbytes) + " bytes for " + std::to_string(n) + " " +
                           t.dtype_text + " elements");
        h.tensors.push_back(std::move(t));
    }
    std::sort(h.tensors.begin(), h.tensors.end(),
              [](const st_tensor& a, const st_tensor& b) { return a.name < b.name; });
    for (size_t i = 1; i < h.tensors.size(); ++i)
        if (h.tensors[i].name == h.tensors[i - 1].name)
            return bad(file, "tensor '" + h.tensors[i].name + "'", "listed twice");
    return h;
}

}  // namespace gguf_squash::convert
