// Legacy formats (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0) and F16/BF16: every SIMD implementation must give the
// scalar reference's bytes on the edge cases the SIMD code treats specially (signed zeros, exact
// rounding ties, NaN, infinities, subnormals, values near FLT_MAX), and the reference's F16/BF16
// conversions must match quant_common.h's scalar functions.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernel_isa_harness.h"
#include "quant/quant_common.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

constexpr ggml_type kLegacyTypes[] = {ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0,
                                      ggml_type::q5_1, ggml_type::q8_0};

// Rows of 32-element blocks, one edge case per block, plus random blocks.
std::vector<float> edge_case_blocks() {
    std::vector<float> x;
    auto block = [&](auto value_of) {
        for (int j = 0; j < 32; ++j) x.push_back(value_of(j));
    };
    std::mt19937 rng(7);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    block([](int) { return 0.0f; });
    block([](int) { return -0.0f; });
    block([](int j) { return j % 3 ? 0.0f : -0.0f; });
    block([](int j) { return j % 3 ? -0.0f : 0.0f; });
    block([](int j) { return j < 20 ? -0.0f : 1.0f; });  // min is a zero, first one negative
    block([](int j) { return j < 20 ? 0.0f : -1.0f; });  // max is a zero
    block([](int j) { return j == 5 ? 0.0f : -2.0f + (j == 9 ? -0.0f : 0.0f); });
    block([](int) { return 1.5f; });
    block([](int) { return -3.25f; });
    block([](int j) { return float(j) - 15.5f; });                   // halves: rounding ties
    block([](int j) { return j == 0 ? 127.0f : float(j) + 0.5f; });  // Q8_0 id = 1, exact ties
    block([](int j) { return j == 0 ? -127.0f : -float(j) - 0.5f; });
    block([](int j) { return j == 3 ? 8.0f : float(j % 17) - 8.0f; });  // +8 and -8 tie on |max|
    block([](int j) { return j == 3 ? -16.0f : float(j % 33) - 16.0f; });
    block([&](int j) { return j == 7 ? NAN : gauss(rng); });
    block([&](int j) { return j == 0 ? NAN : gauss(rng); });
    block([&](int j) { return j == 31 ? -NAN : gauss(rng); });
    block([&](int j) { return j == 4 ? INFINITY : gauss(rng); });
    block([&](int j) { return j == 4 ? -INFINITY : gauss(rng); });
    block([](int) { return INFINITY; });
    block([](int) { return -INFINITY; });
    block([](int j) { return j % 2 ? FLT_MAX : -FLT_MAX; });
    block([](int j) { return j % 5 ? 3e38f : -3.1e38f; });
    block([](int j) { return float(j) * 1e-45f; });  // subnormals: scale or its inverse overflows
    block([](int j) { return float(j - 16) * 1e-40f; });
    block([](int j) { return float(j) * 1e-38f; });
    block([](int j) { return float(j - 16) * 3e-39f; });
    block([](int j) { return 6e4f + float(j) * 100.0f; });  // scale at the fp16 edge
    block([](int j) { return -7e4f * float(j % 2); });
    for (int b = 0; b < 64; ++b) {
        const float scale = std::ldexp(1.0f, b % 40 - 20);
        block([&](int) { return gauss(rng) * scale; });
    }
    for (int b = 0; b < 16; ++b) {  // one-sided blocks
        block([&](int) { return std::fabs(gauss(rng)) + (b % 2 ? 3.0f : 0.0f); });
    }
    while (x.size() % 128) x.push_back(gauss(rng));  // whole rows of 4 blocks
    return x;
}

std::vector<uint8_t> quantize_with(kernel_isa isa, ggml_type type, const std::vector<float>& x,
                                   int64_t n_per_row, const float* imatrix) {
    EXPECT_TRUE(set_kernel_isa(isa).ok());
    const int64_t nrows = int64_t(x.size()) / n_per_row;
    std::vector<uint8_t> out(row_size(type, uint64_t(n_per_row)) * uint64_t(nrows));
    EXPECT_TRUE(quantize_rows(type, x.data(), out.data(), nrows, n_per_row, imatrix).ok());
    return out;
}

// Compared against the scalar reference: one instance per SIMD implementation.
class KernelLegacySimd : public every_simd_isa {};
// Compared against the format's definition: every implementation, scalar included.
class KernelLegacyConversions : public every_kernel_isa {};

