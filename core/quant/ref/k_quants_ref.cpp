// Scalar reference kernels for Q2_K Q3_K Q4_K Q5_K Q6_K (quantize, with and without imatrix) and
// their dequantization, plus Q8_K dequantization. The bytes equal ggml's quantize_q*_K: without
// importance weights ggml runs quantize_row_q*_K_ref over all rows, with them the *_impl per row.
#include "k_quants_ref.h"

#include <cmath>
#include <cstring>

#include "quant/kernel_table.h"
#include "quant/quant_common.h"
#include "quant_search.h"

namespace gguf_squash {
namespace {

inline int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

inline void pack_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t* scales) {
    if (j < 4) {
        scales[j] = ls;
        scales[j + 4] = lm;
    } else {
        scales[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
        scales[j - 4] |= uint8_t((ls >> 4) << 6);
        scales[j - 0] |= uint8_t((lm >> 4) << 6);
    }
}

inline void pack_q3_k_scale(int j, int l, uint8_t* scales) {
    if (j < 8) {
        scales[j] = uint8_t(l & 0xF);
    } else {
        scales[j - 8] |= uint8_t((l & 0xF) << 4);
    }
    l >>= 4;
    scales[j % 4 + 8] |= uint8_t(l << (2 * (j / 4)));
}

// Levels 0..3 of 256 elements: four 32-element runs share each byte, two bits apiece.
inline void pack_2bit_levels(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < kQkK; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                    (L[j + l + 96] << 6));
        }
    }
}

// Requantizes each 16-element sub-block against its packed scale and min (Q2_K).
void requantize_q2_k(const float* x, uint8_t* L, const block_q2_k* y, k_requantize_fn requantize) {
    const float d_all = fp16_to_fp32(y->d);
    const float m_all = fp16_to_fp32(y->dmin);
    float d[kQkK / 16], dm[kQkK / 16];
    for (int j = 0; j < kQkK / 16; ++j) {
        d[j] = d_all * float(y->scales[j] & 0xF);
        dm[j] = m_all * float(y->scales[j] >> 4);
    }
    requantize(x, d, dm, kQkK / 16, 16, 0, 3, 0, L);
}

// Requantizes Q3_K levels (biased by 4), then splits them into the high-bit mask and 2-bit qs.
void requantize_and_pack_q3_k(const float* x, int8_t* L, block_q3_k* y,
                              k_requantize_fn requantize) {
    const float d_all = fp16_to_fp32(y->d);
    float d[kQkK / 16];
    // ggml computes the scale as int8_t; values are in [-32, 31] so no wrap occurs.
    for (int j = 0; j < kQkK / 16; ++j) d[j] = d_all * float(unpack_q3_k_scale(j, y->scales));
    requantize(x, d, nullptr, kQkK / 16, 16, -4, 3, 4, reinterpret_cast<uint8_t*>(L));
    std::memset(y->hmask, 0, sizeof(y->hmask));
    uint8_t low[kQkK];
    // ggml's `if (L[j] > 3) { hmask[j % 32] |= 1 << (j / 32); L[j] -= 4; }`, without the branch:
    // levels 0..7 make it unpredictable, and it took 40% of a SIMD Q3_K block (perf).
    for (int g = 0; g < kQkK / 32; ++g) {
        for (int i = 0; i < 32; ++i) {
            const int l = L[32 * g + i];
            const int high = l > 3 ? 1 : 0;
            y->hmask[i] = uint8_t(y->hmask[i] | (high << g));
            low[32 * g + i] = uint8_t(l - 4 * high);
        }
    }
    pack_2bit_levels(low, y->qs);
}

