// Every SIMD implementation must write exactly the scalar reference's bytes. Random rows across
// seeds, row lengths and value scales (tiny, huge, zeros, constants, spikes), with and without
// importance weights, for every type we can quantize to.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "kernel_isa_harness.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

enum class value_shape { gauss, tiny, huge, zeros, constant, spikes, onesided, ramp };
const char* shape_name(value_shape s) {
    switch (s) {
        case value_shape::gauss:
            return "gauss";
        case value_shape::tiny:
            return "tiny";
        case value_shape::huge:
            return "huge";
        case value_shape::zeros:
            return "zeros";
        case value_shape::constant:
            return "constant";
        case value_shape::spikes:
            return "spikes";
        case value_shape::onesided:
            return "onesided";
        case value_shape::ramp:
            return "ramp";
    }
    return "?";
}

std::vector<float> make_rows(value_shape shape, size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) {
        switch (shape) {
            case value_shape::gauss:
                x[i] = normal(rng) * 0.02f;
                break;
            case value_shape::tiny:
                x[i] = normal(rng) * 1e-30f;
                break;
            case value_shape::huge:
                x[i] = normal(rng) * 3e4f;
                break;
            case value_shape::zeros:
                x[i] = 0.f;
                break;
            case value_shape::constant:
                x[i] = 0.125f;
                break;
            case value_shape::spikes:
                x[i] = (rng() % 97 == 0) ? normal(rng) * 50.f : normal(rng) * 0.01f;
                break;
            case value_shape::onesided:
                x[i] = std::fabs(normal(rng));
                break;
            case value_shape::ramp:
                x[i] = float(int(i % 512) - 256) / 64.f;
                break;
        }
    }
    return x;
}

std::vector<ggml_type> quantizable_types() {
    std::vector<ggml_type> out;
    for (uint32_t id = 1; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (info->valid && can_quantize_to(ggml_type(id))) out.push_back(ggml_type(id));
    }
    return out;
}

class KernelSimd : public every_simd_isa {};

TEST_P(KernelSimd, every_isa_matches_scalar_bytes) {
    const kernel_isa isa = GetParam();
    size_t compared = 0;
    for (ggml_type type : quantizable_types()) {
        const uint32_t block = type_info(type).block_size;
        // Row lengths: one block, an odd number of blocks (SIMD tails), and a wide row.
        const std::vector<int64_t> row_lengths = {int64_t(block) * (block >= 256 ? 1 : 8),
                                                  int64_t(block) * (block >= 256 ? 3 : 13),
                                                  block >= 256 ? 2048 : 1024};
        for (int64_t n_per_row : row_lengths) {
            for (value_shape shape :
                 {value_shape::gauss, value_shape::tiny, value_shape::huge, value_shape::zeros,
                  value_shape::constant, value_shape::spikes, value_shape::onesided,
                  value_shape::ramp}) {
                for (uint32_t seed : {1u, 2u}) {
                    const int64_t nrows = 3;
                    const std::vector<float> x = make_rows(shape, size_t(n_per_row * nrows), seed);
                    std::vector<float> im =
                        make_rows(value_shape::onesided, size_t(n_per_row), seed + 100);
                    for (bool with_imatrix : {false, true}) {
                        if (!with_imatrix && quantize_requires_imatrix(type)) continue;
                        const size_t bytes = row_size(type, uint64_t(n_per_row)) * nrows;
                        std::vector<uint8_t> want(bytes);
                        ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
                        ASSERT_TRUE(quantize_rows(type, x.data(), want.data(), nrows, n_per_row,
                                                  with_imatrix ? im.data() : nullptr)
                                        .ok());
                        ASSERT_TRUE(set_kernel_isa(isa).ok());
                        std::vector<uint8_t> got(bytes, 0xAB);
                        ASSERT_TRUE(quantize_rows(type, x.data(), got.data(), nrows, n_per_row,
                                                  with_imatrix ? im.data() : nullptr)
                                        .ok());
                        ++compared;
                        ASSERT_EQ(got, want)
                            << type_name(type) << " on " << kernel_isa_name(isa) << ", "
                            << shape_name(shape) << ", n_per_row " << n_per_row << ", seed " << seed
                            << (with_imatrix ? ", with imatrix" : "");
                        // Dequantization must agree across ISAs too.
                        if (can_dequantize(type)) {
                            std::vector<float> ref(size_t(n_per_row * nrows));
                            ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
                            ASSERT_TRUE(
                                dequantize_rows(type, want.data(), ref.data(), nrows, n_per_row)
                                    .ok());
                            ASSERT_TRUE(set_kernel_isa(isa).ok());
                            std::vector<float> back(ref.size());
                            ASSERT_TRUE(
                                dequantize_rows(type, want.data(), back.data(), nrows, n_per_row)
                                    .ok());
                            ASSERT_EQ(0, std::memcmp(back.data(), ref.data(), ref.size() * 4))
                                << "dequantize " << type_name(type) << " on "
                                << kernel_isa_name(isa);
                        }
                    }
                }
            }
        }
    }
    std::printf("[KernelSimd] %zu %s outputs compared byte for byte against scalar\n", compared,
                kernel_isa_name(isa));
    // Every quantizable type (27 and F32) at three lengths, eight shapes and two seeds.
    EXPECT_GE(compared, quantizable_types().size() * 3 * 8 * 2);
}

