// The SSE4.1 lane type of the kernels written once over a vector of floats (k_quants_lanes.h,
// legacy_lanes.h, iq4_lanes.h, iq3_lanes.h) and the bit-level conversions (f16_bf16_lanes.h): 4
// float lanes and 4 int32 lanes, IEEE-exact operations only (no FMA), so every lane repeats the
// scalar reference's rounding.
//
// Internal linkage (anonymous namespace): this header is compiled with -msse4.1, and a shared
// inline copy could be the one the linker keeps for another ISA's or the scalar path.
#pragma once

#include <smmintrin.h>

#include <cstdint>

namespace gguf_squash {
namespace {

struct sse4_lanes {
    using F = __m128;
    static constexpr int lanes = 4;
    static F load(const float* p) { return _mm_loadu_ps(p); }
    static void store(float* p, F v) { _mm_storeu_ps(p, v); }
    static F set1(float v) { return _mm_set1_ps(v); }
    static F zero() { return _mm_setzero_ps(); }
    static F add(F a, F b) { return _mm_add_ps(a, b); }
    static F sub(F a, F b) { return _mm_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm_mul_ps(a, b); }
    static F div(F a, F b) { return _mm_div_ps(a, b); }
    static F sqrt(F a) { return _mm_sqrt_ps(a); }
    static F abs(F a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
    static F neg(F a) { return _mm_xor_ps(_mm_set1_ps(-0.0f), a); }
    static F lt(F a, F b) { return _mm_cmplt_ps(a, b); }
    static F gt(F a, F b) { return _mm_cmpgt_ps(a, b); }
    static F le(F a, F b) { return _mm_cmple_ps(a, b); }
    static F eq(F a, F b) { return _mm_cmpeq_ps(a, b); }
    static F neq(F a, F b) { return _mm_cmpneq_ps(a, b); }
    static F select(F m, F a, F b) { return _mm_blendv_ps(b, a, m); }
    static F mask_and(F a, F b) { return _mm_and_ps(a, b); }
    static F mask_or(F a, F b) { return _mm_or_ps(a, b); }
    static F mask_andnot(F a, F b) { return _mm_andnot_ps(b, a); }
    static bool any(F m) { return _mm_movemask_ps(m) != 0; }
    // clamp(nearest_int(v), lo, hi) as a float; nearest_int's magic-constant bit trick is exact
    // in any lane, including for out-of-range and non-finite inputs.
    static F round_clamp(F v, int lo, int hi) {
        const __m128 t = _mm_add_ps(v, _mm_set1_ps(12582912.f));
        __m128i i = _mm_and_si128(_mm_castps_si128(t), _mm_set1_epi32(0x007fffff));
        i = _mm_sub_epi32(i, _mm_set1_epi32(0x00400000));
        i = _mm_min_epi32(_mm_max_epi32(i, _mm_set1_epi32(lo)), _mm_set1_epi32(hi));
        return _mm_cvtepi32_ps(i);
    }

    // 32-bit integer lanes (bit-level conversions). igt is a signed comparison.
    using I = __m128i;
    static I isplat(uint32_t v) { return _mm_set1_epi32(int32_t(v)); }
    static I iand(I a, I b) { return _mm_and_si128(a, b); }
    static I ior(I a, I b) { return _mm_or_si128(a, b); }
    static I iadd(I a, I b) { return _mm_add_epi32(a, b); }
    static I isub(I a, I b) { return _mm_sub_epi32(a, b); }
    static I ishl(I a, int n) { return _mm_slli_epi32(a, n); }
    static I ishr(I a, int n) { return _mm_srli_epi32(a, n); }  // logical
    static I igt(I a, I b) { return _mm_cmpgt_epi32(a, b); }
    static I iselect(I m, I a, I b) { return _mm_blendv_epi8(b, a, m); }
    static I bits(F a) { return _mm_castps_si128(a); }
    static F from_bits(I a) { return _mm_castsi128_ps(a); }
    static F to_float(I a) { return _mm_cvtepi32_ps(a); }
    // 2 * lanes 32-bit lanes holding 16-bit values, stored as 16-bit values in order.
    static void store_u16(uint16_t* out, I a, I b) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_packus_epi32(a, b));
    }
    // lanes 16-bit values, zero-extended to 32-bit lanes.
    static I load_u16(const uint16_t* in) {
        return _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in)));
    }
    // 2 * lanes halves zero-extended, from one full-width load.
    static void load_u16_pair(const uint16_t* in, I& lo, I& hi) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
        lo = _mm_cvtepu16_epi32(x);
        hi = _mm_unpackhi_epi16(x, _mm_setzero_si128());
    }
};

}  // namespace
}  // namespace gguf_squash
