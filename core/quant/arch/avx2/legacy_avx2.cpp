// AVX2 kernels for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0. Without importance weights these formats have no
// running sums, only a max/min search and element-wise steps, so each block is vectorised on its
// own (4 vectors of 8); blocks holding a NaN or infinity, or whose scale is not finite, go to the
// scalar reference, whose comparison order decides the bytes there. With importance
// weights the searches accumulate sums element by element, so each lane holds one block
// (legacy_lanes.h).
#include <immintrin.h>

#include <cmath>

#include "../../kernel_table.h"
#include "../../quant_common.h"
#include "../../ref/legacy_ref.h"
#include "../legacy_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {
namespace {

struct avx2_blocks {
    using I = __m256i;
    static constexpr int kVectors = 4;  // vectors per block of 32

    struct block_vectors {
        __m256 v[4];
    };

    static block_vectors load_block(const float* x) {
        return {{_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16),
                 _mm256_loadu_ps(x + 24)}};
    }

    static __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

    // True when every element is finite (no NaN, no infinity).
    static bool all_finite(const block_vectors& b) {
        const __m256 inf = _mm256_set1_ps(INFINITY);
        __m256 ok = _mm256_cmp_ps(abs_ps(b.v[0]), inf, _CMP_LT_OQ);
        ok = _mm256_and_ps(ok, _mm256_cmp_ps(abs_ps(b.v[1]), inf, _CMP_LT_OQ));
        ok = _mm256_and_ps(ok, _mm256_cmp_ps(abs_ps(b.v[2]), inf, _CMP_LT_OQ));
        ok = _mm256_and_ps(ok, _mm256_cmp_ps(abs_ps(b.v[3]), inf, _CMP_LT_OQ));
        return _mm256_movemask_ps(ok) == 0xff;
    }

    static float hmax(__m256 v) {
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }

    static float hmin(__m256 v) {
        __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }

    // Bit j set where element j equals `value` (as a float comparison, so -0 == +0).
    static uint32_t equal_mask(const block_vectors& b, __m256 value) {
        uint32_t mask = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            mask |= uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(b.v[k], value, _CMP_EQ_OQ)))
                    << (8 * k);
        }
        return mask;
    }

    // The scalar loops keep the first element reaching the extreme (strict comparisons), which only
    // matters for the sign of a zero.
    static float first_equal(const float* x, const block_vectors& b, float value) {
        if (value != 0.0f) return value;
        return x[__builtin_ctz(equal_mask(b, _mm256_set1_ps(value)))];
    }

    static float abs_max(const block_vectors& b) {
        return hmax(_mm256_max_ps(_mm256_max_ps(abs_ps(b.v[0]), abs_ps(b.v[1])),
                                  _mm256_max_ps(abs_ps(b.v[2]), abs_ps(b.v[3]))));
    }
    static float block_min(const block_vectors& b) {
        return hmin(_mm256_min_ps(_mm256_min_ps(b.v[0], b.v[1]), _mm256_min_ps(b.v[2], b.v[3])));
    }
    static float block_max(const block_vectors& b) {
        return hmax(_mm256_max_ps(_mm256_max_ps(b.v[0], b.v[1]), _mm256_max_ps(b.v[2], b.v[3])));
    }

    // Signed value of the first largest-magnitude element, +0 if all are zero (finite input).
    static float signed_abs_max(const float* x, const block_vectors& b) {
        const float amax = abs_max(b);
        if (amax == 0.0f) return 0.0f;
        const __m256 va = _mm256_set1_ps(amax);
        uint32_t mask = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            mask |= uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(abs_ps(b.v[k]), va, _CMP_EQ_OQ)))
                    << (8 * k);
        }
        return x[__builtin_ctz(mask)];
    }

    // C's float-to-int conversion on x86 (cvttps2dq), then the low byte's signed value.
    static __m256i trunc_low_byte_signed(__m256 v) {
        const __m256i i = _mm256_cvttps_epi32(v);
        return _mm256_srai_epi32(_mm256_slli_epi32(i, 24), 24);
    }

    // Packs 16 int32 lanes (each 0..255) of a and b into 16 bytes in element order.
    static __m128i pack_u8(__m256i a, __m256i b) {
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
        return _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    }

    // Bit 4 of each of the 32 levels, as ggml's qh word.
    static uint32_t fifth_bits(const __m256i q[4]) {
        uint32_t qh = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            qh |= uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[k], 27))))
                  << (8 * k);
        }
        return qh;
    }

    static void store_nibbles(const __m256i q[4], uint8_t* qs) {
        const __m256i m = _mm256_set1_epi32(0x0f);
        const __m256i lo = _mm256_or_si256(_mm256_and_si256(q[0], m),
                                           _mm256_slli_epi32(_mm256_and_si256(q[2], m), 4));
        const __m256i hi = _mm256_or_si256(_mm256_and_si256(q[1], m),
                                           _mm256_slli_epi32(_mm256_and_si256(q[3], m), 4));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), pack_u8(lo, hi));
    }

    static void quants_q8_0(const float* x, const block_scale& p, block_q8_0* y) {
        const __m256 vid = _mm256_set1_ps(p.id);
        const __m256 sign = _mm256_set1_ps(-0.0f);
        const __m256 half = _mm256_set1_ps(0.5f);
        const __m256 one = _mm256_set1_ps(1.0f);
        __m256i q[4];
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            // roundf: truncate, then step away from zero when the dropped fraction is >= 0.5 (the
            // fraction x - trunc(x) is exact for these magnitudes).
            const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid);
            const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
            const __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ),
                                              _mm256_or_ps(one, _mm256_and_ps(v, sign)));
            q[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
        }
        const __m256i p01 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
        const __m256i p23 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xd8);
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(p01, p23), 0xd8);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y->qs), packed);
    }

    template <int Nmax>
    static void symmetric_quants(const float* x, const block_scale& p, __m256i q[4]) {
        const __m256 vid = _mm256_set1_ps(p.id);
        const __m256 bias = _mm256_set1_ps(float(Nmax) + 0.5f);
        const __m256i top = _mm256_set1_epi32(2 * Nmax - 1);
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid), bias);
            q[k] = _mm256_and_si256(_mm256_min_epi32(trunc_low_byte_signed(v), top),
                                    _mm256_set1_epi32(0xff));
        }
    }

    template <int Nmax>
    static void affine_quants(const float* x, const block_scale& p, __m256i q[4]) {
        const __m256 vid = _mm256_set1_ps(p.id);
        const __m256 vmin8 = _mm256_set1_ps(p.min);
        const __m256 half = _mm256_set1_ps(0.5f);
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            const __m256 v = _mm256_add_ps(
                _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + 8 * k), vmin8), vid), half);
            if constexpr (Nmax == 15) {
                q[k] = _mm256_and_si256(
                    _mm256_min_epi32(trunc_low_byte_signed(v), _mm256_set1_epi32(15)),
                    _mm256_set1_epi32(0xff));
            } else {
                q[k] = _mm256_cvttps_epi32(v);  // ggml stores the low byte without clamping
            }
        }
    }
};

}  // namespace

void register_legacy_avx2(kernel_table& table) {
    register_legacy_lanes<avx2_blocks, avx2_lanes>(table);
}

}  // namespace gguf_squash
