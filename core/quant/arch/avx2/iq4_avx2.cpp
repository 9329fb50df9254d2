// AVX2 IQ4_NL and IQ4_XS quantization: eight blocks of 32 at a time, one per lane
// (see ../iq4_lanes.h). Dequantization stays scalar.
#include <immintrin.h>

#include "../../kernel_table.h"
#include "../iq4_lanes.h"

namespace gguf_squash {
namespace {

struct avx2_lanes {
    static constexpr int lanes = 8;
    using f = __m256;
    using i = __m256i;
    static f load(const float* p) { return _mm256_load_ps(p); }
    static void store(float* p, f v) { _mm256_store_ps(p, v); }
    static void store_i(int32_t* p, i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
    static f set1(float v) { return _mm256_set1_ps(v); }
    static f zero() { return _mm256_setzero_ps(); }
    static f add(f a, f b) { return _mm256_add_ps(a, b); }
    static f mul(f a, f b) { return _mm256_mul_ps(a, b); }
    static f div(f a, f b) { return _mm256_div_ps(a, b); }
    static f sqrt(f a) { return _mm256_sqrt_ps(a); }
    static f abs(f a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static f neg(f a) { return _mm256_xor_ps(_mm256_set1_ps(-0.0f), a); }
    static f gt(f a, f b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static f lt(f a, f b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static f and_m(f a, f b) { return _mm256_and_ps(a, b); }
    static f blend(f a, f b, f m) { return _mm256_blendv_ps(a, b, m); }

    // Level k of kIq4nlValues for indices 0..15 (byte lookup, then sign extension).
    static i level_int(i index) {
        const __m256i table = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
        const __m256i bytes = _mm256_shuffle_epi8(table, index);
        return _mm256_srai_epi32(_mm256_slli_epi32(bytes, 24), 24);
    }
    static f level(i index) { return _mm256_cvtepi32_ps(level_int(index)); }

    // best_index_int8: below or at the first level gives 0, at or above the last (or NaN) 15;
    // otherwise mu = number of levels <= al, and the lower neighbour wins only when strictly
    // nearer, measured with the same float differences as the scalar code.
    static i level_index(f al) {
        __m256i mu = _mm256_set1_epi32(1);
        for (int k = 1; k < 15; ++k) {
            const __m256 ge = _mm256_cmp_ps(al, _mm256_set1_ps(float(kIq4nlValues[k])), _CMP_GE_OQ);
            mu = _mm256_sub_epi32(mu, _mm256_castps_si256(ge));
        }
        const __m256i below = _mm256_sub_epi32(mu, _mm256_set1_epi32(1));
        const __m256 a = level(below);
        const __m256 b = level(mu);
        const __m256 lower = _mm256_cmp_ps(_mm256_sub_ps(al, a), _mm256_sub_ps(b, al), _CMP_LT_OQ);
        __m256i index = _mm256_add_epi32(mu, _mm256_castps_si256(lower));
        const __m256 at_top =
            _mm256_cmp_ps(al, _mm256_set1_ps(float(kIq4nlValues[15])), _CMP_NLT_UQ);
        const __m256 at_bottom =
            _mm256_cmp_ps(al, _mm256_set1_ps(float(kIq4nlValues[0])), _CMP_LE_OQ);
        index = _mm256_blendv_epi8(index, _mm256_set1_epi32(15), _mm256_castps_si256(at_top));
        return _mm256_andnot_si256(_mm256_castps_si256(at_bottom), index);
    }
    static i pack_nibbles(i lo, i hi) { return _mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)); }
};

void quantize_iq4_nl_avx2(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_nl<avx2_lanes>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq4_xs_avx2(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_xs<avx2_lanes>(src, dst, nrows, n_per_row, imatrix);
}

}  // namespace

void register_iq4_avx2(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::iq4_nl)] = quantize_iq4_nl_avx2;
    table.quantize[uint32_t(ggml_type::iq4_xs)] = quantize_iq4_xs_avx2;
}

}  // namespace gguf_squash
