// K-quant block layouts (ggml-common.h) and the scalar pieces of their quantizers that the SIMD
// versions reuse: the SIMD files replace the expensive per-sub-block scale searches and call these
// for the rest, so every ISA shares one definition of packing and requantization.
#pragma once

#include <cstdint>

namespace gguf_squash {

inline constexpr int kQkK = 256;  // elements per K-quant super-block

struct block_q2_k {
    uint8_t scales[kQkK / 16];  // low nibble: scale, high nibble: min
    uint8_t qs[kQkK / 4];
    uint16_t d;
    uint16_t dmin;
};
struct block_q3_k {
    uint8_t hmask[kQkK / 8];
    uint8_t qs[kQkK / 4];
    uint8_t scales[12];  // 16 six-bit scales
    uint16_t d;
};
struct block_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins
    uint8_t qs[kQkK / 2];
};
struct block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kQkK / 8];
    uint8_t qs[kQkK / 2];
};
struct block_q6_k {
    uint8_t ql[kQkK / 2];
    uint8_t qh[kQkK / 4];
    int8_t scales[kQkK / 16];
    uint16_t d;
};
struct block_q8_k {
    float d;
    int8_t qs[kQkK];
    int16_t bsums[kQkK / 16];
};
static_assert(sizeof(block_q2_k) == 84);
static_assert(sizeof(block_q3_k) == 110);
static_assert(sizeof(block_q4_k) == 144);
static_assert(sizeof(block_q5_k) == 176);
static_assert(sizeof(block_q6_k) == 210);
static_assert(sizeof(block_q8_k) == 292);

// ---- Scale unpacking, shared with the SIMD dequantizers ----
// Internal linkage: a copy compiled with an ISA's flags must never serve the scalar path.
namespace {

// ggml's get_scale_min_k4: sub-block j's 6-bit scale and min from the 12 packed bytes.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = uint8_t((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// The six-bit Q3_K scale j, stored biased by 32.
inline int unpack_q3_k_scale(int j, const uint8_t* scales) {
    const int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

}  // namespace

// ---- Finishing steps shared with the SIMD searches ----
// Each takes the per-sub-block results of the scale search (scales, mins where the type has
// them, and the levels L the search chose, in element order), then quantizes the scales, writes
// d/dmin, requantizes every element against the stored scales and packs the block. The
// `_weighted` variants are the imatrix paths, which quantize the scales with the sub-block weight
// sums `sw` (make_qp_quants / make_qx_quants) instead of relative to the largest.

// One requantization pass: for each of n_sub sub-blocks of len elements whose scale d[j] is not
// zero, L = clamp(nearest_int((x + dm[j]) / d[j]), lo, hi) + bias (x / d[j] when dm is null);
// sub-blocks with d[j] == 0 keep the search's levels. Element-wise, so a SIMD version is exact;
// the finishing steps take one as their last argument.
using k_requantize_fn = void (*)(const float* x, const float* d, const float* dm, int n_sub,
                                 int len, int lo, int hi, int bias, uint8_t* L);
void requantize_sub_blocks_ref(const float* x, const float* d, const float* dm, int n_sub, int len,
                               int lo, int hi, int bias, uint8_t* L);

// The weights of the non-imatrix Q4_K/Q5_K search for one 32-element sub-block.
void q4_k_ref_weights(const float* x, float* weights);

void finish_q2_k_block(const float* x, const float* scales, const float* mins, uint8_t* L,
                       block_q2_k* y, k_requantize_fn requantize = requantize_sub_blocks_ref);
void finish_q2_k_block_weighted(const float* x, const float* scales, const float* mins,
                                const float* sw, uint8_t* L, block_q2_k* y,
                                k_requantize_fn requantize = requantize_sub_blocks_ref);
// L is biased by 4 (levels 0..7).
void finish_q3_k_block(const float* x, const float* scales, int8_t* L, block_q3_k* y,
                       k_requantize_fn requantize = requantize_sub_blocks_ref);
void finish_q3_k_block_weighted(const float* x, const float* scales, const float* sw, int8_t* L,
                                block_q3_k* y,
                                k_requantize_fn requantize = requantize_sub_blocks_ref);
void finish_q4_k_block(const float* x, const float* scales, const float* mins, uint8_t* L,
                       block_q4_k* y, k_requantize_fn requantize = requantize_sub_blocks_ref);
void finish_q4_k_block_weighted(const float* x, const float* scales, const float* mins,
                                const float* sw, uint8_t* L, block_q4_k* y,
                                k_requantize_fn requantize = requantize_sub_blocks_ref);
void finish_q5_k_block(const float* x, const float* scales, const float* mins, uint8_t* L,
                       block_q5_k* y, k_requantize_fn requantize = requantize_sub_blocks_ref);
void finish_q5_k_block_weighted(const float* x, const float* scales, const float* mins,
                                const float* sw, uint8_t* L, block_q5_k* y,
                                k_requantize_fn requantize = requantize_sub_blocks_ref);
// L is biased by 32 (levels 0..63); the same step serves both paths.
void finish_q6_k_block(const float* x, const float* scales, int8_t* L, block_q6_k* y,
                       k_requantize_fn requantize = requantize_sub_blocks_ref);

// Whole-block scalar quantizers (no imatrix / with imatrix weights qw for this block's 256
// columns), used by SIMD files for tails.
void quantize_block_q2_k(const float* x, block_q2_k* y);
void quantize_block_q2_k_imatrix(const float* x, const float* qw, block_q2_k* y);
void quantize_block_q3_k(const float* x, block_q3_k* y);
void quantize_block_q3_k_imatrix(const float* x, const float* qw, block_q3_k* y);
void quantize_block_q4_k(const float* x, block_q4_k* y);
void quantize_block_q4_k_imatrix(const float* x, const float* qw, block_q4_k* y);
void quantize_block_q5_k(const float* x, block_q5_k* y);
void quantize_block_q5_k_imatrix(const float* x, const float* qw, block_q5_k* y);
void quantize_block_q6_k(const float* x, block_q6_k* y);
void quantize_block_q6_k_imatrix(const float* x, const float* qw, block_q6_k* y);

// Row-level entry points (kernel_table signatures).
void quantize_q2_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q3_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q4_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q5_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q6_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void dequantize_q2_k_ref(const void* src, float* dst, int64_t n);
void dequantize_q3_k_ref(const void* src, float* dst, int64_t n);
void dequantize_q4_k_ref(const void* src, float* dst, int64_t n);
void dequantize_q5_k_ref(const void* src, float* dst, int64_t n);
void dequantize_q6_k_ref(const void* src, float* dst, int64_t n);
void dequantize_q8_k_ref(const void* src, float* dst, int64_t n);

}  // namespace gguf_squash
