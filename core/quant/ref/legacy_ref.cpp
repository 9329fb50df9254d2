// Scalar reference kernels for Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 (and Q8_1 dequantization): the same float
// operations, in the same order, as ggml's quantize_<type> and dequantize_row_<type>.
#include "legacy_ref.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/kernel_table.h"
#include "quant/quant_common.h"
#include "quant_search.h"

namespace gguf_squash {

// Packs 32 five-bit levels: low nibbles in qs (element j and j+16 share a byte), fifth bits in qh.
void pack_five_bit_levels(const uint8_t* levels, uint8_t* qs, uint8_t* qh_out) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        const uint8_t lo = levels[j];
        const uint8_t hi = levels[j + 16];
        qs[j] = uint8_t((lo & 0x0F) | ((hi & 0x0F) << 4));
        qh |= ((lo & 0x10u) >> 4) << j;
        qh |= ((hi & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(qh_out, &qh, 4);
}

// The mean square of a row: ggml's sigma2 in the imatrix weights qw * sqrt(sigma2 + x^2).
float row_mean_square_ref(const float* x, int64_t n) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    return sum_x2 / n;
}

namespace {

void block_weights(const float* x, const float* qw, float sigma2, float* weight) {
    for (int j = 0; j < kLegacyBlock; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

// The largest-magnitude element with its sign; the first one wins ties, +0 if all are zero.
float signed_abs_max(const float* x) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kLegacyBlock; ++j) {
        const float v = x[j];
        if (amax < std::fabs(v)) {
            amax = std::fabs(v);
            max = v;
        }
    }
    return max;
}

void min_max(const float* x, float* min_out, float* max_out) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kLegacyBlock; ++j) {
        const float v = x[j];
        if (v < min) min = v;
        if (v > max) max = v;
    }
    *min_out = min;
    *max_out = max;
}

}  // namespace

void quantize_block_q4_0_imatrix_ref(const float* x, const float* qw, float sigma2, block_q4_0* y) {
    float weight[kLegacyBlock];
    int8_t L[kLegacyBlock];
    block_weights(x, qw, sigma2, weight);
    const float d = make_qx_quants(kLegacyBlock, 8, x, L, 1, weight);
    y->d = fp32_to_fp16(d);
    for (int j = 0; j < 16; ++j) y->qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
}

void quantize_block_q5_0_imatrix_ref(const float* x, const float* qw, float sigma2, block_q5_0* y) {
    float weight[kLegacyBlock];
    int8_t L[kLegacyBlock];
    block_weights(x, qw, sigma2, weight);
    const float d = make_qx_quants(kLegacyBlock, 16, x, L, 1, weight);
    y->d = fp32_to_fp16(d);
    uint8_t levels[kLegacyBlock];
    for (int j = 0; j < kLegacyBlock; ++j) levels[j] = uint8_t(L[j]);
    pack_five_bit_levels(levels, y->qs, y->qh);
}

