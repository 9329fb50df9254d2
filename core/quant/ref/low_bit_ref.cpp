// Scalar reference kernels for Q1_0 Q2_0 MXFP4 NVFP4 TQ1_0 TQ2_0 (this file) and IQ4_NL IQ4_XS
// (iq4_ref.cpp), plus F64 read-back. None of these types uses importance weights in ggml's
// quantize_<type>: the imatrix argument is accepted and ignored, which gives the same bytes.
#include "low_bit_ref.h"

#include <cmath>
#include <cstring>

#include "iq4_ref.h"
#include "quant/kernel_table.h"
#include "quant/quant_common.h"

namespace gguf_squash {
namespace {

using namespace low_bit_blocks;

// UE4M3 (unsigned, 4 exponent bits with bias 7, 3 mantissa bits) to float, halved like E8M0.
// 0x7F (the NaN code) reads as zero, as in ggml.
float ue4m3_to_fp32_half(uint8_t x) {
    if (x == 0 || x == 0x7F) return 0.0f;
    const int exp = (x >> 3) & 0xF;
    const int man = x & 0x7;
    const float raw =
        exp == 0 ? std::ldexp(float(man), -9) : std::ldexp(1.0f + float(man) / 8.0f, exp - 7);
    return raw * 0.5f;
}

// Float to UE4M3, rounding on the first dropped mantissa bit (ties away), saturating to 0x7E.
uint8_t fp32_to_ue4m3(float x) {
    if (!(x > 0.0f)) return 0;
    if (x > 448.0f) x = 448.0f;
    const uint32_t bits = f32_bits(x);
    const int fp32_exp = int((bits >> 23) & 0xFF) - 127;
    const int fp32_man = int((bits >> 20) & 0x7);
    int exp = fp32_exp + 7;
    if (exp <= 0) {  // subnormal: man * 2^-9
        int man = int(x * 512.0f + 0.5f);
        if (man > 7) man = 7;
        if (man < 1) return 0;
        return uint8_t(man);
    }
    if (exp >= 15) return 0x7E;
    int man = fp32_man + int((bits >> 19) & 1);
    if (man > 7) {
        man = 0;
        if (++exp >= 15) return 0x7E;
    }
    return uint8_t((exp << 3) | man);
}

// Nearest FP4 code point to x at scale e; the first of equally near points wins.
int best_fp4_index(float x, float e) {
    int best = 0;
    float best_err = std::fabs(float(kFp4Values[0]) * e - x);
    for (int i = 1; i < 16; ++i) {
        const float err = std::fabs(float(kFp4Values[i]) * e - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

// The E8M0 exponent ggml picks for a block's absolute max: floor(log2(amax)) - 2 + 127, converted
// from float the way x86-64 code converts it (through a 32-bit integer, keeping the low byte).
uint8_t mxfp4_exponent(float amax) {
    if (!(amax > 0.0f)) return 0;
    const float e = std::floor(std::log2(amax)) - 2 + 127;
    return uint8_t(int32_t(e));
}

// Ternary digit of x at inverse scale id: -1, 0, 1 mapped to 0, 1, 2 (lroundf: ties away).
int trit(float x, float id) {
    return int(std::lround(x * id)) + 1;
}

// Packs n trits (most significant first) scaled into a byte so that the top trit is
// recoverable by multiplying by 3 and taking the high byte (ceiling division by 3^5).
uint8_t pack_trits(uint8_t q) {
    return uint8_t((uint16_t(q) * 256 + (243 - 1)) / 243);
}

}  // namespace

void quantize_q1_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float*) {
    block_q1_0* y = static_cast<block_q1_0*>(dst);
    const int64_t nb = nrows * n_per_row / kQ1Block;
    for (int64_t i = 0; i < nb; ++i) {
        const float* x = src + i * kQ1Block;
        float sum_abs = 0.0f;
        for (int j = 0; j < kQ1Block; ++j) sum_abs += std::fabs(x[j]);
        y[i].d = fp32_to_fp16(sum_abs / kQ1Block);
        std::memset(y[i].qs, 0, sizeof(y[i].qs));
        for (int j = 0; j < kQ1Block; ++j) {
            if (x[j] >= 0.0f) y[i].qs[j / 8] |= uint8_t(1 << (j % 8));
        }
    }
}

void dequantize_q1_0_ref(const void* src, float* dst, int64_t n) {
    const block_q1_0* x = static_cast<const block_q1_0*>(src);
    const int64_t nb = n / kQ1Block;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQ1Block; ++j) {
            dst[i * kQ1Block + j] = ((x[i].qs[j / 8] >> (j % 8)) & 1) ? d : -d;
        }
    }
}

void quantize_q2_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float*) {
    block_q2_0* y = static_cast<block_q2_0*>(dst);
    const int64_t nb = nrows * n_per_row / kQ2Block;
    for (int64_t i = 0; i < nb; ++i) {
        const float* x = src + i * kQ2Block;
        float amax = 0.0f;
        for (int j = 0; j < kQ2Block; ++j) {
            const float a = std::fabs(x[j]);
            if (a > amax) amax = a;
        }
        const float id = amax > 0.0f ? 1.0f / amax : 0.0f;
        y[i].d = fp32_to_fp16(amax);
        std::memset(y[i].qs, 0, sizeof(y[i].qs));
        for (int j = 0; j < kQ2Block; ++j) {
            int q = int(std::round(x[j] * id)) + 1;  // roundf: ties away from zero
            if (q < 0) q = 0;
            if (q > 3) q = 3;
            y[i].qs[j / 4] |= uint8_t(q << ((j % 4) * 2));
        }
    }
}

