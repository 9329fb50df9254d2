// The memory model against hand-computed cases (GQA, per-layer KV heads, key/value lengths,
// sliding-window layers, MoE) and against llama.cpp's own figures for llama-gqa.gguf (fixture
// README: KV cache at n_ctx 4096 is 8.00 / 4.25 / 2.25 MiB for f16 / q8_0 / q4_0, model buffer
// 15.52 MiB, compute buffer 10.51 MiB with an f16 cache).
#include <gtest/gtest.h>

#include <cmath>

#include "estimate/estimate_report.h"
#include "estimate_headers.h"
#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

using test_support::make_synthetic_header;
using test_support::synthetic_model;

constexpr uint64_t kMiB = 1 << 20;

model_summary summary_of(const gguf_header& h) {
    result<model_summary> s = summarize_model(h);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return s.ok() ? *s : model_summary{};
}

TEST(EstimateMemory, LlamaGqaFixtureMatchesLlamaCpp) {
    const gguf_header& h = test_support::reference_input_header();
    ASSERT_EQ(h.tensors.size(), 75u);
    const model_summary m = summary_of(h);
    EXPECT_EQ(m.n_layer, 8u);
    EXPECT_EQ(m.max_head_kv(), 1u);
    EXPECT_EQ(m.head_dim_k[0], 64u);
    // Exact: llama.cpp prints these with two decimals, and they are exact binary fractions.
    EXPECT_EQ(kv_cache_bytes(m, 4096, ggml_type::f16), 8 * kMiB);
    EXPECT_EQ(kv_cache_bytes(m, 4096, ggml_type::q8_0), 4 * kMiB + kMiB / 4);
    EXPECT_EQ(kv_cache_bytes(m, 4096, ggml_type::q4_0), 2 * kMiB + kMiB / 4);
    // The model buffer is the tensors' bytes: 15.52 MiB.
    EXPECT_EQ(std::lround(double(m.tensor_bytes) / kMiB * 100), 1552);
    // Output buffer + compute allowance vs llama.cpp's compute buffer (10.51 MiB): within 1%.
    const double other = double(output_buffer_bytes(m) + compute_allowance_bytes(m)) / kMiB;
    EXPECT_NEAR(other, 10.51, 0.105);
}

TEST(EstimateMemory, GqaHandComputed) {
    synthetic_model sm;
    sm.n_layer = 32;
    sm.n_embd = 4096;
    sm.n_head = 32;
    sm.n_head_kv = 8;
    sm.n_ff = 14336;
    const model_summary m = summary_of(make_synthetic_header(sm));
    ASSERT_EQ(m.n_layer, 32u);
    ASSERT_EQ(m.head_dim_k[0], 128u);
    // 32 layers x 8192 cells x (8 heads x 128) x 2 (K and V) x 2 bytes
    EXPECT_EQ(kv_cache_bytes(m, 8192, ggml_type::f16), 32ull * 8192 * 1024 * 2 * 2);
    // q8_0: 128 elements = 4 blocks of 34 bytes per head
    EXPECT_EQ(kv_cache_bytes(m, 8192, ggml_type::q8_0), 32ull * 8192 * 8 * 136 * 2);
    // q4_0: 4 blocks of 18 bytes per head
    EXPECT_EQ(kv_cache_bytes(m, 8192, ggml_type::q4_0), 32ull * 8192 * 8 * 72 * 2);
    // Contexts are padded to 256 cells.
    EXPECT_EQ(kv_cache_bytes(m, 8000, ggml_type::f16), kv_cache_bytes(m, 8192, ggml_type::f16));
    EXPECT_EQ(kv_cache_bytes(m, 8193, ggml_type::f16), 32ull * 8448 * 1024 * 2 * 2);
}

TEST(EstimateMemory, PerLayerKvHeadsAndKeyValueLengths) {
    synthetic_model sm;
    sm.n_embd = 1024;
    sm.n_head = 8;
    sm.head_kv_per_layer = {8, 0, 4, 8};  // layer 1 has no KV cache
    const model_summary m = summary_of(make_synthetic_header(sm));
    // (8 + 0 + 4 + 8) heads x 128 x 2 (K, V) x 2 bytes x 1024 cells
    EXPECT_EQ(kv_cache_bytes(m, 1000, ggml_type::f16), 20ull * 128 * 2 * 2 * 1024);

    synthetic_model kl;
    kl.n_layer = 2;
    kl.n_embd = 512;
    kl.n_head = 4;
    kl.n_head_kv = 2;
    kl.key_length = 192;
    kl.value_length = 128;
    const model_summary m2 = summary_of(make_synthetic_header(kl));
    // 2 layers x 256 cells x (2 x 192 + 2 x 128) x 2 bytes
    EXPECT_EQ(kv_cache_bytes(m2, 256, ggml_type::f16), 2ull * 256 * 640 * 2);
}