// Requantizes 32-element sub-blocks against the packed 6-bit scales/mins (Q4_K, Q5_K).
void requantize_k4(const float* x, const uint8_t* packed_scales, uint16_t d16, uint16_t dmin16,
                   int nmax, uint8_t* L, k_requantize_fn requantize) {
    const float d_all = fp16_to_fp32(d16);
    const float m_all = fp16_to_fp32(dmin16);
    float d[kQkK / 32], dm[kQkK / 32];
    for (int j = 0; j < kQkK / 32; ++j) {
        uint8_t sc, m;
        unpack_scale_min_k4(j, packed_scales, &sc, &m);
        d[j] = d_all * float(sc);
        dm[j] = m_all * float(m);
    }
    requantize(x, d, dm, kQkK / 32, 32, 0, nmax, 0, L);
}

void pack_q4_k_levels(const uint8_t* L, block_q4_k* y) {
    uint8_t* q = y->qs;
    for (int j = 0; j < kQkK; j += 64) {
        for (int l = 0; l < 32; ++l) q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
        q += 32;
    }
}

void pack_q5_k_levels(const uint8_t* L, block_q5_k* y) {
    uint8_t* qh = y->qh;
    uint8_t* ql = y->qs;
    std::memset(qh, 0, kQkK / 8);
    // Levels are at most 31, so "l > 15" is bit 4; the branch-free form writes ggml's bytes.
    for (int n = 0, shift = 0; n < kQkK; n += 64, shift += 2) {
        for (int j = 0; j < 32; ++j) {
            const int l1 = L[n + j];
            const int l2 = L[n + j + 32];
            qh[j] = uint8_t(qh[j] | (((l1 >> 4) & 1) << shift) | (((l2 >> 4) & 1) << (shift + 1)));
            ql[j] = uint8_t((l1 & 0xF) | ((l2 & 0xF) << 4));
        }
        ql += 32;
    }
}

// Non-imatrix Q4_K/Q5_K scale packing: each sub-block's scale and min relative to the largest.
void pack_k4_scales_by_max(const float* scales, const float* mins, uint8_t* packed, uint16_t* d16,
                           uint16_t* dmin16) {
    float max_scale = 0;  // scales are positive since the min is subtracted
    float max_min = 0;
    for (int j = 0; j < kQkK / 32; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < kQkK / 32; ++j) {
        // ggml stores nearest_int's result in uint8_t before clamping; keep that truncation.
        uint8_t ls = uint8_t(nearest_int(inv_scale * scales[j]));
        uint8_t lm = uint8_t(nearest_int(inv_min * mins[j]));
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        pack_scale_min_k4(j, ls, lm, packed);
    }
    *d16 = fp32_to_fp16(max_scale / 63.f);
    *dmin16 = fp32_to_fp16(max_min / 63.f);
}

// Imatrix Q4_K/Q5_K scale packing: the scales and mins quantized by make_qp_quants. Q5_K clamps
// the levels to 63 where Q4_K does not, as in ggml.
void pack_k4_scales_weighted(const float* scales, const float* mins, const float* sw, bool clamp63,
                             uint8_t* packed, uint16_t* d16, uint16_t* dmin16) {
    uint8_t Ls[kQkK / 32];
    uint8_t Lm[kQkK / 32];
    const float d_block = make_qp_quants(kQkK / 32, 63, scales, Ls, sw);
    const float m_block = make_qp_quants(kQkK / 32, 63, mins, Lm, sw);
    for (int j = 0; j < kQkK / 32; ++j) {
        uint8_t ls = Ls[j];
        uint8_t lm = Lm[j];
        if (clamp63) {
            ls = ls < 63 ? ls : 63;
            lm = lm < 63 ? lm : 63;
        }
        pack_scale_min_k4(j, ls, lm, packed);
    }
    *d16 = fp32_to_fp16(d_block);
    *dmin16 = fp32_to_fp16(m_block);
}

// Imatrix-path weights for a K4/K5 sub-block of 32 or a Q2_K/Q3_K sub-block of 16.
inline void imatrix_weights(const float* x, const float* qw, float sigma2, int n, float* weights) {
    for (int l = 0; l < n; ++l) weights[l] = qw[l] * std::sqrt(sigma2 + x[l] * x[l]);
}

