// The legacy block formats (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1) and their scalar per-block steps,
// shared by the reference kernels (legacy_ref.cpp) and the SIMD ones, which fall back to these
// for tails and for blocks they do not handle themselves (non-finite values).
#pragma once

#include <cstdint>

namespace gguf_squash {

inline constexpr int kLegacyBlock = 32;  // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = QK8_1

struct block_q4_0 {
    uint16_t d;  // fp16 scale
    uint8_t qs[16];
};
struct block_q4_1 {
    uint16_t d;  // fp16 scale
    uint16_t m;  // fp16 minimum
    uint8_t qs[16];
};
struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];  // fifth bit of each quant, bit j for element j
    uint8_t qs[16];
};
struct block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[16];
};
struct block_q8_0 {
    uint16_t d;
    int8_t qs[32];
};
struct block_q8_1 {
    uint16_t d;
    uint16_t s;  // d * sum(qs), unused when dequantizing
    int8_t qs[32];
};
static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20 && sizeof(block_q5_0) == 22 &&
              sizeof(block_q5_1) == 24 && sizeof(block_q8_0) == 34 && sizeof(block_q8_1) == 36);

// C's float-to-small-integer conversion as ggml's x86-64 build performs it: cvttss2si to 32 bits
// (0x80000000 for NaN and out-of-range values), then the low bits. Defined for every input, so the
// same bytes come out in wasm.
// Internal linkage: a copy compiled with an ISA's flags must never serve the scalar path.
namespace {
inline int32_t trunc_to_int32_x86(float v) {
    if (!(v >= -2147483648.f && v < 2147483648.f)) return INT32_MIN;
    return int32_t(v);
}
}  // namespace

// One block of 32 floats, no importance weights (ggml's quantize_row_<type>_ref per block).
void quantize_block_q4_0_ref(const float* x, block_q4_0* y);
void quantize_block_q4_1_ref(const float* x, block_q4_1* y);
void quantize_block_q5_0_ref(const float* x, block_q5_0* y);
void quantize_block_q5_1_ref(const float* x, block_q5_1* y);
void quantize_block_q8_0_ref(const float* x, block_q8_0* y);

// One block with importance weights qw (ggml's quantize_row_<type>_impl per block); sigma2 is the
// row's mean square (row_mean_square_ref), the weights are qw * sqrt(sigma2 + x^2).
float row_mean_square_ref(const float* x, int64_t n);
void quantize_block_q4_0_imatrix_ref(const float* x, const float* qw, float sigma2, block_q4_0* y);
void quantize_block_q4_1_imatrix_ref(const float* x, const float* qw, float sigma2, block_q4_1* y);
void quantize_block_q5_0_imatrix_ref(const float* x, const float* qw, float sigma2, block_q5_0* y);
void quantize_block_q5_1_imatrix_ref(const float* x, const float* qw, float sigma2, block_q5_1* y);

// Packs 32 five-bit levels: low nibbles in qs (elements j and j+16 share a byte), bit 4 in qh.
void pack_five_bit_levels(const uint8_t* levels, uint8_t* qs, uint8_t* qh);

// Whole kernels (kernel_table signatures), also used by SIMD kernels for their imatrix paths.
void quantize_q4_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q4_1_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q5_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q5_1_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q8_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);

}  // namespace gguf_squash
