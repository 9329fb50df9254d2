// SSE4.1 IQ3_XXS / IQ3_S quantizers: the scalar algorithm (ref/iq3_quantize_impl.h) with its three
// inner loops vectorised so that each lane repeats the reference's float operations in order
// (same scheme as the AVX2 file, 4 lanes):
// - the neighbour search: one candidate grid point per lane, then the first strict minimum;
// - the levels of a trial scale: element-wise (nearest_int is exact in SIMD);
// - the trial sums: one trial scale per lane, each summed in element order.
#include <smmintrin.h>

#include "../../kernel_table.h"
#include "../../ref/iq3_quantize_impl.h"
#include "../iq3_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {
namespace {

// Signed byte `byte` of each 32-bit lane, as float.
template <int byte>
inline __m128 level_byte(__m128i points) {
    return _mm_cvtepi32_ps(_mm_srai_epi32(_mm_slli_epi32(points, 24 - 8 * byte), 24));
}

template <int i>
inline __m128 add_term(__m128 d2, __m128i points, __m128 scale, const float* xval,
                       const float* weight) {
    const __m128 diff = _mm_sub_ps(_mm_mul_ps(scale, level_byte<i>(points)), _mm_set1_ps(xval[i]));
    return _mm_add_ps(d2, _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(weight[i]), diff), diff));
}

// Index of the first lane holding the smallest value among the first `n` lanes, ignoring NaNs,
// if that value is below `bound`; else -1: what the reference's scan
// `if (d2 < best) { best = d2; ... }` picks, starting from best = bound.
inline int first_min_below(__m128 d2, int n, float bound) {
    const __m128 in_range =
        _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3)));
    const __m128 usable = _mm_and_ps(in_range, _mm_cmpord_ps(d2, d2));
    const __m128 v = _mm_blendv_ps(_mm_set1_ps(__builtin_inff()), d2, usable);
    __m128 m = _mm_min_ps(v, _mm_shuffle_ps(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    m = _mm_min_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
    const float smallest = _mm_cvtss_f32(m);
    if (!(smallest < bound)) return -1;
    const int hits = _mm_movemask_ps(_mm_cmpeq_ps(v, m));
    return __builtin_ctz(unsigned(hits));
}

struct iq3_sse4_search {
    static int best_neighbour(const iq3_search_tables& t, int32_t list, const float* xval,
                              const float* weight, float scale, int8_t* L) {
        const int count = t.neighbours[list];
        const uint32_t* points = t.neighbour_points + list + 1;
        const __m128 vscale = _mm_set1_ps(scale);
        float best_d2 = 3.40282347e+38f;  // FLT_MAX
        int best = -1;
        for (int j0 = 0; j0 < count; j0 += 4) {
            const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(points + j0));
            __m128 d2 = _mm_setzero_ps();
            d2 = add_term<0>(d2, p, vscale, xval, weight);
            d2 = add_term<1>(d2, p, vscale, xval, weight);
            d2 = add_term<2>(d2, p, vscale, xval, weight);
            d2 = add_term<3>(d2, p, vscale, xval, weight);
            const int n = count - j0 < 4 ? count - j0 : 4;
            const int lane = first_min_below(d2, n, best_d2);
            if (lane >= 0) {
                alignas(16) float lanes[4];
                _mm_store_ps(lanes, d2);
                best_d2 = lanes[lane];
                best = j0 + lane;
            }
        }
        if (best < 0) best = 0;  // NaN input only; the scalar search also takes the first
        return iq3_scalar_search::take_grid_point(t, t.neighbours[list + 1 + best], L);
    }

    static void group_levels(float id, const float* xval, int8_t* L, int* points) {
        const __m128 vid = _mm_set1_ps(id);
        const __m128 half = _mm_set1_ps(0.5f);
        const __m128 one = _mm_set1_ps(1.f);
        const __m128 magic = _mm_set1_ps(12582912.f);
        const __m128i mantissa = _mm_set1_epi32(0x007fffff);
        const __m128i bias = _mm_set1_epi32(0x00400000);
        const __m128i zero = _mm_setzero_si128();
        const __m128i top = _mm_set1_epi32(7);
        const __m128i weights = _mm_setr_epi32(1, 8, 64, 512);
        __m128i l[8], m[8];
        for (int c = 0; c < 8; ++c) {  // one vector per group of 4
            const __m128 x = _mm_loadu_ps(xval + 4 * c);
            const __m128 v = _mm_mul_ps(half, _mm_sub_ps(_mm_mul_ps(vid, x), one));
            __m128i i = _mm_castps_si128(_mm_add_ps(v, magic));
            i = _mm_sub_epi32(_mm_and_si128(i, mantissa), bias);  // nearest_int
            l[c] = _mm_min_epi32(_mm_max_epi32(i, zero), top);
            m[c] = _mm_mullo_epi32(l[c], weights);
        }
        for (int h = 0; h < 2; ++h) {
            const __m128i* lh = l + 4 * h;
            _mm_storeu_si128(
                reinterpret_cast<__m128i*>(L + 16 * h),
                _mm_packs_epi16(_mm_packs_epi32(lh[0], lh[1]), _mm_packs_epi32(lh[2], lh[3])));
            // Two rounds of pairwise sums: lane k of the result is group 4h+k's point.
            const __m128i* mh = m + 4 * h;
            _mm_storeu_si128(
                reinterpret_cast<__m128i*>(points + 4 * h),
                _mm_hadd_epi32(_mm_hadd_epi32(mh[0], mh[1]), _mm_hadd_epi32(mh[2], mh[3])));
        }
    }

    static void trial_sums(int nsteps, const float* q, const float* weight, const float* wx,
                           float* sumqx, float* sumq2) {
        iq3_trial_sums_lanes<sse4_lanes>(nsteps, q, weight, wx, sumqx, sumq2);
    }
};

}  // namespace

void register_iq3_sse4(kernel_table& table) {
    register_iq3_lanes<iq3_sse4_search>(table);
}

}  // namespace gguf_squash
