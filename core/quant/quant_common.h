// Scalar building blocks shared by every kernel family: the half-precision conversions and the
// rounding helpers, written to give the same bits as ggml's scalar C on plain x86-64 (no F16C).
//
// Everything here has internal linkage (static): the header is also included by files compiled
// with -mavx2, and an ordinary inline function emitted there could be the copy the linker keeps
// for the scalar path, which would then fault on a CPU without AVX2.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace gguf_squash {

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
static inline float f32_from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// IEEE half to single: exact for every input, including subnormals, infinities and NaNs.
static inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    if (exp == 0x1f) {  // ggml's arithmetic conversion quiets signalling NaNs, so we do too
        return f32_from_bits(sign | 0x7f800000u | (mant ? 0x400000u : 0u) | (mant << 13));
    }
    if (exp != 0) return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
    // Subnormal half: mant * 2^-24, exact in single precision.
    const float mag = float(mant) * 5.9604644775390625e-08f;
    return f32_from_bits(sign | f32_bits(mag));
}

// Single to IEEE half, rounding to nearest even; overflow gives infinity and every NaN becomes
// the quiet NaN 0x7e00 with the input's sign, as ggml's scalar conversion does.
static inline uint16_t fp32_to_fp16(float f) {
    const uint32_t w = f32_bits(f);
    const uint16_t sign = uint16_t((w >> 16) & 0x8000);
    const uint32_t abs = w & 0x7fffffffu;
    if (abs > 0x7f800000u) return sign | 0x7e00;   // NaN
    if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds to or past 65520: infinity
    if (abs >= 0x38800000u) {                      // normal half range (>= 2^-14)
        const uint32_t rounded = abs + 0x0fffu + ((abs >> 13) & 1u);
        return sign | uint16_t((rounded - 0x38000000u) >> 13);
    }
    // Subnormal half (or zero): scale so that one half ulp (2^-24) becomes 1, round to even.
    // Adding 0.5f-biased magic: the float addition rounds to nearest even by itself.
    const float mag = f32_from_bits(abs) + 0.5f;  // ulp of 0.5f is 2^-24
    return sign | uint16_t(f32_bits(mag) - f32_bits(0.5f));
}

// Brain float: round to nearest even, NaNs forced quiet (ggml_compute_fp32_to_bf16).
static inline uint16_t fp32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 64);
    return uint16_t((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}
static inline float bf16_to_fp32(uint16_t h) {
    return f32_from_bits(uint32_t(h) << 16);
}

// ggml's nearest_int: round to nearest with ties to even, via the 1.5*2^23 magic constant.
// Valid for |x| <= 4194303.
static inline int nearest_int(float x) {
    const float v = x + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

}  // namespace gguf_squash
