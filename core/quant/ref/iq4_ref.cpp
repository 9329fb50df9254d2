// IQ4_NL and IQ4_XS scalar reference: ggml's quantize_iq4_nl / quantize_iq4_xs (both search 7
// steps either side of the initial scale, with or without importance weights) and their
// dequantizers.
#include "iq4_ref.h"

#include <cmath>
#include <cstring>

#include "quant/quant_common.h"

namespace gguf_squash {
namespace {

constexpr int kSub = 32;        // elements per scale
constexpr int kSuper = 256;     // IQ4_XS super-block
constexpr int kScaleSteps = 7;  // ntry in ggml
constexpr float kGroupMaxEps = 1e-15f;

// Index of the level nearest to x. Mirrors ggml's best_index_int8 exactly, including its float
// differences and its tie rule (a tie between two levels picks the upper one); NaN gives 15.
int iq4nl_best_index(float x) {
    const int8_t* val = kIq4nlValues;
    if (x <= float(val[0])) return 0;
    if (x >= float(val[15])) return 15;
    int ml = 0, mu = 15;
    while (mu - ml > 1) {
        const int mav = (ml + mu) / 2;
        if (x < float(val[mav]))
            mu = mav;
        else
            ml = mav;
    }
    return x - float(val[mu - 1]) < float(val[mu]) - x ? mu - 1 : mu;
}

// sum of x^2 over the super-block, times 2/n: the noise floor added to x^2 in imatrix weights.
float iq4_sigma2(const float* x, int n) {
    float sigma2 = 0;
    for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
    return sigma2 * (2.f / float(n));
}

void iq4_weights(const float* xb, const float* qw, float sigma2, float* weight) {
    if (qw) {
        for (int j = 0; j < kSub; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    } else {
        for (int j = 0; j < kSub; ++j) weight[j] = xb[j] * xb[j];
    }
}

// The best scale for one block of 32: starts from max / level[0], then tries the 15 scales
// (step + level[0]) / max and keeps the one with the largest weighted sumqx^2 / sumq2.
// Returns 0 for an all-(near-)zero block.
float iq4_block_scale(const float* xb, const float* weight) {
    float amax = 0, max = 0;
    for (int j = 0; j < kSub; ++j) {
        const float ax = std::fabs(xb[j]);
        if (ax > amax) {
            amax = ax;
            max = xb[j];
        }
    }
    if (amax < kGroupMaxEps) return 0;
    const float v0 = float(kIq4nlValues[0]);
    float d = -max / v0;
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < kSub; ++j) {
        const float q = float(kIq4nlValues[iq4nl_best_index(id * xb[j])]);
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -kScaleSteps; itry <= kScaleSteps; ++itry) {
        id = float(itry + kIq4nlValues[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < kSub; ++j) {
            const float q = float(kIq4nlValues[iq4nl_best_index(id * xb[j])]);
            const float w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

// Packs 32 level indices: element j in the low nibble of byte j, element j+16 in the high one.
void iq4_pack(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
}

}  // namespace

void quantize_iq4_nl_block_ref(const float* x, const float* qw, block_iq4_nl* y) {
    float weight[kSub];
    iq4_weights(x, qw, iq4_sigma2(x, kSub), weight);
    const float d = iq4_block_scale(x, weight);
    y->d = fp32_to_fp16(d);
    const float id = d != 0 ? 1 / d : 0;
    uint8_t L[kSub];
    for (int j = 0; j < kSub; ++j) L[j] = uint8_t(iq4nl_best_index(id * x[j]));
    iq4_pack(L, y->qs);
}

void quantize_iq4_xs_block_ref(const float* x, const float* qw, block_iq4_xs* y) {
    const float sigma2 = iq4_sigma2(x, kSuper);
    float scales[kSuper / kSub];
    float weight[kSub];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < kSuper / kSub; ++ib) {
        iq4_weights(x + ib * kSub, qw ? qw + ib * kSub : nullptr, sigma2, weight);
        scales[ib] = iq4_block_scale(x + ib * kSub, weight);
        const float abs_d = std::fabs(scales[ib]);
        if (abs_d > amax_scale) {
            amax_scale = abs_d;
            max_scale = scales[ib];
        }
    }
    // Sub-block scales become 6-bit multiples of d = -max_scale / 32 (negative zero when all
    // blocks are zero, which the fp16 field keeps).
    const float d = -max_scale / 32;
    y->d = fp32_to_fp16(d);
    const float id = d != 0 ? 1 / d : 0.f;
    y->scales_h = 0;
    for (int ib = 0; ib < kSuper / kSub; ++ib) {
        int l = nearest_int(id * scales[ib]);
        l = l < -32 ? -32 : (l > 31 ? 31 : l);
        const float dl = d * float(l);
        const float idl = dl != 0 ? 1 / dl : 0.f;
        const float* xb = x + ib * kSub;
        uint8_t L[kSub];
        for (int j = 0; j < kSub; ++j) L[j] = uint8_t(iq4nl_best_index(idl * xb[j]));
        iq4_pack(L, y->qs + ib * 16);
        l += 32;
        const uint8_t l_low = uint8_t(l & 0xf);
        if (ib % 2 == 0)
            y->scales_l[ib / 2] = l_low;
        else
            y->scales_l[ib / 2] |= uint8_t(l_low << 4);
        y->scales_h = uint16_t(y->scales_h | ((l >> 4) << (2 * ib)));
    }
}

void quantize_iq4_nl_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix) {
    block_iq4_nl* y = static_cast<block_iq4_nl*>(dst);
    const int64_t nblock = n_per_row / kSub;
    for (int64_t row = 0; row < nrows; ++row) {
        for (int64_t ib = 0; ib < nblock; ++ib) {
            quantize_iq4_nl_block_ref(src + row * n_per_row + ib * kSub,
                                      imatrix ? imatrix + ib * kSub : nullptr,
                                      y + row * nblock + ib);
        }
    }
}

void quantize_iq4_xs_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix) {
    block_iq4_xs* y = static_cast<block_iq4_xs*>(dst);
    const int64_t nblock = n_per_row / kSuper;
    for (int64_t row = 0; row < nrows; ++row) {
        for (int64_t ib = 0; ib < nblock; ++ib) {
            quantize_iq4_xs_block_ref(src + row * n_per_row + ib * kSuper,
                                      imatrix ? imatrix + ib * kSuper : nullptr,
                                      y + row * nblock + ib);
        }
    }
}

void dequantize_iq4_nl_ref(const void* src, float* dst, int64_t n) {
    const block_iq4_nl* x = static_cast<const block_iq4_nl*>(src);
    for (int64_t i = 0; i < n / kSub; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        float* y = dst + i * kSub;
        for (int j = 0; j < 16; ++j) {
            y[j] = d * float(kIq4nlValues[x[i].qs[j] & 0xf]);
            y[j + 16] = d * float(kIq4nlValues[x[i].qs[j] >> 4]);
        }
    }
}

void dequantize_iq4_xs_ref(const void* src, float* dst, int64_t n) {
    const block_iq4_xs* x = static_cast<const block_iq4_xs*>(src);
    for (int64_t i = 0; i < n / kSuper; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < kSuper / kSub; ++ib) {
            const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf) |
                           (((x[i].scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * float(ls - 32);
            const uint8_t* qs = x[i].qs + ib * 16;
            float* y = dst + i * kSuper + ib * kSub;
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * float(kIq4nlValues[qs[j] & 0xf]);
                y[j + 16] = dl * float(kIq4nlValues[qs[j] >> 4]);
            }
        }
    }
}

}  // namespace gguf_squash
