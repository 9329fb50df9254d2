// One ISA harness for every suite whose result must not depend on the kernel implementation.
//
//   class my_suite : public gguf_squash::every_kernel_isa {};
//   TEST_P(my_suite, ...) { ... }             // runs with GetParam() active, restored after
//   GS_INSTANTIATE_EVERY_KERNEL_ISA(my_suite);  // scalar, sse4, avx2 / wasm128 as available
//
//   class my_diff : public gguf_squash::every_simd_isa {};
//   TEST_P(my_diff, ...) { ... quantize with kernel_isa::scalar and with GetParam() ... }
//   GS_INSTANTIATE_EVERY_SIMD_ISA(my_diff);   // one instance per SIMD implementation; in a build
//                                             // with only scalar one instance that skips, saying
//                                             so
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "quant/quantize.h"

namespace gguf_squash {

// Restores the implementation that was active when it was made, however the test ends.
class kernel_isa_guard {
  public:
    kernel_isa_guard() : saved_(active_kernel_isa()) {}
    ~kernel_isa_guard() { (void)set_kernel_isa(saved_); }
    kernel_isa_guard(const kernel_isa_guard&) = delete;
    kernel_isa_guard& operator=(const kernel_isa_guard&) = delete;

  private:
    kernel_isa saved_;
};

// The SIMD implementations this build and CPU can run (available_kernel_isas() without scalar).
inline std::vector<kernel_isa> simd_kernel_isas() {
    std::vector<kernel_isa> out;
    for (kernel_isa isa : available_kernel_isas())
        if (isa != kernel_isa::scalar) out.push_back(isa);
    return out;
}

inline std::string kernel_isa_param_name(const ::testing::TestParamInfo<kernel_isa>& info) {
    return kernel_isa_name(info.param);
}

// The message a differential test skips with when there is nothing to compare scalar against.
inline std::string only_scalar_message() {
    return "only the scalar reference is available in this build/CPU: no SIMD implementation to "
           "compare against it";
}

// A suite run once per available implementation, that implementation active during the test.
class every_kernel_isa : public ::testing::TestWithParam<kernel_isa> {
  protected:
    void SetUp() override {
        ASSERT_TRUE(set_kernel_isa(GetParam()).ok()) << kernel_isa_name(GetParam());
    }

  private:
    kernel_isa_guard guard_;
};

// A suite comparing each SIMD implementation against scalar. Its parameter is a SIMD
// implementation (active during the test); when the build has none, the single instance is scalar
// and skips visibly instead of passing after zero comparisons.
class every_simd_isa : public ::testing::TestWithParam<kernel_isa> {
  protected:
    void SetUp() override {
        if (GetParam() == kernel_isa::scalar) GTEST_SKIP() << only_scalar_message();
        ASSERT_TRUE(set_kernel_isa(GetParam()).ok()) << kernel_isa_name(GetParam());
    }

  private:
    kernel_isa_guard guard_;
};

// Rows for comparing a SIMD search with the scalar reference: row r is, by r % 4, Gaussian,
// heavy-tailed (Student's t, 2 degrees of freedom), `distinct` evenly spaced values (ties
// between the search's candidates), or Gaussian times a log-normal factor; and one row of
// random importance weights (log-normal, spanning orders of magnitude).
struct varied_rows {
    std::vector<float> x, importance;
};
inline varied_rows make_varied_rows(int64_t n, int64_t nrows, uint32_t seed, int distinct) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> gauss(0.f, 1.f);
    std::student_t_distribution<float> heavy(2.f);
    varied_rows out;
    out.x.resize(size_t(n * nrows));
    for (int64_t r = 0; r < nrows; ++r) {
        for (int64_t i = 0; i < n; ++i) {
            float v = 0;
            switch (r % 4) {
                case 0:
                    v = gauss(rng);
                    break;
                case 1:
                    v = heavy(rng);
                    break;
                case 2:
                    v = float(int(rng() % uint32_t(distinct)) - distinct / 2) * 0.25f;
                    break;
                default:
                    v = gauss(rng) * std::exp(gauss(rng));
                    break;
            }
            out.x[size_t(r * n + i)] = v;
        }
    }
    out.importance.resize(size_t(n));
    for (float& w : out.importance) w = std::exp(2.f * gauss(rng));
    return out;
}

// Quantizes `nrows` rows with the scalar reference and with `isa` (left active) and expects
// the same bytes.
inline void expect_isa_matches_scalar(kernel_isa isa, ggml_type type, const float* x, int64_t nrows,
                                      int64_t n, const float* importance) {
    const size_t bytes = size_t(row_size(type, uint64_t(n)) * uint64_t(nrows));
    ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
    std::vector<uint8_t> want(bytes);
    ASSERT_TRUE(quantize_rows(type, x, want.data(), nrows, n, importance).ok());
    ASSERT_TRUE(set_kernel_isa(isa).ok());
    std::vector<uint8_t> got(bytes, 0xEE);
    ASSERT_TRUE(quantize_rows(type, x, got.data(), nrows, n, importance).ok());
    EXPECT_EQ(got, want) << type_name(type) << " on " << kernel_isa_name(isa)
                         << (importance ? ", with importance weights" : ", no importance weights");
}

inline std::vector<kernel_isa> simd_kernel_isas_or_scalar() {
    std::vector<kernel_isa> out = simd_kernel_isas();
    if (out.empty()) out.push_back(kernel_isa::scalar);
    return out;
}

}  // namespace gguf_squash

#define GS_INSTANTIATE_EVERY_KERNEL_ISA(suite)                                            \
    INSTANTIATE_TEST_SUITE_P(isa, suite,                                                  \
                             ::testing::ValuesIn(::gguf_squash::available_kernel_isas()), \
                             ::gguf_squash::kernel_isa_param_name)

#define GS_INSTANTIATE_EVERY_SIMD_ISA(suite)                                                   \
    INSTANTIATE_TEST_SUITE_P(isa, suite,                                                       \
                             ::testing::ValuesIn(::gguf_squash::simd_kernel_isas_or_scalar()), \
                             ::gguf_squash::kernel_isa_param_name)
