// The compute buffer llama.cpp reserves for a model: the peak of ggml-alloc's graph allocator over
// the prompt-processing graph llama_context::sched_reserve builds (n_ubatch tokens, every token an
// output, the whole cache visible). Two parts follow llama.cpp (tree de3ff81):
//   - the allocator is ggml-alloc.c's, step for step: inputs first, then each node in graph order
//     (in place over a parent when the op allows it and the parent has no other consumer), every
//     tensor freed after its last consumer, best-fit over free blocks with the chunk's tail block
//     growing the buffer, freed blocks merged with their neighbours;
//   - the graph is the one src/models/<arch>.cpp and src/llama-graph.cpp build, reduced to the
//     tensors that take buffer space, with their shapes: per layer the attention block (Q/K/V
//     projections, RoPE, the cache writes, flash attention or KQ + softmax + KQV, the output
//     projection; MLA's absorbed form), the recurrent mixer (mamba2) or the feed-forward block
//     (dense, or MoE: router, top-k, the selected experts' up/gate/down, weighting and sum, a
//     shared expert), the residual adds, and the output norm and logits.
// Views cost nothing; weights and cache tensors live in other buffers.
#pragma once

#include <cstdint>

#include "memory_hparams.h"

namespace gguf_squash {

struct compute_params {
    uint64_t n_kv = 0;      // cells per stream of the full-attention cache (the reserved n_kv)
    uint64_t n_kv_swa = 0;  // cells per stream of the sliding-window cache (0: none)
    uint32_t n_tokens = 0;  // min(n_ctx, n_ubatch)
    uint32_t n_outputs = 0;
    uint32_t n_seqs = 1;
    uint32_t n_stream = 1;
    bool flash_attn = true;
    bool k_rot = false;  // llama_kv_cache's attn_rot_k: a Hadamard rotation of Q and K
    bool v_rot = false;
};

// Bytes of the CPU compute buffer.
uint64_t compute_buffer_bytes(const memory_hparams& hp, const compute_params& cp);

}  // namespace gguf_squash
