// wasm simd128 kernels for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0. Without importance weights these formats have
// no running sums, only a max/min search and element-wise steps, so each block is vectorised on its
// own (8 vectors of 4); blocks holding a NaN or infinity, or whose scale is not finite, go to the
// scalar reference, whose comparison order decides the bytes there (and x86's out-of-range
// float-to-int conversion, which trunc_sat does not reproduce). With importance
// weights the searches accumulate sums element by element, so each lane holds one block
// (legacy_lanes.h).
#include <wasm_simd128.h>

#include <cmath>
#include <cstring>

#include "../../kernel_table.h"
#include "../../quant_common.h"
#include "../../ref/legacy_ref.h"
#include "../legacy_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {
namespace {

struct wasm128_blocks {
    using I = v128_t;
    static constexpr int kVectors = 8;  // vectors per block of 32

    struct block_vectors {
        v128_t v[8];
    };

    static block_vectors load_block(const float* x) {
        block_vectors b;
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) b.v[k] = wasm_v128_load(x + 4 * k);
        return b;
    }

    static bool all_finite(const block_vectors& b) {
        const v128_t inf = wasm_f32x4_splat(INFINITY);
        v128_t ok = wasm_f32x4_lt(wasm_f32x4_abs(b.v[0]), inf);
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k)
            ok = wasm_v128_and(ok, wasm_f32x4_lt(wasm_f32x4_abs(b.v[k]), inf));
        return wasm_i32x4_all_true(ok);
    }

    static float hmax(v128_t m) {
        m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
        m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
        return wasm_f32x4_extract_lane(m, 0);
    }

    static float hmin(v128_t m) {
        m = wasm_f32x4_pmin(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
        m = wasm_f32x4_pmin(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
        return wasm_f32x4_extract_lane(m, 0);
    }

    static float abs_max(const block_vectors& b) {
        v128_t a = wasm_f32x4_abs(b.v[0]);
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) a = wasm_f32x4_pmax(a, wasm_f32x4_abs(b.v[k]));
        return hmax(a);
    }

    // Index of the first element whose (absolute, if Abs) value equals `value`.
    template <bool Abs>
    static int first_equal_index(const block_vectors& b, float value) {
        const v128_t vv = wasm_f32x4_splat(value);
        uint32_t mask = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const v128_t e = Abs ? wasm_f32x4_abs(b.v[k]) : b.v[k];
            mask |= uint32_t(wasm_i32x4_bitmask(wasm_f32x4_eq(e, vv))) << (4 * k);
        }
        return __builtin_ctz(mask);
    }

    // The scalar loops keep the first element reaching the extreme (strict comparisons), which only
    // matters for the sign of a zero.
    static float first_equal(const float* x, const block_vectors& b, float value) {
        if (value != 0.0f) return value;
        return x[first_equal_index<false>(b, value)];
    }

    static float block_min(const block_vectors& b) {
        v128_t m = b.v[0];
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) m = wasm_f32x4_pmin(m, b.v[k]);
        return hmin(m);
    }
    static float block_max(const block_vectors& b) {
        v128_t m = b.v[0];
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) m = wasm_f32x4_pmax(m, b.v[k]);
        return hmax(m);
    }

    static float signed_abs_max(const float* x, const block_vectors& b) {
        const float amax = abs_max(b);
        if (amax == 0.0f) return 0.0f;
        return x[first_equal_index<true>(b, amax)];
    }

    // The low byte's signed value of a 32-bit lane.
    static v128_t low_byte_signed(v128_t i) {
        return wasm_i32x4_shr(wasm_i32x4_shl(i, 24), 24);
    }

    // Packs 16 int32 lanes (each 0..255) into 16 bytes in element order.
    static v128_t pack_u8(const v128_t* q) {
        return wasm_u8x16_narrow_i16x8(wasm_u16x8_narrow_i32x4(q[0], q[1]),
                                       wasm_u16x8_narrow_i32x4(q[2], q[3]));
    }

    static uint32_t fifth_bits(const v128_t q[8]) {
        uint32_t qh = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            qh |= uint32_t(wasm_i32x4_bitmask(wasm_i32x4_shl(q[k], 27))) << (4 * k);
        }
        return qh;
    }

    static void store_nibbles(const v128_t q[8], uint8_t* qs) {
        const v128_t m = wasm_i32x4_splat(0x0f);
        v128_t c[4];
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            c[k] =
                wasm_v128_or(wasm_v128_and(q[k], m), wasm_i32x4_shl(wasm_v128_and(q[k + 4], m), 4));
        }
        wasm_v128_store(qs, pack_u8(c));
    }

    static void quants_q8_0(const float* x, const block_scale& p, block_q8_0* y) {
        const v128_t vid = wasm_f32x4_splat(p.id);
        const v128_t sign = wasm_f32x4_splat(-0.0f);
        const v128_t half = wasm_f32x4_splat(0.5f);
        const v128_t one = wasm_f32x4_splat(1.0f);
        v128_t q[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            // roundf: truncate, then step away from zero when the dropped fraction is >= 0.5 (the
            // fraction x - trunc(x) is exact for these magnitudes).
            const v128_t v = wasm_f32x4_mul(wasm_v128_load(x + 4 * k), vid);
            const v128_t t = wasm_f32x4_trunc(v);
            const v128_t frac = wasm_f32x4_abs(wasm_f32x4_sub(v, t));
            const v128_t step =
                wasm_v128_and(wasm_f32x4_ge(frac, half), wasm_v128_or(one, wasm_v128_and(v, sign)));
            q[k] = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_add(t, step));
        }
        const v128_t lo = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]),
                                                  wasm_i16x8_narrow_i32x4(q[2], q[3]));
        const v128_t hi = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[4], q[5]),
                                                  wasm_i16x8_narrow_i32x4(q[6], q[7]));
        wasm_v128_store(y->qs, lo);
        wasm_v128_store(y->qs + 16, hi);
    }

    template <int Nmax>
    static void symmetric_quants(const float* x, const block_scale& p, v128_t q[8]) {
        const v128_t vid = wasm_f32x4_splat(p.id);
        const v128_t bias = wasm_f32x4_splat(float(Nmax) + 0.5f);
        const v128_t top = wasm_i32x4_splat(2 * Nmax - 1);
        const v128_t byte = wasm_i32x4_splat(0xff);
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + 4 * k), vid), bias);
            q[k] = wasm_v128_and(
                wasm_i32x4_min(low_byte_signed(wasm_i32x4_trunc_sat_f32x4(v)), top), byte);
        }
    }

    template <int Nmax>
    static void affine_quants(const float* x, const block_scale& p, v128_t q[8]) {
        const v128_t vid = wasm_f32x4_splat(p.id);
        const v128_t vmin = wasm_f32x4_splat(p.min);
        const v128_t half = wasm_f32x4_splat(0.5f);
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const v128_t v = wasm_f32x4_add(
                wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + 4 * k), vmin), vid), half);
            if constexpr (Nmax == 15) {
                q[k] = wasm_v128_and(wasm_i32x4_min(low_byte_signed(wasm_i32x4_trunc_sat_f32x4(v)),
                                                    wasm_i32x4_splat(15)),
                                     wasm_i32x4_splat(0xff));
            } else {
                q[k] = wasm_i32x4_trunc_sat_f32x4(v);  // ggml stores the low byte without clamping
            }
        }
    }
};

}  // namespace

void register_legacy_wasm128(kernel_table& table) {
    register_legacy_lanes<wasm128_blocks, wasm128_lanes>(table);
}

}  // namespace gguf_squash
