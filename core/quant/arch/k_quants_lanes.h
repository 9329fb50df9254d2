// The K-quant scale searches written once over a lane type V (AVX2: 8 float lanes; SSE4.1 and
// wasm simd128: 4), one SUB-BLOCK PER LANE. Each lane runs exactly the float operations of the
// scalar search (core/quant/ref/quant_search.cpp) on its own sub-block in the same order, and the
// scalar's data-dependent branches become per-lane selects, so every lane's result is bit-identical
// to the scalar one. The finishing steps (scale quantization, requantization, packing) are the
// scalar ones from k_quants_ref.h.
//
// V provides: F (float vector), lanes, and static functions load/store/set1/zero/add/sub/mul/div/
// sqrt/abs/neg, comparisons lt/gt/le/eq/neq returning masks (F), select(mask, a, b) = mask ? a : b,
// mask_and/mask_or/mask_andnot(a, b) = a & ~b, any(mask), and round_clamp(v, lo, hi) = float of
// clamp(nearest_int(v), lo, hi) computed with ggml's integer bit trick.
//
// Everything here has internal linkage: each ISA's translation unit (compiled with its own target
// flags) gets its own copy, so the linker can never merge an AVX2 instantiation into the SSE4 path.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../kernel_table.h"
#include "../ref/k_quants_ref.h"
#include "../ref/quant_search.h"

