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
