// Q1_0 Q2_0 TQ1_0 TQ2_0 quantization written once over an ISA's lane type V (sse4_lanes.h,
// avx2_lanes.h, wasm128_lanes.h), giving the scalar reference's bytes (ref/low_bit_ref.cpp).
//
// - A block's absolute maximum is order-free for finite values; its scale then goes through the
//   reference's scalar division and fp16 rounding.
// - lround / round of v = x * (1 / amax), |v| <= 1 (plus rounding), is -1, 0 or 1 by comparing v
//   with +-0.5 (ties away from zero), so the trits are element-wise comparisons.
// - Packing is integer lane arithmetic and byte packing.
// - Q1_0's scale is a sum in element order: one scalar chain per block, several blocks' chains
//   interleaved (each still adds in the reference's order), the sign bits from lane masks.
// Blocks holding a NaN or infinity, or whose inverse scale is not finite, take the reference.
//
// Internal linkage: each ISA's translation unit gets its own copy compiled with its own flags.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../kernel_table.h"
#include "../quant_common.h"
#include "../ref/low_bit_ref.h"

namespace gguf_squash {

// The reference kernels (ref/low_bit_ref.cpp), for the blocks the lanes leave to them.
void quantize_q1_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_q2_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix);
void quantize_tq1_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix);
void quantize_tq2_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix);

namespace {

namespace low_bit_detail {

using namespace low_bit_blocks;

// The reference's pack_trits, (q * 256 + 242) / 243 for q in [0, 242], as a multiply and a
// shift in 32-bit lanes (checked for every q below).
constexpr uint32_t kTritPackMul = 69043;
constexpr int kTritPackShift = 24;
constexpr bool trit_pack_is_exact() {
    for (uint32_t q = 0; q < 243; ++q) {
        const uint32_t n = q * 256 + 242;
        if (((n * kTritPackMul) >> kTritPackShift) != n / 243) return false;
    }
    return true;
}
static_assert(trit_pack_is_exact());

// lround(v) + 1 for the |v| <= 1 (plus rounding) of a finite block.
inline int trit_scalar(float v) {
    return 1 + int(v >= 0.5f) - int(v <= -0.5f);
}

}  // namespace low_bit_detail

template <class V>
struct low_bit_lanes {
    using F = typename V::F;
    using I = typename V::I;
    static constexpr int N = V::lanes;
    static_assert(16 % N == 0, "byte packing takes 16 values at a time");

    // The largest |x| of n finite elements; false when one of them is not finite.
    static bool finite_abs_max(const float* x, int n, float* amax) {
        const F inf = V::set1(INFINITY);
        F m = V::zero();
        F ok = V::lt(V::zero(), V::set1(1.0f));  // all true
        for (int j = 0; j < n; j += N) {
            const F a = V::abs(V::load(x + j));
            ok = V::mask_and(ok, V::lt(a, inf));
            m = V::max(m, a);
        }
        *amax = V::hmax(m);
        return V::all(ok);
    }

    // lround(x * id) + 1: 0, 1 or 2.
    static I trits(const float* x, F id) {
        const F v = V::mul(V::load(x), id);
        const I le = V::bits(V::le(v, V::set1(-0.5f)));  // all ones (-1) where true
        const I ge = V::bits(V::ge(v, V::set1(0.5f)));
        return V::isub(V::iadd(V::isplat(1), le), ge);
    }

    static void quantize_q2_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                              const float* imatrix) {
        using namespace low_bit_detail;
        block_q2_0* y = static_cast<block_q2_0*>(dst);
        const int64_t nb = nrows * n_per_row / kQ2Block;
        const I weights = V::irepeat4(1, 4, 16, 64);
        for (int64_t i = 0; i < nb; ++i) {
            const float* x = src + i * kQ2Block;
            float amax;
            const bool finite = finite_abs_max(x, kQ2Block, &amax);
            const float id = amax > 0.0f ? 1.0f / amax : 0.0f;
            if (!finite || !std::isfinite(id)) {
                quantize_q2_0_ref(x, y + i, 1, kQ2Block, imatrix);
                continue;
            }
            y[i].d = fp32_to_fp16(amax);
            const F vid = V::set1(id);
            // Byte b holds elements 4b..4b+3, two bits each from the bottom.
            I bytes[16 / N];
            for (int c = 0; c < 16 / N; ++c) {
                I q[4];
                for (int k = 0; k < 4; ++k)
                    q[k] = V::imul(trits(x + (4 * c + k) * N, vid), weights);
                bytes[c] = V::group4_sums(q);
            }
            V::store_u8_16(y[i].qs, bytes);
        }
    }

