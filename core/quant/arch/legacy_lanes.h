// Q4_0 Q4_1 Q5_0 Q5_1 Q8_0, written once over an ISA's lane type V (sse4_lanes.h, avx2_lanes.h,
// wasm128_lanes.h).
// - With importance weights (Q4_0 Q5_0: make_qx_quants; Q4_1 Q5_1: make_qkx3_quants) the searches
//   accumulate sums element by element, so each lane holds ONE BLOCK: it runs the scalar search's
//   float operations on its own block in the scalar order, bit-identical to the reference. Blocks
//   holding a NaN or infinity, and blocks left over after the last full group of V::lanes, run
//   the scalar per-block quantizer of legacy_ref.h.
// - Without them these formats have no running sums, only a max/min search and element-wise
//   steps, so each block is vectorised on its own (32 / V::lanes vectors, legacy_blocks); blocks
//   holding a NaN or infinity, or whose scale is not finite, go to the scalar reference, whose
//   comparison order decides the bytes there (and x86's out-of-range float-to-int conversion,
//   which wasm's saturating one does not reproduce).
//
// Internal linkage throughout, as in k_quants_lanes.h: each ISA's translation unit gets its own
// copy compiled with its own target flags.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../kernel_table.h"
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

// Without importance weights each block is done in two steps: its scale (a reduction, then scalar
// divisions and the fp16 rounding: a long dependency chain) and its quants (element-wise). Blocks
// go through the first step in groups, so the chains of a group's blocks overlap instead of each
// blocking its quants.
struct block_scale {
    float id;   // inverse scale
    float min;  // the affine types' minimum
};

// One block of 32 in registers and the whole-block steps of the kernels without importance
// weights, written once over V: a max/min search (vertical, then horizontal) and element-wise
// steps, no running sums, so the lane count does not change any result.
template <class V>
struct legacy_blocks {
    using F = typename V::F;
    using I = typename V::I;
    static constexpr int kVectors = kLegacyBlock / V::lanes;  // vectors per block of 32
    static_assert(16 % V::lanes == 0, "byte packing takes 16 values at a time");

    struct block_vectors {
        F v[kVectors];
    };

