// SSE4.1 F16 and BF16 conversions. Each lane computes quant_common.h's scalar conversion with
// integer operations (every case is evaluated and the right one selected), so NaNs, infinities,
// subnormals and overflow come out bit for bit as in the scalar code. F16C is not used: its
// NaN handling differs from ggml's scalar conversion. Tails shorter than a vector run the scalar
// functions.
#include <smmintrin.h>

#include "../../kernel_table.h"
#include "../../quant_common.h"

namespace gguf_squash {
namespace {

inline __m128i select(__m128i mask, __m128i if_set, __m128i if_clear) {
    return _mm_blendv_epi8(if_clear, if_set, mask);
}

// Four floats to four halves in the low 16 bits of each 32-bit lane.
inline __m128i fp32_to_fp16_lanes(__m128 f) {
    const __m128i w = _mm_castps_si128(f);
    const __m128i abs = _mm_and_si128(w, _mm_set1_epi32(0x7fffffff));
    const __m128i sign = _mm_and_si128(_mm_srli_epi32(w, 16), _mm_set1_epi32(0x8000));
    // Normal halves: round the mantissa to nearest even, then rebias the exponent.
    const __m128i odd = _mm_and_si128(_mm_srli_epi32(abs, 13), _mm_set1_epi32(1));
    const __m128i rounded = _mm_add_epi32(_mm_add_epi32(abs, _mm_set1_epi32(0x0fff)), odd);
    const __m128i normal = _mm_srli_epi32(_mm_sub_epi32(rounded, _mm_set1_epi32(0x38000000)), 13);
    // Subnormal halves: the float addition of 0.5 rounds to a multiple of 2^-24 by itself.
    const __m128 mag = _mm_add_ps(_mm_castsi128_ps(abs), _mm_set1_ps(0.5f));
    const __m128i subnormal = _mm_sub_epi32(_mm_castps_si128(mag), _mm_set1_epi32(0x3f000000));
    __m128i h = select(_mm_cmpgt_epi32(abs, _mm_set1_epi32(0x387fffff)), normal, subnormal);
    h = select(_mm_cmpgt_epi32(abs, _mm_set1_epi32(0x477fefff)), _mm_set1_epi32(0x7c00), h);
    h = select(_mm_cmpgt_epi32(abs, _mm_set1_epi32(0x7f800000)), _mm_set1_epi32(0x7e00), h);
    return _mm_or_si128(h, sign);
}

inline __m128i fp32_to_bf16_lanes(__m128 f) {
    const __m128i u = _mm_castps_si128(f);
    const __m128i abs = _mm_and_si128(u, _mm_set1_epi32(0x7fffffff));
    const __m128i odd = _mm_and_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(1));
    const __m128i rounded =
        _mm_srli_epi32(_mm_add_epi32(u, _mm_add_epi32(_mm_set1_epi32(0x7fff), odd)), 16);
    const __m128i quiet = _mm_or_si128(_mm_srli_epi32(u, 16), _mm_set1_epi32(64));
    return select(_mm_cmpgt_epi32(abs, _mm_set1_epi32(0x7f800000)), quiet, rounded);
}

// Eight 32-bit lanes holding 16-bit values, stored as 8 halves in order.
inline void store_halves(uint16_t* out, __m128i a, __m128i b) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_packus_epi32(a, b));
}

void quantize_f16_sse4(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        store_halves(out + i, fp32_to_fp16_lanes(_mm_loadu_ps(src + i)),
                     fp32_to_fp16_lanes(_mm_loadu_ps(src + i + 4)));
    }
    for (; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
}

void quantize_bf16_sse4(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        store_halves(out + i, fp32_to_bf16_lanes(_mm_loadu_ps(src + i)),
                     fp32_to_bf16_lanes(_mm_loadu_ps(src + i + 4)));
    }
    for (; i < n; ++i) out[i] = fp32_to_bf16(src[i]);
}

// Four halves (zero-extended to 32 bits) to floats, as fp16_to_fp32.
inline __m128 fp16_lanes_to_fp32(__m128i h) {
    const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
    const __m128i em = _mm_and_si128(h, _mm_set1_epi32(0x7fff));
    const __m128i mant = _mm_and_si128(h, _mm_set1_epi32(0x3ff));
    const __m128i shifted = _mm_slli_epi32(em, 13);
    const __m128i normal = _mm_add_epi32(shifted, _mm_set1_epi32(112 << 23));
    // Infinity and NaN: all-ones exponent; NaNs come out quiet.
    const __m128i is_nan = _mm_cmpgt_epi32(mant, _mm_setzero_si128());
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_set1_epi32(0x7f800000), _mm_slli_epi32(mant, 13)),
                     _mm_and_si128(is_nan, _mm_set1_epi32(0x400000)));
    // Subnormals (and zero): mant * 2^-24, exact.
    const __m128i sub =
        _mm_castps_si128(_mm_mul_ps(_mm_cvtepi32_ps(mant), _mm_set1_ps(5.9604644775390625e-08f)));
    __m128i out = select(_mm_cmpgt_epi32(em, _mm_set1_epi32(0x3ff)), normal, sub);
    out = select(_mm_cmpgt_epi32(em, _mm_set1_epi32(0x7bff)), special, out);
    return _mm_castsi128_ps(_mm_or_si128(out, sign));
}

void dequantize_f16_sse4(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m128i h =
            _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i)));
        _mm_storeu_ps(dst + i, fp16_lanes_to_fp32(h));
    }
    for (; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
}

void dequantize_bf16_sse4(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m128i h =
            _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_slli_epi32(h, 16));
    }
    for (; i < n; ++i) dst[i] = bf16_to_fp32(in[i]);
}

}  // namespace

void register_f16_bf16_sse4(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::f16)] = quantize_f16_sse4;
    table.quantize[uint32_t(ggml_type::bf16)] = quantize_bf16_sse4;
    table.dequantize[uint32_t(ggml_type::f16)] = dequantize_f16_sse4;
    table.dequantize[uint32_t(ggml_type::bf16)] = dequantize_bf16_sse4;
}

}  // namespace gguf_squash
