// Scalar reference kernels for IQ3_XXS and IQ3_S: ggml's quantize_iq3_xxs / quantize_iq3_s and
// dequantize_row_iq3_xxs / dequantize_row_iq3_s, byte for byte.
#include <cstring>

#include "iq3_grids.h"
#include "iq3_quantize_impl.h"
#include "quant/kernel_table.h"
#include "quant/quant_common.h"

namespace gguf_squash {
namespace {

// ggml's ksigns_iq2xs: 7 stored sign bits, the 8th set when their count is odd (even parity).
inline uint8_t expand_signs(uint32_t seven) {
    return uint8_t(seven | ((__builtin_popcount(seven) & 1u) << 7));
}

inline float sign_of_bit(uint8_t signs, int bit) {
    return (signs >> bit) & 1 ? -1.f : 1.f;
}

void quantize_iq3_xxs_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    quantize_iq3_xxs_rows<iq3_scalar_search>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq3_s_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix) {
    quantize_iq3_s_rows<iq3_scalar_search>(src, dst, nrows, n_per_row, imatrix);
}

void dequantize_iq3_xxs_ref(const void* src, float* dst, int64_t n) {
    const uint8_t* block = static_cast<const uint8_t*>(src);
    for (int64_t ibl = 0; ibl < n / 256; ++ibl, block += 98) {
        uint16_t dh;
        std::memcpy(&dh, block, 2);
        const float d = fp16_to_fp32(dh);
        const uint8_t* qs = block + 2;
        const uint8_t* scales_and_signs = block + 66;
        for (int ib = 0; ib < 8; ++ib, qs += 8) {
            const uint8_t* b = scales_and_signs + 4 * ib;
            const uint32_t aux =
                uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
            const float db = d * (0.5f + float(aux >> 28)) * 0.5f;
            for (int l = 0; l < 4; ++l, dst += 8) {
                const uint8_t signs = expand_signs((aux >> (7 * l)) & 127);
                uint8_t g1[4], g2[4];
                std::memcpy(g1, &kIq3XxsGrid[qs[2 * l + 0]], 4);
                std::memcpy(g2, &kIq3XxsGrid[qs[2 * l + 1]], 4);
                for (int j = 0; j < 4; ++j) {
                    dst[j + 0] = db * float(g1[j]) * sign_of_bit(signs, j);
                    dst[j + 4] = db * float(g2[j]) * sign_of_bit(signs, j + 4);
                }
            }
        }
    }
}

void dequantize_iq3_s_ref(const void* src, float* dst, int64_t n) {
    const uint8_t* block = static_cast<const uint8_t*>(src);
    for (int64_t ibl = 0; ibl < n / 256; ++ibl, block += 110) {
        uint16_t dh;
        std::memcpy(&dh, block, 2);
        const float d = fp16_to_fp32(dh);
        const uint8_t* qs = block + 2;
        const uint8_t* qh = block + 66;
        const uint8_t* signs = block + 74;
        const uint8_t* scales = block + 106;
        for (int ib = 0; ib < 8; ++ib, qs += 8, signs += 4) {
            const int scale_nibble = ib % 2 ? scales[ib / 2] >> 4 : scales[ib / 2] & 0xf;
            const float db = d * float(1 + 2 * scale_nibble);
            for (int l = 0; l < 4; ++l, dst += 8) {
                const int i1 = qs[2 * l + 0] | ((qh[ib] << (8 - 2 * l)) & 256);
                const int i2 = qs[2 * l + 1] | ((qh[ib] << (7 - 2 * l)) & 256);
                uint8_t g1[4], g2[4];
                std::memcpy(g1, &kIq3SGrid[i1], 4);
                std::memcpy(g2, &kIq3SGrid[i2], 4);
                for (int j = 0; j < 4; ++j) {
                    dst[j + 0] = db * float(g1[j]) * sign_of_bit(signs[l], j);
                    dst[j + 4] = db * float(g2[j]) * sign_of_bit(signs[l], j + 4);
                }
            }
        }
    }
}

}  // namespace

void register_iq3_ref(kernel_table& table) {
    table.quantize[size_t(ggml_type::iq3_xxs)] = quantize_iq3_xxs_ref;
    table.quantize[size_t(ggml_type::iq3_s)] = quantize_iq3_s_ref;
    table.dequantize[size_t(ggml_type::iq3_xxs)] = dequantize_iq3_xxs_ref;
    table.dequantize[size_t(ggml_type::iq3_s)] = dequantize_iq3_s_ref;
}

}  // namespace gguf_squash
