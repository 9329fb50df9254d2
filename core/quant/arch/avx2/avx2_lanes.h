// The AVX2 lane type of the kernels written once over a vector of floats (k_quants_lanes.h,
// legacy_lanes.h, iq4_lanes.h, iq3_lanes.h) and the bit-level conversions (f16_bf16_lanes.h): 8
// float lanes and 8 int32 lanes, IEEE-exact operations only (no FMA), so every lane repeats the
// scalar reference's rounding.
//
// Internal linkage (anonymous namespace): this header is compiled with -mavx2, and a shared
// inline copy could be the one the linker keeps for the scalar path, which would then fault on a
// CPU without AVX2.
#pragma once

#include <immintrin.h>

#include <cstdint>

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
    static F min(F a, F b) { return _mm256_min_ps(a, b); }
    static F max(F a, F b) { return _mm256_max_ps(a, b); }
    static F trunc(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
    static F lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static F gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static F le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
    static F ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
    static F eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
    static F neq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
    static F select(F m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
    static F mask_and(F a, F b) { return _mm256_and_ps(a, b); }
    static F mask_or(F a, F b) { return _mm256_or_ps(a, b); }
    static F mask_andnot(F a, F b) { return _mm256_andnot_ps(b, a); }
    static bool any(F m) { return _mm256_movemask_ps(m) != 0; }
    static bool all(F m) { return _mm256_movemask_ps(m) == 0xff; }
    // Bit k set when lane k's sign bit is (a mask lane is all ones or all zeros).
    static uint32_t bitmask(F m) { return uint32_t(_mm256_movemask_ps(m)); }
    // The smallest / largest lane. Which of +0 and -0 comes out when both are there, and what a
    // NaN does, differs per ISA: callers keep NaN out and decide zeros' signs themselves.
    static float hmin(F v) {
        __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }
    static float hmax(F v) {
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }
    // clamp(nearest_int(v), lo, hi) as a float; nearest_int's magic-constant bit trick is exact
    // in any lane, including for out-of-range and non-finite inputs.
    static F round_clamp(F v, int lo, int hi) {
        return _mm256_cvtepi32_ps(round_clamp_i(v, lo, hi));
    }
    static __m256i round_clamp_i(F v, int lo, int hi) {
        const __m256 t = _mm256_add_ps(v, _mm256_set1_ps(12582912.f));
        __m256i i = _mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x007fffff));
        i = _mm256_sub_epi32(i, _mm256_set1_epi32(0x00400000));
        return _mm256_min_epi32(_mm256_max_epi32(i, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
    }

    // 32-bit integer lanes (bit-level conversions). igt is a signed comparison.
    using I = __m256i;
    static I isplat(uint32_t v) { return _mm256_set1_epi32(int32_t(v)); }
    static I iand(I a, I b) { return _mm256_and_si256(a, b); }
    static I ior(I a, I b) { return _mm256_or_si256(a, b); }
    static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
    static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
    static I ishl(I a, int n) { return _mm256_slli_epi32(a, n); }
    static I ishr(I a, int n) { return _mm256_srli_epi32(a, n); }  // logical
    static I isar(I a, int n) { return _mm256_srai_epi32(a, n); }  // arithmetic
    static I imin(I a, I b) { return _mm256_min_epi32(a, b); }
    static I imax(I a, I b) { return _mm256_max_epi32(a, b); }
    static I imul(I a, I b) { return _mm256_mullo_epi32(a, b); }  // low 32 bits
    // Lane k: element (index_k & 3) of `table`'s group of four (table holds the same four
    // values in each 128-bit half).
    static F lookup4(F table, I index) { return _mm256_permutevar_ps(table, index); }
    static F set4(float a, float b, float c, float d) {
        return _mm256_setr_ps(a, b, c, d, a, b, c, d);
    }
    static I iota() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
    static I irepeat4(int32_t a, int32_t b, int32_t c, int32_t d) {
        return _mm256_setr_epi32(a, b, c, d, a, b, c, d);
    }
    static I iload(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
    static void istore(void* p, I a) { _mm256_storeu_si256(static_cast<__m256i*>(p), a); }
    static I igt(I a, I b) { return _mm256_cmpgt_epi32(a, b); }
    static I iselect(I m, I a, I b) { return _mm256_blendv_epi8(b, a, m); }
    static I bits(F a) { return _mm256_castps_si256(a); }
    static F from_bits(I a) { return _mm256_castsi256_ps(a); }
    static F to_float(I a) { return _mm256_cvtepi32_ps(a); }
    // C's float-to-int conversion (toward zero). Out of int32 range x86 gives INT32_MIN and
    // wasm saturates: callers keep values in range.
    static I trunc_i(F a) { return _mm256_cvttps_epi32(a); }

    // Bytes to 32-bit lanes (the dequantizers): `lanes` bytes zero- or sign-extended, and a
    // 16-entry signed byte table looked up by lane indices 0..15.
    static I load_u8(const uint8_t* p) {
        return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    }
    static I load_i8(const int8_t* p) {
        return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    }
    static I lut16_i8(const int8_t* table, I index) {
        const __m256i t =
            _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table)));
        return _mm256_srai_epi32(_mm256_slli_epi32(_mm256_shuffle_epi8(t, index), 24), 24);
    }

    // Horizontal integer sums: lane k of the result is the sum of values 4k..4k+3 of the
    // 4 * lanes values in q[0..3] (pairwise sums interleave the 128-bit halves; the permute
    // restores the order).
    static I group4_sums(const I* q) {
        const __m256i s =
            _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
        return _mm256_permutevar8x32_epi32(s, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    }

    // Byte packing: the 16 values in q[0..16 / lanes - 1], in order, as 16 bytes, saturating
    // (unsigned: each 0..255 arrives unchanged; signed: each -128..127).
    static void store_u8_16(uint8_t* out, const I* q) {
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(q[0], q[1]), 0xd8);
        _mm_storeu_si128(
            reinterpret_cast<__m128i*>(out),
            _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
    }
    static void store_i8_16(int8_t* out, const I* q) {
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
        _mm_storeu_si128(
            reinterpret_cast<__m128i*>(out),
            _mm_packs_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
    }
    // 2 * lanes 32-bit lanes holding 16-bit values, stored as 16-bit values in order (the pack
    // interleaves the 128-bit halves; the permute restores the order).
    static void store_u16(uint16_t* out, I a, I b) {
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), p);
    }
    // lanes 16-bit values, zero-extended to 32-bit lanes.
    static I load_u16(const uint16_t* in) {
        return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in)));
    }
    // 2 * lanes halves zero-extended, from one full-width load.
    static void load_u16_pair(const uint16_t* in, I& lo, I& hi) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
        lo = _mm256_cvtepu16_epi32(_mm256_castsi256_si128(x));
        hi = _mm256_cvtepu16_epi32(_mm256_extracti128_si256(x, 1));
    }
};

}  // namespace
}  // namespace gguf_squash
