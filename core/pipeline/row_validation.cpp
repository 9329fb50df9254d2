#include "pipeline/row_validation.h"

#include <cmath>
#include <cstring>

namespace gguf_squash::pipeline_detail {

bool is_float_like(ggml_type t) {
    return t == ggml_type::f32 || t == ggml_type::f16 || t == ggml_type::bf16 ||
           t == ggml_type::f64;
}

int64_t first_non_finite(ggml_type type, const uint8_t* row, int64_t n) {
    switch (type) {
        case ggml_type::f32:
            for (int64_t i = 0; i < n; ++i) {
                uint32_t u;
                std::memcpy(&u, row + 4 * i, 4);
                if ((u & 0x7f800000u) == 0x7f800000u) return i;
            }
            return -1;
        case ggml_type::f16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, row + 2 * i, 2);
                if ((h & 0x7c00u) == 0x7c00u) return i;
            }
            return -1;
        case ggml_type::bf16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, row + 2 * i, 2);
                if ((h & 0x7f80u) == 0x7f80u) return i;
            }
            return -1;
        case ggml_type::f64:
            for (int64_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, row + 8 * i, 8);
                if (!std::isfinite(d)) return i;
            }
            return -1;
        default:
            return -1;
    }
}

// Four lanes of 32 bits (SSE2 natively, simd128 or scalar code in wasm).
typedef uint32_t u32x4 __attribute__((vector_size(16)));

int64_t first_non_finite(const float* v, int64_t n) {
    int64_t i = 0;
    // An exponent of all ones (Inf or NaN) becomes bit 31 after adding one to the exponent field;
    // every finite value stays below it.
    for (; i + 16 <= n; i += 16) {
        u32x4 a, b, c, d;
        std::memcpy(&a, v + i, 16);
        std::memcpy(&b, v + i + 4, 16);
        std::memcpy(&c, v + i + 8, 16);
        std::memcpy(&d, v + i + 12, 16);
        const u32x4 flags = ((a & 0x7f800000u) + 0x00800000u) | ((b & 0x7f800000u) + 0x00800000u) |
                            ((c & 0x7f800000u) + 0x00800000u) | ((d & 0x7f800000u) + 0x00800000u);
        if (((flags[0] | flags[1] | flags[2] | flags[3]) & 0x80000000u) != 0) break;
    }
    for (; i < n; ++i) {
        if (!std::isfinite(v[i])) return i;
    }
    return -1;
}

typedef uint16_t u16x8 __attribute__((vector_size(16)));

// All ones in the exponent field carries into bit 15 when its lowest bit is added.
int64_t first_non_finite_16(const uint8_t* row, int64_t n, uint16_t exponent) {
    const uint16_t carry = uint16_t(exponent & -exponent);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        u16x8 a, b, c, d;
        std::memcpy(&a, row + 2 * i, 16);
        std::memcpy(&b, row + 2 * i + 16, 16);
        std::memcpy(&c, row + 2 * i + 32, 16);
        std::memcpy(&d, row + 2 * i + 48, 16);
        const u16x8 flags = ((a & exponent) + carry) | ((b & exponent) + carry) |
                            ((c & exponent) + carry) | ((d & exponent) + carry);
        uint16_t any = 0;
        for (int k = 0; k < 8; ++k) any |= flags[k];
        if (any & 0x8000u) break;
    }
    for (; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, row + 2 * i, 2);
        if ((h & exponent) == exponent) return i;
    }
    return -1;
}

int64_t first_non_finite_row(ggml_type type, const uint8_t* row, int64_t n) {
    switch (type) {
        case ggml_type::f16:
            return first_non_finite_16(row, n, 0x7c00);
        case ggml_type::bf16:
            return first_non_finite_16(row, n, 0x7f80);
        case ggml_type::f32:
            if (reinterpret_cast<uintptr_t>(row) % alignof(float) == 0)
                return first_non_finite(reinterpret_cast<const float*>(row), n);
            return first_non_finite(type, row, n);
        default:
            return first_non_finite(type, row, n);
    }
}

int64_t first_row_with_non_finite_scale(const f16_scale_layout& layout, uint32_t block_bytes,
                                        const uint8_t* rows, uint64_t row_bytes, int64_t nrows) {
    const uint64_t blocks = row_bytes / block_bytes;
    for (int64_t r = 0; r < nrows; ++r) {
        const uint8_t* block = rows + uint64_t(r) * row_bytes;
        uint32_t all_ones = 0;
        for (uint64_t b = 0; b < blocks; ++b, block += block_bytes) {
            for (uint32_t k = 0; k < layout.count; ++k) {
                uint16_t h;
                std::memcpy(&h, block + layout.offsets[k], 2);
                all_ones |= uint32_t((h & 0x7c00u) == 0x7c00u);
            }
        }
        if (all_ones) return r;
    }
    return -1;
}

}  // namespace gguf_squash::pipeline_detail