    static block_vectors load_block(const float* x) {
        block_vectors b;
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k) b.v[k] = V::load(x + V::lanes * k);
        return b;
    }

    // True when every element is finite (no NaN, no infinity).
    static bool all_finite(const block_vectors& b) {
        const F inf = V::set1(INFINITY);
        F ok = V::lt(V::abs(b.v[0]), inf);
#pragma GCC unroll 8
        for (int k = 1; k < kVectors; ++k) ok = V::mask_and(ok, V::lt(V::abs(b.v[k]), inf));
        return V::all(ok);
    }

    // Bit j set where element j (its magnitude, if Abs) equals `value` (a float comparison, so
    // -0 == +0).
    template <bool Abs>
    static uint32_t equal_mask(const block_vectors& b, float value) {
        const F vv = V::set1(value);
        uint32_t mask = 0;
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k) {
            const F e = Abs ? V::abs(b.v[k]) : b.v[k];
            mask |= V::bitmask(V::eq(e, vv)) << (V::lanes * k);
        }
        return mask;
    }

    // The scalar loops keep the first element reaching the extreme (strict comparisons), which
    // only matters for the sign of a zero.
    static float first_equal(const float* x, const block_vectors& b, float value) {
        if (value != 0.0f) return value;
        return x[__builtin_ctz(equal_mask<false>(b, value))];
    }

    static float abs_max(const block_vectors& b) {
        F a = V::abs(b.v[0]);
#pragma GCC unroll 8
        for (int k = 1; k < kVectors; ++k) a = V::max(a, V::abs(b.v[k]));
        return V::hmax(a);
    }
    static float block_min(const block_vectors& b) {
        F m = b.v[0];
#pragma GCC unroll 8
        for (int k = 1; k < kVectors; ++k) m = V::min(m, b.v[k]);
        return V::hmin(m);
    }
    static float block_max(const block_vectors& b) {
        F m = b.v[0];
#pragma GCC unroll 8
        for (int k = 1; k < kVectors; ++k) m = V::max(m, b.v[k]);
        return V::hmax(m);
    }

    // Signed value of the first largest-magnitude element, +0 if all are zero (finite input).
    static float signed_abs_max(const float* x, const block_vectors& b) {
        const float amax = abs_max(b);
        if (amax == 0.0f) return 0.0f;
        return x[__builtin_ctz(equal_mask<true>(b, amax))];
    }

    // C's float-to-int conversion (in range here), then the low byte's signed value.
    static I trunc_low_byte_signed(F v) {
        return V::isar(V::ishl(V::trunc_i(v), 24), 24);
    }

    // Bit 4 of each of the 32 levels, as ggml's qh word.
    static uint32_t fifth_bits(const I* q) {
        uint32_t qh = 0;
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k)
            qh |= V::bitmask(V::from_bits(V::ishl(q[k], 27))) << (V::lanes * k);
        return qh;
    }

    // Elements j and j + 16 share byte j: low nibble, high nibble.
    static void store_nibbles(const I* q, uint8_t* qs) {
        constexpr int kHalf = kVectors / 2;
        const I m = V::isplat(0x0f);
        I c[kHalf];
#pragma GCC unroll 8
        for (int k = 0; k < kHalf; ++k)
            c[k] = V::ior(V::iand(q[k], m), V::ishl(V::iand(q[k + kHalf], m), 4));
        V::store_u8_16(qs, c);
    }

    static void quants_q8_0(const float* x, const block_scale& p, block_q8_0* y) {
        const F vid = V::set1(p.id);
        const F sign = V::set1(-0.0f);
        const F half = V::set1(0.5f);
        const F one = V::set1(1.0f);
        I q[kVectors];
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k) {
            // roundf: truncate, then step away from zero when the dropped fraction is >= 0.5 (the
            // fraction x - trunc(x) is exact for these magnitudes).
            const F v = V::mul(V::load(x + V::lanes * k), vid);
            const F t = V::trunc(v);
            const F frac = V::abs(V::sub(v, t));
            const F step = V::mask_and(V::ge(frac, half), V::mask_or(one, V::mask_and(v, sign)));
            q[k] = V::trunc_i(V::add(t, step));
        }
        V::store_i8_16(y->qs, q);
        V::store_i8_16(y->qs + 16, q + kVectors / 2);
    }

    template <int Nmax>
    static void symmetric_quants(const float* x, const block_scale& p, I* q) {
        const F vid = V::set1(p.id);
        const F bias = V::set1(float(Nmax) + 0.5f);
        const I top = V::isplat(2 * Nmax - 1);
        const I byte = V::isplat(0xff);
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k) {
            const F v = V::add(V::mul(V::load(x + V::lanes * k), vid), bias);
            q[k] = V::iand(V::imin(trunc_low_byte_signed(v), top), byte);
        }
    }

    template <int Nmax>
    static void affine_quants(const float* x, const block_scale& p, I* q) {
        const F vid = V::set1(p.id);
        const F vmin = V::set1(p.min);
        const F half = V::set1(0.5f);
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k) {
            const F v = V::add(V::mul(V::sub(V::load(x + V::lanes * k), vmin), vid), half);
            if constexpr (Nmax == 15) {
                q[k] = V::iand(V::imin(trunc_low_byte_signed(v), V::isplat(15)), V::isplat(0xff));
            } else {
                q[k] = V::trunc_i(v);  // ggml stores the low byte without clamping
            }
        }
    }
};

// The kernels without importance weights, over B = legacy_blocks<V>. A scale step returns false
// for a block the scalar reference must do (a NaN or infinity in it, or a scale that is not
// finite): its comparison order decides the bytes there.
template <class B>
struct legacy_block_kernels {
    using I = typename B::I;

    static bool finite_scale(float d, float id) { return std::isfinite(d) && std::isfinite(id); }

    // Q4_0 and Q5_0: d = max / -Nmax, level = min(top, (int8)(x * id + Nmax + 0.5)).
    template <int Nmax>
    static bool symmetric_scale(const float* x, uint16_t* d_out, block_scale* p) {
        const typename B::block_vectors b = B::load_block(x);
        if (!B::all_finite(b)) return false;
        const float max = B::signed_abs_max(x, b);
        const float d = max / -Nmax;
        const float id = d ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return false;
        *d_out = fp32_to_fp16(d);
        p->id = id;
        return true;
    }

    // Q4_1 and Q5_1: d = (max - min) / Nmax, level = (x - min) * id + 0.5 truncated.
    template <int Nmax>
    static bool affine_scale(const float* x, uint16_t* d_out, uint16_t* m_out, block_scale* p) {
        const typename B::block_vectors b = B::load_block(x);
        if (!B::all_finite(b)) return false;
        const float min = B::first_equal(x, b, B::block_min(b));
        const float max = B::first_equal(x, b, B::block_max(b));
        const float d = (max - min) / Nmax;
        const float id = d ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return false;
        *d_out = fp32_to_fp16(d);
        *m_out = fp32_to_fp16(min);
        p->id = id;
        p->min = min;
        return true;
    }

    // Q8_0: d = amax / 127, level = roundf(x * id).
    static bool scale(const float* x, block_q8_0* y, block_scale* p) {
        const typename B::block_vectors b = B::load_block(x);
        if (!B::all_finite(b)) return false;
        const float amax = B::abs_max(b);
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return false;
        y->d = fp32_to_fp16(d);
        p->id = id;
        return true;
    }
    static void quants(const float* x, const block_scale& p, block_q8_0* y) {
        B::quants_q8_0(x, p, y);
    }