void dequantize_q2_0_ref(const void* src, float* dst, int64_t n) {
    const block_q2_0* x = static_cast<const block_q2_0*>(src);
    const int64_t nb = n / kQ2Block;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQ2Block; ++j) {
            const int q = (x[i].qs[j / 4] >> ((j % 4) * 2)) & 3;
            dst[i * kQ2Block + j] = float(q - 1) * d;
        }
    }
}

void quantize_mxfp4_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float*) {
    block_mxfp4* y = static_cast<block_mxfp4*>(dst);
    const int64_t nb = nrows * n_per_row / kMxfp4Block;
    for (int64_t i = 0; i < nb; ++i) {
        const float* x = src + i * kMxfp4Block;
        float amax = 0.0f;
        for (int j = 0; j < kMxfp4Block; ++j) {
            if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
        }
        const uint8_t e = mxfp4_exponent(amax);
        const float d = e8m0_to_fp32_half(e);
        y[i].e = e;
        for (int j = 0; j < kMxfp4Block / 2; ++j) {
            const int lo = best_fp4_index(x[j], d);
            const int hi = best_fp4_index(x[j + kMxfp4Block / 2], d);
            y[i].qs[j] = uint8_t(lo | (hi << 4));
        }
    }
}

void dequantize_mxfp4_ref(const void* src, float* dst, int64_t n) {
    const block_mxfp4* x = static_cast<const block_mxfp4*>(src);
    const int64_t nb = n / kMxfp4Block;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = e8m0_to_fp32_half(x[i].e);
        float* y = dst + i * kMxfp4Block;
        for (int j = 0; j < kMxfp4Block / 2; ++j) {
            y[j] = float(kFp4Values[x[i].qs[j] & 0x0F]) * d;
            y[j + kMxfp4Block / 2] = float(kFp4Values[x[i].qs[j] >> 4]) * d;
        }
    }
}

