// --prune-layers: which tensors are kept and how the kept layers are renumbered
// (llama-quant.cpp: remap_layer, remap_imatrix).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "plan/model_facts.h"
#include "status.h"

namespace gguf_squash::plan_detail {

struct kept_tensor {
    size_t source = 0;  // index into the source tensors
    std::string name;   // name in the output
};

struct pruned_model {
    std::vector<kept_tensor> kept;      // in the order given
    std::map<int, std::string> mapped;  // input layer -> output layer ("" = pruned)
    int n_layers = 0;                   // layers numbered in the output (the new block_count)
};

// Walks `order` (indices into `src`), dropping the tensors of pruned layers and renumbering the
// kept layers: the layers before the first pruned one keep their numbers, the later ones are
// numbered on. Without `prune_layers` every tensor is kept under its own name.
result<pruned_model> prune_layers(const std::vector<source_tensor>& src,
                                  const std::vector<size_t>& order,
                                  const std::vector<int>& layers_to_prune);

// The imatrix entry of an output tensor: its name with the input's layer number back.
std::string imatrix_name_of(const std::string& output_name,
                            const std::map<int, std::string>& mapped);

}  // namespace gguf_squash::plan_detail