namespace gguf_squash {
namespace {

// Two vectors of V acting as one lane type with twice the lanes. The searches are chains of
// dependent adds (each lane must keep the scalar's summation order), so running two independent
// vectors side by side fills the pipeline the single chain leaves idle.
template <class V>
struct lanes_pair {
    struct F {
        typename V::F lo, hi;
    };
    static constexpr int lanes = 2 * V::lanes;
    static F load(const float* p) { return {V::load(p), V::load(p + V::lanes)}; }
    static void store(float* p, F v) {
        V::store(p, v.lo);
        V::store(p + V::lanes, v.hi);
    }
    static F set1(float v) { return {V::set1(v), V::set1(v)}; }
    static F zero() { return {V::zero(), V::zero()}; }
#define GGUF_SQUASH_PAIR_BINARY(op)                    \
    static F op(F a, F b) {                            \
        return {V::op(a.lo, b.lo), V::op(a.hi, b.hi)}; \
    }
    GGUF_SQUASH_PAIR_BINARY(add)
    GGUF_SQUASH_PAIR_BINARY(sub)
    GGUF_SQUASH_PAIR_BINARY(mul)
    GGUF_SQUASH_PAIR_BINARY(div)
    GGUF_SQUASH_PAIR_BINARY(lt)
    GGUF_SQUASH_PAIR_BINARY(gt)
    GGUF_SQUASH_PAIR_BINARY(le)
    GGUF_SQUASH_PAIR_BINARY(eq)
    GGUF_SQUASH_PAIR_BINARY(neq)
    GGUF_SQUASH_PAIR_BINARY(mask_and)
    GGUF_SQUASH_PAIR_BINARY(mask_or)
    GGUF_SQUASH_PAIR_BINARY(mask_andnot)
#undef GGUF_SQUASH_PAIR_BINARY
    static F sqrt(F a) {
        return {V::sqrt(a.lo), V::sqrt(a.hi)};
    }
    static F abs(F a) {
        return {V::abs(a.lo), V::abs(a.hi)};
    }
    static F neg(F a) {
        return {V::neg(a.lo), V::neg(a.hi)};
    }
    static F select(F m, F a, F b) {
        return {V::select(m.lo, a.lo, b.lo), V::select(m.hi, a.hi, b.hi)};
    }
    static bool any(F m) {
        return V::any(V::mask_or(m.lo, m.hi));
    }
    static F round_clamp(F v, int lo, int hi) {
        return {V::round_clamp(v.lo, lo, hi), V::round_clamp(v.hi, lo, hi)};
    }
};

// make_qkx2_quants (kQkx3 = false) / make_qkx3_quants with weights, for N sub-blocks of n
// elements in transposed layout: xt[i * N + lane], wt likewise. Writes each lane's scale, its
// negated minimum, and the chosen levels (as floats) to Lt in the same transposed layout.
template <class V, int n, bool kQkx3, bool kUseMad>
void qkx_search_lanes(const float* xt, const float* wt, int nmax, float rmin, float rdelta,
                      int nstep, float* scale_out, float* the_min_out, float* Lt) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    const F zero = V::zero();
    F min = V::load(xt);
    F max = min;
    F sum_w = V::load(wt);
    F sum_x = V::mul(sum_w, min);
    for (int i = 1; i < n; ++i) {
        const F x = V::load(xt + i * N);
        const F w = V::load(wt + i * N);
        min = V::select(V::lt(x, min), x, min);
        max = V::select(V::gt(x, max), x, max);
        sum_w = V::add(sum_w, w);
        sum_x = V::add(sum_x, V::mul(w, x));
    }
    min = V::select(V::gt(min, zero), zero, min);
    const F degenerate = kQkx3 ? V::le(max, min) : V::eq(max, min);
    F iscale = V::div(V::set1(float(nmax)), V::sub(max, min));
    F scale = V::div(V::set1(1.0f), iscale);
    F best_error = zero;
    for (int i = 0; i < n; ++i) {
        const F x = V::load(xt + i * N);
        const F l = V::round_clamp(V::mul(iscale, V::sub(x, min)), 0, nmax);
        V::store(Lt + i * N, l);
        F diff = V::sub(V::add(V::mul(scale, l), min), x);
        diff = kUseMad ? V::abs(diff) : V::mul(diff, diff);
        best_error = V::add(best_error, V::mul(V::load(wt + i * N), diff));
    }
    if (nstep >= 1) {
        alignas(32) float laux[n * N];
        for (int is = 0; is <= nstep; ++is) {
            // The scalar divides by (max - min) with the min of the best candidate so far.
            iscale = V::div(V::set1(rmin + rdelta * float(is) + float(nmax)), V::sub(max, min));
            F sum_l = zero, sum_l2 = zero, sum_xl = zero;
            for (int i = 0; i < n; ++i) {
                const F x = V::load(xt + i * N);
                const F w = V::load(wt + i * N);
                const F l = V::round_clamp(V::mul(iscale, V::sub(x, min)), 0, nmax);
                V::store(laux + i * N, l);
                const F wl = V::mul(w, l);
                sum_l = V::add(sum_l, wl);
                sum_l2 = V::add(sum_l2, V::mul(wl, l));
                sum_xl = V::add(sum_xl, V::mul(wl, x));
            }
            const F D = V::sub(V::mul(sum_w, sum_l2), V::mul(sum_l, sum_l));
            const F d_pos = V::mask_andnot(V::gt(D, zero), degenerate);
            if (!V::any(d_pos)) continue;
            F this_scale = V::div(V::sub(V::mul(sum_w, sum_xl), V::mul(sum_x, sum_l)), D);
            F this_min = V::div(V::sub(V::mul(sum_l2, sum_x), V::mul(sum_l, sum_xl)), D);
            const F min_pos = V::gt(this_min, zero);
            this_min = V::select(min_pos, zero, this_min);
            this_scale = V::select(min_pos, V::div(sum_xl, sum_l2), this_scale);
            F cur_error = zero;
            for (int i = 0; i < n; ++i) {
                const F x = V::load(xt + i * N);
                F diff = V::sub(V::add(V::mul(this_scale, V::load(laux + i * N)), this_min), x);
                diff = kUseMad ? V::abs(diff) : V::mul(diff, diff);
                cur_error = V::add(cur_error, V::mul(V::load(wt + i * N), diff));
            }
            const F take = V::mask_and(d_pos, V::lt(cur_error, best_error));
            if (!V::any(take)) continue;
            for (int i = 0; i < n; ++i) {
                V::store(Lt + i * N, V::select(take, V::load(laux + i * N), V::load(Lt + i * N)));
            }
            best_error = V::select(take, cur_error, best_error);
            scale = V::select(take, this_scale, scale);
            min = V::select(take, this_min, min);
        }
    }
    // A constant group: all levels 0, scale 0, and the (clamped) minimum.
    for (int i = 0; i < n; ++i)
        V::store(Lt + i * N, V::select(degenerate, zero, V::load(Lt + i * N)));
    V::store(scale_out, V::select(degenerate, zero, scale));
    V::store(the_min_out, V::neg(min));
}

// The first loop of make_qx_quants / make_q3_quants: the signed value of largest magnitude,
// keeping the first one on ties as the scalar `ax > amax` does.
template <class V, int n>
typename V::F signed_absmax_lanes(const float* xt, typename V::F* amax_out) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    F amax = V::zero(), max = V::zero();
    for (int i = 0; i < n; ++i) {
        const F x = V::load(xt + i * N);
        const F ax = V::abs(x);
        const F bigger = V::gt(ax, amax);
        amax = V::select(bigger, ax, amax);
        max = V::select(bigger, x, max);
    }
    *amax_out = amax;
    return max;
}

