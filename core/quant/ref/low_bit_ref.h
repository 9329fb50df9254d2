// Q1_0 Q2_0 MXFP4 NVFP4 TQ1_0 TQ2_0 block layouts, shared by the scalar reference
// (low_bit_ref.cpp) and the SIMD kernels (arch/low_bit_lanes.h, arch/dequant_lanes.h).
#pragma once

#include <cstdint>

#include "quant/quant_common.h"

namespace gguf_squash {
namespace low_bit_blocks {

inline constexpr int kQ1Block = 128;
inline constexpr int kQ2Block = 64;
inline constexpr int kMxfp4Block = 32;
inline constexpr int kNvfp4Block = 64;
inline constexpr int kNvfp4Sub = 16;  // one UE4M3 scale per 16 elements
inline constexpr int kSuperBlock = 256;

struct block_q1_0 {
    uint16_t d;
    uint8_t qs[kQ1Block / 8];
};
struct block_q2_0 {
    uint16_t d;
    uint8_t qs[kQ2Block / 4];
};
struct block_mxfp4 {
    uint8_t e;  // E8M0 exponent
    uint8_t qs[kMxfp4Block / 2];
};
struct block_nvfp4 {
    uint8_t d[kNvfp4Block / kNvfp4Sub];  // UE4M3 scales
    uint8_t qs[kNvfp4Block / 2];
};
struct block_tq1_0 {
    uint8_t qs[(kSuperBlock - 4 * kSuperBlock / 64) / 5];  // five trits per byte
    uint8_t qh[kSuperBlock / 64];                          // four trits per byte
    uint16_t d;
};
struct block_tq2_0 {
    uint8_t qs[kSuperBlock / 4];
    uint16_t d;
};
static_assert(sizeof(block_q1_0) == 18 && sizeof(block_q2_0) == 18);
static_assert(sizeof(block_mxfp4) == 17 && sizeof(block_nvfp4) == 36);
static_assert(sizeof(block_tq1_0) == 54 && sizeof(block_tq2_0) == 66);

// E2M1 code points doubled (so they are integers); scales carry the matching factor 1/2.
inline constexpr int8_t kFp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Internal linkage: a copy compiled with an ISA's flags must never serve the scalar path.
namespace {

// E8M0 exponent to 2^(e-128): half the scale, to match the doubled code points.
inline float e8m0_to_fp32_half(uint8_t e) {
    const uint32_t bits = e < 2 ? (0x00200000u << e) : (uint32_t(e - 1) << 23);
    return f32_from_bits(bits);
}

}  // namespace

}  // namespace low_bit_blocks
}  // namespace gguf_squash