TEST_P(KernelLegacySimd, edge_case_blocks_match_scalar) {
    const std::vector<float> x = edge_case_blocks();
    const int64_t n_per_row = 32 * 4;
    ASSERT_EQ(x.size() % size_t(n_per_row), 0u);
    std::vector<float> imatrix(static_cast<size_t>(n_per_row));
    for (size_t j = 0; j < imatrix.size(); ++j) imatrix[j] = 0.25f + float(j % 7);
    for (ggml_type type : kLegacyTypes) {
        for (const float* im :
             {static_cast<const float*>(nullptr), static_cast<const float*>(imatrix.data())}) {
            const auto want = quantize_with(kernel_isa::scalar, type, x, n_per_row, im);
            const auto got = quantize_with(GetParam(), type, x, n_per_row, im);
            ASSERT_EQ(got.size(), want.size());
            const size_t bs = type_info(type).type_size;
            for (size_t i = 0; i < want.size(); ++i) {
                if (got[i] != want[i]) {
                    ADD_FAILURE() << type_name(type) << (im ? " imatrix" : "") << " block "
                                  << i / bs << " byte " << i % bs << ": got " << int(got[i])
                                  << " want " << int(want[i]);
                    break;
                }
            }
        }
    }
}

TEST_P(KernelLegacySimd, dequantize_matches_scalar) {
    const std::vector<float> x = edge_case_blocks();
    const int64_t n = int64_t(x.size());
    for (ggml_type type : kLegacyTypes) {
        const auto q = quantize_with(kernel_isa::scalar, type, x, n, nullptr);
        std::vector<float> want(x.size()), got(x.size());
        ASSERT_TRUE(dequantize_rows(type, q.data(), want.data(), 1, n).ok());
        ASSERT_TRUE(set_kernel_isa(GetParam()).ok());
        ASSERT_TRUE(dequantize_rows(type, q.data(), got.data(), 1, n).ok());
        EXPECT_EQ(std::memcmp(got.data(), want.data(), x.size() * 4), 0) << type_name(type);
    }
}

// Every float class for the half-precision conversions: zeros, subnormals of both formats,
// rounding ties, the overflow edge, infinities and NaN payloads.
std::vector<float> conversion_inputs() {
    std::vector<uint32_t> bits = {0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x33000000,
                                  0x33000001, 0x337fffff, 0x387fe000, 0x387ff000, 0x38800000,
                                  0x477fe000, 0x477fefff, 0x477ff000, 0x477fffff, 0x47800000,
                                  0x7f7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000,
                                  0xffc00001, 0x7fffffff, 0x3f800000, 0x3f801000, 0x3f803000,
                                  0x3f808000, 0x3f818000, 0x7f7f8000, 0x7f7f7fff, 0xbf7f8000};
    std::mt19937 rng(11);
    for (int i = 0; i < 4096; ++i) bits.push_back(rng());
    for (int i = 0; i < 1024; ++i) bits.push_back((rng() & 0x8fffffffu) | 0x30000000u);
    while (bits.size() % 64) bits.push_back(rng());
    std::vector<float> x(bits.size());
    std::memcpy(x.data(), bits.data(), bits.size() * 4);
    return x;
}

TEST_P(KernelLegacyConversions, f16_bf16_match_the_conversion_functions_bit_for_bit) {
    const std::vector<float> x = conversion_inputs();
    const int64_t n = int64_t(x.size());
    for (ggml_type type : {ggml_type::f16, ggml_type::bf16}) {
        const auto got = quantize_with(GetParam(), type, x, n, nullptr);
        for (size_t i = 0; i < x.size(); ++i) {
            uint16_t h;
            std::memcpy(&h, got.data() + 2 * i, 2);
            const uint16_t want = type == ggml_type::f16 ? fp32_to_fp16(x[i]) : fp32_to_bf16(x[i]);
            ASSERT_EQ(h, want) << type_name(type) << " input bits " << std::hex << f32_bits(x[i]);
        }
        std::vector<float> back(x.size());
        ASSERT_TRUE(dequantize_rows(type, got.data(), back.data(), 1, n).ok());
        for (size_t i = 0; i < x.size(); ++i) {
            uint16_t h;
            std::memcpy(&h, got.data() + 2 * i, 2);
            const float want = type == ggml_type::f16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
            ASSERT_EQ(f32_bits(back[i]), f32_bits(want)) << type_name(type) << " half " << h;
        }
    }
}

// Row tails that do not fill a whole vector must take the scalar path correctly.
TEST_P(KernelLegacySimd, odd_lengths_match_scalar) {
    const std::vector<float> all = conversion_inputs();
    for (int64_t n : {1, 3, 7, 9, 15, 17, 33}) {
        std::vector<float> x(all.begin(), all.begin() + n * 3);
        for (ggml_type type : {ggml_type::f16, ggml_type::bf16}) {
            const auto want = quantize_with(kernel_isa::scalar, type, x, n, nullptr);
            const auto got = quantize_with(GetParam(), type, x, n, nullptr);
            EXPECT_EQ(got, want) << type_name(type) << " n=" << n;
        }
    }
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelLegacySimd);
GS_INSTANTIATE_EVERY_KERNEL_ISA(KernelLegacyConversions);

}  // namespace
}  // namespace gguf_squash