// make_qx_quants with rmse_type 1 and weights wt (the imatrix, or x*x when it is absent), N
// sub-blocks of n elements, transposed. Levels (biased by nmax) go to Lt as floats.
template <class V, int n>
void qx_search_lanes(const float* xt, const float* wt, int nmax, float* scale_out, float* Lt) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    const F zero = V::zero();
    F amax;
    const F max = signed_absmax_lanes<V, n>(xt, &amax);
    const F all_zero = V::lt(amax, V::set1(kGroupMaxEps));
    const F bias = V::set1(float(nmax));
    F iscale = V::div(V::set1(float(-nmax)), max);
    F sumlx = zero, suml2 = zero;
    for (int i = 0; i < n; ++i) {
        const F x = V::load(xt + i * N);
        const F w = V::load(wt + i * N);
        const F l = V::round_clamp(V::mul(iscale, x), -nmax, nmax - 1);
        V::store(Lt + i * N, V::add(l, bias));
        sumlx = V::add(sumlx, V::mul(V::mul(w, x), l));
        suml2 = V::add(suml2, V::mul(V::mul(w, l), l));
    }
    F scale = V::select(V::neq(suml2, zero), V::div(sumlx, suml2), zero);
    F best = V::mul(scale, sumlx);
    alignas(32) float laux[n * N];
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = V::div(V::set1(-(float(nmax) + 0.1f * float(is))), max);
        sumlx = suml2 = zero;
        for (int i = 0; i < n; ++i) {
            const F x = V::load(xt + i * N);
            const F w = V::load(wt + i * N);
            const F l = V::round_clamp(V::mul(iscale, x), -nmax, nmax - 1);
            V::store(laux + i * N, l);
            sumlx = V::add(sumlx, V::mul(V::mul(w, x), l));
            suml2 = V::add(suml2, V::mul(V::mul(w, l), l));
        }
        const F take =
            V::mask_and(V::gt(suml2, zero), V::gt(V::mul(sumlx, sumlx), V::mul(best, suml2)));
        if (!V::any(take)) continue;
        for (int i = 0; i < n; ++i) {
            V::store(Lt + i * N,
                     V::select(take, V::add(V::load(laux + i * N), bias), V::load(Lt + i * N)));
        }
        scale = V::select(take, V::div(sumlx, suml2), scale);
        best = V::select(take, V::mul(scale, sumlx), best);
    }
    for (int i = 0; i < n; ++i)
        V::store(Lt + i * N, V::select(all_zero, zero, V::load(Lt + i * N)));
    V::store(scale_out, V::select(all_zero, zero, scale));
}

