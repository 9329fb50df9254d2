// The ggml tensor type table: id, name, block size and bytes per block, as in llama.cpp's ggml.h
// (tree de3ff81). Every size computation in the project goes through this table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gguf_squash {

enum class ggml_type : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    // 4, 5: Q4_2, Q4_3, removed
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    iq2_xxs = 16,
    iq2_xs = 17,
    iq3_xxs = 18,
    iq1_s = 19,
    iq4_nl = 20,
    iq3_s = 21,
    iq2_s = 22,
    iq4_xs = 23,
    i8 = 24,
    i16 = 25,
    i32 = 26,
    i64 = 27,
    f64 = 28,
    iq1_m = 29,
    bf16 = 30,
    // 31-33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, removed from GGUF files
    tq1_0 = 34,
    tq2_0 = 35,
    // 36-38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8, removed
    mxfp4 = 39,
    nvfp4 = 40,
    q1_0 = 41,
    q2_0 = 42,
};

constexpr uint32_t kGgmlTypeCount = 43;  // one past the largest id

struct ggml_type_info {
    const char* name;       // upper-case, as gguf-py prints it ("Q4_K", "IQ2_XXS")
    const char* ggml_name;  // ggml's own lower-case name ("q4_K", "iq2_xxs")
    uint32_t block_size;    // elements per block
    uint32_t type_size;     // bytes per block
    bool is_quantized;
    bool valid;  // false for the removed ids, which a file must not use
};

// Info for any id < kGgmlTypeCount; nullptr for ids past the table.
const ggml_type_info* ggml_type_lookup(uint32_t id);
inline const ggml_type_info& type_info(ggml_type t) {
    return *ggml_type_lookup(uint32_t(t));
}
inline const char* type_name(ggml_type t) {
    return type_info(t).name;
}
inline bool is_valid_type_id(uint32_t id) {
    const ggml_type_info* info = ggml_type_lookup(id);
    return info && info->valid;
}

// Case-insensitive lookup by either the upper-case or the ggml name.
std::optional<ggml_type> ggml_type_from_name(std::string_view name);

// Bytes of one row of `n_per_row` elements; n_per_row must be a multiple of the block size.
inline uint64_t row_size(ggml_type t, uint64_t n_per_row) {
    const ggml_type_info& info = type_info(t);
    return n_per_row / info.block_size * info.type_size;
}

}  // namespace gguf_squash
