// f16_scales_of (core/quant/block_scales.h) lets the quantize job check a written row's
// finiteness on its F16 scales instead of dequantizing it. That is only right if, for each type it
// lists, a block dequantizes to all-finite values exactly when its listed scales are finite.
// Checked here against the scalar dequantizers: every non-finite half and the largest finite halves
// of both signs (plus random ones) in each scale slot, with random, all-zero and all-ones payloads
// around them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernel_isa_harness.h"
#include "quant/block_scales.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

bool is_finite_half(uint16_t h) {
    return (h & 0x7c00u) != 0x7c00u;
}

TEST(KernelBlockScales, listed_scales_decide_finiteness_as_dequantizing_does) {
    kernel_isa_guard guard;
    ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
    std::vector<uint16_t> halves;
    for (uint32_t m = 0; m < 0x400; ++m) {
        for (uint32_t sign : {0u, 0x8000u}) {
            halves.push_back(uint16_t(sign | 0x7c00u | m));  // Inf and every NaN
            halves.push_back(uint16_t(sign | 0x7800u | m));  // the top binade of finite values
        }
    }
    std::mt19937 rng(5);
    for (int k = 0; k < 1024; ++k) halves.push_back(uint16_t(rng()));
    halves.push_back(0x0000);
    halves.push_back(0x0001);

    size_t types = 0, blocks = 0;
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type type = ggml_type(id);
        const ggml_type_info* info = ggml_type_lookup(id);
        if (!info || !info->valid) continue;
        const f16_scale_layout layout = f16_scales_of(type);
        if (layout.count == 0) continue;
        ASSERT_TRUE(can_dequantize(type)) << info->name;
        ++types;
        for (uint32_t slot = 0; slot < layout.count; ++slot) {
            for (int payload = 0; payload < 3; ++payload) {
                // One row: a block per half, that half in `slot`, the other slot finite (1.0).
                std::vector<uint8_t> row(halves.size() * info->type_size);
                for (size_t b = 0; b < halves.size(); ++b) {
                    uint8_t* block = row.data() + b * info->type_size;
                    for (uint32_t i = 0; i < info->type_size; ++i)
                        block[i] = payload == 0 ? uint8_t(rng()) : payload == 1 ? 0x00 : 0xff;
                    for (uint32_t k = 0; k < layout.count; ++k) {
                        const uint16_t h = k == slot ? halves[b] : uint16_t(0x3c00);
                        std::memcpy(block + layout.offsets[k], &h, 2);
                    }
                }
                std::vector<float> y(halves.size() * info->block_size);
                ASSERT_TRUE(dequantize_rows(type, row.data(), y.data(), 1, int64_t(y.size())).ok());
                for (size_t b = 0; b < halves.size(); ++b) {
                    bool all_finite = true;
                    for (uint32_t j = 0; j < info->block_size; ++j)
                        all_finite = all_finite && std::isfinite(y[b * info->block_size + j]);
                    ASSERT_EQ(all_finite, is_finite_half(halves[b]))
                        << info->name << ": scale slot " << slot << " (offset "
                        << layout.offsets[slot] << ") holding half 0x" << std::hex << halves[b]
                        << std::dec << ", payload " << payload;
                    ++blocks;
                }
            }
        }
    }
    std::printf("[KernelBlockScales] %zu types, %zu blocks checked\n", types, blocks);
    EXPECT_GE(types, 22u);  // the legacy and K types (12), Q1_0 Q2_0 TQ1_0 TQ2_0, six grid types
}

}  // namespace
}  // namespace gguf_squash
