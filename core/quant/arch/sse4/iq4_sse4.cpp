// SSE4.1 IQ4_NL and IQ4_XS quantization: four blocks of 32 at a time, one per lane
// (see ../iq4_lanes.h). Dequantization stays scalar.
#include <smmintrin.h>

#include "../../kernel_table.h"
#include "../iq4_lanes.h"

namespace gguf_squash {
namespace {

struct sse4_lanes {
    static constexpr int lanes = 4;
    using f = __m128;
    using i = __m128i;
    static f load(const float* p) { return _mm_load_ps(p); }
    static void store(float* p, f v) { _mm_store_ps(p, v); }
    static void store_i(int32_t* p, i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }
    static f set1(float v) { return _mm_set1_ps(v); }
    static f zero() { return _mm_setzero_ps(); }
    static f add(f a, f b) { return _mm_add_ps(a, b); }
    static f mul(f a, f b) { return _mm_mul_ps(a, b); }
    static f div(f a, f b) { return _mm_div_ps(a, b); }
    static f sqrt(f a) { return _mm_sqrt_ps(a); }
    static f abs(f a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
    static f neg(f a) { return _mm_xor_ps(_mm_set1_ps(-0.0f), a); }
    static f gt(f a, f b) { return _mm_cmpgt_ps(a, b); }
    static f lt(f a, f b) { return _mm_cmplt_ps(a, b); }
    static f and_m(f a, f b) { return _mm_and_ps(a, b); }
    static f blend(f a, f b, f m) { return _mm_blendv_ps(a, b, m); }

    // Level k of kIq4nlValues for indices 0..15 (byte lookup, then sign extension).
    static i level_int(i index) {
        const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
        return _mm_srai_epi32(_mm_slli_epi32(_mm_shuffle_epi8(table, index), 24), 24);
    }
    static f level(i index) { return _mm_cvtepi32_ps(level_int(index)); }

    // best_index_int8, as in the AVX2 file: mu = number of levels <= al, the lower neighbour
    // wins only when strictly nearer; at or below level 0 gives 0, at or above 15 (or NaN) 15.
    static i level_index(f al) {
        __m128i mu = _mm_set1_epi32(1);
        for (int k = 1; k < 15; ++k) {
            const __m128 ge = _mm_cmpge_ps(al, _mm_set1_ps(float(kIq4nlValues[k])));
            mu = _mm_sub_epi32(mu, _mm_castps_si128(ge));
        }
        const __m128 a = level(_mm_sub_epi32(mu, _mm_set1_epi32(1)));
        const __m128 b = level(mu);
        const __m128 lower = _mm_cmplt_ps(_mm_sub_ps(al, a), _mm_sub_ps(b, al));
        __m128i index = _mm_add_epi32(mu, _mm_castps_si128(lower));
        const __m128 at_top = _mm_cmpnlt_ps(al, _mm_set1_ps(float(kIq4nlValues[15])));
        const __m128 at_bottom = _mm_cmple_ps(al, _mm_set1_ps(float(kIq4nlValues[0])));
        index = _mm_blendv_epi8(index, _mm_set1_epi32(15), _mm_castps_si128(at_top));
        return _mm_andnot_si128(_mm_castps_si128(at_bottom), index);
    }
    static i pack_nibbles(i lo, i hi) { return _mm_or_si128(lo, _mm_slli_epi32(hi, 4)); }
};

void quantize_iq4_nl_sse4(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_nl<sse4_lanes>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq4_xs_sse4(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_xs<sse4_lanes>(src, dst, nrows, n_per_row, imatrix);
}

}  // namespace

void register_iq4_sse4(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::iq4_nl)] = quantize_iq4_nl_sse4;
    table.quantize[uint32_t(ggml_type::iq4_xs)] = quantize_iq4_xs_sse4;
}

}  // namespace gguf_squash