// make_q3_quants(n, nmax, x, L, do_rmse = true). Lanes whose pass changes nothing would change
// nothing on a repeat (their state is unchanged), so running the passes until every lane is
// stable gives each lane exactly the scalar's early exit.
template <class V, int n>
void q3_search_lanes(const float* xt, int nmax, float* scale_out, float* Lt) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    const F zero = V::zero();
    F amax;
    const F max = signed_absmax_lanes<V, n>(xt, &amax);
    const F all_zero = V::lt(amax, V::set1(kGroupMaxEps));
    const F iscale = V::div(V::set1(float(-nmax)), max);
    F sumlx = zero, suml2 = zero;
    for (int i = 0; i < n; ++i) {
        const F x = V::load(xt + i * N);
        const F l = V::round_clamp(V::mul(iscale, x), -nmax, nmax - 1);
        V::store(Lt + i * N, l);
        const F w = V::mul(x, x);
        sumlx = V::add(sumlx, V::mul(V::mul(w, x), l));
        suml2 = V::add(suml2, V::mul(V::mul(w, l), l));
    }
    for (int itry = 0; itry < 5; ++itry) {
        F changed = V::lt(zero, zero);  // all false
        for (int i = 0; i < n; ++i) {
            const F x = V::load(xt + i * N);
            const F li = V::load(Lt + i * N);
            const F w = V::mul(x, x);
            const F wx = V::mul(w, x);
            F slx = V::sub(sumlx, V::mul(wx, li));
            const F slx_pos = V::gt(slx, zero);
            F sl2 = V::sub(suml2, V::mul(V::mul(w, li), li));
            const F new_l = V::round_clamp(V::div(V::mul(x, sl2), slx), -nmax, nmax - 1);
            const F differs = V::neq(new_l, li);
            slx = V::add(slx, V::mul(wx, new_l));
            sl2 = V::add(sl2, V::mul(V::mul(w, new_l), new_l));
            const F better = V::mask_and(
                V::gt(sl2, zero),
                V::gt(V::mul(V::mul(slx, slx), suml2), V::mul(V::mul(sumlx, sumlx), sl2)));
            const F take = V::mask_and(V::mask_and(slx_pos, differs), better);
            V::store(Lt + i * N, V::select(take, new_l, li));
            sumlx = V::select(take, slx, sumlx);
            suml2 = V::select(take, sl2, suml2);
            changed = V::mask_or(changed, take);
        }
        if (!V::any(changed)) break;
    }
    const F bias = V::set1(float(nmax));
    for (int i = 0; i < n; ++i) {
        V::store(Lt + i * N, V::select(all_zero, zero, V::add(V::load(Lt + i * N), bias)));
    }
    const F scale = V::select(V::gt(suml2, zero), V::div(sumlx, suml2), zero);
    V::store(scale_out, V::select(all_zero, zero, scale));
}

// Copies N consecutive sub-blocks of n elements (starting at x) into transposed layout.
template <int N, int n>
inline void transpose_in(const float* x, float* xt) {
    for (int j = 0; j < N; ++j) {
        for (int i = 0; i < n; ++i) xt[i * N + j] = x[j * n + i];
    }
}

template <int N, int n, typename Level>
inline void transpose_levels_out(const float* Lt, Level* L) {
    for (int j = 0; j < N; ++j) {
        for (int i = 0; i < n; ++i) L[j * n + i] = Level(int(Lt[i * N + j]));
    }
}

// requantize_sub_blocks_ref with the element-wise division and rounding done N at a time.
template <class V>
void requantize_sub_blocks_lanes(const float* x, const float* d, const float* dm, int n_sub,
                                 int len, int lo, int hi, int bias, uint8_t* L) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    alignas(32) float levels[32];
    for (int j = 0; j < n_sub; ++j) {
        if (d[j] == 0) continue;  // ggml's `if (!d) continue`
        const float* xb = x + j * len;
        const F vd = V::set1(d[j]);
        if (dm) {
            const F vdm = V::set1(dm[j]);
            for (int i = 0; i < len; i += N) {
                V::store(levels + i,
                         V::round_clamp(V::div(V::add(V::load(xb + i), vdm), vd), lo, hi));
            }
        } else {
            for (int i = 0; i < len; i += N) {
                V::store(levels + i, V::round_clamp(V::div(V::load(xb + i), vd), lo, hi));
            }
        }
        for (int i = 0; i < len; ++i) L[j * len + i] = uint8_t(int(levels[i]) + bias);
    }
}

// ---------------------------------------------------------------- per-type block quantizers

