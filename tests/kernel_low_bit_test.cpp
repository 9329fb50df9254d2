// Low-bit family (Q1_0 Q2_0 MXFP4 NVFP4 TQ1_0 TQ2_0 IQ4_NL IQ4_XS) beyond the golden file: the
// IQ4, Q1_0, Q2_0, TQ1_0 and TQ2_0 SIMD paths against the scalar reference on blocks built to hit
// the edge cases of the reference (level-midpoint ties, all-zero sub-blocks, subnormals, sums that
// overflow, non-finite elements), and read-back of every non-integer tensor type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernel_isa_harness.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

// IQ4_NL's levels and their midpoints: with a block whose largest magnitude is +127 the first
// trial scale is exactly 1 (d = -127 / -127), so these land exactly on the level search's
// decision points, or a few ulps either side of them.
const float kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                           1,    13,   25,  38,  53,  69,  89,  113};

std::vector<float> edge_rows(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t b = 0; b < n / 32; ++b) {
        float* xb = x.data() + b * 32;
        switch ((b + seed) % 10) {
            case 0:  // levels and midpoints, max magnitude -127 first
                for (int j = 0; j < 32; ++j) {
                    const int k = j % 16;
                    xb[j] = (j < 16 || k == 15) ? kLevels[k] : 0.5f * (kLevels[k] + kLevels[k + 1]);
                }
                xb[0] = 127.f;
                break;
            case 8:
                for (int j = 0; j < 32; ++j) {
                    const int k = j % 15;
                    float m = 0.5f * (kLevels[k] + kLevels[k + 1]);
                    for (int u = 0; u < int(j / 15) + 1; ++u)
                        m = std::nextafter(m, j % 2 ? 1000.f : -1000.f);
                    xb[j] = m;
                }
                xb[0] = 127.f;
                break;
            case 1:
                std::fill(xb, xb + 32, 0.f);
                break;
            case 2:
                for (int j = 0; j < 32; ++j) xb[j] = normal(rng) * 1e-40f;  // subnormal
                break;
            case 3:
                for (int j = 0; j < 32; ++j) xb[j] = normal(rng) * 1e30f;  // x^2 overflows
                break;
            case 4:
                for (int j = 0; j < 32; ++j) xb[j] = normal(rng);
                xb[7] = std::numeric_limits<float>::infinity();
                break;
            case 5:
                for (int j = 0; j < 32; ++j) xb[j] = normal(rng);
                xb[3] = std::numeric_limits<float>::quiet_NaN();
                break;
            case 6:
                for (int j = 0; j < 32; ++j) xb[j] = (j == 5) ? 3.f : 0.f;  // a single spike
                break;
            case 7:
                for (int j = 0; j < 32; ++j) xb[j] = float(j % 5) - 2.f;  // equal magnitudes
                break;
            default:  // case 9
                for (int j = 0; j < 32; ++j) xb[j] = normal(rng) * 0.02f;
                break;
        }
    }
    return x;
}

class KernelLowBitSimd : public every_simd_isa {};

TEST_P(KernelLowBitSimd, iq4_matches_scalar_on_edge_blocks) {
    const kernel_isa isa = GetParam();
    size_t compared = 0;
    for (ggml_type type : {ggml_type::iq4_nl, ggml_type::iq4_xs}) {
        for (int64_t n_per_row : {int64_t(256), int64_t(768), int64_t(2304)}) {
            for (uint32_t seed = 0; seed < 9; ++seed) {
                const int64_t nrows = 3;
                const std::vector<float> x = edge_rows(n_per_row * nrows, seed);
                std::vector<float> im = edge_rows(n_per_row, seed + 50);
                for (float& w : im) w = std::isfinite(w) ? std::fabs(w) : 1.f;
                for (bool with_imatrix : {false, true}) {
                    const float* qw = with_imatrix ? im.data() : nullptr;
                    const size_t bytes = row_size(type, uint64_t(n_per_row)) * nrows;
                    std::vector<uint8_t> want(bytes);
                    ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
                    ASSERT_TRUE(
                        quantize_rows(type, x.data(), want.data(), nrows, n_per_row, qw).ok());
                    ASSERT_TRUE(set_kernel_isa(isa).ok());
                    std::vector<uint8_t> got(bytes, 0xCD);
                    ASSERT_TRUE(
                        quantize_rows(type, x.data(), got.data(), nrows, n_per_row, qw).ok());
                    EXPECT_EQ(got, want)
                        << type_name(type) << " on " << kernel_isa_name(isa) << ", n_per_row "
                        << n_per_row << ", seed " << seed << (with_imatrix ? ", with imatrix" : "");
                    ++compared;
                }
            }
        }
    }
    std::printf("[KernelLowBitSimd] %zu IQ4 %s outputs compared against scalar\n", compared,
                kernel_isa_name(isa));
    EXPECT_EQ(compared, 2u * 3 * 9 * 2);
}

