// The wasm simd128 lane type of the kernels written once over a vector of floats
// (k_quants_lanes.h, legacy_lanes.h, iq4_lanes.h, iq3_lanes.h) and the bit-level conversions
// (f16_bf16_lanes.h): 4 float lanes and 4 int32 lanes, IEEE-exact operations only, so every lane
// repeats the scalar reference's rounding.
//
// Internal linkage (anonymous namespace), like the x86 lane types: each translation unit keeps
// its own copy, compiled with its own target flags.
#pragma once

#include <wasm_simd128.h>

#include <cstdint>

namespace gguf_squash {
namespace {

struct wasm128_lanes {
    using F = v128_t;
    static constexpr int lanes = 4;
    static F load(const float* p) { return wasm_v128_load(p); }
    static void store(float* p, F v) { wasm_v128_store(p, v); }
    static F set1(float v) { return wasm_f32x4_splat(v); }
    static F zero() { return wasm_f32x4_splat(0.0f); }
    static F add(F a, F b) { return wasm_f32x4_add(a, b); }
    static F sub(F a, F b) { return wasm_f32x4_sub(a, b); }
    static F mul(F a, F b) { return wasm_f32x4_mul(a, b); }
    static F div(F a, F b) { return wasm_f32x4_div(a, b); }
    static F sqrt(F a) { return wasm_f32x4_sqrt(a); }
    static F abs(F a) { return wasm_f32x4_abs(a); }
    static F neg(F a) { return wasm_f32x4_neg(a); }
    static F min(F a, F b) { return wasm_f32x4_pmin(a, b); }
    static F max(F a, F b) { return wasm_f32x4_pmax(a, b); }
    static F trunc(F a) { return wasm_f32x4_trunc(a); }
    static F lt(F a, F b) { return wasm_f32x4_lt(a, b); }
    static F gt(F a, F b) { return wasm_f32x4_gt(a, b); }
    static F le(F a, F b) { return wasm_f32x4_le(a, b); }
    static F ge(F a, F b) { return wasm_f32x4_ge(a, b); }
    static F eq(F a, F b) { return wasm_f32x4_eq(a, b); }
    static F neq(F a, F b) { return wasm_f32x4_ne(a, b); }
    static F select(F m, F a, F b) { return wasm_v128_bitselect(a, b, m); }
    static F mask_and(F a, F b) { return wasm_v128_and(a, b); }
    static F mask_or(F a, F b) { return wasm_v128_or(a, b); }
    static F mask_andnot(F a, F b) { return wasm_v128_andnot(a, b); }
    static bool any(F m) { return wasm_v128_any_true(m); }
    static bool all(F m) { return wasm_i32x4_all_true(m); }
    // Bit k set when lane k's sign bit is (a mask lane is all ones or all zeros).
    static uint32_t bitmask(F m) { return wasm_i32x4_bitmask(m); }
    // The smallest / largest lane. Which of +0 and -0 comes out when both are there, and what a
    // NaN does, differs per ISA: callers keep NaN out and decide zeros' signs themselves.
    static float hmin(F m) {
        m = wasm_f32x4_pmin(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
        m = wasm_f32x4_pmin(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
        return wasm_f32x4_extract_lane(m, 0);
    }
    static float hmax(F m) {
        m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
        m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
        return wasm_f32x4_extract_lane(m, 0);
    }
    // clamp(nearest_int(v), lo, hi) as a float, with ggml's magic-constant bit trick (exact for
    // every input, unlike wasm_f32x4_nearest on out-of-range values).
    static F round_clamp(F v, int lo, int hi) {
        return wasm_f32x4_convert_i32x4(round_clamp_i(v, lo, hi));
    }
    static v128_t round_clamp_i(F v, int lo, int hi) {
        const v128_t t = wasm_f32x4_add(v, wasm_f32x4_splat(12582912.f));
        v128_t i = wasm_v128_and(t, wasm_i32x4_splat(0x007fffff));
        i = wasm_i32x4_sub(i, wasm_i32x4_splat(0x00400000));
        return wasm_i32x4_min(wasm_i32x4_max(i, wasm_i32x4_splat(lo)), wasm_i32x4_splat(hi));
    }

    // 32-bit integer lanes (bit-level conversions). igt is a signed comparison.
    using I = v128_t;
    static I isplat(uint32_t v) { return wasm_i32x4_splat(int32_t(v)); }
    static I iand(I a, I b) { return wasm_v128_and(a, b); }
    static I ior(I a, I b) { return wasm_v128_or(a, b); }
    static I iadd(I a, I b) { return wasm_i32x4_add(a, b); }
    static I isub(I a, I b) { return wasm_i32x4_sub(a, b); }
    static I ishl(I a, int n) { return wasm_i32x4_shl(a, n); }
    static I ishr(I a, int n) { return wasm_u32x4_shr(a, n); }  // logical
    static I isar(I a, int n) { return wasm_i32x4_shr(a, n); }  // arithmetic
    static I imin(I a, I b) { return wasm_i32x4_min(a, b); }
    static I imax(I a, I b) { return wasm_i32x4_max(a, b); }
    static I imul(I a, I b) { return wasm_i32x4_mul(a, b); }  // low 32 bits
    // Lane k: element (index_k & 3) of `table`, as one byte shuffle taking bytes
    // 4 (index_k & 3) + {0, 1, 2, 3} (fewer instructions in node than selects on the index's two
    // low bits: V8 lowers each bitselect to three).
    static F lookup4(F table, I index) {
        const v128_t element = wasm_v128_and(index, wasm_i32x4_splat(3));
        const v128_t bytes = wasm_i32x4_add(wasm_i32x4_mul(element, wasm_i32x4_splat(0x04040404)),
                                            wasm_i32x4_splat(0x03020100));
        return wasm_i8x16_swizzle(table, bytes);
    }
    static F set4(float a, float b, float c, float d) { return wasm_f32x4_make(a, b, c, d); }
    static I iota() { return wasm_i32x4_make(0, 1, 2, 3); }
    static I irepeat4(int32_t a, int32_t b, int32_t c, int32_t d) {
        return wasm_i32x4_make(a, b, c, d);
    }
    static I iload(const void* p) { return wasm_v128_load(p); }
    static void istore(void* p, I a) { wasm_v128_store(p, a); }
    static I igt(I a, I b) { return wasm_i32x4_gt(a, b); }
    static I iselect(I m, I a, I b) { return wasm_v128_bitselect(a, b, m); }
    static I bits(F a) { return a; }
    static F from_bits(I a) { return a; }
    static F to_float(I a) { return wasm_f32x4_convert_i32x4(a); }
    // C's float-to-int conversion (toward zero). Out of int32 range x86 gives INT32_MIN and
    // wasm saturates: callers keep values in range.
    static I trunc_i(F a) { return wasm_i32x4_trunc_sat_f32x4(a); }

    // Bytes to 32-bit lanes (the dequantizers): `lanes` bytes zero- or sign-extended, and a
    // 16-entry signed byte table looked up by lane indices 0..15.
    static I load_u8(const uint8_t* p) {
        return wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(p)));
    }
    static I load_i8(const int8_t* p) {
        return wasm_i32x4_extend_low_i16x8(wasm_i16x8_extend_low_i8x16(wasm_v128_load32_zero(p)));
    }
    static I lut16_i8(const int8_t* table, I index) {
        return wasm_i32x4_shr(wasm_i32x4_shl(wasm_i8x16_swizzle(wasm_v128_load(table), index), 24),
                              24);
    }

