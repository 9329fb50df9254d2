// What the estimator needs to know about a model, read from its header alone: the architecture's
// hyperparameters (llama.cpp's "%s.*" keys, per-layer arrays expanded), the parameter count and
// the vocabulary. Nothing here reads tensor data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_split.h"
#include "status.h"

namespace gguf_squash {

struct model_summary {
    std::string arch;  // general.architecture
    std::string name;  // general.name
    std::optional<uint32_t> file_type;
    uint64_t n_params = 0;  // elements of every tensor
    uint64_t n_tensors = 0;
    uint64_t tensor_bytes = 0;  // the tensors' current size (unpadded)
    uint64_t header_bytes = 0;  // data_offset of the (first) file

    uint32_t n_layer = 0;
    uint64_t n_ctx_train = 0;
    uint64_t n_embd = 0;
    uint64_t n_ff = 0;    // largest per-layer feed-forward length
    uint32_t n_head = 0;  // largest per-layer head count
    // Per layer (n_layer entries): KV heads (0: the layer has no KV cache), key and value head
    // sizes, and whether the layer uses the sliding-window cache.
    std::vector<uint32_t> n_head_kv;
    std::vector<uint32_t> head_dim_k;
    std::vector<uint32_t> head_dim_v;
    std::vector<bool> swa_layer;
    uint32_t n_swa = 0;  // sliding window (0: none)

    uint32_t n_expert = 0;
    uint32_t n_expert_used = 0;
    uint64_t n_ff_expert = 0;
    uint64_t n_vocab = 0;

    uint32_t max_head_kv() const;
    uint32_t n_swa_layers() const;
};

// Reads the summary. Missing hyperparameters stay 0 (the memory model then skips what it cannot
// size); malformed ones (a per-layer array of the wrong length) are invalid_file.
result<model_summary> summarize_model(const gguf_header& header);

// One header holding the first shard's metadata and every shard's tensors in shard order: what
// llama-quantize sees when it loads a split model (offsets stay per shard; the plan only uses
// shapes and types).
gguf_header merged_model_header(const gguf_model& model);

}  // namespace gguf_squash