// Q1_0 Q2_0 TQ1_0 TQ2_0: the SIMD paths compare x / amax with +-0.5 instead of rounding, and
// leave blocks with non-finite values or an infinite inverse scale to the reference. Each block
// (of the largest block size, 256) takes one edge pattern: exact ties at +-0.5 of the maximum,
// values one ulp either side of them, signed zeros, a maximum whose inverse overflows, a single
// NaN or infinity, huge values, or plain noise.
std::vector<float> trit_edge_rows(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t b = 0; b < n / 256; ++b) {
        float* xb = x.data() + b * 256;
        const float amax = std::ldexp(1.f, int(rng() % 20) - 10);  // 1 / amax is exact
        switch ((b + seed) % 9) {
            case 0:  // exact ties: x / amax = +-0.5, +-1, 0
                for (int j = 0; j < 256; ++j) xb[j] = amax * 0.5f * float(int(j % 5) - 2);
                break;
            case 1:  // one ulp either side of the ties
                for (int j = 0; j < 256; ++j) {
                    const float tie = amax * (j % 2 ? 0.5f : -0.5f);
                    xb[j] = std::nextafter(tie, j % 4 < 2 ? 0.f : 2 * tie);
                }
                xb[255] = amax;
                break;
            case 2:  // signed zeros only, then with one nonzero value
                for (int j = 0; j < 256; ++j) xb[j] = j % 3 ? 0.f : -0.f;
                if (seed % 2) xb[17] = -amax;
                break;
            case 3:  // the inverse of the maximum overflows
                for (int j = 0; j < 256; ++j) xb[j] = normal(rng) * 1e-39f;
                break;
            case 4:
                for (int j = 0; j < 256; ++j) xb[j] = normal(rng);
                xb[rng() % 256] = std::numeric_limits<float>::quiet_NaN();
                break;
            case 5:
                for (int j = 0; j < 256; ++j) xb[j] = normal(rng);
                xb[rng() % 256] = (seed % 2 ? -1 : 1) * std::numeric_limits<float>::infinity();
                break;
            case 6:
                for (int j = 0; j < 256; ++j) xb[j] = normal(rng) * 1e37f;
                break;
            case 7:  // one-sided: Q1_0 signs all set, sums of positives
                for (int j = 0; j < 256; ++j) xb[j] = std::fabs(normal(rng)) * 0.01f;
                break;
            default:
                for (int j = 0; j < 256; ++j) xb[j] = normal(rng) * 0.02f;
                break;
        }
    }
    return x;
}