inline float sum_of_squares(const float* x, int n) {
    float s = 0;
    for (int l = 0; l < n; ++l) s += x[l] * x[l];
    return s;
}

// The search shared by the Q4_K and Q5_K imatrix paths (and their non-imatrix impl variant,
// which ggml only reaches with weights).
void search_k4_weighted(const float* x, const float* qw, int nmax, float* scales, float* mins,
                        float* sw, uint8_t* L) {
    const float sigma2 = 2 * sum_of_squares(x, kQkK) / kQkK;
    const float av_x = std::sqrt(sigma2);
    float weights[32];
    uint8_t Laux[32];
    for (int j = 0; j < kQkK / 32; ++j) {
        const float* xb = x + 32 * j;
        if (qw) {
            imatrix_weights(xb, qw + 32 * j, sigma2, 32, weights);
        } else {
            for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xb[l]);
        }
        float sumw = 0;
        for (int l = 0; l < 32; ++l) sumw += weights[l];
        sw[j] = sumw;
        scales[j] = make_qkx3_quants(32, nmax, xb, weights, L + 32 * j, &mins[j], Laux, -0.9f,
                                     0.05f, 36, false);
    }
}

}  // namespace

void requantize_sub_blocks_ref(const float* x, const float* d, const float* dm, int n_sub, int len,
                               int lo, int hi, int bias, uint8_t* L) {
    for (int j = 0; j < n_sub; ++j) {
        if (d[j] == 0) continue;  // ggml's `if (!d) continue`
        const float* xb = x + j * len;
        for (int i = 0; i < len; ++i) {
            const float v = dm ? (xb[i] + dm[j]) / d[j] : xb[i] / d[j];
            L[j * len + i] = uint8_t(clamp_int(nearest_int(v), lo, hi) + bias);
        }
    }
}

// ---------------------------------------------------------------- Q4_K / Q5_K

void q4_k_ref_weights(const float* x, float* weights) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[l] * x[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[l]);
}

void finish_q4_k_block(const float* x, const float* scales, const float* mins, uint8_t* L,
                       block_q4_k* y, k_requantize_fn requantize) {
    std::memset(y->scales, 0, sizeof(y->scales));
    pack_k4_scales_by_max(scales, mins, y->scales, &y->d, &y->dmin);
    requantize_k4(x, y->scales, y->d, y->dmin, 15, L, requantize);
    pack_q4_k_levels(L, y);
}

void finish_q5_k_block(const float* x, const float* scales, const float* mins, uint8_t* L,
                       block_q5_k* y, k_requantize_fn requantize) {
    std::memset(y->scales, 0, sizeof(y->scales));
    pack_k4_scales_by_max(scales, mins, y->scales, &y->d, &y->dmin);
    requantize_k4(x, y->scales, y->d, y->dmin, 31, L, requantize);
    pack_q5_k_levels(L, y);
}

void quantize_block_q4_k(const float* x, block_q4_k* y) {
    uint8_t L[kQkK];
    uint8_t Laux[32];
    float weights[32];
    float scales[kQkK / 32], mins[kQkK / 32];
    for (int j = 0; j < kQkK / 32; ++j) {
        q4_k_ref_weights(x + 32 * j, weights);
        scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f,
                                     0.1f, 20, false);
    }
    finish_q4_k_block(x, scales, mins, L, y);
}

void finish_q4_k_block_weighted(const float* x, const float* scales, const float* mins,
                                const float* sw, uint8_t* L, block_q4_k* y,
                                k_requantize_fn requantize) {
    std::memset(y->scales, 0, sizeof(y->scales));
    pack_k4_scales_weighted(scales, mins, sw, false, y->scales, &y->d, &y->dmin);
    requantize_k4(x, y->scales, y->d, y->dmin, 15, L, requantize);
    pack_q4_k_levels(L, y);
}

void quantize_block_q4_k_imatrix(const float* x, const float* qw, block_q4_k* y) {
    uint8_t L[kQkK];
    float scales[kQkK / 32], mins[kQkK / 32], sw[kQkK / 32];
    search_k4_weighted(x, qw, 15, scales, mins, sw, L);
    finish_q4_k_block_weighted(x, scales, mins, sw, L, y);
}

