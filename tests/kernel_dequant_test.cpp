// Every SIMD dequantizer must give exactly the scalar reference's floats (bit for bit, NaN
// payloads included natively; see same_float for WebAssembly), for every type that dequantizes: on
// random bytes (random scales include NaN, infinities and subnormals), on blocks whose every
// two-byte position in turn holds a special half (zeros, subnormals, the largest finite,
// infinities, quiet and signalling NaNs, both signs) so that each format's fp16 scales take every
// class wherever they sit, on all-zero and all-ones blocks, and on every tensor of the golden file
// (written by ggml).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "golden_file.h"
#include "kernel_isa_harness.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

using test_support::golden_file;
using test_support::golden_tensor;

std::vector<ggml_type> dequantizable_types() {
    std::vector<ggml_type> out;
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (info && info->valid && ggml_type(id) != ggml_type::f32 && can_dequantize(ggml_type(id)))
            out.push_back(ggml_type(id));
    }
    return out;
}

std::vector<float> dequantize_with(kernel_isa isa, ggml_type type, const std::vector<uint8_t>& q,
                                   int64_t nrows, int64_t n_per_row) {
    std::vector<float> y(size_t(nrows * n_per_row), -7.f);
    EXPECT_TRUE(set_kernel_isa(isa).ok());
    EXPECT_TRUE(dequantize_rows(type, q.data(), y.data(), nrows, n_per_row).ok())
        << type_name(type) << " on " << kernel_isa_name(isa);
    return y;
}

// The first element whose bits differ, or -1. Natively every bit counts, NaN payloads and signs
// included. In WebAssembly a NaN's payload is not fully determined (the engine may commute an add
// whose operands are both NaN, as when a Q4_1 block's d and m both are, and the spec lets it):
// there a NaN must meet a NaN, and every other value its exact bits.
bool same_float(uint32_t x, uint32_t y) {
#if defined(__wasm__)
    const auto is_nan = [](uint32_t v) { return (v & 0x7fffffffu) > 0x7f800000u; };
    if (is_nan(x) && is_nan(y)) return true;
#endif
    return x == y;
}

int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return 0;
    for (size_t i = 0; i < a.size(); ++i) {
        uint32_t x, y;
        std::memcpy(&x, &a[i], 4);
        std::memcpy(&y, &b[i], 4);
        if (!same_float(x, y)) return int64_t(i);
    }
    return -1;
}

std::string bits_of(float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    char s[16];
    std::snprintf(s, sizeof s, "0x%08x", b);
    return s;
}

class KernelDequant : public every_simd_isa {
  protected:
    // Compares GetParam() against scalar on q (nrows rows of n_per_row); counts the floats.
    void expect_same(ggml_type type, const std::vector<uint8_t>& q, int64_t nrows,
                     int64_t n_per_row, const std::string& what) {
        const std::vector<float> want =
            dequantize_with(kernel_isa::scalar, type, q, nrows, n_per_row);
        const std::vector<float> got = dequantize_with(GetParam(), type, q, nrows, n_per_row);
        const int64_t at = first_difference(want, got);
        ASSERT_EQ(at, -1) << type_name(type) << " on " << kernel_isa_name(GetParam()) << ", "
                          << what << ": element " << at << " is " << bits_of(got[size_t(at)])
                          << ", scalar gives " << bits_of(want[size_t(at)]);
        compared_ += want.size();
    }
    size_t compared_ = 0;
};

TEST_P(KernelDequant, random_bytes_match_scalar) {
    for (ggml_type type : dequantizable_types()) {
        const ggml_type_info& info = type_info(type);
        // An odd number of blocks per row (no SIMD loop may run past a row), three rows.
        const int64_t blocks = info.block_size >= 256 ? 5 : 37;
        const int64_t n_per_row = blocks * info.block_size;
        for (uint32_t seed : {1u, 2u, 3u}) {
            std::mt19937 rng(seed * 7919u + uint32_t(type));
            std::vector<uint8_t> q(size_t(3 * blocks) * info.type_size);
            for (uint8_t& b : q) b = uint8_t(rng());
            expect_same(type, q, 3, n_per_row, "random bytes, seed " + std::to_string(seed));
        }
    }
    std::printf("[KernelDequant] %zu random floats compared on %s\n", compared_,
                kernel_isa_name(GetParam()));
    EXPECT_GT(compared_, 0u);
}

TEST_P(KernelDequant, special_scales_at_every_position_match_scalar) {
    const uint16_t specials[] = {
        0x0000, 0x8000,          // zeros
        0x0001, 0x03ff, 0x8155,  // subnormals
        0x0400, 0x3c00, 0xbc00,  // smallest normal, +-1
        0x7bff, 0xfbff,          // largest finite
        0x7c00, 0xfc00,          // infinities
        0x7e00, 0xfe00, 0x7c01,  // quiet NaNs, a signalling NaN
        0x7fff, 0x3555,
    };
    for (ggml_type type : dequantizable_types()) {
        const ggml_type_info& info = type_info(type);
        if (!info.is_quantized) continue;  // F16 / BF16 / F64: every value is its own "scale"
        std::mt19937 rng(uint32_t(type) + 11u);
        std::vector<uint8_t> payload(info.type_size);
        for (uint8_t& b : payload) b = uint8_t(rng());
        // One row: for each position p and special value s, a block with s written at p.
        std::vector<uint8_t> q;
        for (uint32_t p = 0; p + 2 <= info.type_size; ++p) {
            for (uint16_t s : specials) {
                const size_t at = q.size();
                q.insert(q.end(), payload.begin(), payload.end());
                std::memcpy(q.data() + at + p, &s, 2);
            }
        }
        const int64_t nblocks = int64_t(q.size() / info.type_size);
        expect_same(type, q, 1, nblocks * info.block_size, "special halves at every offset");
    }
    std::printf("[KernelDequant] %zu special-scale floats compared on %s\n", compared_,
                kernel_isa_name(GetParam()));
    EXPECT_GT(compared_, 0u);
}

TEST_P(KernelDequant, all_zero_and_all_ones_blocks_match_scalar) {
    for (ggml_type type : dequantizable_types()) {
        const ggml_type_info& info = type_info(type);
        for (uint8_t fill : {uint8_t(0x00), uint8_t(0xff), uint8_t(0x55)}) {
            std::vector<uint8_t> q(size_t(3) * info.type_size, fill);
            expect_same(type, q, 1, 3 * int64_t(info.block_size),
                        "every byte " + std::to_string(int(fill)));
        }
    }
    EXPECT_GT(compared_, 0u);
}

TEST_P(KernelDequant, golden_tensors_match_scalar) {
    const golden_file& g = golden_file::get();
    ASSERT_EQ(g.error(), "");
    size_t tensors = 0;
    for (const golden_tensor& t : g.tensors()) {
        if (t.info.type == ggml_type::f32 || !can_dequantize(t.info.type)) continue;
        expect_same(t.info.type, t.bytes, int64_t(t.info.n_rows()), int64_t(t.info.ne[0]),
                    t.info.name);
        ++tensors;
    }
    std::printf("[KernelDequant] %zu golden tensors (%zu floats) compared on %s\n", tensors,
                compared_, kernel_isa_name(GetParam()));
    EXPECT_GT(tensors, 400u);
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelDequant);

}  // namespace
}  // namespace gguf_squash
