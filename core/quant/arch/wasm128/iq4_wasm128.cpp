// wasm simd128 IQ4_NL and IQ4_XS quantization: four blocks of 32 at a time, one per lane
// (see ../iq4_lanes.h). Dequantization stays scalar.
#include <wasm_simd128.h>

#include "../../kernel_table.h"
#include "../iq4_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {
namespace {

// The ISA's float lanes plus the IQ4 level lookup that iq4_lanes.h asks for.
struct iq4_wasm128_lanes : wasm128_lanes {
    // ggml's best_index_int8 over the 16 levels equals the number of level midpoints (exact
    // half-integers) at or below al, with NaN giving 15: its float differences only round near
    // a midpoint, where they are exact (checked over all 2^32 floats). So the index depends
    // only on floor(2 * al), which after clamping to [-128, 128] (pmin sends NaN to 128) fits in
    // 16 bits; sixteen elements are then counted and looked up eight or sixteen at a time.
    static v128_t level_bytes16(const v128_t* al) {
        v128_t t[4];
        for (int v = 0; v < 4; ++v) {
            const v128_t c = wasm_f32x4_pmax(wasm_f32x4_splat(-128.f),
                                             wasm_f32x4_pmin(wasm_f32x4_splat(128.f), al[v]));
            t[v] = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_floor(wasm_f32x4_add(c, c)));
        }
        v128_t count[2];
        for (int h = 0; h < 2; ++h) {
            const v128_t t16 = wasm_i16x8_narrow_i32x4(t[2 * h], t[2 * h + 1]);
            v128_t n = wasm_i16x8_splat(0);
            for (int k = 0; k < 15; ++k) {
                const int twice_mid = kIq4nlValues[k] + kIq4nlValues[k + 1];
                n = wasm_i16x8_sub(n, wasm_i16x8_ge(t16, wasm_i16x8_splat(int16_t(twice_mid))));
            }
            count[h] = n;
        }
        return wasm_i8x16_narrow_i16x8(count[0], count[1]);
    }
    static void level_values4(const v128_t* al, v128_t* q) {
        const v128_t levels = wasm_i8x16_swizzle(wasm_v128_load(kIq4nlValues), level_bytes16(al));
        const v128_t lo = wasm_i16x8_extend_low_i8x16(levels);
        const v128_t hi = wasm_i16x8_extend_high_i8x16(levels);
        q[0] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(lo));
        q[1] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(lo));
        q[2] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(hi));
        q[3] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(hi));
    }
    static void level_bytes4(const v128_t* al, uint8_t* out) {
        wasm_v128_store(out, level_bytes16(al));
    }
};

void quantize_iq4_nl_wasm128(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                             const float* imatrix) {
    iq4_lanes::quantize_iq4_nl<iq4_wasm128_lanes>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq4_xs_wasm128(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                             const float* imatrix) {
    iq4_lanes::quantize_iq4_xs<iq4_wasm128_lanes>(src, dst, nrows, n_per_row, imatrix);
}

}  // namespace

template <>
void isa_kernels<wasm128_isa>::register_iq4(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::iq4_nl)] = quantize_iq4_nl_wasm128;
    table.quantize[uint32_t(ggml_type::iq4_xs)] = quantize_iq4_xs_wasm128;
}

}  // namespace gguf_squash