// F16 and BF16 to F32 (the first step of every F16 model's quantization): all 65536 bit patterns,
// including subnormals, infinities and NaNs, on every ISA, at lengths that end in each of the
// vector loops and the scalar tail.
TEST_P(KernelSimd, f16_bf16_to_f32_every_bit_pattern) {
    const kernel_isa isa = GetParam();
    size_t compared = 0;
    std::vector<uint16_t> all(65536 + 16);
    for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i * 40503u);  // odd: a permutation
    for (size_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
    for (ggml_type type : {ggml_type::f16, ggml_type::bf16}) {
        for (int64_t n : {int64_t(65536 + 16), int64_t(65536 + 13), int64_t(65536 + 4), int64_t(7),
                          int64_t(12)}) {
            std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
            ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
            ASSERT_TRUE(dequantize_rows(type, all.data(), want.data(), 1, n).ok());
            ASSERT_TRUE(set_kernel_isa(isa).ok());
            std::fill(got.begin(), got.end(), -1.0f);
            ASSERT_TRUE(dequantize_rows(type, all.data(), got.data(), 1, n).ok());
            for (int64_t i = 0; i < n; ++i) {
                uint32_t a, b;
                std::memcpy(&a, &want[size_t(i)], 4);
                std::memcpy(&b, &got[size_t(i)], 4);
                ASSERT_EQ(a, b) << type_name(type) << " on " << kernel_isa_name(isa) << ": bits 0x"
                                << std::hex << all[size_t(i)] << " (n " << std::dec << n << ")";
                ++compared;
            }
        }
    }
    EXPECT_EQ(compared, 2u * (65536 + 16 + 65536 + 13 + 65536 + 4 + 7 + 12));
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelSimd);

// The names GGUF_SQUASH_KERNELS takes: each available one selects itself, anything else is an
// error naming what is available (the start-up choice turns that error into every call's status).
TEST(KernelDispatch, implementation_names_resolve_or_are_refused) {
    const std::vector<kernel_isa> avail = available_kernel_isas();
    ASSERT_FALSE(avail.empty());
    EXPECT_EQ(avail.front(), kernel_isa::scalar);
    for (kernel_isa isa : avail) {
        const result<kernel_isa> r = kernel_isa_from_name(kernel_isa_name(isa));
        ASSERT_TRUE(r.ok()) << kernel_isa_name(isa);
        EXPECT_EQ(r.value(), isa);
    }
    for (kernel_isa isa : {kernel_isa::sse4, kernel_isa::avx2, kernel_isa::wasm128}) {
        if (std::find(avail.begin(), avail.end(), isa) != avail.end()) continue;
        const result<kernel_isa> r = kernel_isa_from_name(kernel_isa_name(isa));
        ASSERT_FALSE(r.ok()) << kernel_isa_name(isa);
        EXPECT_EQ(r.error().code(), status_code::unsupported);
        EXPECT_NE(r.error().message().find("available: scalar"), std::string::npos)
            << r.error().message();
    }
    for (const char* bad : {"", "avx512", "Scalar", "sse4 ", "wasm"}) {
        const result<kernel_isa> r = kernel_isa_from_name(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code(), status_code::invalid_argument);
        EXPECT_NE(r.error().message().find("unknown kernel implementation"), std::string::npos);
    }
    // The test binary runs without GGUF_SQUASH_KERNELS (or with a valid one).
    EXPECT_TRUE(kernel_selection_status().ok()) << kernel_selection_status().message();
}

}  // namespace
}  // namespace gguf_squash
