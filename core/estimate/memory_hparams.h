// The hyperparameters that decide what llama.cpp allocates to run a model, read from the header as
// llama.cpp reads them (tree de3ff81: llama_model::load_hparams, the per-architecture
// load_arch_hparams in src/models/, llama_hparams in src/llama-hparams.cpp, and the memory module
// llama_model::create_memory picks): which layers hold a KV cache and how wide it is (per-layer
// heads, key/value lengths, MLA, sliding windows, shared-KV layers), which layers hold recurrent
// state and its row widths, and the shapes the compute graph is built from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../format/gguf.h"
#include "../status.h"
#include "model_summary.h"

namespace gguf_squash {

// Which memory module llama_model::create_memory builds.
enum class memory_kind {
    kv_cache,   // llama_kv_cache (or the iSWA pair)
    recurrent,  // llama_memory_recurrent only (mamba, mamba2, rwkv6/7)
    hybrid,     // llama_memory_hybrid: a KV cache for the attention layers, state for the rest
    none,       // no memory (embedding and diffusion models: BERT family, dream, llada, ...)
};

struct memory_hparams {
    std::string arch;
    memory_kind kind = memory_kind::kv_cache;
    uint32_t n_layer_all = 0;  // block_count
    uint32_t n_layer = 0;      // without the NextN/MTP layers (nextn_predict_layers)
    uint64_t n_embd = 0;
    uint64_t n_vocab = 0;

    // Per layer (n_layer_all entries).
    std::vector<uint32_t> n_head;
    std::vector<uint32_t> n_head_kv;
    std::vector<uint32_t> head_k;  // n_embd_head_k(il): the SWA value on SWA layers
    std::vector<uint32_t> head_v;
    std::vector<uint64_t> n_ff;
    std::vector<bool> swa;         // uses the sliding-window cache
    std::vector<bool> kv_layer;    // holds K/V tensors in the main context's cache
    std::vector<bool> recr_layer;  // holds R/S state
    uint32_t n_swa = 0;
    bool is_mla = false;  // key_length_mla and value_length_mla: K only, no V tensors
    uint32_t mla_head_k = 0, mla_head_v = 0;  // the decompressed head sizes (graph shapes)
    uint32_t n_rot = 0;

    // Recurrent state row widths (llama_hparams::n_embd_r / n_embd_s), in F32 elements.
    uint64_t n_embd_r = 0;
    uint64_t n_embd_s = 0;
    uint32_t ssm_d_conv = 0, ssm_d_inner = 0, ssm_d_state = 0, ssm_dt_rank = 0, ssm_n_group = 0;
    uint32_t wkv_head_size = 0;

    uint32_t n_expert = 0;
    uint32_t n_expert_used = 0;
    uint64_t n_ff_exp = 0;
    uint64_t n_ff_shexp = 0;
    uint32_t n_expert_shared = 0;
    uint32_t n_layer_dense_lead = 0;  // leading layers with a dense feed-forward
    std::vector<bool> moe_layer;      // has a router (ffn_gate_inp): the MoE feed-forward
    bool fused_qkv = false;           // attn_qkv: Q, K and V are views of one projection
    bool ffn_up_fused_glu = false;    // one up projection of 2 n_ff holding gate and up (phi3)
    bool rope = true;                 // Q and K are rotated (not gpt2, bloom, mpt, starcoder, jais)
    uint32_t kv_lora_rank = 0, q_lora_rank = 0;  // deepseek2-style compressed KV
    bool ffn_gated =
        true;  // the dense feed-forward has a gate (ffn_gate): GLU, else one activation

    // Widest K / V row of a cached layer (n_embd_k_gqa / n_embd_v_gqa over every layer).
    uint64_t n_embd_k_gqa(uint32_t il) const { return uint64_t(head_k[il]) * n_head_kv[il]; }
    uint64_t n_embd_v_gqa(uint32_t il) const { return uint64_t(head_v[il]) * n_head_kv[il]; }
    uint64_t n_embd_v_gqa_max() const;
    bool any_swa_kv() const;
};

// Reads them. `summary` supplies what model_summary already reads (the SWA layer pattern, the
// vocabulary); malformed per-layer arrays are invalid_file.
result<memory_hparams> read_memory_hparams(const gguf_header& header, const model_summary& summary);

}  // namespace gguf_squash