    static bool scale(const float* x, block_q4_0* y, block_scale* p) {
        return symmetric_scale<8>(x, &y->d, p);
    }
    static void quants(const float* x, const block_scale& p, block_q4_0* y) {
        I q[B::kVectors];
        B::template symmetric_quants<8>(x, p, q);
        B::store_nibbles(q, y->qs);
    }

    static bool scale(const float* x, block_q5_0* y, block_scale* p) {
        return symmetric_scale<16>(x, &y->d, p);
    }
    static void quants(const float* x, const block_scale& p, block_q5_0* y) {
        I q[B::kVectors];
        B::template symmetric_quants<16>(x, p, q);
        B::store_nibbles(q, y->qs);
        const uint32_t qh = B::fifth_bits(q);
        std::memcpy(y->qh, &qh, 4);
    }

    static bool scale(const float* x, block_q4_1* y, block_scale* p) {
        return affine_scale<15>(x, &y->d, &y->m, p);
    }
    static void quants(const float* x, const block_scale& p, block_q4_1* y) {
        I q[B::kVectors];
        B::template affine_quants<15>(x, p, q);
        B::store_nibbles(q, y->qs);
    }

    static bool scale(const float* x, block_q5_1* y, block_scale* p) {
        return affine_scale<31>(x, &y->d, &y->m, p);
    }
    static void quants(const float* x, const block_scale& p, block_q5_1* y) {
        I q[B::kVectors];
        B::template affine_quants<31>(x, p, q);
        B::store_nibbles(q, y->qs);
        const uint32_t qh = B::fifth_bits(q);
        std::memcpy(y->qh, &qh, 4);
    }

    template <typename Block, void (*Ref)(const float*, Block*)>
    static void quantize_blocks(const float* src, Block* out, int64_t nb) {
        constexpr int kGroup = 8;
        block_scale p[kGroup];
        bool ok[kGroup];
        for (int64_t i = 0; i < nb; i += kGroup) {
            const int g = int(nb - i < kGroup ? nb - i : kGroup);
            for (int b = 0; b < g; ++b)
                ok[b] = scale(src + (i + b) * kLegacyBlock, out + i + b, &p[b]);
            for (int b = 0; b < g; ++b) {
                const float* x = src + (i + b) * kLegacyBlock;
                if (ok[b]) {
                    quants(x, p[b], out + i + b);
                } else {
                    Ref(x, out + i + b);
                }
            }
        }
    }

    template <typename Block, void (*Ref)(const float*, Block*), quantize_fn Weighted>
    static void quantize(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix) {
        if (imatrix) return Weighted(src, dst, nrows, n_per_row, imatrix);
        quantize_blocks<Block, Ref>(src, static_cast<Block*>(dst),
                                    nrows * n_per_row / kLegacyBlock);
    }

    // Q8_0 ignores importance weights, as ggml's quantize_q8_0 does.
    static void quantize_q8_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                              const float*) {
        quantize_blocks<block_q8_0, quantize_block_q8_0_ref>(src, static_cast<block_q8_0*>(dst),
                                                             nrows * n_per_row / kLegacyBlock);
    }
};

// Registers Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 for one ISA: whole blocks in V's vectors without importance
// weights, one block per lane of V with them.
template <class V>
void register_legacy_lanes(kernel_table& table) {
    using K = legacy_block_kernels<legacy_blocks<V>>;
    table.quantize[uint32_t(ggml_type::q8_0)] = K::quantize_q8_0;
    table.quantize[uint32_t(ggml_type::q4_0)] = K::template quantize<
        block_q4_0, quantize_block_q4_0_ref,
        quantize_legacy_imatrix_lanes<V, block_q4_0, 8, false, quantize_block_q4_0_imatrix_ref>>;
    table.quantize[uint32_t(ggml_type::q4_1)] = K::template quantize<
        block_q4_1, quantize_block_q4_1_ref,
        quantize_legacy_imatrix_lanes<V, block_q4_1, 15, true, quantize_block_q4_1_imatrix_ref>>;
    table.quantize[uint32_t(ggml_type::q5_0)] = K::template quantize<
        block_q5_0, quantize_block_q5_0_ref,
        quantize_legacy_imatrix_lanes<V, block_q5_0, 16, false, quantize_block_q5_0_imatrix_ref>>;
    table.quantize[uint32_t(ggml_type::q5_1)] = K::template quantize<
        block_q5_1, quantize_block_q5_1_ref,
        quantize_legacy_imatrix_lanes<V, block_q5_1, 31, true, quantize_block_q5_1_imatrix_ref>>;
}

}  // namespace
}  // namespace gguf_squash