void quantize_block_q5_k(const float* x, block_q5_k* y) {
    uint8_t L[kQkK];
    uint8_t Laux[32];
    float weights[32];
    float scales[kQkK / 32], mins[kQkK / 32];
    for (int j = 0; j < kQkK / 32; ++j) {
        q4_k_ref_weights(x + 32 * j, weights);
        scales[j] = make_qkx2_quants(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.5f,
                                     0.1f, 15, false);
    }
    finish_q5_k_block(x, scales, mins, L, y);
}

void finish_q5_k_block_weighted(const float* x, const float* scales, const float* mins,
                                const float* sw, uint8_t* L, block_q5_k* y,
                                k_requantize_fn requantize) {
    std::memset(y->scales, 0, sizeof(y->scales));
    pack_k4_scales_weighted(scales, mins, sw, true, y->scales, &y->d, &y->dmin);
    requantize_k4(x, y->scales, y->d, y->dmin, 31, L, requantize);
    pack_q5_k_levels(L, y);
}

void quantize_block_q5_k_imatrix(const float* x, const float* qw, block_q5_k* y) {
    uint8_t L[kQkK];
    float scales[kQkK / 32], mins[kQkK / 32], sw[kQkK / 32];
    search_k4_weighted(x, qw, 31, scales, mins, sw, L);
    finish_q5_k_block_weighted(x, scales, mins, sw, L, y);
}

// ---------------------------------------------------------------- Q6_K

void finish_q6_k_block(const float* x, const float* scales, int8_t* L, block_q6_k* y,
                       k_requantize_fn requantize) {
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < kQkK / 16; ++ib) {
        const float abs_scale = std::fabs(scales[ib]);
        if (abs_scale > max_abs_scale) {
            max_abs_scale = abs_scale;
            max_scale = scales[ib];
        }
    }
    if (max_abs_scale < kGroupMaxEps) {
        std::memset(y, 0, sizeof(*y));
        y->d = fp32_to_fp16(0.f);
        return;
    }
    const float iscale = -128.f / max_scale;
    y->d = fp32_to_fp16(1 / iscale);
    for (int ib = 0; ib < kQkK / 16; ++ib) {
        const int l = nearest_int(iscale * scales[ib]);
        y->scales[ib] = int8_t(l < 127 ? l : 127);
    }
    const float d_all = fp16_to_fp32(y->d);
    float d[kQkK / 16];
    for (int j = 0; j < kQkK / 16; ++j) d[j] = d_all * float(y->scales[j]);
    requantize(x, d, nullptr, kQkK / 16, 16, -32, 31, 32, reinterpret_cast<uint8_t*>(L));
    uint8_t* ql = y->ql;
    uint8_t* qh = y->qh;
    for (int j = 0; j < kQkK; j += 128) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t l0 = uint8_t(L[j + l + 0]), l1 = uint8_t(L[j + l + 32]);
            const uint8_t l2 = uint8_t(L[j + l + 64]), l3 = uint8_t(L[j + l + 96]);
            ql[l + 0] = uint8_t((l0 & 0xF) | ((l2 & 0xF) << 4));
            ql[l + 32] = uint8_t((l1 & 0xF) | ((l3 & 0xF) << 4));
            qh[l] = uint8_t((l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

void quantize_block_q6_k(const float* x, block_q6_k* y) {
    quantize_block_q6_k_imatrix(x, nullptr, y);
}

void quantize_block_q6_k_imatrix(const float* x, const float* qw, block_q6_k* y) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    for (int ib = 0; ib < kQkK / 16; ++ib) {
        scales[ib] =
            make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, qw ? qw + 16 * ib : nullptr);
    }
    finish_q6_k_block(x, scales, L, y);
}

// ---------------------------------------------------------------- Q3_K

