// F16 and BF16 conversions written once over an ISA's lane type V (sse4_lanes.h, avx2_lanes.h,
// wasm128_lanes.h). Each lane computes quant_common.h's scalar conversion with integer operations
// (every case is evaluated and the right one selected), so NaNs, infinities, subnormals and
// overflow come out bit for bit as in the scalar code. (SSE4 and simd128 have no half conversion;
// the AVX2 build converts F16 to F32 with F16C where the CPU has it, which gives the same bits:
// f16_bf16_avx2.cpp.) Tails shorter than a vector run the scalar functions.
//
// Internal linkage (anonymous namespace): each ISA's translation unit gets its own copy compiled
// with its own target flags.
#pragma once

#include <cstdint>

#include "../kernel_table.h"
#include "../quant_common.h"

namespace gguf_squash {
namespace {

// Floats to halves in the low 16 bits of each 32-bit lane.
template <class V>
inline typename V::I fp32_to_fp16_lanes(typename V::F f) {
    using I = typename V::I;
    const I w = V::bits(f);
    const I abs = V::iand(w, V::isplat(0x7fffffff));
    const I sign = V::iand(V::ishr(w, 16), V::isplat(0x8000));
    // Normal halves: round the mantissa to nearest even, then rebias the exponent.
    const I odd = V::iand(V::ishr(abs, 13), V::isplat(1));
    const I rounded = V::iadd(V::iadd(abs, V::isplat(0x0fff)), odd);
    const I normal = V::ishr(V::isub(rounded, V::isplat(0x38000000)), 13);
    // Subnormal halves: the float addition of 0.5 rounds to a multiple of 2^-24 by itself.
    const typename V::F mag = V::add(V::from_bits(abs), V::set1(0.5f));
    const I subnormal = V::isub(V::bits(mag), V::isplat(0x3f000000));
    I h = V::iselect(V::igt(abs, V::isplat(0x387fffff)), normal, subnormal);
    h = V::iselect(V::igt(abs, V::isplat(0x477fefff)), V::isplat(0x7c00), h);
    h = V::iselect(V::igt(abs, V::isplat(0x7f800000)), V::isplat(0x7e00), h);
    return V::ior(h, sign);
}

template <class V>
inline typename V::I fp32_to_bf16_lanes(typename V::F f) {
    using I = typename V::I;
    const I u = V::bits(f);
    const I abs = V::iand(u, V::isplat(0x7fffffff));
    const I odd = V::iand(V::ishr(u, 16), V::isplat(1));
    const I rounded = V::ishr(V::iadd(u, V::iadd(V::isplat(0x7fff), odd)), 16);
    const I quiet = V::ior(V::ishr(u, 16), V::isplat(64));
    return V::iselect(V::igt(abs, V::isplat(0x7f800000)), quiet, rounded);
}

// Halves (zero-extended to 32 bits) to floats, as fp16_to_fp32.
template <class V>
inline typename V::F fp16_lanes_to_fp32(typename V::I h) {
    using I = typename V::I;
    const I sign = V::ishl(V::iand(h, V::isplat(0x8000)), 16);
    const I em = V::iand(h, V::isplat(0x7fff));
    const I mant = V::iand(h, V::isplat(0x3ff));
    const I normal = V::iadd(V::ishl(em, 13), V::isplat(112u << 23));
    // Infinity and NaN: all-ones exponent; NaNs come out quiet.
    const I is_nan = V::igt(mant, V::isplat(0));
    const I special = V::ior(V::ior(V::isplat(0x7f800000), V::ishl(mant, 13)),
                             V::iand(is_nan, V::isplat(0x400000)));
    // Subnormals (and zero): mant * 2^-24, exact.
    const I sub = V::bits(V::mul(V::to_float(mant), V::set1(5.9604644775390625e-08f)));
    I out = V::iselect(V::igt(em, V::isplat(0x3ff)), normal, sub);
    out = V::iselect(V::igt(em, V::isplat(0x7bff)), special, out);
    return V::from_bits(V::ior(out, sign));
}

template <class V>
inline typename V::F bf16_lanes_to_fp32(typename V::I h) {
    return V::from_bits(V::ishl(h, 16));
}

// Floats to 16-bit values (F16 or BF16): two vectors per step, the scalar conversion for the tail.
template <class V, typename V::I (*Lane)(typename V::F), uint16_t (*Scalar)(float)>
void floats_to_halves_lanes(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                            const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    constexpr int N = V::lanes;
    int64_t i = 0;
    for (; i + 2 * N <= n; i += 2 * N) {
        V::store_u16(out + i, Lane(V::load(src + i)), Lane(V::load(src + i + N)));
    }
    for (; i < n; ++i) out[i] = Scalar(src[i]);
}

// 16-bit values to floats: two vectors from one full-width load per step (twice the rate of
// single loads in V8), then one vector, then the scalar conversion for the tail.
template <class V, typename V::F (*Lane)(typename V::I), float (*Scalar)(uint16_t)>
void halves_to_floats_lanes(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    constexpr int N = V::lanes;
    int64_t i = 0;
    for (; i + 2 * N <= n; i += 2 * N) {
        typename V::I lo, hi;
        V::load_u16_pair(in + i, lo, hi);
        V::store(dst + i, Lane(lo));
        V::store(dst + i + N, Lane(hi));
    }
    for (; i + N <= n; i += N) V::store(dst + i, Lane(V::load_u16(in + i)));
    for (; i < n; ++i) dst[i] = Scalar(in[i]);
}

// Registers the F16 and BF16 conversions (both directions) for one ISA.
template <class V>
void register_f16_bf16_lanes(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::f16)] =
        floats_to_halves_lanes<V, fp32_to_fp16_lanes<V>, fp32_to_fp16>;
    table.quantize[uint32_t(ggml_type::bf16)] =
        floats_to_halves_lanes<V, fp32_to_bf16_lanes<V>, fp32_to_bf16>;
    table.dequantize[uint32_t(ggml_type::f16)] =
        halves_to_floats_lanes<V, fp16_lanes_to_fp32<V>, fp16_to_fp32>;
    table.dequantize[uint32_t(ggml_type::bf16)] =
        halves_to_floats_lanes<V, bf16_lanes_to_fp32<V>, bf16_to_fp32>;
}

}  // namespace
}  // namespace gguf_squash