// Q4_1 and Q5_1 with importance weights: ggml's make_qkx3_quants search, 37 trial scales.
void quantize_block_q4_1_imatrix_ref(const float* x, const float* qw, float sigma2, block_q4_1* y) {
    float weight[kLegacyBlock];
    uint8_t L[kLegacyBlock];
    uint8_t Laux[kLegacyBlock];
    block_weights(x, qw, sigma2, weight);
    float min;
    const float d =
        make_qkx3_quants(kLegacyBlock, 15, x, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y->d = fp32_to_fp16(d);
    y->m = fp32_to_fp16(-min);
    for (int j = 0; j < 16; ++j) y->qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
}

void quantize_block_q5_1_imatrix_ref(const float* x, const float* qw, float sigma2, block_q5_1* y) {
    float weight[kLegacyBlock];
    uint8_t L[kLegacyBlock];
    uint8_t Laux[kLegacyBlock];
    block_weights(x, qw, sigma2, weight);
    float min;
    const float d =
        make_qkx3_quants(kLegacyBlock, 31, x, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y->d = fp32_to_fp16(d);
    y->m = fp32_to_fp16(-min);
    pack_five_bit_levels(L, y->qs, y->qh);
}

namespace {

template <typename Block, void (*Weighted)(const float*, const float*, float, Block*)>
void quantize_row_imatrix(const float* x, Block* y, int64_t n_per_row, const float* qw) {
    const float sigma2 = row_mean_square_ref(x, n_per_row);
    for (int64_t ib = 0; ib < n_per_row / kLegacyBlock; ++ib) {
        Weighted(x + kLegacyBlock * ib, qw + kLegacyBlock * ib, sigma2, y + ib);
    }
}

// Runs a per-row imatrix routine over all rows, or the per-block one over all blocks without.
template <typename Block, void (*Plain)(const float*, Block*),
          void (*Weighted)(const float*, Block*, int64_t, const float*)>
void quantize_legacy(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
    Block* out = static_cast<Block*>(dst);
    if (!imatrix) {
        const int64_t nb = nrows * n_per_row / kLegacyBlock;
        for (int64_t i = 0; i < nb; ++i) Plain(src + i * kLegacyBlock, out + i);
        return;
    }
    const int64_t nb_row = n_per_row / kLegacyBlock;
    for (int64_t r = 0; r < nrows; ++r)
        Weighted(src + r * n_per_row, out + r * nb_row, n_per_row, imatrix);
}

void dequantize_q4_0_ref(const void* src, float* dst, int64_t n) {
    const block_q4_0* x = static_cast<const block_q4_0*>(src);
    for (int64_t i = 0; i < n / kLegacyBlock; ++i, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 16; ++j) {
            dst[j] = float((x[i].qs[j] & 0x0F) - 8) * d;
            dst[j + 16] = float((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1_ref(const void* src, float* dst, int64_t n) {
    const block_q4_1* x = static_cast<const block_q4_1*>(src);
    for (int64_t i = 0; i < n / kLegacyBlock; ++i, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < 16; ++j) {
            dst[j] = float(x[i].qs[j] & 0x0F) * d + m;
            dst[j + 16] = float(x[i].qs[j] >> 4) * d + m;
        }
    }
}

uint32_t load_qh(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, 4);
    return v;
}

void dequantize_q5_0_ref(const void* src, float* dst, int64_t n) {
    const block_q5_0* x = static_cast<const block_q5_0*>(src);
    for (int64_t i = 0; i < n / kLegacyBlock; ++i, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int lo = (x[i].qs[j] & 0x0F) | int(((qh >> j) << 4) & 0x10);
            const int hi = (x[i].qs[j] >> 4) | int((qh >> (j + 12)) & 0x10);
            dst[j] = float(lo - 16) * d;
            dst[j + 16] = float(hi - 16) * d;
        }
    }
}

void dequantize_q5_1_ref(const void* src, float* dst, int64_t n) {
    const block_q5_1* x = static_cast<const block_q5_1*>(src);
    for (int64_t i = 0; i < n / kLegacyBlock; ++i, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int lo = (x[i].qs[j] & 0x0F) | int(((qh >> j) << 4) & 0x10);
            const int hi = (x[i].qs[j] >> 4) | int((qh >> (j + 12)) & 0x10);
            dst[j] = float(lo) * d + m;
            dst[j + 16] = float(hi) * d + m;
        }
    }
}

void dequantize_q8_0_ref(const void* src, float* dst, int64_t n) {
    const block_q8_0* x = static_cast<const block_q8_0*>(src);
    for (int64_t i = 0; i < n / kLegacyBlock; ++i, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kLegacyBlock; ++j) dst[j] = float(x[i].qs[j]) * d;
    }
}

// ggml has no to_float for Q8_1; the format's meaning is qs * d (s only caches d * sum(qs)).
void dequantize_q8_1_ref(const void* src, float* dst, int64_t n) {
    const block_q8_1* x = static_cast<const block_q8_1*>(src);
    for (int64_t i = 0; i < n / kLegacyBlock; ++i, dst += kLegacyBlock) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kLegacyBlock; ++j) dst[j] = float(x[i].qs[j]) * d;
    }
}

}  // namespace

void quantize_block_q4_0_ref(const float* x, block_q4_0* y) {
    const float max = signed_abs_max(x);
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
        const int lo = std::min(15, int(int8_t(trunc_to_int32_x86(x[j] * id + 8.5f))));
        const int hi = std::min(15, int(int8_t(trunc_to_int32_x86(x[j + 16] * id + 8.5f))));
        y->qs[j] = uint8_t(uint8_t(lo) | uint8_t(uint8_t(hi) << 4));
    }
}

