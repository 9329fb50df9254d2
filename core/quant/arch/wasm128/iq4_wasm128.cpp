// wasm simd128 IQ4_NL and IQ4_XS quantization: four blocks of 32 at a time, one per lane
// (see ../iq4_lanes.h). Dequantization stays scalar.
#include <wasm_simd128.h>

#include "../../kernel_table.h"
#include "../iq4_lanes.h"

namespace gguf_squash {
namespace {

struct wasm128_lanes {
    static constexpr int lanes = 4;
    using f = v128_t;
    using i = v128_t;
    static f load(const float* p) { return wasm_v128_load(p); }
    static void store(float* p, f v) { wasm_v128_store(p, v); }
    static void store_i(int32_t* p, i v) { wasm_v128_store(p, v); }
    static f set1(float v) { return wasm_f32x4_splat(v); }
    static f zero() { return wasm_f32x4_splat(0.0f); }
    static f add(f a, f b) { return wasm_f32x4_add(a, b); }
    static f mul(f a, f b) { return wasm_f32x4_mul(a, b); }
    static f div(f a, f b) { return wasm_f32x4_div(a, b); }
    static f sqrt(f a) { return wasm_f32x4_sqrt(a); }
    static f abs(f a) { return wasm_f32x4_abs(a); }
    static f neg(f a) { return wasm_f32x4_neg(a); }
    static f gt(f a, f b) { return wasm_f32x4_gt(a, b); }
    static f lt(f a, f b) { return wasm_f32x4_lt(a, b); }
    static f and_m(f a, f b) { return wasm_v128_and(a, b); }
    static f blend(f a, f b, f m) { return wasm_v128_bitselect(b, a, m); }

    // Level k of kIq4nlValues for indices 0..15 (byte lookup, then sign extension).
    static i level_int(i index) {
        const v128_t table = wasm_v128_load(kIq4nlValues);
        return wasm_i32x4_shr(wasm_i32x4_shl(wasm_i8x16_swizzle(table, index), 24), 24);
    }
    static f level(i index) { return wasm_f32x4_convert_i32x4(level_int(index)); }

    // best_index_int8, as in the AVX2 file: mu = number of levels <= al, the lower neighbour
    // wins only when strictly nearer; at or below level 0 gives 0, at or above 15 (or NaN) 15.
    static i level_index(f al) {
        v128_t mu = wasm_i32x4_splat(1);
        for (int k = 1; k < 15; ++k) {
            mu = wasm_i32x4_sub(mu, wasm_f32x4_ge(al, wasm_f32x4_splat(float(kIq4nlValues[k]))));
        }
        const v128_t a = level(wasm_i32x4_sub(mu, wasm_i32x4_splat(1)));
        const v128_t b = level(mu);
        const v128_t lower = wasm_f32x4_lt(wasm_f32x4_sub(al, a), wasm_f32x4_sub(b, al));
        v128_t index = wasm_i32x4_add(mu, lower);
        const v128_t at_top =
            wasm_v128_not(wasm_f32x4_lt(al, wasm_f32x4_splat(float(kIq4nlValues[15]))));
        const v128_t at_bottom = wasm_f32x4_le(al, wasm_f32x4_splat(float(kIq4nlValues[0])));
        index = wasm_v128_bitselect(wasm_i32x4_splat(15), index, at_top);
        return wasm_v128_andnot(index, at_bottom);
    }
    static i pack_nibbles(i lo, i hi) { return wasm_v128_or(lo, wasm_i32x4_shl(hi, 4)); }
};

void quantize_iq4_nl_wasm128(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                             const float* imatrix) {
    iq4_lanes::quantize_iq4_nl<wasm128_lanes>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq4_xs_wasm128(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                             const float* imatrix) {
    iq4_lanes::quantize_iq4_xs<wasm128_lanes>(src, dst, nrows, n_per_row, imatrix);
}

}  // namespace

void register_iq4_wasm128(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::iq4_nl)] = quantize_iq4_nl_wasm128;
    table.quantize[uint32_t(ggml_type::iq4_xs)] = quantize_iq4_xs_wasm128;
}

}  // namespace gguf_squash
