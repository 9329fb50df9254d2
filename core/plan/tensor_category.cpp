#include "plan/tensor_category.h"

#include "format/gguf.h"

namespace gguf_squash::plan_detail {
namespace {

bool contains(const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
}

// Name parts that keep a tensor's type, with llama.cpp's reasons.
constexpr const char* kNeverQuantized[] = {
    // expert gating tensors
    "ffn_gate_inp.weight",
    // the i32 token-id -> expert-id routing table (DeepSeek-V4)
    "ffn_gate_tid2eid.weight",
    // very small (e.g. 4x4)
    "altup",
    "laurel",
    // not too big, so kept as they are
    "per_layer_model_proj",
    // Mamba's and Kimi's small conv1d weights
    "ssm_conv1d",
    "shortconv.conv.weight",
    // MiniMax's indexer projections, which are tiny
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    // RWKV's small yet 2D weights
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    // relative position bias (T5)
    "attn_rel_b.weight",
    // multimodal tensors
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    // audio codebooks
    "a.rvq.codebook",
    "mm.a.code_embd",
};

}  // namespace

bool is_token_embd_name(const std::string& n) {
    return n == "token_embd.weight" || n == "per_layer_token_embd.weight";
}

bool is_output_name(const std::string& n) {
    return n == "output.weight";
}

tensor_category category_of(const std::string& n) {
    if (is_output_name(n)) return tensor_category::output;
    if (is_token_embd_name(n)) return tensor_category::token_embd;
    if (contains(n, "attn_qkv.weight")) return tensor_category::attention_qkv;
    if (contains(n, "attn_kv_b.weight")) return tensor_category::attention_kv_b;
    if (contains(n, "attn_v.weight")) return tensor_category::attention_v;
    if (contains(n, "attn_k.weight")) return tensor_category::attention_k;
    if (contains(n, "attn_q.weight")) return tensor_category::attention_q;
    if (contains(n, "attn_output.weight")) return tensor_category::attention_output;
    if (contains(n, "ffn_up")) return tensor_category::ffn_up;
    if (contains(n, "ffn_gate")) return tensor_category::ffn_gate;
    if (contains(n, "ffn_down")) return tensor_category::ffn_down;
    return tensor_category::other;
}

bool is_attn_v_like(tensor_category c) {
    return c == tensor_category::attention_v || c == tensor_category::attention_qkv ||
           c == tensor_category::attention_kv_b;
}

uint32_t effective_dims(const uint64_t ne[4]) {
    for (uint32_t i = kMaxTensorDims; i > 1; --i) {
        if (ne[i - 1] > 1) return i;
    }
    return 1;
}

bool allows_quantization(const quantize_options& o, const std::string& name, const uint64_t ne[4]) {
    if (o.only_copy) return false;
    // Only 2D and 3D (expert) tensors.
    if (effective_dims(ne) < 2) return false;
    // "ends with weight", with llama.cpp's unsigned arithmetic kept (a 5-character name without
    // "weight" counts as ending with it).
    bool q = name.rfind("weight") == name.size() - 6;
    // Norms stay as they are.
    q = q && !contains(name, "_norm.weight");
    q = q && (o.quantize_output_tensor || name != "output.weight");
    for (const char* part : kNeverQuantized) q = q && !contains(name, part);
    // Positional embeddings and token types (BERT), named as LLM_TN spells them.
    q = q && name != "position_embd.weight" && name != "token_types.weight";
    return q;
}

}  // namespace gguf_squash::plan_detail