    static void quantize_tq2_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                               const float* imatrix) {
        using namespace low_bit_detail;
        block_tq2_0* y = static_cast<block_tq2_0*>(dst);
        const int64_t nb = nrows * n_per_row / kSuperBlock;
        for (int64_t i = 0; i < nb; ++i) {
            const float* x = src + i * kSuperBlock;
            float amax;
            const bool finite = finite_abs_max(x, kSuperBlock, &amax);
            const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
            if (!finite || !std::isfinite(id)) {
                quantize_tq2_0_ref(x, y + i, 1, kSuperBlock, imatrix);
                continue;
            }
            y[i].d = fp32_to_fp16(amax);
            const F vid = V::set1(id);
            // Byte j + m of each run of 32 holds elements m + 32k of its 128, k = 0..3.
            for (int j = 0; j < 64; j += 16) {
                const float* xr = x + (j / 32) * 128 + (j % 32);
                I bytes[16 / N];
                for (int c = 0; c < 16 / N; ++c) {
                    I q = V::isplat(0);
                    for (int k = 0; k < 4; ++k)
                        q = V::ior(q, V::ishl(trits(xr + c * N + 32 * k, vid), 2 * k));
                    bytes[c] = q;
                }
                V::store_u8_16(y[i].qs + j, bytes);
            }
        }
    }

    // Five trits per byte, most significant first, scaled by the reference's pack_trits.
    static I pack5(const float* x, int stride, F id) {
        using namespace low_bit_detail;
        I q = trits(x, id);
        for (int k = 1; k < 5; ++k)
            q = V::iadd(V::imul(q, V::isplat(3)), trits(x + k * stride, id));
        const I n = V::iadd(V::ishl(q, 8), V::isplat(242));
        return V::ishr(V::imul(n, V::isplat(kTritPackMul)), kTritPackShift);
    }

    static void quantize_tq1_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                               const float* imatrix) {
        using namespace low_bit_detail;
        block_tq1_0* y = static_cast<block_tq1_0*>(dst);
        const int64_t nb = nrows * n_per_row / kSuperBlock;
        for (int64_t i = 0; i < nb; ++i) {
            const float* x = src + i * kSuperBlock;
            float amax;
            const bool finite = finite_abs_max(x, kSuperBlock, &amax);
            const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
            if (!finite || !std::isfinite(id)) {
                quantize_tq1_0_ref(x, y + i, 1, kSuperBlock, imatrix);
                continue;
            }
            y[i].d = fp32_to_fp16(amax);
            const F vid = V::set1(id);
            // Bytes [0, 32): elements m + 32k of the first 160; [32, 48): 160 + m + 16k.
            for (int j = 0; j < 32; j += 16) {
                I bytes[16 / N];
                for (int c = 0; c < 16 / N; ++c) bytes[c] = pack5(x + j + c * N, 32, vid);
                V::store_u8_16(y[i].qs + j, bytes);
            }
            {
                I bytes[16 / N];
                for (int c = 0; c < 16 / N; ++c) bytes[c] = pack5(x + 160 + c * N, 16, vid);
                V::store_u8_16(y[i].qs + 32, bytes);
            }
            // Four trits per byte from the last 16 elements, shifted up one trit.
            const float* xh = x + 240;
            for (int j = 0; j < 4; ++j) {
                int q = 0;
                for (int m = 0; m < 4; ++m) q = q * 3 + trit_scalar(xh[j + m * 4] * id);
                const uint32_t n = uint32_t(q * 3) * 256 + 242;
                y[i].qh[j] = uint8_t(n / 243);
            }
        }
    }

    static void quantize_q1_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                              const float*) {
        using namespace low_bit_detail;
        block_q1_0* y = static_cast<block_q1_0*>(dst);
        const int64_t nb = nrows * n_per_row / kQ1Block;
        constexpr int kChains = 8;
        const F zero = V::zero();
        int64_t i = 0;
        for (; i < nb; i += kChains) {
            const int g = int(nb - i < kChains ? nb - i : kChains);
            const float* x = src + i * kQ1Block;
            // One sum per block in element order; the blocks' chains are independent.
            float sum_abs[kChains] = {};
            if (g == kChains) {
                for (int j = 0; j < kQ1Block; ++j)
                    for (int b = 0; b < kChains; ++b) sum_abs[b] += std::fabs(x[b * kQ1Block + j]);
            } else {
                for (int j = 0; j < kQ1Block; ++j)
                    for (int b = 0; b < g; ++b) sum_abs[b] += std::fabs(x[b * kQ1Block + j]);
            }
            for (int b = 0; b < g; ++b) {
                const float* xb = x + b * kQ1Block;
                y[i + b].d = fp32_to_fp16(sum_abs[b] / kQ1Block);
                // Bit j of the 128: x[j] >= 0 (false for NaN, as in the reference).
                for (int j = 0; j < kQ1Block; j += 32) {
                    uint32_t bits = 0;
                    for (int k = 0; k < 32 / N; ++k)
                        bits |= V::bitmask(V::ge(V::load(xb + j + k * N), zero)) << (N * k);
                    std::memcpy(y[i + b].qs + j / 8, &bits, 4);
                }
            }
        }
    }
};

// Registers Q1_0 Q2_0 TQ1_0 TQ2_0 with V's kernels (dequantization stays scalar).
template <class V>
void register_low_bit_lanes(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::q1_0)] = low_bit_lanes<V>::quantize_q1_0;
    table.quantize[uint32_t(ggml_type::q2_0)] = low_bit_lanes<V>::quantize_q2_0;
    table.quantize[uint32_t(ggml_type::tq1_0)] = low_bit_lanes<V>::quantize_tq1_0;
    table.quantize[uint32_t(ggml_type::tq2_0)] = low_bit_lanes<V>::quantize_tq2_0;
}

}  // namespace
}  // namespace gguf_squash
