// IQ4_NL / IQ4_XS quantization with one block of 32 per SIMD lane, shared by the SSE4.1, AVX2 and
// wasm simd128 files. Each lane runs the scalar reference's float operations in the reference's
// order (its running sums go element by element), so the result is the reference's, bit for bit.
//
// V is the ISA's lane type (sse4_lanes.h, avx2_lanes.h, wasm128_lanes.h: lanes, F, load, store,
// set1, zero, add, mul, div, sqrt, abs, neg, gt, lt, select(m, a, b) (m ? a : b), mask_and)
// extended with, for four vectors at a time (so 4-lane ISAs can work on 16 elements in narrow
// integers): level_values4(al, q) (q = kIq4nlValues[best_index_int8(al)], as float) and
// level_bytes4(al, out) (out[v * lanes + k] = best_index_int8 of lane k of al[v]).
//
// Include only from an ISA file, with V defined in that file's anonymous namespace: every
// instantiation then stays local to its translation unit and its target flags.
#pragma once

#include <cmath>
#include <cstdint>

#include "../quant_common.h"
#include "../ref/iq4_ref.h"

namespace gguf_squash::iq4_lanes {

constexpr int kSub = 32;
constexpr int kSuper = 256;

// Lane k of the result reads from src[k]: xt[j * lanes + k] = src[k][j].
template <class V>
inline void transpose_blocks(const float* const* src, float* xt) {
    for (int k = 0; k < V::lanes; ++k)
        for (int j = 0; j < kSub; ++j) xt[j * V::lanes + k] = src[k][j];
}

// weight = qw * sqrt(sigma2 + x^2) with importance weights, x^2 without (transposed layout).
template <class V>
inline void block_weights(const float* xt, const float* qwt, typename V::F sigma2, float* wt) {
    for (int j = 0; j < kSub; ++j) {
        const typename V::F x = V::load(xt + j * V::lanes);
        const typename V::F x2 = V::mul(x, x);
        V::store(wt + j * V::lanes,
                 qwt ? V::mul(V::load(qwt + j * V::lanes), V::sqrt(V::add(sigma2, x2))) : x2);
    }
}

// Weighted sums for one trial inverse scale: sumqx = sum w*q*x, sumq2 = sum w*q*q, in j order.
template <class V>
inline void trial_sums(const float* xt, const float* wt, typename V::F id, typename V::F& sumqx,
                       typename V::F& sumq2) {
    using F = typename V::F;
    sumqx = V::zero();
    sumq2 = V::zero();
    for (int j0 = 0; j0 < kSub; j0 += 4) {
        F x[4], al[4], q[4];
        for (int v = 0; v < 4; ++v) {
            x[v] = V::load(xt + (j0 + v) * V::lanes);
            al[v] = V::mul(id, x[v]);
        }
        V::level_values4(al, q);
        for (int v = 0; v < 4; ++v) {
            const F wq = V::mul(V::load(wt + (j0 + v) * V::lanes), q[v]);
            sumqx = V::add(sumqx, V::mul(wq, x[v]));
            sumq2 = V::add(sumq2, V::mul(wq, q[v]));
        }
    }
}

// The per-block scale search of quantize_row_iq4_nl_impl (ntry = 7) for `lanes` blocks.
template <class V>
inline typename V::F block_scales(const float* xt, const float* wt) {
    using F = typename V::F;
    F amax = V::zero(), max = V::zero();
    for (int j = 0; j < kSub; ++j) {
        const F x = V::load(xt + j * V::lanes);
        const F ax = V::abs(x);
        const F bigger = V::gt(ax, amax);  // the first element with the largest |x| wins
        amax = V::select(bigger, ax, amax);
        max = V::select(bigger, x, max);
    }
    const F zero = V::zero();
    F d = V::div(V::neg(max), V::set1(float(kIq4nlValues[0])));
    F id = V::div(V::set1(1.f), d);
    F sumqx, sumq2;
    trial_sums<V>(xt, wt, id, sumqx, sumq2);
    d = V::select(V::gt(sumq2, zero), V::div(sumqx, sumq2), zero);
    F best = V::mul(d, sumqx);
    for (int itry = -7; itry <= 7; ++itry) {
        id = V::div(V::set1(float(itry + kIq4nlValues[0])), max);
        trial_sums<V>(xt, wt, id, sumqx, sumq2);
        const F better =
            V::mask_and(V::gt(sumq2, zero), V::gt(V::mul(sumqx, sumqx), V::mul(best, sumq2)));
        const F dn = V::div(sumqx, sumq2);
        d = V::select(better, dn, d);
        best = V::select(better, V::mul(dn, sumqx), best);
    }
    // Blocks whose max |x| is below GROUP_MAX_EPS get scale 0 (their trial values are unused).
    return V::select(V::lt(amax, V::set1(1e-15f)), zero, d);
}

// Final level indices at inverse scales `id` (one per lane), packed two per byte into each
// lane's 16 output bytes: element j low nibble, j + 16 high nibble.
template <class V>
inline void pack_levels(const float* xt, typename V::F id, uint8_t* const* qs) {
    constexpr int L = V::lanes;
    for (int j0 = 0; j0 < 16; j0 += 4) {
        typename V::F lo[4], hi[4];
        for (int v = 0; v < 4; ++v) {
            lo[v] = V::mul(id, V::load(xt + (j0 + v) * L));
            hi[v] = V::mul(id, V::load(xt + (j0 + v + 16) * L));
        }
        alignas(32) uint8_t lo_index[4 * L], hi_index[4 * L];
        V::level_bytes4(lo, lo_index);
        V::level_bytes4(hi, hi_index);
        for (int v = 0; v < 4; ++v)
            for (int k = 0; k < L; ++k)
                qs[k][j0 + v] = uint8_t(lo_index[v * L + k] | (hi_index[v * L + k] << 4));
    }
}

template <class V>
void quantize_iq4_nl(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
    constexpr int L = V::lanes;
    block_iq4_nl* y = static_cast<block_iq4_nl*>(dst);
    const int64_t per_row = n_per_row / kSub;
    const int64_t nblocks = nrows * per_row;
    alignas(32) float xt[kSub * L], qwt[kSub * L], wt[kSub * L];
    int64_t b = 0;
    // Blocks are independent, so lanes take consecutive blocks even across row ends; the
    // importance weights follow each block's column position.
    for (; b + L <= nblocks; b += L) {
        const float* xs[L];
        const float* qws[L];
        uint8_t* qs[L];
        for (int k = 0; k < L; ++k) {
            xs[k] = src + (b + k) * kSub;
            qws[k] = imatrix ? imatrix + ((b + k) % per_row) * kSub : nullptr;
            qs[k] = y[b + k].qs;
        }
        transpose_blocks<V>(xs, xt);
        if (imatrix) transpose_blocks<V>(qws, qwt);
        typename V::F sigma2 = V::zero();
        for (int j = 0; j < kSub; ++j) {
            const typename V::F x = V::load(xt + j * L);
            sigma2 = V::add(sigma2, V::mul(x, x));
        }
        sigma2 = V::mul(sigma2, V::set1(2.f / float(kSub)));
        block_weights<V>(xt, imatrix ? qwt : nullptr, sigma2, wt);
        alignas(32) float d[L], id[L];
        V::store(d, block_scales<V>(xt, wt));
        for (int k = 0; k < L; ++k) {
            y[b + k].d = fp32_to_fp16(d[k]);
            id[k] = d[k] != 0 ? 1 / d[k] : 0;
        }
        pack_levels<V>(xt, V::load(id), qs);
    }
    for (; b < nblocks; ++b) {
        quantize_iq4_nl_block_ref(src + b * kSub,
                                  imatrix ? imatrix + (b % per_row) * kSub : nullptr, y + b);
    }
}

template <class V>
void quantize_iq4_xs_superblock(const float* x, const float* qw, block_iq4_xs* y) {
    constexpr int L = V::lanes;
    constexpr int kGroups = kSuper / kSub / L;
    alignas(32) float xt[kSuper], qwt[kSub * L], wt[kSub * L];
    alignas(32) float scales[kSuper / kSub];
    float sigma2 = 0;
    for (int j = 0; j < kSuper; ++j) sigma2 += x[j] * x[j];
    sigma2 *= 2.f / float(kSuper);
    for (int g = 0; g < kGroups; ++g) {
        const float* xs[L];
        const float* qws[L];
        for (int k = 0; k < L; ++k) {
            xs[k] = x + (g * L + k) * kSub;
            qws[k] = qw ? qw + (g * L + k) * kSub : nullptr;
        }
        float* xg = xt + g * kSub * L;
        transpose_blocks<V>(xs, xg);
        if (qw) transpose_blocks<V>(qws, qwt);
        block_weights<V>(xg, qw ? qwt : nullptr, V::set1(sigma2), wt);
        V::store(scales + g * L, block_scales<V>(xg, wt));
    }
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < kSuper / kSub; ++ib) {
        const float abs_d = std::fabs(scales[ib]);
        if (abs_d > amax_scale) {
            amax_scale = abs_d;
            max_scale = scales[ib];
        }
    }
    const float d = -max_scale / 32;
    y->d = fp32_to_fp16(d);
    const float id = d != 0 ? 1 / d : 0.f;
    y->scales_h = 0;
    alignas(32) float idl[kSuper / kSub];
    for (int ib = 0; ib < kSuper / kSub; ++ib) {
        int l = nearest_int(id * scales[ib]);
        l = l < -32 ? -32 : (l > 31 ? 31 : l);
        const float dl = d * float(l);
        idl[ib] = dl != 0 ? 1 / dl : 0.f;
        l += 32;
        const uint8_t l_low = uint8_t(l & 0xf);
        if (ib % 2 == 0)
            y->scales_l[ib / 2] = l_low;
        else
            y->scales_l[ib / 2] |= uint8_t(l_low << 4);
        y->scales_h = uint16_t(y->scales_h | ((l >> 4) << (2 * ib)));
    }
    for (int g = 0; g < kGroups; ++g) {
        uint8_t* qs[L];
        for (int k = 0; k < L; ++k) qs[k] = y->qs + (g * L + k) * 16;
        pack_levels<V>(xt + g * kSub * L, V::load(idl + g * L), qs);
    }
}

template <class V>
void quantize_iq4_xs(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
    block_iq4_xs* y = static_cast<block_iq4_xs*>(dst);
    const int64_t per_row = n_per_row / kSuper;
    for (int64_t row = 0; row < nrows; ++row) {
        for (int64_t ib = 0; ib < per_row; ++ib) {
            quantize_iq4_xs_superblock<V>(src + row * n_per_row + ib * kSuper,
                                          imatrix ? imatrix + ib * kSuper : nullptr,
                                          y + row * per_row + ib);
        }
    }
}

}  // namespace gguf_squash::iq4_lanes
