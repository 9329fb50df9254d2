// Which tensors llama-quantize may give a new type, and the broad categories its type mix
// speaks of (llama-quant.cpp: tensor_name_match_token_embd, tensor_name_match_output_weight,
// tensor_get_category, category_is_attn_v, tensor_allows_quantization).
#pragma once

#include <cstdint>
#include <string>

#include "plan/quant_plan.h"

namespace gguf_squash::plan_detail {

// Broad categories, not llama.cpp's per-architecture tensor names (LLM_TN).
enum class tensor_category {
    token_embd,
    attention_q,
    attention_v,
    attention_k,
    attention_qkv,
    attention_kv_b,
    attention_output,
    ffn_up,
    ffn_gate,
    ffn_down,
    output,
    other,
};

bool is_token_embd_name(const std::string& n);
bool is_output_name(const std::string& n);
tensor_category category_of(const std::string& n);
// Attention-V-like tensors (V, fused QKV, MLA's KV_B) are more sensitive to quantization.
bool is_attn_v_like(tensor_category c);

// ggml_n_dims: the number of dimensions up to the last extent above 1 (at least 1).
uint32_t effective_dims(const uint64_t ne[4]);

// tensor_allows_quantization: whether llama-quantize may give this tensor a new type.
bool allows_quantization(const quantize_options& o, const std::string& name, const uint64_t ne[4]);

}  // namespace gguf_squash::plan_detail