    // Horizontal integer sums: lane k of the result is the sum of values 4k..4k+3 of the
    // 4 * lanes values in q[0..3] (two rounds of transposed pairwise sums).
    static I group4_sums(const I* q) {
        const v128_t s01 = wasm_i32x4_add(wasm_i32x4_shuffle(q[0], q[1], 0, 4, 2, 6),
                                          wasm_i32x4_shuffle(q[0], q[1], 1, 5, 3, 7));
        const v128_t s23 = wasm_i32x4_add(wasm_i32x4_shuffle(q[2], q[3], 0, 4, 2, 6),
                                          wasm_i32x4_shuffle(q[2], q[3], 1, 5, 3, 7));
        return wasm_i32x4_add(wasm_i32x4_shuffle(s01, s23, 0, 1, 4, 5),
                              wasm_i32x4_shuffle(s01, s23, 2, 3, 6, 7));
    }

    // Byte packing: the 16 values in q[0..16 / lanes - 1], in order, as 16 bytes, saturating
    // (unsigned: each 0..255 arrives unchanged; signed: each -128..127).
    static void store_u8_16(uint8_t* out, const I* q) {
        wasm_v128_store(out, wasm_u8x16_narrow_i16x8(wasm_u16x8_narrow_i32x4(q[0], q[1]),
                                                     wasm_u16x8_narrow_i32x4(q[2], q[3])));
    }
    static void store_i8_16(int8_t* out, const I* q) {
        wasm_v128_store(out, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]),
                                                     wasm_i16x8_narrow_i32x4(q[2], q[3])));
    }
    // 2 * lanes 32-bit lanes holding 16-bit values, stored as 16-bit values in order.
    static void store_u16(uint16_t* out, I a, I b) {
        wasm_v128_store(out, wasm_u16x8_narrow_i32x4(a, b));
    }
    // lanes 16-bit values, zero-extended to 32-bit lanes.
    static I load_u16(const uint16_t* in) {
        return wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero(in));
    }
    // 2 * lanes halves zero-extended, from one full-width load (twice the F16 -> F32 rate of
    // two load_u16 calls in V8).
    static void load_u16_pair(const uint16_t* in, I& lo, I& hi) {
        const v128_t x = wasm_v128_load(in);
        lo = wasm_u32x4_extend_low_u16x8(x);
        hi = wasm_u32x4_extend_high_u16x8(x);
    }
};

}  // namespace
}  // namespace gguf_squash
