#include "hparam_values.h"

#include <algorithm>
#include <cstring>

namespace gguf_squash {

// Item `i` of an array of integers or bools, as uint64 (negative values clamp to 0).
std::optional<uint64_t> hparam_item(const gguf_value& v, uint64_t i) {
    const size_t size = gguf_value_type_size(v.item_type);
    if (size == 0 || i >= v.count || (i + 1) * size > v.raw_items.size()) return std::nullopt;
    uint64_t bits = 0;
    std::memcpy(&bits, v.raw_items.data() + i * size, size);
    switch (v.item_type) {
        case gguf_value_type::uint8:
        case gguf_value_type::uint16:
        case gguf_value_type::uint32:
        case gguf_value_type::uint64:
        case gguf_value_type::boolean:
            return bits;
        case gguf_value_type::int8:
            return int8_t(bits) < 0 ? 0 : bits;
        case gguf_value_type::int16:
            return int16_t(bits) < 0 ? 0 : bits;
        case gguf_value_type::int32:
            return int32_t(bits) < 0 ? 0 : bits;
        case gguf_value_type::int64:
            return int64_t(bits) < 0 ? 0 : bits;
        default:
            return std::nullopt;
    }
}

std::optional<uint64_t> hparam_scalar(const gguf_value& v) {
    if (v.is_array()) return std::nullopt;
    if (v.type == gguf_value_type::boolean) return v.as_bool() ? 1 : 0;
    if (!v.is_integer()) return std::nullopt;
    const int64_t s = v.as_i64();
    if (v.type == gguf_value_type::uint64) return v.as_u64();
    return s < 0 ? 0 : uint64_t(s);
}

// A hyperparameter that llama.cpp reads with get_key_or_arr: one value for every layer, or an
// array with one value per layer. Absent: nullopt.
result<std::optional<std::vector<uint64_t>>> hparam_per_layer(const gguf_header& h,
                                                              const std::string& key,
                                                              uint32_t n_layer) {
    const gguf_value* v = h.find(key);
    if (!v) return std::optional<std::vector<uint64_t>>{};
    std::vector<uint64_t> out(n_layer, 0);
    if (!v->is_array()) {
        std::optional<uint64_t> x = hparam_scalar(*v);
        if (!x) return make_error(status_code::invalid_file, key + ": not an integer");
        std::fill(out.begin(), out.end(), *x);
        return std::optional<std::vector<uint64_t>>(std::move(out));
    }
    if (v->count < n_layer) {
        return make_error(status_code::invalid_file, key + ": " + std::to_string(v->count) +
                                                         " values for " + std::to_string(n_layer) +
                                                         " layers");
    }
    for (uint32_t i = 0; i < n_layer; ++i) {
        std::optional<uint64_t> x = hparam_item(*v, i);
        if (!x) return make_error(status_code::invalid_file, key + ": not an integer array");
        out[i] = *x;
    }
    return std::optional<std::vector<uint64_t>>(std::move(out));
}

std::optional<uint64_t> hparam_u64(const gguf_header& h, const std::string& key) {
    const gguf_value* v = h.find(key);
    if (!v) return std::nullopt;
    return hparam_scalar(*v);
}

}  // namespace gguf_squash