void finish_q3_k_block(const float* x, const float* scales, int8_t* L, block_q3_k* y,
                       k_requantize_fn requantize) {
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < kQkK / 16; ++j) {
        const float scale = std::fabs(scales[j]);
        if (scale > amax) {
            amax = scale;
            max_scale = scales[j];
        }
    }
    std::memset(y->scales, 0, sizeof(y->scales));
    if (max_scale) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < kQkK / 16; ++j) {
            // ggml keeps nearest_int's result in an int8_t before clamping.
            const int8_t l8 = int8_t(nearest_int(iscale * scales[j]));
            const int l = clamp_int(l8, -32, 31) + 32;
            pack_q3_k_scale(j, l, y->scales);
        }
        y->d = fp32_to_fp16(1 / iscale);
    } else {
        y->d = fp32_to_fp16(0.f);
    }
    requantize_and_pack_q3_k(x, L, y, requantize);
}

void quantize_block_q3_k(const float* x, block_q3_k* y) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    for (int j = 0; j < kQkK / 16; ++j) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
    }
    finish_q3_k_block(x, scales, L, y);
}

void quantize_block_q3_k_imatrix(const float* x, const float* qw, block_q3_k* y) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    float weight[16];
    float sw[kQkK / 16];
    const float sigma2 = 2 * sum_of_squares(x, kQkK) / kQkK;
    for (int j = 0; j < kQkK / 16; ++j) {
        if (qw) {
            imatrix_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
        } else {
            for (int l = 0; l < 16; ++l) weight[l] = x[16 * j + l] * x[16 * j + l];
        }
        float sumw = 0;
        for (int l = 0; l < 16; ++l) sumw += weight[l];
        sw[j] = sumw;
        scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
    }
    finish_q3_k_block_weighted(x, scales, sw, L, y);
}

void finish_q3_k_block_weighted(const float* x, const float* scales, const float* sw, int8_t* L,
                                block_q3_k* y, k_requantize_fn requantize) {
    int8_t Ls[kQkK / 16];
    std::memset(y->scales, 0, sizeof(y->scales));
    const float d_block = make_qx_quants(kQkK / 16, 32, scales, Ls, 1, sw);
    for (int j = 0; j < kQkK / 16; ++j) pack_q3_k_scale(j, Ls[j], y->scales);
    y->d = fp32_to_fp16(d_block);
    requantize_and_pack_q3_k(x, L, y, requantize);
}

// ---------------------------------------------------------------- Q2_K

void finish_q2_k_block(const float* x, const float* scales, const float* mins, uint8_t* L,
                       block_q2_k* y, k_requantize_fn requantize) {
    constexpr float q4scale = 15.f;
    float max_scale = 0;  // scales are positive since the min is subtracted
    float max_min = 0;
    for (int j = 0; j < kQkK / 16; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < kQkK / 16; ++j) y->scales[j] = uint8_t(nearest_int(iscale * scales[j]));
        y->d = fp32_to_fp16(max_scale / q4scale);
    } else {
        for (int j = 0; j < kQkK / 16; ++j) y->scales[j] = 0;
        y->d = fp32_to_fp16(0.f);
    }
    if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < kQkK / 16; ++j) {
            const int l = nearest_int(iscale * mins[j]);
            y->scales[j] = uint8_t(y->scales[j] | (l << 4));
        }
        y->dmin = fp32_to_fp16(max_min / q4scale);
    } else {
        y->dmin = fp32_to_fp16(0.f);
    }
    requantize_q2_k(x, L, y, requantize);
    pack_2bit_levels(L, y->qs);
}

void quantize_block_q2_k(const float* x, block_q2_k* y) {
    uint8_t L[kQkK];
    uint8_t Laux[16];
    float weights[16];
    float scales[kQkK / 16], mins[kQkK / 16];
    for (int j = 0; j < kQkK / 16; ++j) {
        for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
        scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f,
                                     0.1f, 15, true);
    }
    finish_q2_k_block(x, scales, mins, L, y);
}

