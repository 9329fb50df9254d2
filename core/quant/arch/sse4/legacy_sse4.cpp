// SSE4.1 kernels for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0. Without importance weights these formats have no
// running sums, only a max/min search and element-wise steps, so each block is vectorised on its
// own (8 vectors of 4); blocks holding a NaN or infinity, or whose scale is not finite, go to the
// scalar reference, whose comparison order decides the bytes there. With importance
// weights the searches accumulate sums element by element, so each lane holds one block
// (legacy_lanes.h).
#include <smmintrin.h>

#include <cmath>
#include <cstring>

#include "../../kernel_table.h"
#include "../../quant_common.h"
#include "../../ref/legacy_ref.h"
#include "../legacy_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {
namespace {

struct sse4_blocks {
    using I = __m128i;
    static constexpr int kVectors = 8;  // vectors per block of 32

    struct block_vectors {
        __m128 v[8];
    };

    static block_vectors load_block(const float* x) {
        block_vectors b;
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) b.v[k] = _mm_loadu_ps(x + 4 * k);
        return b;
    }

    static __m128 abs_ps(__m128 v) {
        return _mm_andnot_ps(_mm_set1_ps(-0.0f), v);
    }

    static bool all_finite(const block_vectors& b) {
        const __m128 inf = _mm_set1_ps(INFINITY);
        __m128 ok = _mm_cmplt_ps(abs_ps(b.v[0]), inf);
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) ok = _mm_and_ps(ok, _mm_cmplt_ps(abs_ps(b.v[k]), inf));
        return _mm_movemask_ps(ok) == 0xf;
    }

    static float hmax(__m128 m) {
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_max_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }

    static float hmin(__m128 m) {
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0x4e));
        m = _mm_min_ps(m, _mm_shuffle_ps(m, m, 0xb1));
        return _mm_cvtss_f32(m);
    }

    static float abs_max(const block_vectors& b) {
        __m128 a = abs_ps(b.v[0]);
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) a = _mm_max_ps(a, abs_ps(b.v[k]));
        return hmax(a);
    }

    // Index of the first element whose (absolute, if Abs) value equals `value`.
    template <bool Abs>
    static int first_equal_index(const block_vectors& b, float value) {
        const __m128 vv = _mm_set1_ps(value);
        uint32_t mask = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const __m128 e = Abs ? abs_ps(b.v[k]) : b.v[k];
            mask |= uint32_t(_mm_movemask_ps(_mm_cmpeq_ps(e, vv))) << (4 * k);
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
        __m128 m = b.v[0];
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) m = _mm_min_ps(m, b.v[k]);
        return hmin(m);
    }
    static float block_max(const block_vectors& b) {
        __m128 m = b.v[0];
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) m = _mm_max_ps(m, b.v[k]);
        return hmax(m);
    }

    static float signed_abs_max(const float* x, const block_vectors& b) {
        const float amax = abs_max(b);
        if (amax == 0.0f) return 0.0f;
        return x[first_equal_index<true>(b, amax)];
    }

    // C's float-to-int conversion on x86 (cvttps2dq), then the low byte's signed value.
    static __m128i trunc_low_byte_signed(__m128 v) {
        return _mm_srai_epi32(_mm_slli_epi32(_mm_cvttps_epi32(v), 24), 24);
    }

    static uint32_t fifth_bits(const __m128i q[8]) {
        uint32_t qh = 0;
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            qh |= uint32_t(_mm_movemask_ps(_mm_castsi128_ps(_mm_slli_epi32(q[k], 27)))) << (4 * k);
        }
        return qh;
    }

    static void store_nibbles(const __m128i q[8], uint8_t* qs) {
        const __m128i m = _mm_set1_epi32(0x0f);
        __m128i c[4];
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
            c[k] =
                _mm_or_si128(_mm_and_si128(q[k], m), _mm_slli_epi32(_mm_and_si128(q[k + 4], m), 4));
        }
        const __m128i p =
            _mm_packus_epi16(_mm_packus_epi32(c[0], c[1]), _mm_packus_epi32(c[2], c[3]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), p);
    }

    static void quants_q8_0(const float* x, const block_scale& p, block_q8_0* y) {
        const __m128 vid = _mm_set1_ps(p.id);
        const __m128 sign = _mm_set1_ps(-0.0f);
        const __m128 half = _mm_set1_ps(0.5f);
        const __m128 one = _mm_set1_ps(1.0f);
        __m128i q[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            // roundf: truncate, then step away from zero when the dropped fraction is >= 0.5 (the
            // fraction x - trunc(x) is exact for these magnitudes).
            const __m128 v = _mm_mul_ps(_mm_loadu_ps(x + 4 * k), vid);
            const __m128 t = _mm_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m128 frac = abs_ps(_mm_sub_ps(v, t));
            const __m128 step =
                _mm_and_ps(_mm_cmpge_ps(frac, half), _mm_or_ps(one, _mm_and_ps(v, sign)));
            q[k] = _mm_cvttps_epi32(_mm_add_ps(t, step));
        }
        const __m128i lo =
            _mm_packs_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
        const __m128i hi =
            _mm_packs_epi16(_mm_packs_epi32(q[4], q[5]), _mm_packs_epi32(q[6], q[7]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y->qs), lo);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y->qs + 16), hi);
    }

    template <int Nmax>
    static void symmetric_quants(const float* x, const block_scale& p, __m128i q[8]) {
        const __m128 vid = _mm_set1_ps(p.id);
        const __m128 bias = _mm_set1_ps(float(Nmax) + 0.5f);
        const __m128i top = _mm_set1_epi32(2 * Nmax - 1);
        const __m128i byte = _mm_set1_epi32(0xff);
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + 4 * k), vid), bias);
            q[k] = _mm_and_si128(_mm_min_epi32(trunc_low_byte_signed(v), top), byte);
        }
    }

    template <int Nmax>
    static void affine_quants(const float* x, const block_scale& p, __m128i q[8]) {
        const __m128 vid = _mm_set1_ps(p.id);
        const __m128 vmin = _mm_set1_ps(p.min);
        const __m128 half = _mm_set1_ps(0.5f);
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const __m128 v =
                _mm_add_ps(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(x + 4 * k), vmin), vid), half);
            if constexpr (Nmax == 15) {
                q[k] = _mm_and_si128(_mm_min_epi32(trunc_low_byte_signed(v), _mm_set1_epi32(15)),
                                     _mm_set1_epi32(0xff));
            } else {
                q[k] = _mm_cvttps_epi32(v);  // ggml stores the low byte without clamping
            }
        }
    }
};

}  // namespace

void register_legacy_sse4(kernel_table& table) {
    register_legacy_lanes<sse4_blocks, sse4_lanes>(table);
}

}  // namespace gguf_squash
