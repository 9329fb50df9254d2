// AVX2 IQ3_XXS / IQ3_S quantizers: the scalar algorithm (ref/iq3_quantize_impl.h) with its three
// inner loops vectorised so that each lane repeats the reference's float operations in order:
// - the neighbour search: one candidate grid point per lane, then the first strict minimum;
// - the levels of a trial scale: element-wise (nearest_int is exact in SIMD);
// - the trial sums: one trial scale per lane, each summed in element order.
#include <immintrin.h>

#include "../../kernel_table.h"
#include "../../ref/iq3_quantize_impl.h"
#include "../iq3_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {
namespace {

// Signed byte `byte` of each 32-bit lane, as float.
template <int byte>
inline __m256 level_byte(__m256i points) {
    return _mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_slli_epi32(points, 24 - 8 * byte), 24));
}

template <int i>
inline __m256 add_term(__m256 d2, __m256i points, __m256 scale, const float* xval,
                       const float* weight) {
    const __m256 diff =
        _mm256_sub_ps(_mm256_mul_ps(scale, level_byte<i>(points)), _mm256_set1_ps(xval[i]));
    return _mm256_add_ps(d2, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(weight[i]), diff), diff));
}

// Index of the first lane holding the smallest value among the first `n` lanes, ignoring NaNs,
// if that value is below `bound`; else -1. This is what the reference's scan
// `if (d2 < best) { best = d2; ... }` picks, starting from best = bound.
inline int first_min_below(__m256 d2, int n, float bound) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 in_range = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane));
    const __m256 usable = _mm256_and_ps(in_range, _mm256_cmp_ps(d2, d2, _CMP_ORD_Q));
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(__builtin_inff()), d2, usable);
    __m256 m = _mm256_min_ps(v, _mm256_permute2f128_ps(v, v, 1));
    m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
    m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
    const float smallest = _mm256_cvtss_f32(m);
    if (!(smallest < bound)) return -1;
    const int hits = _mm256_movemask_ps(_mm256_cmp_ps(v, m, _CMP_EQ_OQ));
    return __builtin_ctz(unsigned(hits));
}

struct iq3_avx2_search {
    __attribute__((always_inline)) static int best_neighbour(const iq3_search_tables& t,
                                                             int32_t list, const float* xval,
                                                             const float* weight, float scale,
                                                             int8_t* L) {
        const int count = t.neighbours[list];
        const uint32_t* points = t.neighbour_points + list + 1;
        const __m256 vscale = _mm256_set1_ps(scale);
        float best_d2 = 3.40282347e+38f;  // FLT_MAX
        int best = -1;
        for (int j0 = 0; j0 < count; j0 += 8) {
            const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(points + j0));
            __m256 d2 = _mm256_setzero_ps();
            d2 = add_term<0>(d2, p, vscale, xval, weight);
            d2 = add_term<1>(d2, p, vscale, xval, weight);
            d2 = add_term<2>(d2, p, vscale, xval, weight);
            d2 = add_term<3>(d2, p, vscale, xval, weight);
            const int n = count - j0 < 8 ? count - j0 : 8;
            const int lane = first_min_below(d2, n, best_d2);
            if (lane >= 0) {
                alignas(32) float lanes[8];
                _mm256_store_ps(lanes, d2);
                best_d2 = lanes[lane];
                best = j0 + lane;
            }
        }
        if (best < 0) best = 0;  // NaN input only; the scalar search also takes the first
        return iq3_scalar_search::take_grid_point(t, t.neighbours[list + 1 + best], L);
    }

    static void group_levels(float id, const float* xval, int8_t* L, int* points) {
        const __m256 vid = _mm256_set1_ps(id);
        const __m256 half = _mm256_set1_ps(0.5f);
        const __m256 one = _mm256_set1_ps(1.f);
        const __m256 magic = _mm256_set1_ps(12582912.f);
        const __m256i mantissa = _mm256_set1_epi32(0x007fffff);
        const __m256i bias = _mm256_set1_epi32(0x00400000);
        const __m256i zero = _mm256_setzero_si256();
        const __m256i top = _mm256_set1_epi32(7);
        const __m256i weights = _mm256_setr_epi32(1, 8, 64, 512, 1, 8, 64, 512);
        __m256i l[4], m[4];
        for (int c = 0; c < 4; ++c) {
            const __m256 x = _mm256_loadu_ps(xval + 8 * c);
            const __m256 v = _mm256_mul_ps(half, _mm256_sub_ps(_mm256_mul_ps(vid, x), one));
            __m256i i = _mm256_castps_si256(_mm256_add_ps(v, magic));
            i = _mm256_sub_epi32(_mm256_and_si256(i, mantissa), bias);  // nearest_int
            l[c] = _mm256_min_epi32(_mm256_max_epi32(i, zero), top);
            m[c] = _mm256_mullo_epi32(l[c], weights);
        }
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        // Levels to bytes: packs interleave the 128-bit halves; the permute restores order.
        const __m256i bytes =
            _mm256_packs_epi16(_mm256_packs_epi32(l[0], l[1]), _mm256_packs_epi32(l[2], l[3]));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(L),
                            _mm256_permutevar8x32_epi32(bytes, order));
        // Points: two rounds of pairwise sums add each group's 4 weighted levels.
        const __m256i sums =
            _mm256_hadd_epi32(_mm256_hadd_epi32(m[0], m[1]), _mm256_hadd_epi32(m[2], m[3]));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(points),
                            _mm256_permutevar8x32_epi32(sums, order));
    }

    static void trial_sums(int nsteps, const float* q, const float* weight, const float* wx,
                           float* sumqx, float* sumq2) {
        iq3_trial_sums_lanes<avx2_lanes>(nsteps, q, weight, wx, sumqx, sumq2);
    }
};

}  // namespace

void register_iq3_avx2(kernel_table& table) {
    register_iq3_lanes<iq3_avx2_search>(table);
}

}  // namespace gguf_squash