void quantize_block_q2_k_imatrix(const float* x, const float* qw, block_q2_k* y) {
    uint8_t L[kQkK];
    uint8_t Laux[16];
    float scales[kQkK / 16], mins[kQkK / 16], sw[kQkK / 16];
    float weight[16];
    const float sigma2 = sum_of_squares(x, kQkK) / kQkK;
    for (int j = 0; j < kQkK / 16; ++j) {
        imatrix_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
        float sumw = 0;
        for (int l = 0; l < 16; ++l) sumw += weight[l];
        sw[j] = sumw;
        scales[j] = make_qkx3_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f,
                                     0.05f, 36, false);
    }
    finish_q2_k_block_weighted(x, scales, mins, sw, L, y);
}

void finish_q2_k_block_weighted(const float* x, const float* scales, const float* mins,
                                const float* sw, uint8_t* L, block_q2_k* y,
                                k_requantize_fn requantize) {
    uint8_t Ls[kQkK / 16], Lm[kQkK / 16];
    const float dm = make_qp_quants(kQkK / 16, 15, scales, Ls, sw);
    const float mm = make_qp_quants(kQkK / 16, 15, mins, Lm, sw);
    y->d = fp32_to_fp16(dm);
    y->dmin = fp32_to_fp16(mm);
    for (int j = 0; j < kQkK / 16; ++j) y->scales[j] = uint8_t(Ls[j] | (Lm[j] << 4));
    requantize_q2_k(x, L, y, requantize);
    pack_2bit_levels(L, y->qs);
}

// ---------------------------------------------------------------- row entry points

namespace {

// Runs a per-block quantizer over rows; the imatrix (one weight per column) is indexed by the
// block's column offset within its row.
template <typename Block, void (*kPlain)(const float*, Block*),
          void (*kWeighted)(const float*, const float*, Block*)>
void quantize_rows_k(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
    const int64_t nb = n_per_row / kQkK;
    Block* y = static_cast<Block*>(dst);
    for (int64_t r = 0; r < nrows; ++r) {
        const float* x = src + r * n_per_row;
        for (int64_t i = 0; i < nb; ++i) {
            if (imatrix) {
                kWeighted(x + i * kQkK, imatrix + i * kQkK, y);
            } else {
                kPlain(x + i * kQkK, y);
            }
            ++y;
        }
    }
}

}  // namespace

void quantize_q2_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_rows_k<block_q2_k, quantize_block_q2_k, quantize_block_q2_k_imatrix>(
        src, dst, nrows, n_per_row, imatrix);
}
void quantize_q3_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_rows_k<block_q3_k, quantize_block_q3_k, quantize_block_q3_k_imatrix>(
        src, dst, nrows, n_per_row, imatrix);
}
void quantize_q4_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_rows_k<block_q4_k, quantize_block_q4_k, quantize_block_q4_k_imatrix>(
        src, dst, nrows, n_per_row, imatrix);
}
void quantize_q5_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_rows_k<block_q5_k, quantize_block_q5_k, quantize_block_q5_k_imatrix>(
        src, dst, nrows, n_per_row, imatrix);
}
void quantize_q6_k_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_rows_k<block_q6_k, quantize_block_q6_k, quantize_block_q6_k_imatrix>(
        src, dst, nrows, n_per_row, imatrix);
}

// ---------------------------------------------------------------- dequantization

