// The IQ3_XXS / IQ3_S block walks of dequantization, shared by the scalar reference
// (iq3_ref.cpp) and the SIMD dequantizers (arch/dequant_lanes.h): each decodes the layout and
// calls eight(g1, g2, signs, db, y) for every 8 output values, g1 and g2 being the two grid
// tuples (4 levels each, little-endian), the low 8 bits of signs their sign bits and db the
// group's scale; y advances by 8 between calls.
//
// Internal linkage: each ISA's translation unit gets its own copy compiled with its own flags.
#pragma once

#include <cstdint>
#include <cstring>

#include "iq3_grids.h"
#include "quant/quant_common.h"

namespace gguf_squash {
namespace {

template <class Eight>
void walk_iq3_xxs(const void* src, float* y, int64_t n, Eight eight) {
    const uint8_t* block = static_cast<const uint8_t*>(src);
    for (int64_t ibl = 0; ibl < n / 256; ++ibl, block += 98) {
        uint16_t dh;
        std::memcpy(&dh, block, 2);
        const float d = fp16_to_fp32(dh);
        const uint8_t* qs = block + 2;
        for (int ib = 0; ib < 8; ++ib, qs += 8) {
            uint32_t aux;
            std::memcpy(&aux, block + 66 + 4 * ib, 4);
            const float db = d * (0.5f + float(aux >> 28)) * 0.5f;
            for (int l = 0; l < 4; ++l, y += 8) {
                // ggml's ksigns_iq2xs: 7 stored sign bits, the 8th set when their count is odd.
                const uint32_t seven = (aux >> (7 * l)) & 127;
                const uint32_t signs = seven | ((__builtin_popcount(seven) & 1u) << 7);
                eight(kIq3XxsGrid[qs[2 * l]], kIq3XxsGrid[qs[2 * l + 1]], signs, db, y);
            }
        }
    }
}

template <class Eight>
void walk_iq3_s(const void* src, float* y, int64_t n, Eight eight) {
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
            for (int l = 0; l < 4; ++l, y += 8) {
                const int i1 = qs[2 * l + 0] | ((qh[ib] << (8 - 2 * l)) & 256);
                const int i2 = qs[2 * l + 1] | ((qh[ib] << (7 - 2 * l)) & 256);
                eight(kIq3SGrid[i1], kIq3SGrid[i2], signs[l], db, y);
            }
        }
    }
}

}  // namespace
}  // namespace gguf_squash
