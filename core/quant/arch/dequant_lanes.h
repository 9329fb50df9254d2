// The dequantizers written once over an ISA's lane type L (sse4_lanes.h, avx2_lanes.h,
// wasm128_lanes.h): Q4_0 Q4_1 Q5_0 Q5_1 Q8_0, Q2_K..Q6_K, IQ4_NL IQ4_XS, MXFP4, Q1_0 Q2_0 TQ1_0
// TQ2_0, IQ3_XXS IQ3_S.
//
// Dequantization is element-wise: every value is d * q, d * q + m or d * q - m, with q a small
// integer and d, m per-block (or per-sub-block) floats. The block scales are computed in scalar
// code with exactly the reference's expressions (core/quant/ref/*_ref.cpp); the integer levels are
// unpacked in 32-bit lanes (exact), converted to float (exact: |q| < 2^24) and combined with the
// scales in the reference's operation order and operand order (which keeps the NaN a NaN scale
// propagates, too). No FMA anywhere (the build sets -ffp-contract=off), so every lane gives the
// reference's float, bit for bit (tests/kernel_dequant_test.cpp).
//
// L provides, besides the float lanes: I (32-bit integer lanes), isplat/iand/ior/iadd/isub/ishl/
// ishr/igt/iload/to_float/from_bits, and the byte loads load_u8 / load_i8 (L::lanes bytes zero- or
// sign-extended) and lut16_i8 (a 16-entry signed byte table indexed by lanes holding 0..15).
//
// Internal linkage: each ISA's translation unit gets its own copy compiled with its own flags.
#pragma once

#include <cstdint>
#include <cstring>

#include "../kernel_table.h"
#include "../quant_common.h"
#include "../ref/iq3_dequant.h"
#include "../ref/iq4_ref.h"
#include "../ref/k_quants_ref.h"
#include "../ref/legacy_ref.h"
#include "../ref/low_bit_ref.h"

namespace gguf_squash {
namespace {

template <class L>
struct dequant_lanes {
    using F = typename L::F;
    using I = typename L::I;
    static constexpr int W = L::lanes;
    static_assert(W == 4 || W == 8, "the loops below step through groups of 16 in W lanes");

    static I splat(int v) { return L::isplat(uint32_t(v)); }
    static F fl(I q) { return L::to_float(q); }

    // Lane k: all ones when bit first + k of w is set (first + W <= 32).
    static I bit_mask(uint32_t w, int first) {
        alignas(32) static constexpr uint32_t kLaneBits[8] = {1, 2, 4, 8, 16, 32, 64, 128};
        return L::igt(L::iand(L::isplat(w >> first), L::iload(kLaneBits)), splat(0));
    }

    // ---------------------------------------------------------------- legacy (blocks of 32)

    static void q4_0(const void* src, float* y, int64_t n) {
        const block_q4_0* x = static_cast<const block_q4_0*>(src);
        for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            for (int j = 0; j < 16; j += W) {
                const I b = L::load_u8(x[i].qs + j);
                // float(q - 8) * d
                L::store(y + j, L::mul(fl(L::isub(L::iand(b, splat(15)), splat(8))), d));
                L::store(y + j + 16, L::mul(fl(L::isub(L::ishr(b, 4), splat(8))), d));
            }
        }
    }

    static void q4_1(const void* src, float* y, int64_t n) {
        const block_q4_1* x = static_cast<const block_q4_1*>(src);
        for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            const F m = L::set1(fp16_to_fp32(x[i].m));
            for (int j = 0; j < 16; j += W) {
                const I b = L::load_u8(x[i].qs + j);
                // float(q) * d + m
                L::store(y + j, L::add(L::mul(fl(L::iand(b, splat(15))), d), m));
                L::store(y + j + 16, L::add(L::mul(fl(L::ishr(b, 4)), d), m));
            }
        }
    }

    // The five-bit levels of elements j..j+W-1 (lo) and j+16..j+16+W-1 (hi) of a Q5 block.
    static void q5_levels(const uint8_t* qs, uint32_t qh, int j, I& lo, I& hi) {
        const I b = L::load_u8(qs + j);
        lo = L::ior(L::iand(b, splat(15)), L::iand(bit_mask(qh, j), splat(16)));
        hi = L::ior(L::ishr(b, 4), L::iand(bit_mask(qh, j + 16), splat(16)));
    }