TEST(EstimateMemory, SlidingWindowLayers) {
    // gemma2: period 2 by default, layers 0 and 2 use the window.
    synthetic_model g2;
    g2.arch = "gemma2";
    g2.n_embd = 512;
    g2.n_head = 2;
    g2.n_head_kv = 2;
    g2.key_length = 256;
    g2.value_length = 256;
    g2.n_swa = 1024;
    const model_summary m = summary_of(make_synthetic_header(g2));
    ASSERT_EQ(m.n_swa_layers(), 2u);
    EXPECT_TRUE(m.swa_layer[0]);
    EXPECT_FALSE(m.swa_layer[1]);
    // Full layers: pad256(10000) = 10240 cells; window layers: pad256(min(10240, 1024 + 512)) =
    // 1536 cells; each cell holds 2 heads x 256 x 2 (K, V) x 2 bytes = 2048 bytes.
    EXPECT_EQ(kv_cache_bytes(m, 10000, ggml_type::f16), 2ull * 10240 * 2048 + 2ull * 1536 * 2048);
    // A short context is not capped by the window: min(256, 1536) = 256.
    EXPECT_EQ(kv_cache_bytes(m, 256, ggml_type::f16), 4ull * 256 * 2048);

    // gemma3 with a per-layer flag array: five window layers, one full.
    synthetic_model g3;
    g3.arch = "gemma3";
    g3.n_layer = 6;
    g3.n_embd = 512;
    g3.n_head = 2;
    g3.n_head_kv = 1;
    g3.key_length = 256;
    g3.value_length = 256;
    g3.n_swa = 512;
    g3.swa_pattern_array = {true, true, true, true, true, false};
    const model_summary m3 = summary_of(make_synthetic_header(g3));
    EXPECT_EQ(m3.n_swa_layers(), 5u);
    // Full: 4096 cells; window: pad256(min(4096, 512 + 512)) = 1024 cells; 1024 bytes per cell.
    EXPECT_EQ(kv_cache_bytes(m3, 4096, ggml_type::f16), 4096ull * 1024 + 5ull * 1024 * 1024);

    // An integer pattern key overrides the architecture's period: 3 -> layers 2 and 5 are full.
    g3.swa_pattern_array.clear();
    g3.swa_pattern = 3;
    const model_summary m4 = summary_of(make_synthetic_header(g3));
    EXPECT_EQ(m4.n_swa_layers(), 4u);
    EXPECT_FALSE(m4.swa_layer[2]);
    EXPECT_FALSE(m4.swa_layer[5]);
    EXPECT_EQ(kv_cache_bytes(m4, 4096, ggml_type::f16), 2ull * 4096 * 1024 + 4ull * 1024 * 1024);

    // llama.cpp's llama has no window layers even when the file names a window.
    synthetic_model ll;
    ll.n_swa = 4096;
    const model_summary m5 = summary_of(make_synthetic_header(ll));
    EXPECT_EQ(m5.n_swa_layers(), 0u);
}

TEST(EstimateMemory, MixtureOfExperts) {
    synthetic_model moe;
    moe.n_embd = 256;
    moe.n_head = 4;
    moe.n_head_kv = 2;
    moe.n_expert = 8;
    moe.n_expert_used = 2;
    moe.n_ff_expert = 512;
    moe.n_ff = 256;
    const gguf_header h = make_synthetic_header(moe);
    const model_summary m = summary_of(h);
    EXPECT_EQ(m.n_expert, 8u);
    EXPECT_EQ(m.n_expert_used, 2u);
    // Experts do not touch the cache: 4 layers x 2048 cells x (2 x 64 x 2) x 2 bytes.
    EXPECT_EQ(kv_cache_bytes(m, 2048, ggml_type::f16), 4ull * 2048 * 256 * 2);
    // The compute allowance counts the active experts' feed-forward width (2 x 512).
    EXPECT_EQ(compute_allowance_bytes(m), 512ull * 4 * (1024 + 1024 + 2 * 256));

    estimate_options o;
    o.ctx = 2048;
    result<estimate_report> r = make_estimate(h, o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    const ftype_estimate* q4 = nullptr;
    for (const ftype_estimate& f : r->ftypes)
        if (f.name == "Q4_K_M") q4 = &f;
    ASSERT_NE(q4, nullptr);
    ASSERT_TRUE(q4->ok) << q4->error;
    EXPECT_EQ(q4->memory.kv_bytes, 4ull * 2048 * 256 * 2);
    EXPECT_EQ(q4->memory.recurrent_bytes, 0u);
    EXPECT_EQ(q4->memory.output_bytes, 1024u * 4);  // one sequence's logits
    EXPECT_GT(q4->memory.compute_bytes, 0u);
    EXPECT_EQ(q4->memory.total_bytes, q4->weights_bytes + q4->memory.kv_bytes +
                                          q4->memory.output_bytes + q4->memory.compute_bytes);
    // The expert tensors are there and quantized.
    int expert_tensors = 0;
    for (const auto& [type, n] : q4->tensor_types) expert_tensors += n;
    EXPECT_EQ(expert_tensors, int(h.tensors.size()));
}

TEST(EstimateMemory, LargestContextThatFits) {
    const gguf_header& h = test_support::reference_input_header();
    const model_summary m = summary_of(h);
    result<memory_hparams> hp = read_memory_hparams(h, m);
    ASSERT_TRUE(hp.ok()) << hp.error().message();
    const uint64_t weights = 5'000'000;
    memory_options o;
    o.n_ctx = 2048;
    const memory_breakdown at2048 = estimate_memory(*hp, weights, o, std::nullopt);
    EXPECT_FALSE(at2048.max_ctx.has_value());
    EXPECT_EQ(at2048.total_bytes, weights + at2048.kv_bytes + at2048.other_bytes);
    o.n_ctx = 4096;
    const memory_breakdown exact = estimate_memory(*hp, weights, o, at2048.total_bytes);
    ASSERT_TRUE(exact.max_ctx.has_value());
    EXPECT_EQ(*exact.max_ctx, 2048u);
    const memory_breakdown less = estimate_memory(*hp, weights, o, at2048.total_bytes - 1);
    EXPECT_EQ(*less.max_ctx, 1792u);
    const memory_breakdown none = estimate_memory(*hp, weights, o, weights);
    EXPECT_EQ(*none.max_ctx, 0u);
}

}  // namespace
}  // namespace gguf_squash
