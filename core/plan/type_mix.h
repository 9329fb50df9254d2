// The type of each tensor: manual overrides, then the ftype's mix of types, then a fallback when
// the row length does not fit the block size (llama-quant.cpp: quantize_state_impl,
// init_quantize_state_counters, llama_tensor_get_type_impl, llama_tensor_get_type,
// tensor_type_fallback).
#pragma once

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "plan/model_facts.h"
#include "plan/quant_plan.h"
#include "plan/tensor_category.h"
#include "status.h"

namespace gguf_squash::plan_detail {

// quantize_state_impl: the options, the model and the counters the mix walks with.
struct recipe_state {
    const quantize_options& options;
    const model_facts& model;
    std::vector<std::pair<std::regex, ggml_type>> patterns;  // --tensor-type, compiled once
    int n_attention_wv = 0, n_ffn_down = 0, n_ffn_gate = 0, n_ffn_up = 0;
    int i_attention_wv = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;
    int n_fallback = 0;
    bool has_imatrix = false;
    // Whether token_embd shares its weights with the output: assumed until output.weight shows.
    bool has_tied_embeddings = true;
};

// init_quantize_state_counters: each tensor's category (returned, parallel to `names`) and the
// counts the mix divides by.
std::vector<tensor_category> init_counters(recipe_state& s, const std::vector<std::string>& names);

// llama_tensor_get_type_impl: the ftype's choice for one tensor, starting from `t`. Advances the
// layer counters, so it is called once per tensor in the loader's order.
result<ggml_type> mix_type(recipe_state& s, ggml_type t, const std::string& name,
                           const uint64_t ne[4], tensor_category cat);

// llama_tensor_get_type: --token-embedding-type and --output-tensor-type first, then --tensor-type
// patterns, then the mix (not with --pure), then the fallback. `fell_back` is set when the
// fallback changed the type.
result<ggml_type> choose_type(recipe_state& s, const std::string& name, const uint64_t ne[4],
                              ggml_type default_type, tensor_category cat, bool& fell_back);

// tensor_type_fallback: a type that fits the row length when `target` does not.
result<ggml_type> fallback_type(recipe_state& s, const uint64_t ne[4], ggml_type target,
                                bool& fell_back);

}  // namespace gguf_squash::plan_detail