TEST_P(KernelLowBitSimd, ternary_and_sign_types_match_scalar_on_edge_blocks) {
    const kernel_isa isa = GetParam();
    size_t compared = 0;
    for (ggml_type type : {ggml_type::q1_0, ggml_type::q2_0, ggml_type::tq1_0, ggml_type::tq2_0}) {
        // One block of 256, an odd count of them (Q1_0 groups 8 blocks of 128), a wide row.
        for (int64_t n_per_row : {int64_t(256), int64_t(768), int64_t(2304)}) {
            for (uint32_t seed = 0; seed < 9; ++seed) {
                const int64_t nrows = 3;
                const std::vector<float> x = trit_edge_rows(n_per_row * nrows, seed);
                const size_t bytes = row_size(type, uint64_t(n_per_row)) * nrows;
                std::vector<uint8_t> want(bytes);
                ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
                ASSERT_TRUE(
                    quantize_rows(type, x.data(), want.data(), nrows, n_per_row, nullptr).ok());
                ASSERT_TRUE(set_kernel_isa(isa).ok());
                std::vector<uint8_t> got(bytes, 0xCD);
                ASSERT_TRUE(
                    quantize_rows(type, x.data(), got.data(), nrows, n_per_row, nullptr).ok());
                EXPECT_EQ(got, want) << type_name(type) << " on " << kernel_isa_name(isa)
                                     << ", n_per_row " << n_per_row << ", seed " << seed;
                ++compared;
            }
        }
    }
    std::printf("[KernelLowBitSimd] %zu Q1_0/Q2_0/TQ1_0/TQ2_0 %s outputs compared against scalar\n",
                compared, kernel_isa_name(isa));
    EXPECT_EQ(compared, 4u * 3 * 9);
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelLowBitSimd);

// Quantizing the same rows in one call or row by row gives the same bytes (the pipeline splits
// tensors into row chunks, and the SIMD IQ4_NL path lets lanes run across row ends).
TEST(KernelLowBit, row_chunks_do_not_change_bytes) {
    for (ggml_type type :
         {ggml_type::q1_0, ggml_type::q2_0, ggml_type::mxfp4, ggml_type::nvfp4, ggml_type::tq1_0,
          ggml_type::tq2_0, ggml_type::iq4_nl, ggml_type::iq4_xs}) {
        const int64_t n_per_row = 768, nrows = 5;
        const std::vector<float> x = edge_rows(n_per_row * nrows, 3);
        const size_t rs = row_size(type, uint64_t(n_per_row));
        std::vector<uint8_t> whole(rs * nrows), rows(rs * nrows);
        ASSERT_TRUE(quantize_rows(type, x.data(), whole.data(), nrows, n_per_row, nullptr).ok());
        for (int64_t r = 0; r < nrows; ++r) {
            ASSERT_TRUE(quantize_rows(type, x.data() + r * n_per_row, rows.data() + r * rs, 1,
                                      n_per_row, nullptr)
                            .ok());
        }
        EXPECT_EQ(whole, rows) << type_name(type);
    }
}

// The issue asks that every readable tensor type can be read back as F32; only the integer
// types (I8..I64) have no float meaning.
TEST(KernelLowBit, every_float_or_quantized_type_dequantizes) {
    size_t types = 0;
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (!info->valid) continue;
        const ggml_type t = ggml_type(id);
        if (t == ggml_type::i8 || t == ggml_type::i16 || t == ggml_type::i32 || t == ggml_type::i64)
            continue;
        EXPECT_TRUE(can_dequantize(t)) << info->name;
        ++types;
    }
    EXPECT_EQ(types, 31u);
}

// F64 reads back as the C conversion double -> float (round to nearest even, overflow to inf).
TEST(KernelLowBit, f64_reads_back_as_nearest_float) {
    const std::vector<double> v = {0.0,
                                   -0.0,
                                   1.0 / 3.0,
                                   -2.5e-40,
                                   1e300,
                                   -1e300,
                                   3.4028235677973366e38,
                                   1.0000000596046448,
                                   65504.0,
                                   std::numeric_limits<double>::denorm_min()};
    std::vector<float> got(v.size());
    ASSERT_TRUE(dequantize_rows(ggml_type::f64, v.data(), got.data(), 1, int64_t(v.size())).ok());
    for (size_t i = 0; i < v.size(); ++i) {
        const float want = static_cast<float>(v[i]);
        EXPECT_EQ(0, std::memcmp(&got[i], &want, 4)) << "element " << i;
    }
}

}  // namespace
}  // namespace gguf_squash