void quantize_block_q4_1_ref(const float* x, block_q4_1* y) {
    float min, max;
    min_max(x, &min, &max);
    const float d = (max - min) / 15;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    y->m = fp32_to_fp16(min);
    for (int j = 0; j < 16; ++j) {
        const int lo = std::min(15, int(int8_t(trunc_to_int32_x86((x[j] - min) * id + 0.5f))));
        const int hi = std::min(15, int(int8_t(trunc_to_int32_x86((x[j + 16] - min) * id + 0.5f))));
        y->qs[j] = uint8_t(uint8_t(lo) | uint8_t(uint8_t(hi) << 4));
    }
}

void quantize_block_q5_0_ref(const float* x, block_q5_0* y) {
    const float max = signed_abs_max(x);
    const float d = max / -16;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    uint8_t levels[kLegacyBlock];
    for (int j = 0; j < kLegacyBlock; ++j) {
        levels[j] = uint8_t(std::min(31, int(int8_t(trunc_to_int32_x86(x[j] * id + 16.5f)))));
    }
    pack_five_bit_levels(levels, y->qs, y->qh);
}

void quantize_block_q5_1_ref(const float* x, block_q5_1* y) {
    float min, max;
    min_max(x, &min, &max);
    const float d = (max - min) / 31;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    y->m = fp32_to_fp16(min);
    uint8_t levels[kLegacyBlock];
    for (int j = 0; j < kLegacyBlock; ++j) {
        levels[j] = uint8_t(trunc_to_int32_x86((x[j] - min) * id + 0.5f));
    }
    pack_five_bit_levels(levels, y->qs, y->qh);
}

void quantize_block_q8_0_ref(const float* x, block_q8_0* y) {
    float amax = 0.0f;
    for (int j = 0; j < kLegacyBlock; ++j) {
        const float a = std::fabs(x[j]);
        amax = amax > a ? amax : a;  // ggml's MAX: a NaN element resets amax to the next value
    }
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = fp32_to_fp16(d);
    for (int j = 0; j < kLegacyBlock; ++j) {
        y->qs[j] = int8_t(trunc_to_int32_x86(std::round(x[j] * id)));
    }
}

void quantize_q4_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_legacy<block_q4_0, quantize_block_q4_0_ref,
                    quantize_row_imatrix<block_q4_0, quantize_block_q4_0_imatrix_ref>>(
        src, dst, nrows, n_per_row, imatrix);
}

void quantize_q4_1_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_legacy<block_q4_1, quantize_block_q4_1_ref,
                    quantize_row_imatrix<block_q4_1, quantize_block_q4_1_imatrix_ref>>(
        src, dst, nrows, n_per_row, imatrix);
}

void quantize_q5_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_legacy<block_q5_0, quantize_block_q5_0_ref,
                    quantize_row_imatrix<block_q5_0, quantize_block_q5_0_imatrix_ref>>(
        src, dst, nrows, n_per_row, imatrix);
}

void quantize_q5_1_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float* imatrix) {
    quantize_legacy<block_q5_1, quantize_block_q5_1_ref,
                    quantize_row_imatrix<block_q5_1, quantize_block_q5_1_imatrix_ref>>(
        src, dst, nrows, n_per_row, imatrix);
}

// Q8_0 ignores importance weights, as ggml's quantize_q8_0 does.
void quantize_q8_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float*) {
    block_q8_0* out = static_cast<block_q8_0*>(dst);
    const int64_t nb = nrows * n_per_row / kLegacyBlock;
    for (int64_t i = 0; i < nb; ++i) quantize_block_q8_0_ref(src + i * kLegacyBlock, out + i);
}

void register_legacy_ref(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::q4_0)] = quantize_q4_0_ref;
    table.quantize[uint32_t(ggml_type::q4_1)] = quantize_q4_1_ref;
    table.quantize[uint32_t(ggml_type::q5_0)] = quantize_q5_0_ref;
    table.quantize[uint32_t(ggml_type::q5_1)] = quantize_q5_1_ref;
    table.quantize[uint32_t(ggml_type::q8_0)] = quantize_q8_0_ref;
    table.dequantize[uint32_t(ggml_type::q4_0)] = dequantize_q4_0_ref;
    table.dequantize[uint32_t(ggml_type::q4_1)] = dequantize_q4_1_ref;
    table.dequantize[uint32_t(ggml_type::q5_0)] = dequantize_q5_0_ref;
    table.dequantize[uint32_t(ggml_type::q5_1)] = dequantize_q5_1_ref;
    table.dequantize[uint32_t(ggml_type::q8_0)] = dequantize_q8_0_ref;
    table.dequantize[uint32_t(ggml_type::q8_1)] = dequantize_q8_1_ref;
}

}  // namespace gguf_squash
