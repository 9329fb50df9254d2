// The parts of the IQ3_XXS / IQ3_S SIMD search policies (ref/iq3_quantize_impl.h) that are the
// same on every ISA, written once over the ISA's lane type V (sse4_lanes.h, avx2_lanes.h,
// wasm128_lanes.h). The neighbour search and the group levels stay in the ISA files: they need
// integer shuffles and packs that differ per ISA.
//
// Internal linkage (anonymous namespace), as in iq3_quantize_impl.h: each ISA's translation unit
// gets its own copy compiled with its own target flags.
#pragma once

#include <cstdint>

#include "../kernel_table.h"
#include "../ref/iq3_quantize_impl.h"

namespace gguf_squash {
namespace {

// One trial scale per lane, V::lanes trials at a time; each lane sums in element order, as the
// scalar trial_sums does: sumqx = sum wx q, sumq2 = sum (weight q) q.
template <class V>
inline void iq3_trial_sums_lanes(int nsteps, const float* q, const float* weight, const float* wx,
                                 float* sumqx, float* sumq2) {
    using F = typename V::F;
    for (int s0 = 0; s0 < nsteps; s0 += V::lanes) {
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

// Registers IQ3_XXS and IQ3_S with one ISA's search policy.
template <class Search>
void register_iq3_lanes(kernel_table& table) {
    table.quantize[size_t(ggml_type::iq3_xxs)] = quantize_iq3_xxs_rows<Search>;
    table.quantize[size_t(ggml_type::iq3_s)] = quantize_iq3_s_rows<Search>;
}

}  // namespace
}  // namespace gguf_squash
