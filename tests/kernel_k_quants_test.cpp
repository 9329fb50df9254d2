// K-quant specific checks. The SIMD quantizers run one sub-block per lane, with the scalar's
// branches turned into per-lane selects, so the risky inputs are blocks whose sub-blocks take
// DIFFERENT branches: a constant or all-zero sub-block next to ordinary ones, a lone spike, an
// imatrix that is zero over some sub-blocks. Every ISA must write the scalar bytes for those.
// Dequantization is checked on hand-built blocks against the format's definition.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernel_isa_harness.h"
#include "quant/quant_common.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

const ggml_type kKTypes[] = {ggml_type::q2_k, ggml_type::q3_k, ggml_type::q4_k, ggml_type::q5_k,
                             ggml_type::q6_k};

// Each 16-element group gets its own kind of values, so the lanes of one SIMD vector disagree.
std::vector<float> mixed_groups(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(n);
    for (size_t g = 0; g < n; g += 16) {
        const unsigned kind = rng() % 9;
        const float c = normal(rng);
        for (size_t i = g; i < g + 16; ++i) {
            switch (kind) {
                case 0:
                    x[i] = 0.f;
                    break;
                case 1:
                    x[i] = c;
                    break;  // constant
                case 2:
                    x[i] = (i == g + rng() % 16) ? 40.f * c : 0.f;
                    break;  // lone spike
                case 3:
                    x[i] = normal(rng) * 1e-32f;
                    break;
                case 4:
                    x[i] = normal(rng) * 2e4f;
                    break;
                case 5:
                    x[i] = -std::fabs(normal(rng));
                    break;
                case 6:
                    x[i] = std::fabs(normal(rng)) + 3.f;
                    break;  // min > 0
                case 7:
                    x[i] = float(int(rng() % 5) - 2);
                    break;  // few distinct values
                default:
                    x[i] = normal(rng) * 0.05f;
                    break;
            }
        }
    }
    return x;
}

std::vector<float> mixed_imatrix(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.f, 4.f);
    std::vector<float> w(n);
    for (size_t g = 0; g < n; g += 16) {
        const unsigned kind = rng() % 4;
        for (size_t i = g; i < g + 16; ++i) {
            w[i] = kind == 0 ? 0.f : kind == 1 ? (rng() % 3 == 0 ? 0.f : u(rng)) : u(rng);
        }
    }
    return w;
}

class KernelKQuantsSimd : public every_simd_isa {};

TEST_P(KernelKQuantsSimd, sub_blocks_taking_different_branches_match_scalar) {
    const kernel_isa isa = GetParam();
    const int64_t n_per_row = 256 * 3, nrows = 4;
    size_t compared = 0;
    for (ggml_type type : kKTypes) {
        for (uint32_t seed = 1; seed <= 12; ++seed) {
            const std::vector<float> x = mixed_groups(size_t(n_per_row * nrows), seed);
            const std::vector<float> im = mixed_imatrix(size_t(n_per_row), seed + 1000);
            for (bool with_imatrix : {false, true}) {
                const float* w = with_imatrix ? im.data() : nullptr;
                const size_t bytes = row_size(type, uint64_t(n_per_row)) * nrows;
                std::vector<uint8_t> want(bytes);
                ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
                ASSERT_TRUE(quantize_rows(type, x.data(), want.data(), nrows, n_per_row, w).ok());
                ASSERT_TRUE(set_kernel_isa(isa).ok());
                std::vector<uint8_t> got(bytes, 0xCD);
                ASSERT_TRUE(quantize_rows(type, x.data(), got.data(), nrows, n_per_row, w).ok());
                ++compared;
                ASSERT_EQ(got, want) << type_name(type) << " on " << kernel_isa_name(isa)
                                     << ", seed " << seed << (with_imatrix ? ", with imatrix" : "");
            }
        }
    }
    std::printf("[KernelKQuantsSimd] %zu mixed-branch %s outputs compared against scalar\n",
                compared, kernel_isa_name(isa));
    EXPECT_EQ(compared, std::size(kKTypes) * 12 * 2);
}

// Non-finite inputs must not crash any path, and SIMD must still write the scalar's bytes.
TEST_P(KernelKQuantsSimd, non_finite_values_give_scalar_bytes) {
    const kernel_isa isa = GetParam();
    const int64_t n_per_row = 256 * 2, nrows = 2;
    std::vector<float> x = mixed_groups(size_t(n_per_row * nrows), 77);
    x[3] = NAN;
    x[40] = INFINITY;
    x[300] = -INFINITY;
    x[520] = NAN;
    x[521] = INFINITY;
    for (int i = 700; i < 716; ++i) x[size_t(i)] = NAN;
    std::vector<float> im = mixed_imatrix(size_t(n_per_row), 78);
    im[5] = INFINITY;
    for (ggml_type type : kKTypes) {
        for (bool with_imatrix : {false, true}) {
            const float* w = with_imatrix ? im.data() : nullptr;
            const size_t bytes = row_size(type, uint64_t(n_per_row)) * nrows;
            std::vector<uint8_t> want(bytes);
            ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
            ASSERT_TRUE(quantize_rows(type, x.data(), want.data(), nrows, n_per_row, w).ok());
            ASSERT_TRUE(set_kernel_isa(isa).ok());
            std::vector<uint8_t> got(bytes, 0xCD);
            ASSERT_TRUE(quantize_rows(type, x.data(), got.data(), nrows, n_per_row, w).ok());
            EXPECT_EQ(got, want) << type_name(type) << " on " << kernel_isa_name(isa)
                                 << (with_imatrix ? ", with imatrix" : "");
        }
    }
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelKQuantsSimd);

