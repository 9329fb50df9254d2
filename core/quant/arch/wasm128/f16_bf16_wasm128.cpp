// wasm simd128 F16 and BF16 conversions. Each lane computes quant_common.h's scalar conversion with
// integer operations (every case is evaluated and the right one selected), so NaNs, infinities,
// subnormals and overflow come out bit for bit as in the scalar code. Tails shorter than a vector
// run the scalar functions.
#include <wasm_simd128.h>

#include "../../kernel_table.h"
#include "../../quant_common.h"

namespace gguf_squash {
namespace {

inline v128_t select(v128_t mask, v128_t if_set, v128_t if_clear) {
    return wasm_v128_bitselect(if_set, if_clear, mask);
}

inline v128_t splat(uint32_t v) {
    return wasm_i32x4_splat(int32_t(v));
}

// Four floats to four halves in the low 16 bits of each 32-bit lane.
inline v128_t fp32_to_fp16_lanes(v128_t w) {
    const v128_t abs = wasm_v128_and(w, splat(0x7fffffff));
    const v128_t sign = wasm_v128_and(wasm_u32x4_shr(w, 16), splat(0x8000));
    // Normal halves: round the mantissa to nearest even, then rebias the exponent.
    const v128_t odd = wasm_v128_and(wasm_u32x4_shr(abs, 13), splat(1));
    const v128_t rounded = wasm_i32x4_add(wasm_i32x4_add(abs, splat(0x0fff)), odd);
    const v128_t normal = wasm_u32x4_shr(wasm_i32x4_sub(rounded, splat(0x38000000)), 13);
    // Subnormal halves: the float addition of 0.5 rounds to a multiple of 2^-24 by itself.
    const v128_t mag = wasm_f32x4_add(abs, wasm_f32x4_splat(0.5f));
    const v128_t subnormal = wasm_i32x4_sub(mag, splat(0x3f000000));
    v128_t h = select(wasm_i32x4_gt(abs, splat(0x387fffff)), normal, subnormal);
    h = select(wasm_i32x4_gt(abs, splat(0x477fefff)), splat(0x7c00), h);
    h = select(wasm_i32x4_gt(abs, splat(0x7f800000)), splat(0x7e00), h);
    return wasm_v128_or(h, sign);
}

inline v128_t fp32_to_bf16_lanes(v128_t u) {
    const v128_t abs = wasm_v128_and(u, splat(0x7fffffff));
    const v128_t odd = wasm_v128_and(wasm_u32x4_shr(u, 16), splat(1));
    const v128_t rounded =
        wasm_u32x4_shr(wasm_i32x4_add(u, wasm_i32x4_add(splat(0x7fff), odd)), 16);
    const v128_t quiet = wasm_v128_or(wasm_u32x4_shr(u, 16), splat(64));
    return select(wasm_i32x4_gt(abs, splat(0x7f800000)), quiet, rounded);
}

void quantize_f16_wasm128(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t a = fp32_to_fp16_lanes(wasm_v128_load(src + i));
        const v128_t b = fp32_to_fp16_lanes(wasm_v128_load(src + i + 4));
        wasm_v128_store(out + i, wasm_u16x8_narrow_i32x4(a, b));
    }
    for (; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
}

void quantize_bf16_wasm128(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                           const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t a = fp32_to_bf16_lanes(wasm_v128_load(src + i));
        const v128_t b = fp32_to_bf16_lanes(wasm_v128_load(src + i + 4));
        wasm_v128_store(out + i, wasm_u16x8_narrow_i32x4(a, b));
    }
    for (; i < n; ++i) out[i] = fp32_to_bf16(src[i]);
}

// Four halves (zero-extended to 32 bits) to floats, as fp16_to_fp32.
inline v128_t fp16_lanes_to_fp32(v128_t h) {
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, splat(0x8000)), 16);
    const v128_t em = wasm_v128_and(h, splat(0x7fff));
    const v128_t mant = wasm_v128_and(h, splat(0x3ff));
    const v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(em, 13), splat(112u << 23));
    // Infinity and NaN: all-ones exponent; NaNs come out quiet.
    const v128_t is_nan = wasm_i32x4_gt(mant, wasm_i32x4_splat(0));
    const v128_t special = wasm_v128_or(wasm_v128_or(splat(0x7f800000), wasm_i32x4_shl(mant, 13)),
                                        wasm_v128_and(is_nan, splat(0x400000)));
    // Subnormals (and zero): mant * 2^-24, exact.
    const v128_t sub =
        wasm_f32x4_mul(wasm_f32x4_convert_i32x4(mant), wasm_f32x4_splat(5.9604644775390625e-08f));
    v128_t out = select(wasm_i32x4_gt(em, splat(0x3ff)), normal, sub);
    out = select(wasm_i32x4_gt(em, splat(0x7bff)), special, out);
    return wasm_v128_or(out, sign);
}

void dequantize_f16_wasm128(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t h = wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero(in + i));
        wasm_v128_store(dst + i, fp16_lanes_to_fp32(h));
    }
    for (; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
}

void dequantize_bf16_wasm128(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t h = wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero(in + i));
        wasm_v128_store(dst + i, wasm_i32x4_shl(h, 16));
    }
    for (; i < n; ++i) dst[i] = bf16_to_fp32(in[i]);
}

}  // namespace

void register_f16_bf16_wasm128(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::f16)] = quantize_f16_wasm128;
    table.quantize[uint32_t(ggml_type::bf16)] = quantize_bf16_wasm128;
    table.dequantize[uint32_t(ggml_type::f16)] = dequantize_f16_wasm128;
    table.dequantize[uint32_t(ggml_type::bf16)] = dequantize_bf16_wasm128;
}

}  // namespace gguf_squash
