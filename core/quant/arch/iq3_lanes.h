// The IQ3_XXS / IQ3_S SIMD search policy (the `Search` of ref/iq3_quantize_impl.h), written once
// over an ISA's lane type V (sse4_lanes.h, avx2_lanes.h, wasm128_lanes.h). The scalar algorithm
// stays as it is; its loops are vectorised so that each lane repeats the reference's float
// operations in order:
// - the neighbour search: one candidate grid point per lane, then the first strict minimum;
// - the group search's levels, points and sums: one trial scale per lane (nearest_int is exact in
//   SIMD), each trial's sums in element order.
//
// Internal linkage (anonymous namespace), as in iq3_quantize_impl.h: each ISA's translation unit
// gets its own copy compiled with its own target flags.
#pragma once

#include <cstdint>

#include "../kernel_table.h"
#include "../ref/iq3_quantize_impl.h"

namespace gguf_squash {
namespace {

template <class V>
struct iq3_lanes_search {
    using F = typename V::F;
    using I = typename V::I;
    static constexpr int N = V::lanes;

    // Signed byte `byte` of each 32-bit lane, as float.
    template <int byte>
    static F level_byte(I points) {
        return V::to_float(V::isar(V::ishl(points, 24 - 8 * byte), 24));
    }

    template <int i>
    static F add_term(F d2, I points, F scale, const float* xval, const float* weight) {
        const F diff = V::sub(V::mul(scale, level_byte<i>(points)), V::set1(xval[i]));
        return V::add(d2, V::mul(V::mul(V::set1(weight[i]), diff), diff));
    }

    // Index of the first lane holding the smallest value among the first `n` lanes, ignoring
    // NaNs, if that value is below `bound`; else -1. This is what the reference's scan
    // `if (d2 < best) { best = d2; ... }` picks, starting from best = bound.
    // On success *bound becomes that value.
    static int first_min_below(F d2, int n, float* bound) {
        const F in_range = V::from_bits(V::igt(V::isplat(uint32_t(n)), V::iota()));
        const F usable = V::mask_and(in_range, V::eq(d2, d2));
        const F v = V::select(usable, d2, V::set1(__builtin_inff()));
        const float smallest = V::hmin(v);
        if (!(smallest < *bound)) return -1;
        *bound = smallest;
        return __builtin_ctz(V::bitmask(V::eq(v, V::set1(smallest))));
    }

    static int best_neighbour(const iq3_search_tables& t, int32_t list, const float* xval,
                              const float* weight, float scale, int8_t* L) {
        return iq3_scalar_search::take_grid_point(
            t, best_neighbour_index(t, list, xval, weight, scale), L);
    }

    // best_neighbour without writing the levels: the winner's grid index.
    __attribute__((always_inline)) static int best_neighbour_index(const iq3_search_tables& t,
                                                                   int32_t list, const float* xval,
                                                                   const float* weight,
                                                                   float scale) {
        const int count = t.neighbours[list];
        const uint32_t* points = t.neighbour_points + list + 1;
        const F vscale = V::set1(scale);
        float best_d2 = 3.40282347e+38f;  // FLT_MAX
        int best = -1;
        for (int j0 = 0; j0 < count; j0 += N) {
            const I p = V::iload(points + j0);
            F d2 = V::zero();
            d2 = add_term<0>(d2, p, vscale, xval, weight);
            d2 = add_term<1>(d2, p, vscale, xval, weight);
            d2 = add_term<2>(d2, p, vscale, xval, weight);
            d2 = add_term<3>(d2, p, vscale, xval, weight);
            const int n = count - j0 < N ? count - j0 : N;
            const int lane = first_min_below(d2, n, &best_d2);
            if (lane >= 0) best = j0 + lane;
        }
        if (best < 0) best = 0;  // NaN input only; the scalar search also takes the first
        return t.neighbours[list + 1 + best];
    }

