// AVX2 F16 and BF16 conversions: f16_bf16_lanes.h over avx2_lanes, and F16 to F32 with F16C's
// vcvtph2ps where the CPU has it. vcvtph2ps is exact, and gives what fp16_to_fp32 gives for every
// half, NaNs included: both quiet a signalling NaN by setting the top mantissa bit and keep the
// rest of the payload (tests/kernel_simd_test.cpp compares all 65536 patterns on every ISA). It is
// the first step of every F16 model's quantization, and one instruction per 8 values instead of
// the lanes' integer emulation.
#include <cpuid.h>
#include <immintrin.h>

#include "../f16_bf16_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {
namespace {

__attribute__((target("avx2,f16c"))) void halves_to_floats_f16c(const void* src, float* dst,
                                                                int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 8));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
    }
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(
            dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
    }
    for (; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
}

// CPUID leaf 1, ECX bit 29. Not __builtin_cpu_supports("f16c"): clang 14 (the fuzz build)
// does not know that feature name.
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    return (ecx & bit_F16C) != 0;
}

}  // namespace

template <>
void isa_kernels<avx2_isa>::register_f16_bf16(kernel_table& table) {
    register_f16_bf16_lanes<avx2_lanes>(table);
    if (cpu_has_f16c()) table.dequantize[uint32_t(ggml_type::f16)] = halves_to_floats_f16c;
}

}  // namespace gguf_squash
