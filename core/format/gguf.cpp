#include "gguf.h"

#include <cstring>

namespace gguf_squash {

const char* gguf_value_type_name(gguf_value_type type) {
    switch (type) {
        case gguf_value_type::uint8:
            return "UINT8";
        case gguf_value_type::int8:
            return "INT8";
        case gguf_value_type::uint16:
            return "UINT16";
        case gguf_value_type::int16:
            return "INT16";
        case gguf_value_type::uint32:
            return "UINT32";
        case gguf_value_type::int32:
            return "INT32";
        case gguf_value_type::float32:
            return "FLOAT32";
        case gguf_value_type::boolean:
            return "BOOL";
        case gguf_value_type::string:
            return "STRING";
        case gguf_value_type::array:
            return "ARRAY";
        case gguf_value_type::uint64:
            return "UINT64";
        case gguf_value_type::int64:
            return "INT64";
        case gguf_value_type::float64:
            return "FLOAT64";
    }
    return "UNKNOWN";
}

size_t gguf_value_type_size(gguf_value_type type) {
    switch (type) {
        case gguf_value_type::uint8:
        case gguf_value_type::int8:
        case gguf_value_type::boolean:
            return 1;
        case gguf_value_type::uint16:
        case gguf_value_type::int16:
            return 2;
        case gguf_value_type::uint32:
        case gguf_value_type::int32:
        case gguf_value_type::float32:
            return 4;
        case gguf_value_type::uint64:
        case gguf_value_type::int64:
        case gguf_value_type::float64:
            return 8;
        default:
            return 0;
    }
}

bool gguf_value::is_integer() const {
    switch (type) {
        case gguf_value_type::uint8:
        case gguf_value_type::int8:
        case gguf_value_type::uint16:
        case gguf_value_type::int16:
        case gguf_value_type::uint32:
        case gguf_value_type::int32:
        case gguf_value_type::uint64:
        case gguf_value_type::int64:
            return true;
        default:
            return false;
    }
}

int64_t gguf_value::as_i64() const {
    switch (type) {
        case gguf_value_type::int8:
            return int8_t(scalar_bits);
        case gguf_value_type::int16:
            return int16_t(scalar_bits);
        case gguf_value_type::int32:
            return int32_t(scalar_bits);
        case gguf_value_type::int64:
            return int64_t(scalar_bits);
        case gguf_value_type::float32:
        case gguf_value_type::float64:
            return int64_t(as_f64());
        default:
            return int64_t(scalar_bits);
    }
}

uint64_t gguf_value::as_u64() const {
    switch (type) {
        case gguf_value_type::int8:
        case gguf_value_type::int16:
        case gguf_value_type::int32:
        case gguf_value_type::int64:
            return uint64_t(as_i64());
        case gguf_value_type::float32:
        case gguf_value_type::float64:
            return uint64_t(as_f64());
        default:
            return scalar_bits;
    }
}

double gguf_value::as_f64() const {
    if (type == gguf_value_type::float32) {
        float f;
        uint32_t b = uint32_t(scalar_bits);
        std::memcpy(&f, &b, 4);
        return f;
    }
    if (type == gguf_value_type::float64) {
        double d;
        std::memcpy(&d, &scalar_bits, 8);
        return d;
    }
    switch (type) {
        case gguf_value_type::int8:
        case gguf_value_type::int16:
        case gguf_value_type::int32:
        case gguf_value_type::int64:
            return double(as_i64());
        default:
            return double(scalar_bits);
    }
}

namespace {
gguf_value scalar(gguf_value_type t, uint64_t bits) {
    gguf_value v;
    v.type = t;
    v.scalar_bits = bits;
    return v;
}
}  // namespace

gguf_value gguf_value::make_u32(uint32_t v) {
    return scalar(gguf_value_type::uint32, v);
}
gguf_value gguf_value::make_i32(int32_t v) {
    return scalar(gguf_value_type::int32, uint32_t(v));
}
gguf_value gguf_value::make_u64(uint64_t v) {
    return scalar(gguf_value_type::uint64, v);
}
gguf_value gguf_value::make_i64(int64_t v) {
    return scalar(gguf_value_type::int64, uint64_t(v));
}
gguf_value gguf_value::make_bool(bool v) {
    return scalar(gguf_value_type::boolean, v ? 1 : 0);
}
gguf_value gguf_value::make_f32(float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    return scalar(gguf_value_type::float32, b);
}
gguf_value gguf_value::make_f64(double v) {
    uint64_t b;
    std::memcpy(&b, &v, 8);
    return scalar(gguf_value_type::float64, b);
}
gguf_value gguf_value::make_string(std::string s) {
    gguf_value v;
    v.type = gguf_value_type::string;
    v.str = std::move(s);
    return v;
}
gguf_value gguf_value::make_string_array(const std::vector<std::string>& items) {
    gguf_value v;
    v.type = gguf_value_type::array;
    v.item_type = gguf_value_type::string;
    v.count = items.size();
    v.strings = gguf_string_list(items);
    return v;
}

gguf_string_list::gguf_string_list(std::initializer_list<std::string_view> items) {
    ends_.reserve(items.size());
    for (std::string_view s : items) push_back(s);
}
gguf_string_list::gguf_string_list(const std::vector<std::string>& items) {
    size_t total = 0;
    for (const std::string& s : items) total += s.size();
    bytes_.reserve(total);
    ends_.reserve(items.size());
    for (const std::string& s : items) push_back(s);
}
std::vector<std::string> gguf_string_list::to_vector() const {
    std::vector<std::string> out;
    out.reserve(size());
    for (std::string_view s : *this) out.emplace_back(s);
    return out;
}
gguf_value gguf_value::make_scalar_array(gguf_value_type item_type, uint64_t count,
                                         std::vector<uint8_t> raw) {
    gguf_value v;
    v.type = gguf_value_type::array;
    v.item_type = item_type;
    v.count = count;
    v.raw_items = std::move(raw);
    return v;
}

bool gguf_value::operator==(const gguf_value& o) const {
    return type == o.type && scalar_bits == o.scalar_bits && str == o.str &&
           item_type == o.item_type && count == o.count && raw_items == o.raw_items &&
           strings == o.strings && arrays == o.arrays;
}

const gguf_value* gguf_header::find(std::string_view key) const {
    const int64_t i = find_key(key);
    return i < 0 ? nullptr : &kv[size_t(i)].value;
}

gguf_value* gguf_header::find(std::string_view key) {
    const int64_t i = find_key(key);
    return i < 0 ? nullptr : &kv[size_t(i)].value;
}

int64_t gguf_header::find_key(std::string_view key) const {
    for (size_t i = 0; i < kv.size(); ++i)
        if (kv[i].key == key) return int64_t(i);
    return -1;
}

int64_t gguf_header::find_tensor(std::string_view name) const {
    for (size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].name == name) return int64_t(i);
    return -1;
}

void gguf_header::set(std::string key, gguf_value value) {
    if (gguf_value* v = find(key)) {
        *v = std::move(value);
        return;
    }
    kv.push_back({std::move(key), std::move(value)});
}

bool gguf_header::erase(std::string_view key) {
    const int64_t i = find_key(key);
    if (i < 0) return false;
    kv.erase(kv.begin() + i);
    return true;
}

std::optional<std::string> gguf_header::get_string(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v || v->type != gguf_value_type::string) return std::nullopt;
    return v->str;
}

std::optional<uint64_t> gguf_header::get_u64(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v || !v->is_integer()) return std::nullopt;
    if (v->as_i64() < 0 && (v->type == gguf_value_type::int8 || v->type == gguf_value_type::int16 ||
                            v->type == gguf_value_type::int32 || v->type == gguf_value_type::int64))
        return std::nullopt;
    return v->as_u64();
}

}  // namespace gguf_squash