// The non-imatrix Q4_K/Q5_K search (make_qkx2_quants) for the 8 sub-blocks of one super-block.
template <class V>
void search_k4_lanes(const float* x, int nmax, float rmin, int nstep, float* scales, float* mins,
                     uint8_t* L) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    static_assert(8 % N == 0, "one super-block holds 8 sub-blocks of 32");
    alignas(32) float xt[32 * N], wt[32 * N], Lt[32 * N];
    for (int g = 0; g < 8; g += N) {
        transpose_in<N, 32>(x + 32 * g, xt);
        F sum_x2 = V::zero();
        for (int i = 0; i < 32; ++i) {
            const F xi = V::load(xt + i * N);
            sum_x2 = V::add(sum_x2, V::mul(xi, xi));
        }
        const F av_x = V::sqrt(V::div(sum_x2, V::set1(32.f)));
        for (int i = 0; i < 32; ++i)
            V::store(wt + i * N, V::add(av_x, V::abs(V::load(xt + i * N))));
        qkx_search_lanes<V, 32, false, false>(xt, wt, nmax, rmin, 0.1f, nstep, scales + g, mins + g,
                                              Lt);
        transpose_levels_out<N, 32>(Lt, L + 32 * g);
    }
}

inline float block_sum_of_squares(const float* x) {
    float s = 0;
    for (int l = 0; l < kQkK; ++l) s += x[l] * x[l];
    return s;
}

// The imatrix search of Q4_K/Q5_K (make_qkx3_quants, 37 trial scales) for one super-block.
template <class V>
void search_k4_weighted_lanes(const float* x, const float* qw, int nmax, float* scales, float* mins,
                              float* sw, uint8_t* L) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    static_assert(8 % N == 0, "one super-block holds 8 sub-blocks of 32");
    alignas(32) float xt[32 * N], wt[32 * N], Lt[32 * N];
    const float sigma2 = 2 * block_sum_of_squares(x) / kQkK;
    const F vsigma2 = V::set1(sigma2);
    for (int g = 0; g < 8; g += N) {
        transpose_in<N, 32>(x + 32 * g, xt);
        transpose_in<N, 32>(qw + 32 * g, wt);
        F sumw = V::zero();
        for (int i = 0; i < 32; ++i) {
            const F xi = V::load(xt + i * N);
            const F w = V::mul(V::load(wt + i * N), V::sqrt(V::add(vsigma2, V::mul(xi, xi))));
            V::store(wt + i * N, w);
            sumw = V::add(sumw, w);
        }
        V::store(sw + g, sumw);
        qkx_search_lanes<V, 32, true, false>(xt, wt, nmax, -0.9f, 0.05f, 36, scales + g, mins + g,
                                             Lt);
        transpose_levels_out<N, 32>(Lt, L + 32 * g);
    }
}

template <class V>
void quantize_block_q4_k_imatrix_lanes(const float* x, const float* qw, block_q4_k* y) {
    float scales[8], mins[8], sw[8];
    uint8_t L[kQkK];
    search_k4_weighted_lanes<V>(x, qw, 15, scales, mins, sw, L);
    finish_q4_k_block_weighted(x, scales, mins, sw, L, y, requantize_sub_blocks_lanes<V>);
}

template <class V>
void quantize_block_q5_k_imatrix_lanes(const float* x, const float* qw, block_q5_k* y) {
    float scales[8], mins[8], sw[8];
    uint8_t L[kQkK];
    search_k4_weighted_lanes<V>(x, qw, 31, scales, mins, sw, L);
    finish_q5_k_block_weighted(x, scales, mins, sw, L, y, requantize_sub_blocks_lanes<V>);
}

template <class V>
void quantize_block_q6_k_lanes(const float* x, const float* qw, block_q6_k* y) {
    constexpr int N = V::lanes;
    alignas(32) float xt[16 * N], wt[16 * N], Lt[16 * N];
    float scales[16];
    int8_t L[kQkK];
    for (int g = 0; g < 16; g += N) {
        transpose_in<N, 16>(x + 16 * g, xt);
        if (qw) {
            transpose_in<N, 16>(qw + 16 * g, wt);
        } else {
            for (int i = 0; i < 16 * N; ++i) wt[i] = xt[i] * xt[i];
        }
        qx_search_lanes<V, 16>(xt, wt, 32, scales + g, Lt);
        transpose_levels_out<N, 16>(Lt, L + 16 * g);
    }
    finish_q6_k_block(x, scales, L, y, requantize_sub_blocks_lanes<V>);
}

