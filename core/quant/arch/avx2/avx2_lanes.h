// The AVX2 lane type of the kernels written once over a vector of floats (k_quants_lanes.h,
// legacy_lanes.h): 8 float lanes, IEEE-exact operations only (no FMA), so every lane repeats the
// scalar reference's rounding.
//
// Internal linkage (anonymous namespace): this header is compiled with -mavx2, and a shared
// inline copy could be the one the linker keeps for the scalar path, which would then fault on a
// CPU without AVX2.
#pragma once

#include <immintrin.h>

namespace gguf_squash {
namespace {

struct avx2_lanes {
    using F = __m256;
    static constexpr int lanes = 8;
    static F load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
    static F set1(float v) { return _mm256_set1_ps(v); }
    static F zero() { return _mm256_setzero_ps(); }
    static F add(F a, F b) { return _mm256_add_ps(a, b); }
    static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F div(F a, F b) { return _mm256_div_ps(a, b); }
    static F sqrt(F a) { return _mm256_sqrt_ps(a); }
    static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static F neg(F a) { return _mm256_xor_ps(_mm256_set1_ps(-0.0f), a); }
    static F lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static F gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static F le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
    static F eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static F neq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
    static F select(F m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
    static F mask_and(F a, F b) { return _mm256_and_ps(a, b); }
    static F mask_or(F a, F b) { return _mm256_or_ps(a, b); }
    static F mask_andnot(F a, F b) { return _mm256_andnot_ps(b, a); }
    static bool any(F m) { return _mm256_movemask_ps(m) != 0; }
    // clamp(nearest_int(v), lo, hi) as a float; nearest_int's magic-constant bit trick is exact
    // in any lane, including for out-of-range and non-finite inputs.
    static F round_clamp(F v, int lo, int hi) {
        const __m256 t = _mm256_add_ps(v, _mm256_set1_ps(12582912.f));
        __m256i i = _mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x007fffff));
        i = _mm256_sub_epi32(i, _mm256_set1_epi32(0x00400000));
        i = _mm256_min_epi32(_mm256_max_epi32(i, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
        return _mm256_cvtepi32_ps(i);
    }
};

}  // namespace
}  // namespace gguf_squash