void dequantize_q2_k_ref(const void* src, float* dst, int64_t n) {
    const block_q2_k* x = static_cast<const block_q2_k*>(src);
    for (int64_t i = 0; i < n / kQkK; ++i, dst += kQkK) {
        const float d = fp16_to_fp32(x[i].d);
        const float min = fp16_to_fp32(x[i].dmin);
        for (int e = 0; e < kQkK; ++e) {
            const uint8_t sc = x[i].scales[e / 16];
            const float dl = d * float(sc & 0xF);
            const float ml = min * float(sc >> 4);
            const int q = (x[i].qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            dst[e] = dl * float(q) - ml;
        }
    }
}

void dequantize_q3_k_ref(const void* src, float* dst, int64_t n) {
    const block_q3_k* x = static_cast<const block_q3_k*>(src);
    for (int64_t i = 0; i < n / kQkK; ++i, dst += kQkK) {
        const float d_all = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQkK; ++e) {
            const float dl = d_all * float(unpack_q3_k_scale(e / 16, x[i].scales));
            const int low = (x[i].qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            const int high = (x[i].hmask[e % 32] >> (e / 32)) & 1;
            dst[e] = dl * float(low - (high ? 0 : 4));
        }
    }
}

namespace {

template <typename Block, bool kHasHighBit>
void dequantize_k4(const void* src, float* dst, int64_t n) {
    const Block* x = static_cast<const Block*>(src);
    for (int64_t i = 0; i < n / kQkK; ++i, dst += kQkK) {
        const float d = fp16_to_fp32(x[i].d);
        const float min = fp16_to_fp32(x[i].dmin);
        for (int j = 0; j < kQkK / 32; ++j) {
            uint8_t sc, m;
            unpack_scale_min_k4(j, x[i].scales, &sc, &m);
            const float dl = d * float(sc);
            const float ml = min * float(m);
            const uint8_t* q = x[i].qs + (j / 2) * 32;
            for (int l = 0; l < 32; ++l) {
                int v = (j & 1) ? (q[l] >> 4) : (q[l] & 0xF);
                if constexpr (kHasHighBit) {
                    if (x[i].qh[l] & (1u << j)) v += 16;
                }
                dst[32 * j + l] = dl * float(v) - ml;
            }
        }
    }
}

}  // namespace

void dequantize_q4_k_ref(const void* src, float* dst, int64_t n) {
    dequantize_k4<block_q4_k, false>(src, dst, n);
}
void dequantize_q5_k_ref(const void* src, float* dst, int64_t n) {
    dequantize_k4<block_q5_k, true>(src, dst, n);
}

void dequantize_q6_k_ref(const void* src, float* dst, int64_t n) {
    const block_q6_k* x = static_cast<const block_q6_k*>(src);
    for (int64_t i = 0; i < n / kQkK; ++i, dst += kQkK) {
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQkK; ++e) {
            const int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
            const uint8_t lo_byte = x[i].ql[half * 64 + (quarter & 1) * 32 + l];
            const int lo = (quarter & 2) ? (lo_byte >> 4) : (lo_byte & 0xF);
            const int hi = (x[i].qh[half * 32 + l] >> (2 * quarter)) & 3;
            const int q = (lo | (hi << 4)) - 32;
            dst[e] = d * float(x[i].scales[e / 16]) * float(q);
        }
    }
}

void dequantize_q8_k_ref(const void* src, float* dst, int64_t n) {
    const block_q8_k* x = static_cast<const block_q8_k*>(src);
    for (int64_t i = 0; i < n / kQkK; ++i, dst += kQkK) {
        for (int e = 0; e < kQkK; ++e) dst[e] = x[i].d * float(x[i].qs[e]);
    }
}

void register_k_quants_ref(kernel_table& table) {
    auto set = [&](ggml_type t, quantize_fn q, dequantize_fn dq) {
        if (q) table.quantize[uint32_t(t)] = q;
        table.dequantize[uint32_t(t)] = dq;
    };
    set(ggml_type::q2_k, quantize_q2_k_ref, dequantize_q2_k_ref);
    set(ggml_type::q3_k, quantize_q3_k_ref, dequantize_q3_k_ref);
    set(ggml_type::q4_k, quantize_q4_k_ref, dequantize_q4_k_ref);
    set(ggml_type::q5_k, quantize_q5_k_ref, dequantize_q5_k_ref);
    set(ggml_type::q6_k, quantize_q6_k_ref, dequantize_q6_k_ref);
    set(ggml_type::q8_k, nullptr, dequantize_q8_k_ref);
}

}  // namespace gguf_squash