template <class V>
void quantize_block_q3_k_lanes(const float* x, block_q3_k* y) {
    constexpr int N = V::lanes;
    alignas(32) float xt[16 * N], Lt[16 * N];
    float scales[16];
    int8_t L[kQkK];
    for (int g = 0; g < 16; g += N) {
        transpose_in<N, 16>(x + 16 * g, xt);
        q3_search_lanes<V, 16>(xt, 4, scales + g, Lt);
        transpose_levels_out<N, 16>(Lt, L + 16 * g);
    }
    finish_q3_k_block(x, scales, L, y, requantize_sub_blocks_lanes<V>);
}

template <class V>
void quantize_block_q3_k_imatrix_lanes(const float* x, const float* qw, block_q3_k* y) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    alignas(32) float xt[16 * N], wt[16 * N], Lt[16 * N];
    float scales[16], sw[16];
    int8_t L[kQkK];
    const F vsigma2 = V::set1(2 * block_sum_of_squares(x) / kQkK);
    for (int g = 0; g < 16; g += N) {
        transpose_in<N, 16>(x + 16 * g, xt);
        transpose_in<N, 16>(qw + 16 * g, wt);
        F sumw = V::zero();
        for (int i = 0; i < 16; ++i) {
            const F xi = V::load(xt + i * N);
            const F w = V::mul(V::load(wt + i * N), V::sqrt(V::add(vsigma2, V::mul(xi, xi))));
            V::store(wt + i * N, w);
            sumw = V::add(sumw, w);
        }
        V::store(sw + g, sumw);
        qx_search_lanes<V, 16>(xt, wt, 4, scales + g, Lt);
        transpose_levels_out<N, 16>(Lt, L + 16 * g);
    }
    finish_q3_k_block_weighted(x, scales, sw, L, y, requantize_sub_blocks_lanes<V>);
}

template <class V>
void quantize_block_q2_k_lanes(const float* x, block_q2_k* y) {
    constexpr int N = V::lanes;
    alignas(32) float xt[16 * N], wt[16 * N], Lt[16 * N];
    float scales[16], mins[16];
    uint8_t L[kQkK];
    for (int g = 0; g < 16; g += N) {
        transpose_in<N, 16>(x + 16 * g, xt);
        for (int i = 0; i < 16 * N; i += N) V::store(wt + i, V::abs(V::load(xt + i)));
        qkx_search_lanes<V, 16, false, true>(xt, wt, 3, -0.5f, 0.1f, 15, scales + g, mins + g, Lt);
        transpose_levels_out<N, 16>(Lt, L + 16 * g);
    }
    finish_q2_k_block(x, scales, mins, L, y, requantize_sub_blocks_lanes<V>);
}

template <class V>
void quantize_block_q2_k_imatrix_lanes(const float* x, const float* qw, block_q2_k* y) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    alignas(32) float xt[16 * N], wt[16 * N], Lt[16 * N];
    float scales[16], mins[16], sw[16];
    uint8_t L[kQkK];
    const F vsigma2 = V::set1(block_sum_of_squares(x) / kQkK);
    for (int g = 0; g < 16; g += N) {
        transpose_in<N, 16>(x + 16 * g, xt);
        transpose_in<N, 16>(qw + 16 * g, wt);
        F sumw = V::zero();
        for (int i = 0; i < 16; ++i) {
            const F xi = V::load(xt + i * N);
            const F w = V::mul(V::load(wt + i * N), V::sqrt(V::add(vsigma2, V::mul(xi, xi))));
            V::store(wt + i * N, w);
            sumw = V::add(sumw, w);
        }
        V::store(sw + g, sumw);
        qkx_search_lanes<V, 16, true, false>(xt, wt, 3, -0.9f, 0.05f, 36, scales + g, mins + g, Lt);
        transpose_levels_out<N, 16>(Lt, L + 16 * g);
    }
    finish_q2_k_block_weighted(x, scales, mins, sw, L, y, requantize_sub_blocks_lanes<V>);
}