void quantize_nvfp4_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float*) {
    block_nvfp4* y = static_cast<block_nvfp4*>(dst);
    const int64_t nb = nrows * n_per_row / kNvfp4Block;
    for (int64_t i = 0; i < nb; ++i) {
        for (int s = 0; s < kNvfp4Block / kNvfp4Sub; ++s) {
            const float* x = src + i * kNvfp4Block + s * kNvfp4Sub;
            float amax = 0.0f;
            for (int j = 0; j < kNvfp4Sub; ++j) {
                if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
            }
            // amax / 6 maps the largest E2M1 magnitude (6) onto amax.
            const uint8_t ue = fp32_to_ue4m3(amax / 6.0f);
            y[i].d[s] = ue;
            const float d = ue4m3_to_fp32_half(ue);
            for (int j = 0; j < kNvfp4Sub / 2; ++j) {
                const int lo = best_fp4_index(x[j], d);
                const int hi = best_fp4_index(x[j + kNvfp4Sub / 2], d);
                y[i].qs[s * (kNvfp4Sub / 2) + j] = uint8_t(lo | (hi << 4));
            }
        }
    }
}

void dequantize_nvfp4_ref(const void* src, float* dst, int64_t n) {
    const block_nvfp4* x = static_cast<const block_nvfp4*>(src);
    const int64_t nb = n / kNvfp4Block;
    for (int64_t i = 0; i < nb; ++i) {
        for (int s = 0; s < kNvfp4Block / kNvfp4Sub; ++s) {
            const float d = ue4m3_to_fp32_half(x[i].d[s]);
            float* y = dst + i * kNvfp4Block + s * kNvfp4Sub;
            for (int j = 0; j < kNvfp4Sub / 2; ++j) {
                const uint8_t q = x[i].qs[s * (kNvfp4Sub / 2) + j];
                y[j] = float(kFp4Values[q & 0x0F]) * d;
                y[j + kNvfp4Sub / 2] = float(kFp4Values[q >> 4]) * d;
            }
        }
    }
}

void quantize_tq1_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float*) {
    block_tq1_0* y = static_cast<block_tq1_0*>(dst);
    const int64_t nb = nrows * n_per_row / kSuperBlock;
    constexpr int kQs = sizeof(block_tq1_0::qs);  // 48: one run of 32 bytes, one of 16
    constexpr int kQsMain = kQs - kQs % 32;       // 32
    constexpr int kQh = sizeof(block_tq1_0::qh);  // 4
    for (int64_t i = 0; i < nb; ++i) {
        const float* x = src + i * kSuperBlock;
        float amax = 0.0f;
        for (int j = 0; j < kSuperBlock; ++j) {
            const float a = std::fabs(x[j]);
            amax = amax > a ? amax : a;
        }
        const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
        y[i].d = fp32_to_fp16(amax);
        // Five elements per byte: bytes [0, 32) take elements 32 apart, then [32, 48) 16 apart.
        for (int j = 0; j < kQsMain; j += 32) {
            for (int m = 0; m < 32; ++m) {
                uint8_t q = 0;
                for (int k = 0; k < 5; ++k) q = uint8_t(q * 3 + trit(x[m + k * 32], id));
                y[i].qs[j + m] = pack_trits(q);
            }
            x += 5 * 32;
        }
        for (int j = kQsMain; j < kQs; j += 16) {
            for (int m = 0; m < 16; ++m) {
                uint8_t q = 0;
                for (int k = 0; k < 5; ++k) q = uint8_t(q * 3 + trit(x[m + k * 16], id));
                y[i].qs[j + m] = pack_trits(q);
            }
            x += 5 * 16;
        }
        // Four elements per byte, shifted up one trit so the first lands in the top position.
        for (int j = 0; j < kQh; ++j) {
            uint8_t q = 0;
            for (int m = 0; m < 4; ++m) q = uint8_t(q * 3 + trit(x[j + m * kQh], id));
            y[i].qh[j] = pack_trits(uint8_t(q * 3));
        }
    }
}