    static void q5_0(const void* src, float* y, int64_t n) {
        const block_q5_0* x = static_cast<const block_q5_0*>(src);
        for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            uint32_t qh;
            std::memcpy(&qh, x[i].qh, 4);
            for (int j = 0; j < 16; j += W) {
                I lo, hi;
                q5_levels(x[i].qs, qh, j, lo, hi);
                // float(q - 16) * d
                L::store(y + j, L::mul(fl(L::isub(lo, splat(16))), d));
                L::store(y + j + 16, L::mul(fl(L::isub(hi, splat(16))), d));
            }
        }
    }

    static void q5_1(const void* src, float* y, int64_t n) {
        const block_q5_1* x = static_cast<const block_q5_1*>(src);
        for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            const F m = L::set1(fp16_to_fp32(x[i].m));
            uint32_t qh;
            std::memcpy(&qh, x[i].qh, 4);
            for (int j = 0; j < 16; j += W) {
                I lo, hi;
                q5_levels(x[i].qs, qh, j, lo, hi);
                // float(q) * d + m
                L::store(y + j, L::add(L::mul(fl(lo), d), m));
                L::store(y + j + 16, L::add(L::mul(fl(hi), d), m));
            }
        }
    }

    static void q8_0(const void* src, float* y, int64_t n) {
        const block_q8_0* x = static_cast<const block_q8_0*>(src);
        for (int64_t i = 0; i < n / kLegacyBlock; ++i, y += kLegacyBlock) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            for (int j = 0; j < kLegacyBlock; j += W)
                L::store(y + j, L::mul(fl(L::load_i8(x[i].qs + j)), d));  // float(q) * d
        }
    }

    // ---------------------------------------------------------------- K-quants (blocks of 256)
    // Q2_K and Q3_K keep four 32-element runs in each byte of qs: element h * 128 + s * 32 + l is
    // bits 2s..2s+1 of qs[h * 32 + l].

    static void q2_k(const void* src, float* y, int64_t n) {
        const block_q2_k* x = static_cast<const block_q2_k*>(src);
        for (int64_t i = 0; i < n / kQkK; ++i, y += kQkK) {
            const float d = fp16_to_fp32(x[i].d);
            const float min = fp16_to_fp32(x[i].dmin);
            for (int h = 0; h < 2; ++h) {
                for (int s = 0; s < 4; ++s) {
                    for (int g = 0; g < 2; ++g) {  // the two 16-element scale groups of a run
                        const int e0 = h * 128 + s * 32 + g * 16;
                        const uint8_t sc = x[i].scales[e0 / 16];
                        const F dl = L::set1(d * float(sc & 0xF));
                        const F ml = L::set1(min * float(sc >> 4));
                        for (int l = g * 16; l < g * 16 + 16; l += W) {
                            const I q =
                                L::iand(L::ishr(L::load_u8(x[i].qs + h * 32 + l), 2 * s), splat(3));
                            // dl * float(q) - ml
                            L::store(y + h * 128 + s * 32 + l, L::sub(L::mul(dl, fl(q)), ml));
                        }
                    }
                }
            }
        }
    }

    static void q3_k(const void* src, float* y, int64_t n) {
        const block_q3_k* x = static_cast<const block_q3_k*>(src);
        for (int64_t i = 0; i < n / kQkK; ++i, y += kQkK) {
            const float d_all = fp16_to_fp32(x[i].d);
            for (int h = 0; h < 2; ++h) {
                for (int s = 0; s < 4; ++s) {
                    for (int g = 0; g < 2; ++g) {
                        const int e0 = h * 128 + s * 32 + g * 16;
                        const F dl =
                            L::set1(d_all * float(unpack_q3_k_scale(e0 / 16, x[i].scales)));
                        for (int l = g * 16; l < g * 16 + 16; l += W) {
                            const I low =
                                L::iand(L::ishr(L::load_u8(x[i].qs + h * 32 + l), 2 * s), splat(3));
                            // hmask bit e / 32 of byte e % 32; a clear bit subtracts 4.
                            const I high =
                                L::iand(L::ishr(L::load_u8(x[i].hmask + l), h * 4 + s), splat(1));
                            const I q = L::iadd(L::isub(low, splat(4)), L::ishl(high, 2));
                            L::store(y + e0 - g * 16 + l, L::mul(dl, fl(q)));  // dl * float(q)
                        }
                    }
                }
            }
        }
    }

    template <typename Block, bool kHasHighBit>
    static void k4(const void* src, float* y, int64_t n) {
        const Block* x = static_cast<const Block*>(src);
        for (int64_t i = 0; i < n / kQkK; ++i, y += kQkK) {
            const float d = fp16_to_fp32(x[i].d);
            const float min = fp16_to_fp32(x[i].dmin);
            for (int j = 0; j < kQkK / 32; ++j) {
                uint8_t sc, m;
                unpack_scale_min_k4(j, x[i].scales, &sc, &m);
                const F dl = L::set1(d * float(sc));
                const F ml = L::set1(min * float(m));
                const uint8_t* q = x[i].qs + (j / 2) * 32;
                for (int l = 0; l < 32; l += W) {
                    const I b = L::load_u8(q + l);
                    I v = (j & 1) ? L::ishr(b, 4) : L::iand(b, splat(15));
                    if constexpr (kHasHighBit) {
                        const I hb = L::iand(L::ishr(L::load_u8(x[i].qh + l), j), splat(1));
                        v = L::ior(v, L::ishl(hb, 4));
                    }
                    L::store(y + 32 * j + l, L::sub(L::mul(dl, fl(v)), ml));  // dl * v - ml
                }
            }
        }
    }
    static void q4_k(const void* src, float* y, int64_t n) { k4<block_q4_k, false>(src, y, n); }
    static void q5_k(const void* src, float* y, int64_t n) { k4<block_q5_k, true>(src, y, n); }

    static void q6_k(const void* src, float* y, int64_t n) {
        const block_q6_k* x = static_cast<const block_q6_k*>(src);
        for (int64_t i = 0; i < n / kQkK; ++i, y += kQkK) {
            const float d = fp16_to_fp32(x[i].d);
            for (int half = 0; half < 2; ++half) {
                for (int quarter = 0; quarter < 4; ++quarter) {
                    const uint8_t* ql = x[i].ql + half * 64 + (quarter & 1) * 32;
                    const uint8_t* qh = x[i].qh + half * 32;
                    for (int g = 0; g < 2; ++g) {
                        const int e0 = half * 128 + quarter * 32 + g * 16;
                        // d * float(scale) * float(q), left to right
                        const F ds = L::set1(d * float(x[i].scales[e0 / 16]));
                        for (int l = g * 16; l < g * 16 + 16; l += W) {
                            const I b = L::load_u8(ql + l);
                            const I lo = (quarter & 2) ? L::ishr(b, 4) : L::iand(b, splat(15));
                            const I hi =
                                L::iand(L::ishr(L::load_u8(qh + l), 2 * quarter), splat(3));
                            const I q = L::isub(L::ior(lo, L::ishl(hi, 4)), splat(32));
                            L::store(y + e0 - g * 16 + l, L::mul(ds, fl(q)));
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- IQ4 (non-linear levels)

    // d * float(table[nibble]) for the 32 elements of one IQ4 / MXFP4 sub-block (IQ4 writes
    // d * level, MXFP4 level * d: the level is never NaN, so the order cannot show).
    static void lut_sub_block(const int8_t* table, const uint8_t* qs, F d, float* y) {
        for (int j = 0; j < 16; j += W) {
            const I b = L::load_u8(qs + j);
            L::store(y + j, L::mul(d, fl(L::lut16_i8(table, L::iand(b, splat(15))))));
            L::store(y + j + 16, L::mul(d, fl(L::lut16_i8(table, L::ishr(b, 4)))));
        }
    }

    static void iq4_nl(const void* src, float* y, int64_t n) {
        const block_iq4_nl* x = static_cast<const block_iq4_nl*>(src);
        for (int64_t i = 0; i < n / 32; ++i, y += 32)
            lut_sub_block(kIq4nlValues, x[i].qs, L::set1(fp16_to_fp32(x[i].d)), y);
    }

    static void iq4_xs(const void* src, float* y, int64_t n) {
        const block_iq4_xs* x = static_cast<const block_iq4_xs*>(src);
        for (int64_t i = 0; i < n / 256; ++i) {
            const float d = fp16_to_fp32(x[i].d);
            for (int ib = 0; ib < 8; ++ib, y += 32) {
                const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf) |
                               (((x[i].scales_h >> (2 * ib)) & 3) << 4);
                lut_sub_block(kIq4nlValues, x[i].qs + ib * 16, L::set1(d * float(ls - 32)), y);
            }
        }
    }

    // ---------------------------------------------------------------- low-bit types

    static void mxfp4(const void* src, float* y, int64_t n) {
        using low_bit_blocks::block_mxfp4;
        using low_bit_blocks::kMxfp4Block;
        const block_mxfp4* x = static_cast<const block_mxfp4*>(src);
        for (int64_t i = 0; i < n / kMxfp4Block; ++i, y += kMxfp4Block)
            lut_sub_block(low_bit_blocks::kFp4Values, x[i].qs,
                          L::set1(low_bit_blocks::e8m0_to_fp32_half(x[i].e)), y);
    }

    static void q1_0(const void* src, float* y, int64_t n) {
        using low_bit_blocks::block_q1_0;
        using low_bit_blocks::kQ1Block;
        const block_q1_0* x = static_cast<const block_q1_0*>(src);
        for (int64_t i = 0; i < n / kQ1Block; ++i, y += kQ1Block) {
            const float d = fp16_to_fp32(x[i].d);
            const F pos = L::set1(d), neg = L::set1(-d);  // bit ? d : -d
            for (int w = 0; w < kQ1Block / 32; ++w) {
                uint32_t bits;
                std::memcpy(&bits, x[i].qs + 4 * w, 4);
                for (int j = 0; j < 32; j += W)
                    L::store(y + 32 * w + j, L::select(L::from_bits(bit_mask(bits, j)), pos, neg));
            }
        }
    }

    static void q2_0(const void* src, float* y, int64_t n) {
        using low_bit_blocks::block_q2_0;
        using low_bit_blocks::kQ2Block;
        // Element j + k is bits 2k..2k+1 of the W / 4 bytes from qs[j / 4] (k < 8, so within
        // 16 bits): shifted to the top of the 32-bit lane by a multiply (low 32 bits), then down.
        alignas(32) static constexpr uint32_t kCrumbMul[8] = {
            1u << 30, 1u << 28, 1u << 26, 1u << 24, 1u << 22, 1u << 20, 1u << 18, 1u << 16};
        const block_q2_0* x = static_cast<const block_q2_0*>(src);
        for (int64_t i = 0; i < n / kQ2Block; ++i, y += kQ2Block) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            for (int j = 0; j < kQ2Block; j += W) {
                uint32_t w = x[i].qs[j / 4];
                if constexpr (W == 8) w |= uint32_t(x[i].qs[j / 4 + 1]) << 8;
                const I q = L::ishr(L::imul(L::isplat(w), L::iload(kCrumbMul)), 30);
                L::store(y + j, L::mul(fl(L::isub(q, splat(1))), d));  // float(q - 1) * d
            }
        }
    }

    // TQ1_0's trit: multiplying by 3^k (mod 256) rotates trit k to the top; times 3, high byte.
    static I trit(I packed, int pow3) {
        const I q = L::iand(L::imul(packed, splat(pow3)), splat(255));
        return L::isub(L::ishr(L::iadd(q, L::iadd(q, q)), 8), splat(1));
    }

    static void tq1_0(const void* src, float* y, int64_t n) {
        using low_bit_blocks::block_tq1_0;
        using low_bit_blocks::kSuperBlock;
        constexpr int kPow3[5] = {1, 3, 9, 27, 81};
        constexpr int kQs = sizeof(block_tq1_0::qs);
        constexpr int kQsMain = kQs - kQs % 32;
        constexpr int kQh = sizeof(block_tq1_0::qh);
        const block_tq1_0* x = static_cast<const block_tq1_0*>(src);
        for (int64_t i = 0; i < n / kSuperBlock; ++i) {
            const float ds = fp16_to_fp32(x[i].d);
            const F d = L::set1(ds);
            for (int j = 0; j < kQsMain; j += 32)
                for (int k = 0; k < 5; ++k, y += 32)
                    for (int m = 0; m < 32; m += W)  // float(trit) * d
                        L::store(y + m, L::mul(fl(trit(L::load_u8(x[i].qs + j + m), kPow3[k])), d));
            for (int j = kQsMain; j < kQs; j += 16)
                for (int k = 0; k < 5; ++k, y += 16)
                    for (int m = 0; m < 16; m += W)
                        L::store(y + m, L::mul(fl(trit(L::load_u8(x[i].qs + j + m), kPow3[k])), d));
            // The last 16 values, four bytes at a time: the byte's four trits are a group of four
            // lanes, whatever W.
            for (int k = 0; k < 4; ++k, y += kQh) {
                for (int j = 0; j < kQh; ++j) {
                    const uint8_t q = uint8_t(x[i].qh[j] * kPow3[k]);
                    y[j] = float(int((uint16_t(q) * 3) >> 8) - 1) * ds;
                }
            }
        }
    }

    static void tq2_0(const void* src, float* y, int64_t n) {
        using low_bit_blocks::block_tq2_0;
        using low_bit_blocks::kSuperBlock;
        const block_tq2_0* x = static_cast<const block_tq2_0*>(src);
        for (int64_t i = 0; i < n / kSuperBlock; ++i) {
            const F d = L::set1(fp16_to_fp32(x[i].d));
            for (int j = 0; j < int(sizeof(x[i].qs)); j += 32)
                for (int l = 0; l < 4; ++l, y += 32)
                    for (int m = 0; m < 32; m += W) {
                        const I q = L::iand(L::ishr(L::load_u8(x[i].qs + j + m), 2 * l), splat(3));
                        L::store(y + m, L::mul(fl(L::isub(q, splat(1))), d));  // float(q-1) * d
                    }
        }
    }

    // ---------------------------------------------------------------- IQ3 (grids)

    // db * float(grid byte), negated where the sign bit is set (as the reference does: see
    // with_sign_bit in ref/iq3_ref.cpp), for the 8 values whose grid tuples are g1 and g2 and
    // whose sign bits are the low 8 of signs.
    static void iq3_eight(uint32_t g1, uint32_t g2, uint32_t signs, F db, float* y) {
        uint8_t g[8];
        const uint64_t both = g1 | uint64_t(g2) << 32;  // one 8-byte store to load from
        std::memcpy(g, &both, 8);
        for (int j = 0; j < 8; j += W) {
            const F v = L::mul(db, fl(L::load_u8(g + j)));
            L::store(y + j, L::select(L::from_bits(bit_mask(signs, j)), L::neg(v), v));
        }
    }

    static void iq3_xxs(const void* src, float* y, int64_t n) {
        walk_iq3_xxs(src, y, n, [](uint32_t g1, uint32_t g2, uint32_t signs, float db, float* out) {
            iq3_eight(g1, g2, signs, L::set1(db), out);
        });
    }
    static void iq3_s(const void* src, float* y, int64_t n) {
        walk_iq3_s(src, y, n, [](uint32_t g1, uint32_t g2, uint32_t signs, float db, float* out) {
            iq3_eight(g1, g2, signs, L::set1(db), out);
        });
    }
};

template <class L>
void register_dequant_lanes(kernel_table& table) {
    using K = dequant_lanes<L>;
    auto set = [&](ggml_type t, dequantize_fn fn) { table.dequantize[uint32_t(t)] = fn; };
    set(ggml_type::q4_0, K::q4_0);
    set(ggml_type::q4_1, K::q4_1);
    set(ggml_type::q5_0, K::q5_0);
    set(ggml_type::q5_1, K::q5_1);
    set(ggml_type::q8_0, K::q8_0);
    set(ggml_type::q2_k, K::q2_k);
    set(ggml_type::q3_k, K::q3_k);
    set(ggml_type::q4_k, K::q4_k);
    set(ggml_type::q5_k, K::q5_k);
    set(ggml_type::q6_k, K::q6_k);
    set(ggml_type::iq4_nl, K::iq4_nl);
    set(ggml_type::iq4_xs, K::iq4_xs);
    set(ggml_type::mxfp4, K::mxfp4);
    set(ggml_type::q1_0, K::q1_0);
    set(ggml_type::q2_0, K::q2_0);
    set(ggml_type::tq1_0, K::tq1_0);
    set(ggml_type::tq2_0, K::tq2_0);
    set(ggml_type::iq3_xxs, K::iq3_xxs);
    set(ggml_type::iq3_s, K::iq3_s);
}

}  // namespace
}  // namespace gguf_squash