// ---------------------------------------------------------------- row drivers

template <typename Block, void (*kPlain)(const float*, Block*),
          void (*kWeighted)(const float*, const float*, Block*)>
void quantize_rows_k_lanes(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                           const float* imatrix) {
    const int64_t nb = n_per_row / kQkK;
    Block* y = static_cast<Block*>(dst);
    for (int64_t r = 0; r < nrows; ++r) {
        const float* x = src + r * n_per_row;
        for (int64_t i = 0; i < nb; ++i, ++y) {
            if (imatrix) {
                kWeighted(x + i * kQkK, imatrix + i * kQkK, y);
            } else {
                kPlain(x + i * kQkK, y);
            }
        }
    }
}

template <class V>
void quantize_block_q4_k_plain_lanes(const float* x, block_q4_k* y) {
    float scales[8], mins[8];
    uint8_t L[kQkK];
    search_k4_lanes<V>(x, 15, -1.f, 20, scales, mins, L);
    finish_q4_k_block(x, scales, mins, L, y, requantize_sub_blocks_lanes<V>);
}
template <class V>
void quantize_block_q5_k_plain_lanes(const float* x, block_q5_k* y) {
    float scales[8], mins[8];
    uint8_t L[kQkK];
    search_k4_lanes<V>(x, 31, -0.5f, 15, scales, mins, L);
    finish_q5_k_block(x, scales, mins, L, y, requantize_sub_blocks_lanes<V>);
}
template <class V>
void quantize_block_q6_k_plain_lanes(const float* x, block_q6_k* y) {
    quantize_block_q6_k_lanes<V>(x, nullptr, y);
}

// The five row-level kernels for lane type V.
template <class V>
struct k_quants_lanes {
    static void q2_k(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
        quantize_rows_k_lanes<block_q2_k, quantize_block_q2_k_lanes<V>,
                              quantize_block_q2_k_imatrix_lanes<V>>(src, dst, nrows, n_per_row,
                                                                    imatrix);
    }
    static void q3_k(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
        quantize_rows_k_lanes<block_q3_k, quantize_block_q3_k_lanes<V>,
                              quantize_block_q3_k_imatrix_lanes<V>>(src, dst, nrows, n_per_row,
                                                                    imatrix);
    }
    static void q4_k(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
        quantize_rows_k_lanes<block_q4_k, quantize_block_q4_k_plain_lanes<V>,
                              quantize_block_q4_k_imatrix_lanes<V>>(src, dst, nrows, n_per_row,
                                                                    imatrix);
    }
    static void q5_k(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
        quantize_rows_k_lanes<block_q5_k, quantize_block_q5_k_plain_lanes<V>,
                              quantize_block_q5_k_imatrix_lanes<V>>(src, dst, nrows, n_per_row,
                                                                    imatrix);
    }
    static void q6_k(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
        quantize_rows_k_lanes<block_q6_k, quantize_block_q6_k_plain_lanes<V>,
                              quantize_block_q6_k_lanes<V>>(src, dst, nrows, n_per_row, imatrix);
    }
};

// Registers Q2_K..Q6_K for one ISA. Q4_K/Q5_K have 8 sub-blocks per super-block: one vector of 8
// lanes (or a pair of 4-lane vectors). Q2_K/Q3_K/Q6_K have 16: a pair of the ISA's vectors.
template <class V>
void register_k_quants_lanes(kernel_table& table) {
    using kernels8 = k_quants_lanes<std::conditional_t<V::lanes == 8, V, lanes_pair<V>>>;
    using kernels16 = k_quants_lanes<lanes_pair<V>>;
    table.quantize[uint32_t(ggml_type::q2_k)] = kernels16::q2_k;
    table.quantize[uint32_t(ggml_type::q3_k)] = kernels16::q3_k;
    table.quantize[uint32_t(ggml_type::q4_k)] = kernels8::q4_k;
    table.quantize[uint32_t(ggml_type::q5_k)] = kernels8::q5_k;
    table.quantize[uint32_t(ggml_type::q6_k)] = kernels16::q6_k;
}

}  // namespace
}  // namespace gguf_squash
