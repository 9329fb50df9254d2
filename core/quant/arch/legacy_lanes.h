// The imatrix paths of Q4_0 Q5_0 (make_qx_quants) and Q4_1 Q5_1 (make_qkx3_quants), written once
// over a lane type V (see k_quants_lanes.h for what V provides), ONE BLOCK PER LANE: each lane
// runs the scalar search's float operations on its own block in the scalar order, so the result
// is bit-identical to the reference. Blocks holding a NaN or infinity, and blocks left over after
// the last full group of V::lanes, run the scalar per-block quantizer of legacy_ref.h.
//
// Internal linkage throughout, as in k_quants_lanes.h: each ISA's translation unit gets its own
// copy compiled with its own target flags.
#pragma once

#include <cmath>
#include <cstdint>

#include "../quant_common.h"
#include "../ref/legacy_ref.h"
#include "k_quants_lanes.h"

namespace gguf_squash {
namespace {

// Packs one lane's levels (floats holding integers) into the block's quants.
template <int N, typename Block, int Nmax>
inline void store_lane_levels(const float* Lt, int lane, Block* y) {
    uint8_t L[kLegacyBlock];
    for (int i = 0; i < kLegacyBlock; ++i) L[i] = uint8_t(int(Lt[i * N + lane]));
    if constexpr (Nmax == 8 || Nmax == 15) {
        for (int j = 0; j < 16; ++j) y->qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
    } else {
        pack_five_bit_levels(L, y->qs, y->qh);
    }
}

// Nmax 8 (Q4_0) and 16 (Q5_0) use make_qx_quants; Affine with Nmax 15 (Q4_1) and 31 (Q5_1) use
// make_qkx3_quants with ggml's -0.9 + 0.05 * k (k = 0..36) trial scales.
template <class V, typename Block, int Nmax, bool Affine,
          void (*Tail)(const float*, const float*, float, Block*)>
void quantize_legacy_imatrix_lanes(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                                   const float* qw) {
    using F = typename V::F;
    constexpr int N = V::lanes;
    constexpr int n = kLegacyBlock;
    alignas(32) float xt[n * N];
    alignas(32) float wt[n * N];
    alignas(32) float Lt[n * N];
    alignas(32) float scale[N];
    alignas(32) float the_min[N];
    const int64_t nb = n_per_row / n;
    for (int64_t r = 0; r < nrows; ++r) {
        const float* x = src + r * n_per_row;
        Block* y = static_cast<Block*>(dst) + r * nb;
        const float sigma2 = row_mean_square_ref(x, n_per_row);
        if (!std::isfinite(sigma2)) {
            // A NaN or infinity anywhere in the row reaches every block's weights through sigma2,
            // and NaN signs are not portable in wasm: the whole row takes the scalar code.
            for (int64_t ib = 0; ib < nb; ++ib) Tail(x + ib * n, qw + ib * n, sigma2, y + ib);
            continue;
        }
        const F vsigma2 = V::set1(sigma2);
        const F inf = V::set1(INFINITY);
        int64_t ib = 0;
        for (; ib + N <= nb; ib += N) {
            transpose_in<N, n>(x + ib * n, xt);
            transpose_in<N, n>(qw + ib * n, wt);
            F finite = V::lt(V::zero(), V::set1(1.0f));  // all true
            for (int i = 0; i < n; ++i) {                // qw * sqrt(sigma2 + x*x), as the scalar
                const F xi = V::load(xt + i * N);
                finite = V::mask_and(finite, V::lt(V::abs(xi), inf));
                V::store(wt + i * N,
                         V::mul(V::load(wt + i * N), V::sqrt(V::add(vsigma2, V::mul(xi, xi)))));
            }
            if constexpr (Affine) {
                qkx_search_lanes<V, n, true, false>(xt, wt, Nmax, -0.9f, 0.05f, 36, scale, the_min,
                                                    Lt);
            } else {
                qx_search_lanes<V, n>(xt, wt, Nmax, scale, Lt);
            }
            alignas(32) float finite_lanes[N];
            V::store(finite_lanes, finite);
            for (int lane = 0; lane < N; ++lane) {
                Block* b = y + ib + lane;
                // A NaN's sign after the scalar's arithmetic is up to the compiler in wasm, so
                // blocks with NaN or infinity take the scalar code to stay identical to it.
                if (f32_bits(finite_lanes[lane]) == 0) {
                    Tail(x + (ib + lane) * n, qw + (ib + lane) * n, sigma2, b);
                    continue;
                }
                b->d = fp32_to_fp16(scale[lane]);
                if constexpr (Affine) b->m = fp32_to_fp16(-the_min[lane]);
                store_lane_levels<N, Block, Nmax>(Lt, lane, b);
            }
        }
        for (; ib < nb; ++ib) Tail(x + ib * n, qw + ib * n, sigma2, y + ib);
    }
}

}  // namespace
}  // namespace gguf_squash
