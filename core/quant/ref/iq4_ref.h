// IQ4_NL and IQ4_XS: the scalar reference, shared with the SIMD versions (which fall back to it
// for tails and reuse its level table; the scalar index search lives in iq4_ref.cpp, with internal
// linkage, so that no copy compiled with an ISA's flags can serve the scalar path).
#pragma once

#include <cstdint>

namespace gguf_squash {

// The 16 non-linear levels of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl), ascending.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// Block layouts.
struct block_iq4_nl {
    uint16_t d;  // fp16 scale
    uint8_t qs[16];
};
struct block_iq4_xs {
    uint16_t d;           // fp16 super-block scale
    uint16_t scales_h;    // high 2 bits of the eight 6-bit sub-block scales
    uint8_t scales_l[4];  // low 4 bits, two per byte
    uint8_t qs[128];
};
static_assert(sizeof(block_iq4_nl) == 18 && sizeof(block_iq4_xs) == 136);

// One IQ4_NL block of 32 (x, importance weights qw or null).
void quantize_iq4_nl_block_ref(const float* x, const float* qw, block_iq4_nl* y);
// One IQ4_XS super-block of 256.
void quantize_iq4_xs_block_ref(const float* x, const float* qw, block_iq4_xs* y);

void quantize_iq4_nl_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix);
void quantize_iq4_xs_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix);
void dequantize_iq4_nl_ref(const void* src, float* dst, int64_t n);
void dequantize_iq4_xs_ref(const void* src, float* dst, int64_t n);

}  // namespace gguf_squash