    // iq3_detail::search_group (the reference) with its phases A and B V::lanes trial scales
    // at a time, one trial per lane: each lane computes its trial's levels and points with the
    // reference's float operations, the off-grid groups are moved to their best neighbour one
    // by one, and each lane sums its trial's two sums in element order. Phase C (the sequential
    // choice) and the refinement are the reference's.
    static float search_group(const iq3_search_tables& t, const iq3_detail::search_variant& v,
                              const float* xval, const float* weight, const float* waux, float max,
                              int8_t* L) {
        using namespace iq3_detail;
        const int nsteps = v.last_step - v.first_step + 1;  // at most kMaxSteps
        static_assert(kMaxSteps % N == 0, "trials are padded to whole vectors");
        alignas(32) int32_t level[32][kMaxSteps];  // level of element i in trial s
        alignas(32) int32_t point[8][kMaxSteps];   // point of group k in trial s
        alignas(32) float scale_of[kMaxSteps];
        bool on_grid_aux[kMaxSteps][8];

        // Phase A. Trials past nsteps in the last vector get valid scales; they are never read.
        const F half = V::set1(0.5f);
        const F one = V::set1(1.f);
        const F vmax = V::set1(max);
        for (int s0 = 0; s0 < nsteps; s0 += N) {
            const F step = V::to_float(V::iadd(V::iota(), V::isplat(uint32_t(v.first_step + s0))));
            const F id =
                V::div(V::add(V::set1(float(2 * kMaxQ - 1)), V::mul(step, V::set1(0.2f))), vmax);
            V::store(scale_of + s0, V::div(one, id));
            for (int k = 0; k < 8; ++k) {
                I packed = V::isplat(0);
                for (int i = 0; i < 4; ++i) {
                    const F x = V::set1(xval[4 * k + i]);
                    const I l =
                        V::round_clamp_i(V::mul(half, V::sub(V::mul(id, x), one)), 0, kMaxQ - 1);
                    V::istore(&level[4 * k + i][s0], l);
                    packed = V::ior(packed, V::ishl(l, 3 * i));
                }
                V::istore(&point[k][s0], packed);
            }
        }
        // The off-grid groups are listed without branching (whether a group is on the grid is
        // unpredictable), group by group so that a group's values stay in registers, and their
        // lists fetched so that the searches' first loads overlap; then the searches.
        for (int k = 0; k < 8; ++k) {
            int32_t off_list[kMaxSteps];  // the neighbour-list offset of each off-grid trial
            uint8_t off_trial[kMaxSteps];
            int n_off = 0;
            for (int s = 0; s < nsteps; ++s) {
                const int32_t m = t.map[point[k][s]];
                on_grid_aux[s][k] = m >= 0;
                off_list[n_off] = -m - 1;
                off_trial[n_off] = uint8_t(s);
                n_off += m < 0;
                __builtin_prefetch(t.neighbour_points + (m < 0 ? -m - 1 : 0));
            }
            for (int j = 0; j < n_off; ++j) {
                const int s = off_trial[j];
                const int g =
                    best_neighbour_index(t, off_list[j], xval + 4 * k, waux + 4 * k, scale_of[s]);
                // The levels (q - 1) / 2 of the grid point's bytes q (odd, 1..15), as
                // take_grid_point computes them.
                const uint32_t q = t.grid[g];
                level[4 * k + 0][s] = int32_t((q >> 1) & 0x7f);
                level[4 * k + 1][s] = int32_t((q >> 9) & 0x7f);
                level[4 * k + 2][s] = int32_t((q >> 17) & 0x7f);
                level[4 * k + 3][s] = int32_t((q >> 25) & 0x7f);
            }
        }

        // Phase B: sum_i (w x) q and sum_i (w q) q per trial, in element order.
        alignas(32) float sumqx[kMaxSteps], sumq2[kMaxSteps];
        const I one_i = V::isplat(1);
        for (int s0 = 0; s0 < nsteps; s0 += N) {
            F qx = V::zero(), q2 = V::zero();
            for (int i = 0; i < 32; ++i) {
                const I l = V::iload(&level[i][s0]);
                const F q = V::to_float(V::iadd(V::iadd(l, l), one_i));
                qx = V::add(qx, V::mul(V::set1(weight[i] * xval[i]), q));
                q2 = V::add(q2, V::mul(V::mul(V::set1(weight[i]), q), q));
            }
            V::store(sumqx + s0, qx);
            V::store(sumq2 + s0, q2);
        }

        // Phase C and the refinement, as the reference.
        float scale = max / (2 * kMaxQ - 1);
        const int chosen = choose_trial(nsteps, sumqx, sumq2, &scale);
        bool on_grid[8];
        for (int k = 0; k < 8; ++k)
            on_grid[k] = chosen >= 0 ? on_grid_aux[chosen][k] : v.assume_on_grid;
        if (chosen >= 0) {
            for (int i = 0; i < 32; ++i) L[i] = int8_t(level[i][chosen]);
        }
        return refine_group<iq3_lanes_search>(t, v, xval, weight, waux, on_grid, scale, L);
    }
};

// Registers IQ3_XXS and IQ3_S with V's search.
template <class V>
void register_iq3_lanes(kernel_table& table) {
    table.quantize[size_t(ggml_type::iq3_xxs)] = quantize_iq3_xxs_rows<iq3_lanes_search<V>>;
    table.quantize[size_t(ggml_type::iq3_s)] = quantize_iq3_s_rows<iq3_lanes_search<V>>;
}

}  // namespace
}  // namespace gguf_squash