void dequantize_tq1_0_ref(const void* src, float* dst, int64_t n) {
    const block_tq1_0* x = static_cast<const block_tq1_0*>(src);
    const int64_t nb = n / kSuperBlock;
    constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    constexpr int kQs = sizeof(block_tq1_0::qs);
    constexpr int kQsMain = kQs - kQs % 32;
    constexpr int kQh = sizeof(block_tq1_0::qh);
    // Multiplying by 3^n (mod 256) rotates trit n to the top; times 3, high byte, is its value.
    auto digit = [](uint8_t packed, uint8_t pow3) {
        const uint8_t q = uint8_t(packed * pow3);
        return int((uint16_t(q) * 3) >> 8) - 1;
    };
    float* y = dst;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQsMain; j += 32)
            for (int k = 0; k < 5; ++k)
                for (int m = 0; m < 32; ++m) *y++ = float(digit(x[i].qs[j + m], kPow3[k])) * d;
        for (int j = kQsMain; j < kQs; j += 16)
            for (int k = 0; k < 5; ++k)
                for (int m = 0; m < 16; ++m) *y++ = float(digit(x[i].qs[j + m], kPow3[k])) * d;
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < kQh; ++j) *y++ = float(digit(x[i].qh[j], kPow3[k])) * d;
    }
}

void quantize_tq2_0_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float*) {
    block_tq2_0* y = static_cast<block_tq2_0*>(dst);
    const int64_t nb = nrows * n_per_row / kSuperBlock;
    for (int64_t i = 0; i < nb; ++i) {
        const float* x = src + i * kSuperBlock;
        float amax = 0.0f;
        for (int j = 0; j < kSuperBlock; ++j) {
            const float a = std::fabs(x[j]);
            amax = amax > a ? amax : a;
        }
        const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
        y[i].d = fp32_to_fp16(amax);
        for (int j = 0; j < int(sizeof(y[i].qs)); j += 32) {
            for (int m = 0; m < 32; ++m) {
                uint8_t q = 0;
                for (int k = 0; k < 4; ++k)
                    q = uint8_t(q + ((trit(x[m + k * 32], id) & 3) << (2 * k)));
                y[i].qs[j + m] = q;
            }
            x += 4 * 32;
        }
    }
}

void dequantize_tq2_0_ref(const void* src, float* dst, int64_t n) {
    const block_tq2_0* x = static_cast<const block_tq2_0*>(src);
    const int64_t nb = n / kSuperBlock;
    float* y = dst;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < int(sizeof(x[i].qs)); j += 32)
            for (int l = 0; l < 4; ++l)
                for (int m = 0; m < 32; ++m)
                    *y++ = float(((x[i].qs[j + m] >> (l * 2)) & 3) - 1) * d;
    }
}

// F64 is a storage type only (ggml has no converter for it); reading it narrows each value to
// the nearest float, as a C cast does.
void dequantize_f64_ref(const void* src, float* dst, int64_t n) {
    const unsigned char* in = static_cast<const unsigned char*>(src);
    for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, in + i * 8, 8);
        dst[i] = float(v);
    }
}

void register_low_bit_ref(kernel_table& table) {
    auto set = [&](ggml_type t, quantize_fn q, dequantize_fn dq) {
        table.quantize[uint32_t(t)] = q;
        table.dequantize[uint32_t(t)] = dq;
    };
    set(ggml_type::q1_0, quantize_q1_0_ref, dequantize_q1_0_ref);
    set(ggml_type::q2_0, quantize_q2_0_ref, dequantize_q2_0_ref);
    set(ggml_type::mxfp4, quantize_mxfp4_ref, dequantize_mxfp4_ref);
    set(ggml_type::nvfp4, quantize_nvfp4_ref, dequantize_nvfp4_ref);
    set(ggml_type::tq1_0, quantize_tq1_0_ref, dequantize_tq1_0_ref);
    set(ggml_type::tq2_0, quantize_tq2_0_ref, dequantize_tq2_0_ref);
    set(ggml_type::iq4_nl, quantize_iq4_nl_ref, dequantize_iq4_nl_ref);
    set(ggml_type::iq4_xs, quantize_iq4_xs_ref, dequantize_iq4_xs_ref);
    table.dequantize[uint32_t(ggml_type::f64)] = dequantize_f64_ref;
}

}  // namespace gguf_squash
