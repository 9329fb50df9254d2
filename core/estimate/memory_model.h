// How much memory llama.cpp needs to run a model: the weights, the KV cache, the output (logits)
// buffer and an allowance for compute buffers. The KV cache follows llama.cpp (tree de3ff81,
// src/llama-context.cpp and src/llama-kv-cache*.cpp) exactly:
//   - n_ctx is padded to a multiple of 256;
//   - each layer with KV heads holds K as (head_dim_k, n_head_kv, cells) and V as
//     (head_dim_v, n_head_kv, cells) tensors of the cache type, sized from the ggml type table;
//   - full-attention layers have n_ctx cells, sliding-window layers
//     pad256(min(n_ctx, n_swa + n_ubatch)) cells (one sequence, n_ubatch 512).
// The compute allowance is our own model (see docs/ESTIMATES.md): llama.cpp sizes compute
// buffers by building the graph on a backend, which a header-only estimate cannot do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "../format/ggml_types.h"
#include "model_summary.h"

namespace gguf_squash {

constexpr uint64_t kLlamaCtxPad = 256;
constexpr uint64_t kLlamaUbatch = 512;
// The largest context max_ctx reports (16M tokens), whatever the budget.
constexpr uint64_t kMaxEstimateCtx = uint64_t(1) << 24;

// Cache types the estimator offers (--kv-type): f16, q8_0, q4_0.
std::optional<ggml_type> parse_kv_cache_type(const std::string& name);
const char* kv_cache_type_name(ggml_type type);  // "f16", "q8_0", "q4_0"

// Cells llama.cpp allocates for a requested context (padded to 256).
uint64_t kv_cells(uint64_t n_ctx);

// Bytes of the KV cache at `n_ctx` tokens.
uint64_t kv_cache_bytes(const model_summary& m, uint64_t n_ctx, ggml_type cache_type);

// The output buffer (logits of one token, float) plus the compute allowance:
//   n_vocab * 4 + n_ubatch * 4 * (n_vocab + n_ff_active + 2 * n_embd)
// where n_ff_active is the larger of the dense feed-forward length and
// expert_feed_forward_length * experts used.
uint64_t output_buffer_bytes(const model_summary& m);
uint64_t compute_allowance_bytes(const model_summary& m);

struct memory_breakdown {
    uint64_t ctx = 0;  // as requested
    ggml_type kv_type = ggml_type::f16;
    uint64_t weights_bytes = 0;
    uint64_t kv_bytes = 0;
    uint64_t other_bytes = 0;  // output buffer + compute allowance
    uint64_t total_bytes = 0;
    // The largest context (a multiple of 256, at most kMaxEstimateCtx; not capped at the
    // training context, which the model summary reports) whose total fits in the budget;
    // nullopt without a budget, 0 when not even 256 tokens fit.
    std::optional<uint64_t> max_ctx;
};

memory_breakdown estimate_memory(const model_summary& m, uint64_t weights_bytes, uint64_t n_ctx,
                                 ggml_type kv_type, std::optional<uint64_t> budget_bytes);

}  // namespace gguf_squash
