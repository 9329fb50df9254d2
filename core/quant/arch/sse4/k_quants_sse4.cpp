// SSE4.1 K-quant quantizers: the lane-parallel searches of k_quants_lanes.h with 4 sub-blocks per
// vector. Only IEEE-exact operations (no FMA), so every lane matches the scalar reference.
#include <immintrin.h>

#include "../../kernel_table.h"
#include "../k_quants_lanes.h"

namespace gguf_squash {
namespace {

struct sse4_lanes {
    using F = __m128;
    static constexpr int lanes = 4;
    static F load(const float* p) { return _mm_loadu_ps(p); }
    static void store(float* p, F v) { _mm_storeu_ps(p, v); }
    static F set1(float v) { return _mm_set1_ps(v); }
    static F zero() { return _mm_setzero_ps(); }
    static F add(F a, F b) { return _mm_add_ps(a, b); }
    static F sub(F a, F b) { return _mm_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm_mul_ps(a, b); }
    static F div(F a, F b) { return _mm_div_ps(a, b); }
    static F sqrt(F a) { return _mm_sqrt_ps(a); }
    static F abs(F a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
    static F neg(F a) { return _mm_xor_ps(_mm_set1_ps(-0.0f), a); }
    static F lt(F a, F b) { return _mm_cmplt_ps(a, b); }
    static F gt(F a, F b) { return _mm_cmpgt_ps(a, b); }
    static F le(F a, F b) { return _mm_cmple_ps(a, b); }
    static F eq(F a, F b) { return _mm_cmpeq_ps(a, b); }
    static F neq(F a, F b) { return _mm_cmpneq_ps(a, b); }
    static F select(F m, F a, F b) { return _mm_blendv_ps(b, a, m); }
    static F mask_and(F a, F b) { return _mm_and_ps(a, b); }
    static F mask_or(F a, F b) { return _mm_or_ps(a, b); }
    static F mask_andnot(F a, F b) { return _mm_andnot_ps(b, a); }
    static bool any(F m) { return _mm_movemask_ps(m) != 0; }
    // clamp(nearest_int(v), lo, hi) as a float; nearest_int's magic-constant bit trick is exact
    // in any lane, including for out-of-range and non-finite inputs.
    static F round_clamp(F v, int lo, int hi) {
        const __m128 t = _mm_add_ps(v, _mm_set1_ps(12582912.f));
        __m128i i = _mm_and_si128(_mm_castps_si128(t), _mm_set1_epi32(0x007fffff));
        i = _mm_sub_epi32(i, _mm_set1_epi32(0x00400000));
        i = _mm_min_epi32(_mm_max_epi32(i, _mm_set1_epi32(lo)), _mm_set1_epi32(hi));
        return _mm_cvtepi32_ps(i);
    }
};

// Pairs of vectors: 8 sub-blocks per pass, two independent add chains.
using kernels = k_quants_lanes<lanes_pair<sse4_lanes>>;

}  // namespace

void register_k_quants_sse4(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::q2_k)] = kernels::q2_k;
    table.quantize[uint32_t(ggml_type::q3_k)] = kernels::q3_k;
    table.quantize[uint32_t(ggml_type::q4_k)] = kernels::q4_k;
    table.quantize[uint32_t(ggml_type::q5_k)] = kernels::q5_k;
    table.quantize[uint32_t(ggml_type::q6_k)] = kernels::q6_k;
}

}  // namespace gguf_squash
