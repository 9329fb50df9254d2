// A header holding every kind of value the info JSON writes: each scalar type at its limits,
// floats JSON lacks (NaN, infinities, -0) and their shortest forms, strings needing escapes
// or holding invalid UTF-8 (in values, keys and tensor names), arrays of each item type, an
// empty array, nested arrays and a long string array.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "format/gguf.h"

namespace gguf_squash::test_support {

inline gguf_value sample_scalar(gguf_value_type type, uint64_t bits) {
    gguf_value v;
    v.type = type;
    v.scalar_bits = bits;
    return v;
}

// An array of fixed-size scalars from C++ values of the item type's size.
template <typename T>
gguf_value sample_array(gguf_value_type item_type, const std::vector<T>& items) {
    std::vector<uint8_t> raw(items.size() * sizeof(T));
    if (!items.empty()) std::memcpy(raw.data(), items.data(), raw.size());
    return gguf_value::make_scalar_array(item_type, items.size(), std::move(raw));
}

inline gguf_value sample_nested(std::vector<gguf_value> items) {
    gguf_value v;
    v.type = gguf_value_type::array;
    v.item_type = gguf_value_type::array;
    v.count = items.size();
    v.arrays = std::move(items);
    return v;
}

inline gguf_header json_sample_header() {
    using t = gguf_value_type;
    constexpr float kInf = std::numeric_limits<float>::infinity();
    gguf_header h;
    h.set("general.architecture", gguf_value::make_string("llama"));
    h.set("s.escapes", gguf_value::make_string(std::string("q\" b\\ n\n r\r t\t b\b f\f nul") +
                                               '\0' + " x1f\x1f del\x7f / \xc3\xa9"));
    h.set("s.bad\xff\x80key",
          gguf_value::make_string(
              "\xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 \xc0\xaf \xf0\x9f\x98\x80 ok"));
    h.set("n.u8", sample_scalar(t::uint8, 255));
    h.set("n.i8", sample_scalar(t::int8, 0x80));
    h.set("n.u16", sample_scalar(t::uint16, 65535));
    h.set("n.i16", sample_scalar(t::int16, 0x8000));
    h.set("n.u32", gguf_value::make_u32(std::numeric_limits<uint32_t>::max()));
    h.set("n.i32", gguf_value::make_i32(std::numeric_limits<int32_t>::min()));
    h.set("n.u64", gguf_value::make_u64(std::numeric_limits<uint64_t>::max()));
    h.set("n.i64", gguf_value::make_i64(std::numeric_limits<int64_t>::min()));
    h.set("n.bool", gguf_value::make_bool(true));
    h.set("n.f32", gguf_value::make_f32(1e-5f));
    h.set("n.f64", gguf_value::make_f64(0.1));
    h.set("a.f32", sample_array<float>(t::float32, {NAN, kInf, -kInf, -0.0f, 0.1f, 1e-5f, 10000.0f,
                                                    std::numeric_limits<float>::max(), 1e-45f,
                                                    123456.789f, 1e16f, 1e15f}));
    h.set("a.f64", sample_array<double>(t::float64, {NAN, -double(kInf), 0.1, 1e-300, 5e-324,
                                                     std::numeric_limits<double>::max(), 1e16,
                                                     123456789012345680.0}));
    h.set("a.i8", sample_array<int8_t>(t::int8, {-128, 0, 127}));
    h.set("a.u16", sample_array<uint16_t>(t::uint16, {0, 65535}));
    h.set("a.u64", sample_array<uint64_t>(t::uint64, {0, std::numeric_limits<uint64_t>::max()}));
    h.set("a.i64", sample_array<int64_t>(t::int64, {std::numeric_limits<int64_t>::min(), 1}));
    h.set("a.bool", sample_array<uint8_t>(t::boolean, {1, 0, 1}));
    h.set("a.empty", sample_array<int32_t>(t::int32, {}));
    h.set("a.str", gguf_value::make_string_array({"plain", "q\"uote", "back\\slash",
                                                  std::string("\0\x01\x1f\x7f", 4), "\xff\xfe",
                                                  "\xc4\xa0hello", "\xe2\x82", ""}));
    h.set("a.nested", sample_nested({sample_array<int16_t>(t::int16, {-1, 2}),
                                     gguf_value::make_string_array({"z", "\xff"}),
                                     sample_nested({sample_array<float>(t::float32, {0.5f})}),
                                     sample_array<uint8_t>(t::uint8, {})}));
    std::vector<std::string> many;
    for (int i = 0; i < 20; ++i) many.push_back("tok" + std::to_string(i) + "\t\"");
    h.set("a.many", gguf_value::make_string_array(many));
    gguf_tensor_info a;
    a.name = "bad\xc0name";
    a.type = ggml_type::f16;
    a.n_dims = 2;
    a.ne[0] = 4;
    a.ne[1] = 2;
    h.tensors.push_back(a);
    gguf_tensor_info b;
    b.name = "w";
    b.type = ggml_type::q4_0;
    b.n_dims = 1;
    b.ne[0] = 64;
    b.offset = 32;
    h.tensors.push_back(b);
    h.data_offset = 1024;
    return h;
}

}  // namespace gguf_squash::test_support
