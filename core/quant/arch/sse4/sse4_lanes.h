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
#include <cstring>

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
    static F min(F a, F b) { return _mm_min_ps(a, b); }
    static F max(F a, F b) { return _mm_max_ps(a, b); }
    static F trunc(F a) { return _mm_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
    static F lt(F a, F b) { return _mm_cmplt_ps(a, b); }
    static F gt(F a, F b) { return _mm_cmpgt_ps(a, b); }
    static F le(F a, F b) { return _mm_cmple_ps(a, b); }
    static F ge(F a, F b) { return _mm_cmpge_ps(a, b); }
    static F eq(F a, F b) { return _mm_cmpeq_ps(a, b); }
    static F neq(F a, F b) { return _mm_cmpneq_ps(a, b); }
    static F select(F m, F a, F b) { return _mm_blendv_ps(b, a, m); }
    static F mask_and(F a, F b) { return _mm_and_ps(a, b); }
    static F mask_or(F a, F b) { return _mm_or_ps(a, b); }
    static F mask_andnot(F a, F b) { return _mm_andnot_ps(b, a); }
    static bool any(F m) { return _mm_movemask_ps(m) != 0; }
    static bool all(F m) { return _mm_movemask_ps(m) == 0xf; }
    // Bit k set when lane k's sign bit is (a mask lane is all ones or all zeros).
    static uint32_t bitmask(F m) { return uint32_t(_mm_movemask_ps(m)); }
    // The smallest / largest lane. Which of +0 and -0 comes out when both are there, and what a
    // NaN does, differs per ISA: callers keep NaN out and decide zeros' signs themselves.
    static float hmin(F m) {
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }
    static float hmax(F m) {
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }
    // clamp(nearest_int(v), lo, hi) as a float; nearest_int's magic-constant bit trick is exact
    // in any lane, including for out-of-range and non-finite inputs.
    static F round_clamp(F v, int lo, int hi) { return _mm_cvtepi32_ps(round_clamp_i(v, lo, hi)); }
    static __m128i round_clamp_i(F v, int lo, int hi) {
        const __m128 t = _mm_add_ps(v, _mm_set1_ps(12582912.f));
        __m128i i = _mm_and_si128(_mm_castps_si128(t), _mm_set1_epi32(0x007fffff));
        i = _mm_sub_epi32(i, _mm_set1_epi32(0x00400000));
        return _mm_min_epi32(_mm_max_epi32(i, _mm_set1_epi32(lo)), _mm_set1_epi32(hi));
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
    static I isar(I a, int n) { return _mm_srai_epi32(a, n); }  // arithmetic
    static I imin(I a, I b) { return _mm_min_epi32(a, b); }
    static I imax(I a, I b) { return _mm_max_epi32(a, b); }
    static I imul(I a, I b) { return _mm_mullo_epi32(a, b); }  // low 32 bits
    // Lane k: element (index_k & 3) of `table` (blends on the index's two low bits, moved to
    // the sign bit blendv reads).
    static F lookup4(F table, I index) {
        const __m128 b0 = _mm_castsi128_ps(_mm_slli_epi32(index, 31));
        const __m128 b1 = _mm_castsi128_ps(_mm_slli_epi32(index, 30));
        const __m128 lo = _mm_blendv_ps(_mm_shuffle_ps(table, table, 0x00),
                                        _mm_shuffle_ps(table, table, 0x55), b0);
        const __m128 hi = _mm_blendv_ps(_mm_shuffle_ps(table, table, 0xaa),
                                        _mm_shuffle_ps(table, table, 0xff), b0);
        return _mm_blendv_ps(lo, hi, b1);
    }
    static F set4(float a, float b, float c, float d) { return _mm_setr_ps(a, b, c, d); }
    static I iota() { return _mm_setr_epi32(0, 1, 2, 3); }
    static I irepeat4(int32_t a, int32_t b, int32_t c, int32_t d) {
        return _mm_setr_epi32(a, b, c, d);
    }
    static I iload(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
    static void istore(void* p, I a) { _mm_storeu_si128(static_cast<__m128i*>(p), a); }
    static I igt(I a, I b) { return _mm_cmpgt_epi32(a, b); }
    static I iselect(I m, I a, I b) { return _mm_blendv_epi8(b, a, m); }
    static I bits(F a) { return _mm_castps_si128(a); }
    static F from_bits(I a) { return _mm_castsi128_ps(a); }
    static F to_float(I a) { return _mm_cvtepi32_ps(a); }
    // C's float-to-int conversion (toward zero). Out of int32 range x86 gives INT32_MIN and
    // wasm saturates: callers keep values in range.
    static I trunc_i(F a) { return _mm_cvttps_epi32(a); }

    // Bytes to 32-bit lanes (the dequantizers): `lanes` bytes zero- or sign-extended, and a
    // 16-entry signed byte table looked up by lane indices 0..15.
    static I load_u8(const uint8_t* p) {
        int32_t v;
        std::memcpy(&v, p, 4);
        return _mm_cvtepu8_epi32(_mm_cvtsi32_si128(v));
    }
    static I load_i8(const int8_t* p) {
        int32_t v;
        std::memcpy(&v, p, 4);
        return _mm_cvtepi8_epi32(_mm_cvtsi32_si128(v));
    }
    static I lut16_i8(const int8_t* table, I index) {
        const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
        return _mm_srai_epi32(_mm_slli_epi32(_mm_shuffle_epi8(t, index), 24), 24);
    }

    // Horizontal integer sums: lane k of the result is the sum of values 4k..4k+3 of the
    // 4 * lanes values in q[0..3].
    static I group4_sums(const I* q) {
        return _mm_hadd_epi32(_mm_hadd_epi32(q[0], q[1]), _mm_hadd_epi32(q[2], q[3]));
    }

    // Byte packing: the 16 values in q[0..16 / lanes - 1], in order, as 16 bytes, saturating
    // (unsigned: each 0..255 arrives unchanged; signed: each -128..127).
    static void store_u8_16(uint8_t* out, const I* q) {
        _mm_storeu_si128(
            reinterpret_cast<__m128i*>(out),
            _mm_packus_epi16(_mm_packus_epi32(q[0], q[1]), _mm_packus_epi32(q[2], q[3])));
    }
    static void store_i8_16(int8_t* out, const I* q) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                         _mm_packs_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3])));
    }
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
