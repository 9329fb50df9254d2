// AVX2 F16 and BF16 conversions. Each lane computes quant_common.h's scalar conversion with
// integer operations (every case is evaluated and the right one selected), so NaNs, infinities,
// subnormals and overflow come out bit for bit as in the scalar code. F16C is not used: its
// NaN handling differs from ggml's scalar conversion. Tails shorter than a vector run the scalar
// functions.
#include <immintrin.h>

#include "../../kernel_table.h"
#include "../../quant_common.h"

namespace gguf_squash {
namespace {

inline __m256i select(__m256i mask, __m256i if_set, __m256i if_clear) {
    return _mm256_blendv_epi8(if_clear, if_set, mask);
}

// Eight floats to eight halves in the low 16 bits of each 32-bit lane.
inline __m256i fp32_to_fp16_lanes(__m256 f) {
    const __m256i w = _mm256_castps_si256(f);
    const __m256i abs = _mm256_and_si256(w, _mm256_set1_epi32(0x7fffffff));
    const __m256i sign = _mm256_and_si256(_mm256_srli_epi32(w, 16), _mm256_set1_epi32(0x8000));
    // Normal halves: round the mantissa to nearest even, then rebias the exponent.
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(abs, 13), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(_mm256_add_epi32(abs, _mm256_set1_epi32(0x0fff)), odd);
    const __m256i normal =
        _mm256_srli_epi32(_mm256_sub_epi32(rounded, _mm256_set1_epi32(0x38000000)), 13);
    // Subnormal halves: the float addition of 0.5 rounds to a multiple of 2^-24 by itself.
    const __m256 mag = _mm256_add_ps(_mm256_castsi256_ps(abs), _mm256_set1_ps(0.5f));
    const __m256i subnormal =
        _mm256_sub_epi32(_mm256_castps_si256(mag), _mm256_set1_epi32(0x3f000000));
    __m256i h = select(_mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x387fffff)), normal, subnormal);
    h = select(_mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x477fefff)), _mm256_set1_epi32(0x7c00),
               h);
    h = select(_mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000)), _mm256_set1_epi32(0x7e00),
               h);
    return _mm256_or_si256(h, sign);
}

inline __m256i fp32_to_bf16_lanes(__m256 f) {
    const __m256i u = _mm256_castps_si256(f);
    const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(
        _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd)), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    return select(_mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000)), quiet, rounded);
}

// Sixteen 32-bit lanes holding 16-bit values, stored as 16 halves in order.
inline void store_halves(uint16_t* out, __m256i a, __m256i b) {
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), p);
}

void quantize_f16_avx2(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        store_halves(out + i, fp32_to_fp16_lanes(_mm256_loadu_ps(src + i)),
                     fp32_to_fp16_lanes(_mm256_loadu_ps(src + i + 8)));
    }
    for (; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
}

void quantize_bf16_avx2(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        store_halves(out + i, fp32_to_bf16_lanes(_mm256_loadu_ps(src + i)),
                     fp32_to_bf16_lanes(_mm256_loadu_ps(src + i + 8)));
    }
    for (; i < n; ++i) out[i] = fp32_to_bf16(src[i]);
}

// Eight halves (zero-extended to 32 bits) to floats, as fp16_to_fp32.
inline __m256 fp16_lanes_to_fp32(__m256i h) {
    const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x8000)), 16);
    const __m256i em = _mm256_and_si256(h, _mm256_set1_epi32(0x7fff));
    const __m256i mant = _mm256_and_si256(h, _mm256_set1_epi32(0x3ff));
    const __m256i shifted = _mm256_slli_epi32(em, 13);
    const __m256i normal = _mm256_add_epi32(shifted, _mm256_set1_epi32(112 << 23));
    // Infinity and NaN: all-ones exponent; NaNs come out quiet.
    const __m256i is_nan = _mm256_cmpgt_epi32(mant, _mm256_setzero_si256());
    const __m256i special =
        _mm256_or_si256(_mm256_or_si256(_mm256_set1_epi32(0x7f800000), _mm256_slli_epi32(mant, 13)),
                        _mm256_and_si256(is_nan, _mm256_set1_epi32(0x400000)));
    // Subnormals (and zero): mant * 2^-24, exact.
    const __m256i sub = _mm256_castps_si256(
        _mm256_mul_ps(_mm256_cvtepi32_ps(mant), _mm256_set1_ps(5.9604644775390625e-08f)));
    __m256i out = select(_mm256_cmpgt_epi32(em, _mm256_set1_epi32(0x3ff)), normal, sub);
    out = select(_mm256_cmpgt_epi32(em, _mm256_set1_epi32(0x7bff)), special, out);
    return _mm256_castsi256_ps(_mm256_or_si256(out, sign));
}

void dequantize_f16_avx2(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
        _mm256_storeu_ps(dst + i, fp16_lanes_to_fp32(h));
    }
    for (; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
}

void dequantize_bf16_avx2(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_slli_epi32(h, 16));
    }
    for (; i < n; ++i) dst[i] = bf16_to_fp32(in[i]);
}

}  // namespace

void register_f16_bf16_avx2(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::f16)] = quantize_f16_avx2;
    table.quantize[uint32_t(ggml_type::bf16)] = quantize_bf16_avx2;
    table.dequantize[uint32_t(ggml_type::f16)] = dequantize_f16_avx2;
    table.dequantize[uint32_t(ggml_type::bf16)] = dequantize_bf16_avx2;
}

}  // namespace gguf_squash
