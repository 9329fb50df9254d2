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
#include "memory_hparams.h"
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

// What a run looks like to llama.cpp: the context asked for, one cache type for K and V
// (--kv-type), flash attention (on: llama.cpp's default "auto" on a CPU), the micro-batch and the
// number of parallel sequences (--parallel: n_seq_max, one KV stream per sequence).
struct memory_options {
    uint64_t n_ctx = 4096;
    ggml_type cache_type = ggml_type::f16;
    bool flash_attn = true;
    uint32_t n_ubatch = 512;
    uint32_t n_seq = 1;
};

// llama_init_from_model's refusals for this model and these options (llama.cpp's own wording),
// or nullopt when llama.cpp would create the context.
std::optional<std::string> cache_refusal(const memory_hparams& hp, const memory_options& o);

// The KV cache as llama_kv_cache allocates it (the iSWA pair for sliding-window models).
struct kv_cache_size {
    uint64_t k_bytes = 0;  // both caches
    uint64_t v_bytes = 0;
    uint64_t k_swa_bytes = 0;  // the sliding-window cache's part of them
    uint64_t v_swa_bytes = 0;
    uint64_t cells = 0;      // per stream, full-attention layers
    uint64_t swa_cells = 0;  // per stream, sliding-window layers (0: none)
    uint32_t n_stream = 1;
    uint64_t bytes() const { return k_bytes + v_bytes; }
};
kv_cache_size kv_cache_size_of(const memory_hparams& hp, const memory_options& o);

// llama_memory_recurrent's R and S tensors (F32, max(1, n_seq) rows per layer).
struct recurrent_size {
    uint64_t r_bytes = 0;
    uint64_t s_bytes = 0;
    uint64_t bytes() const { return r_bytes + s_bytes; }
};
recurrent_size recurrent_state_of(const memory_hparams& hp, const memory_options& o);

// llama_context::output_reserve at creation: logits for n_seq outputs (embeddings are only
// reserved when the context is created for embeddings, which llama-completion does not do).
uint64_t output_bytes_of(const memory_hparams& hp, const memory_options& o);

// The CPU compute buffer sched_reserve sizes (see compute_graph.h).
uint64_t compute_bytes_of(const memory_hparams& hp, const memory_options& o);

struct memory_breakdown {
    uint64_t ctx = 0;  // as requested
    ggml_type kv_type = ggml_type::f16;
    bool flash_attn = true;
    uint32_t n_ubatch = kLlamaUbatch;
    uint32_t n_seq = 1;
    uint64_t weights_bytes = 0;
    uint64_t kv_bytes = 0;
    uint64_t recurrent_bytes = 0;
    uint64_t output_bytes = 0;
    uint64_t compute_bytes = 0;
    uint64_t other_bytes = 0;  // output_bytes + compute_bytes
    uint64_t total_bytes = 0;
    // llama.cpp would refuse to create the context (its reason); the sizes are then 0.
    std::optional<std::string> error;
    // The largest context (a multiple of 256, at most kMaxEstimateCtx; not capped at the
    // training context, which the model summary reports) whose total fits in the budget;
    // nullopt without a budget, 0 when not even 256 tokens fit.
    std::optional<uint64_t> max_ctx;
};

// Everything llama.cpp allocates to run the model at these options.
memory_breakdown estimate_memory(const memory_hparams& hp, uint64_t weights_bytes,
                                 const memory_options& o, std::optional<uint64_t> budget_bytes);

// The older model used by the parameter-count mode (params_recipe): the KV cache of a dense
// transformer, one token's logits and a compute allowance of
//   n_ubatch * 4 * (n_vocab + n_ff_active + 2 * n_embd).
memory_breakdown estimate_memory(const model_summary& m, uint64_t weights_bytes, uint64_t n_ctx,
                                 ggml_type kv_type, std::optional<uint64_t> budget_bytes);

}  // namespace gguf_squash