std::vector<float> dequantize_one(ggml_type type, const void* block) {
    std::vector<float> out(256);
    EXPECT_TRUE(dequantize_rows(type, block, out.data(), 1, 256).ok());
    return out;
}

// Q4_K: scales/mins of sub-blocks 4..7 keep their top two bits in the first 8 bytes.
TEST(KernelKQuants, q4_k_dequantize_follows_the_six_bit_packing) {
    uint8_t b[144] = {};
    const uint16_t d = fp32_to_fp16(0.5f), dmin = fp32_to_fp16(0.25f);
    std::memcpy(b, &d, 2);
    std::memcpy(b + 2, &dmin, 2);
    const uint8_t sc[8] = {1, 2, 3, 63, 37, 48, 17, 5};
    const uint8_t mn[8] = {0, 9, 63, 4, 50, 33, 2, 61};
    uint8_t* s = b + 4;
    for (int j = 0; j < 4; ++j) {
        s[j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
        s[j + 8] = uint8_t((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
    for (int i = 0; i < 128; ++i) b[16 + i] = uint8_t((i * 7) & 0xFF);
    const std::vector<float> y = dequantize_one(ggml_type::q4_k, b);
    for (int e = 0; e < 256; ++e) {
        const int j = e / 32, l = e % 32;
        const uint8_t byte = b[16 + (j / 2) * 32 + l];
        const int q = (j % 2) ? byte >> 4 : byte & 0xF;
        EXPECT_EQ(y[e], 0.5f * float(sc[j]) * float(q) - 0.25f * float(mn[j])) << e;
    }
}

// Q6_K: 4 low bits in ql, 2 high bits in qh, signed 8-bit scale per 16 elements, offset 32.
TEST(KernelKQuants, q6_k_dequantize_reassembles_six_bit_levels) {
    uint8_t b[210] = {};
    for (int i = 0; i < 128; ++i) b[i] = uint8_t(i * 13 + 5);
    for (int i = 0; i < 64; ++i) b[128 + i] = uint8_t(i * 29 + 3);
    const int8_t scales[16] = {1, -1, 127, -128, 5, 0, 9, -7, 64, 33, -50, 2, 3, 4, 100, -90};
    std::memcpy(b + 192, scales, 16);
    const uint16_t d = fp32_to_fp16(0.125f);
    std::memcpy(b + 208, &d, 2);
    const std::vector<float> y = dequantize_one(ggml_type::q6_k, b);
    for (int e = 0; e < 256; ++e) {
        const int half = e / 128, quarter = (e % 128) / 32, l = e % 32;
        const uint8_t lo_byte = b[half * 64 + (quarter % 2) * 32 + l];
        const int lo = quarter >= 2 ? lo_byte >> 4 : lo_byte & 0xF;
        const int hi = (b[128 + half * 32 + l] >> (2 * quarter)) & 3;
        const float want = 0.125f * float(scales[e / 16]) * float((lo | (hi << 4)) - 32);
        EXPECT_EQ(y[e], want) << e;
    }
}

// Q3_K: the high bit set means "no -4"; scales are 6-bit with offset 32.
TEST(KernelKQuants, q3_k_dequantize_applies_hmask_and_scale_offset) {
    uint8_t b[110] = {};
    for (int i = 0; i < 32; ++i) b[i] = uint8_t(i * 37 + 11);      // hmask
    for (int i = 0; i < 64; ++i) b[32 + i] = uint8_t(i * 53 + 7);  // qs
    int scale6[16];
    for (int j = 0; j < 16; ++j) scale6[j] = (j * 11 + 3) % 64;
    uint8_t* s = b + 96;
    for (int j = 0; j < 16; ++j) {
        if (j < 8) {
            s[j] |= uint8_t(scale6[j] & 0xF);
        } else {
            s[j - 8] |= uint8_t((scale6[j] & 0xF) << 4);
        }
        s[8 + j % 4] |= uint8_t((scale6[j] >> 4) << (2 * (j / 4)));
    }
    const uint16_t d = fp32_to_fp16(0.75f);
    std::memcpy(b + 108, &d, 2);
    const std::vector<float> y = dequantize_one(ggml_type::q3_k, b);
    for (int e = 0; e < 256; ++e) {
        const int low = (b[32 + (e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        const bool high = (b[e % 32] >> (e / 32)) & 1;
        const float want = 0.75f * float(scale6[e / 16] - 32) * float(low - (high ? 0 : 4));
        EXPECT_EQ(y[e], want) << e;
    }
}

// Q8_K: a float scale and 256 signed bytes (the 16 block sums are not used to dequantize).
TEST(KernelKQuants, q8_k_dequantize_is_scale_times_int8) {
    uint8_t b[292] = {};
    const float d = 0.0625f;
    std::memcpy(b, &d, 4);
    for (int i = 0; i < 256; ++i) b[4 + i] = uint8_t(i);
    const std::vector<float> y = dequantize_one(ggml_type::q8_k, b);
    for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], d * float(int8_t(uint8_t(i)))) << i;
}

}  // namespace
}  // namespace gguf_squash
