// The IQ3_XXS / IQ3_S SIMD search policy (the `Search` of ref/iq3_quantize_impl.h), written once
// over an ISA's lane type V (sse4_lanes.h, avx2_lanes.h, wasm128_lanes.h). The scalar algorithm
// stays as it is; its three inner loops are vectorised so that each lane repeats the reference's
// float operations in order:
// - the neighbour search: one candidate grid point per lane, then the first strict minimum;
// - the levels of a trial scale: element-wise (nearest_int is exact in SIMD);
// - the trial sums: one trial scale per lane, each summed in element order.
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
    static int first_min_below(F d2, int n, float bound) {
        const F in_range = V::from_bits(V::igt(V::isplat(uint32_t(n)), V::iota()));
        const F usable = V::mask_and(in_range, V::eq(d2, d2));
        const F v = V::select(usable, d2, V::set1(__builtin_inff()));
        const float smallest = V::hmin(v);
        if (!(smallest < bound)) return -1;
        return __builtin_ctz(V::bitmask(V::eq(v, V::set1(smallest))));
    }

    __attribute__((always_inline)) static int best_neighbour(const iq3_search_tables& t,
                                                             int32_t list, const float* xval,
                                                             const float* weight, float scale,
                                                             int8_t* L) {
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
            const int lane = first_min_below(d2, n, best_d2);
            if (lane >= 0) {
                alignas(32) float lanes[N];
                V::store(lanes, d2);
                best_d2 = lanes[lane];
                best = j0 + lane;
            }
        }
        if (best < 0) best = 0;  // NaN input only; the scalar search also takes the first
        return iq3_scalar_search::take_grid_point(t, t.neighbours[list + 1 + best], L);
    }

    // The 32 levels clamp(nearest_int(0.5 (id x - 1)), 0, 7) of one trial scale, and the 8
    // points l0 + 8 l1 + 64 l2 + 512 l3 of its groups of 4.
    static void group_levels(float id, const float* xval, int8_t* L, int* points) {
        constexpr int kVectors = 32 / N;
        const F vid = V::set1(id);
        const F half = V::set1(0.5f);
        const F one = V::set1(1.f);
        const I weights = V::irepeat4(1, 8, 64, 512);
        I l[kVectors], m[kVectors];
        for (int c = 0; c < kVectors; ++c) {
            const F x = V::load(xval + N * c);
            l[c] = V::round_clamp_i(V::mul(half, V::sub(V::mul(vid, x), one)), 0, 7);
            m[c] = V::imul(l[c], weights);
        }
        for (int c = 0; c < kVectors; c += 16 / N) V::store_i8_16(L + N * c, l + c);
        for (int c = 0; c < kVectors; c += 4) V::istore(points + c * N / 4, V::group4_sums(m + c));
    }

    static void trial_sums(int nsteps, const float* q, const float* weight, const float* wx,
                           float* sumqx, float* sumq2) {
        for (int s0 = 0; s0 < nsteps; s0 += N) {
            F qx = V::zero(), q2 = V::zero();
            for (int i = 0; i < 32; ++i) {
                const F qi = V::load(q + i * iq3_detail::kMaxSteps + s0);
                qx = V::add(qx, V::mul(V::set1(wx[i]), qi));
                q2 = V::add(q2, V::mul(V::mul(V::set1(weight[i]), qi), qi));
            }
            V::store(sumqx + s0, qx);
            V::store(sumq2 + s0, q2);
        }
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
