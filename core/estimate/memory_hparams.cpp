#include "memory_hparams.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "hparam_values.h"

namespace gguf_squash {

namespace {

// Caps keep hostile values from sizing vectors or overflowing products.
constexpr uint64_t kMaxLayers = 1 << 16;
constexpr uint64_t kMaxWidth = 1 << 24;

uint32_t capped(uint64_t v, uint64_t cap = kMaxWidth) {
    return uint32_t(std::min(v, cap));
}

// llama_model_loader::get_key_or_arr: one value for every layer or one per layer. Absent: the
// fallback is kept.
status fill_per_layer(const gguf_header& h, const std::string& key, std::vector<uint64_t>& out) {
    result<std::optional<std::vector<uint64_t>>> v = hparam_per_layer(h, key, uint32_t(out.size()));
    if (!v.ok()) return v.error();
    if (*v) out = std::move(**v);
    return {};
}

bool one_of(const std::string& arch, std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (arch == n) return true;
    return false;
}

// llm_arch_is_recurrent / llm_arch_is_hybrid, and create_memory's architectures without memory.
memory_kind kind_of(const std::string& arch) {
    if (one_of(arch, {"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"}))
        return memory_kind::recurrent;
    if (one_of(arch, {"jamba", "falcon-h1", "plamo2", "granitehybrid", "lfm2", "lfm2moe",
                      "nemotron_h", "nemotron_h_moe", "qwen3next", "kimi-linear", "bailingmoe3",
                      "kimi-k3", "qwen35", "qwen35moe", "qwen4exp", "minimax-01"}))
        return memory_kind::hybrid;
    if (one_of(arch, {"bert", "jina-bert-v2", "jina-bert-v3", "nomic-bert", "nomic-bert-moe",
                      "neo-bert", "eurobert", "wavtokenizer-dec", "modern-bert", "gemma-embedding",
                      "dream", "llada", "llada-moe", "rnd1"}))
        return memory_kind::none;
    return memory_kind::kv_cache;
}

}  // namespace

uint64_t memory_hparams::n_embd_v_gqa_max() const {
    uint64_t m = 0;
    for (uint32_t il = 0; il < n_layer_all; ++il) m = std::max(m, n_embd_v_gqa(il));
    return m;
}

bool memory_hparams::any_swa_kv() const {
    for (uint32_t il = 0; il < n_layer_all; ++il)
        if (kv_layer[il] && swa[il]) return true;
    return false;
}

result<memory_hparams> read_memory_hparams(const gguf_header& h, const model_summary& s) {
    memory_hparams p;
    p.arch = s.arch;
    p.kind = kind_of(s.arch);
    const std::string a = s.arch + ".";
    p.n_layer_all = capped(hparam_u64(h, a + "block_count").value_or(0), kMaxLayers);
    const uint32_t n_nextn =
        capped(hparam_u64(h, a + "nextn_predict_layers").value_or(0), p.n_layer_all);
    p.n_layer = p.n_layer_all - n_nextn;
    p.n_embd = hparam_u64(h, a + "embedding_length").value_or(0);
    p.n_vocab = s.n_vocab;
    const uint32_t L = p.n_layer_all;

    std::vector<uint64_t> heads(L, 0), ff(L, 0), ff_exp(L, 0);
    GS_RETURN_IF_ERROR(fill_per_layer(h, a + "feed_forward_length", ff));
    GS_RETURN_IF_ERROR(fill_per_layer(h, a + "attention.head_count", heads));
    std::vector<uint64_t> heads_kv = heads;  // n_head_kv defaults to n_head
    GS_RETURN_IF_ERROR(fill_per_layer(h, a + "attention.head_count_kv", heads_kv));
    GS_RETURN_IF_ERROR(fill_per_layer(h, a + "expert_feed_forward_length", ff_exp));

    // Head sizes: from the first layer's head count unless key_length / value_length say
    // otherwise; a model whose first layer has no heads has none (llama_model::load_hparams).
    uint64_t hk = 0, hv = 0;
    if (L > 0 && heads[0] > 0) {
        hk = hparam_u64(h, a + "attention.key_length").value_or(p.n_embd / heads[0]);
        hv = hparam_u64(h, a + "attention.value_length").value_or(p.n_embd / heads[0]);
        p.n_rot = capped(hparam_u64(h, a + "rope.dimension_count").value_or(hk));
    }
    const uint64_t hk_swa = hparam_u64(h, a + "attention.key_length_swa").value_or(hk);
    const uint64_t hv_swa = hparam_u64(h, a + "attention.value_length_swa").value_or(hv);

    p.mla_head_k = capped(hparam_u64(h, a + "attention.key_length_mla").value_or(0));
    p.mla_head_v = capped(hparam_u64(h, a + "attention.value_length_mla").value_or(0));
    p.is_mla = p.mla_head_k != 0 && p.mla_head_v != 0;
    p.kv_lora_rank = capped(hparam_u64(h, a + "attention.kv_lora_rank").value_or(0));
    p.q_lora_rank = capped(hparam_u64(h, a + "attention.q_lora_rank").value_or(0));
    p.rope = !one_of(s.arch, {"gpt2", "bloom", "mpt", "starcoder", "jais"});

    p.ssm_d_conv = capped(hparam_u64(h, a + "ssm.conv_kernel").value_or(0));
    p.ssm_d_inner = capped(hparam_u64(h, a + "ssm.inner_size").value_or(0));
    p.ssm_d_state = capped(hparam_u64(h, a + "ssm.state_size").value_or(0));
    p.ssm_dt_rank = capped(hparam_u64(h, a + "ssm.time_step_rank").value_or(0));
    p.ssm_n_group = capped(hparam_u64(h, a + "ssm.group_count").value_or(0));
    p.wkv_head_size = capped(hparam_u64(h, a + "wkv.head_size").value_or(0));
    const uint64_t token_shift = hparam_u64(h, a + "token_shift_count").value_or(2);
    const uint64_t shortconv = hparam_u64(h, a + "shortconv.l_cache").value_or(0);
    const uint64_t kda_head = hparam_u64(h, a + "kda.head_dim").value_or(0);

    p.n_expert = capped(hparam_u64(h, a + "expert_count").value_or(0));
    p.n_expert_used = capped(hparam_u64(h, a + "expert_used_count").value_or(0));
    p.n_ff_exp = ff_exp.empty() ? 0 : *std::max_element(ff_exp.begin(), ff_exp.end());
    p.n_ff_shexp = hparam_u64(h, a + "expert_shared_feed_forward_length").value_or(0);
    p.n_expert_shared = capped(hparam_u64(h, a + "expert_shared_count").value_or(0));
    p.n_layer_dense_lead = capped(hparam_u64(h, a + "leading_dense_block_count").value_or(0));

    // What the tensors say about the graph: a dense feed-forward without a gate (gpt2,
    // starcoder: up, activation in place, down), a fused QKV projection, the layers with a router,
    // and the expert and shared-expert widths (the architectures differ in which key holds them).
    bool any_up = false, any_gate = false;
    p.moe_layer.assign(L, false);
    uint64_t ff_exp_tensor = 0, ff_shexp_tensor = 0, up_width = 0;
    auto ends_with = [](const std::string& n, const char* suffix) {
        const size_t k = std::strlen(suffix);
        return n.size() >= k && n.compare(n.size() - k, k, suffix) == 0;
    };
    for (const gguf_tensor_info& t : h.tensors) {
        const std::string& n = t.name;
        if (ends_with(n, ".ffn_up.weight")) {
            any_up = true;
            up_width = std::max(up_width, t.ne[1]);
        }
        if (ends_with(n, ".ffn_gate.weight")) any_gate = true;
        if (ends_with(n, ".attn_qkv.weight")) p.fused_qkv = true;
        if (ends_with(n, ".ffn_up_exps.weight")) ff_exp_tensor = std::max(ff_exp_tensor, t.ne[1]);
        if (ends_with(n, ".ffn_gate_up_exps.weight"))
            ff_exp_tensor = std::max(ff_exp_tensor, t.ne[1] / 2);
        if (ends_with(n, ".ffn_up_shexp.weight"))
            ff_shexp_tensor = std::max(ff_shexp_tensor, t.ne[1]);
        if (ends_with(n, ".ffn_gate_inp.weight") && n.rfind("blk.", 0) == 0) {
            const uint64_t il = std::strtoull(n.c_str() + 4, nullptr, 10);
            if (il < L) p.moe_layer[il] = true;
        }
    }
    p.ffn_gated = !any_up || any_gate;
    const uint64_t ff_max = ff.empty() ? 0 : *std::max_element(ff.begin(), ff.end());
    p.ffn_up_fused_glu = !p.ffn_gated && ff_max > 0 && up_width == 2 * ff_max;

    if (ff_exp_tensor) p.n_ff_exp = ff_exp_tensor;
    if (ff_shexp_tensor) p.n_ff_shexp = ff_shexp_tensor;

    p.n_swa = s.n_swa;
    p.swa.assign(L, false);
    for (uint32_t il = 0; il < L && il < s.swa_layer.size(); ++il) p.swa[il] = s.swa_layer[il];
    // exaone4 windows its layers only in the 64-layer (32B) model.
    if (s.arch == "exaone4" && p.n_layer != 64) p.swa.assign(L, false);

    // Recurrent layers, per architecture (each load_arch_hparams sets is_recr_impl).
    p.recr_layer.assign(L, false);
    for (uint32_t il = 0; il < L; ++il) {
        const bool in_trunk = il < p.n_layer;
        bool recr = false;
        if (p.kind == memory_kind::recurrent) {
            recr = true;
        } else if (p.kind == memory_kind::hybrid) {
            if (s.arch == "falcon-h1") {
                recr = true;
            } else if (one_of(s.arch, {"nemotron_h", "nemotron_h_moe"})) {
                recr = in_trunk && heads_kv[il] == 0 && ff[il] == 0;
            } else if (one_of(s.arch,
                              {"qwen3next", "qwen35", "qwen35moe", "qwen4exp", "minimax-01"})) {
                const gguf_value* rl = h.find(a + "attention.recurrent_layers");
                if (rl && rl->is_array()) {
                    recr = hparam_item(*rl, il).value_or(0) != 0;
                } else if (rl) {
                    recr = hparam_scalar(*rl).value_or(0) != 0;
                } else {
                    const uint64_t interval = hparam_u64(h, a + "full_attention_interval")
                                                  .value_or(s.arch == "minimax-01" ? 8 : 4);
                    recr = in_trunk && interval != 0 && (il + 1) % interval != 0;
                }
            } else {
                recr = in_trunk && heads_kv[il] == 0;
            }
        }
        p.recr_layer[il] = recr;
    }
    // lfm2 windows its attention layers when the file names a window.
    if (one_of(s.arch, {"lfm2", "lfm2moe"}) && p.n_swa > 0) {
        for (uint32_t il = 0; il < p.n_layer; ++il) p.swa[il] = !p.recr_layer[il];
    }

    // Layers with K/V tensors in the main context (create_memory's filters, has_kv).
    int64_t kv_from_start = -1;
    if (s.arch == "gemma3n") kv_from_start = 20;
    if (s.arch == "gemma4") {
        kv_from_start =
            int64_t(L) - int64_t(hparam_u64(h, a + "attention.shared_kv_layers").value_or(0));
    }
    p.kv_layer.assign(L, false);
    if (p.kind == memory_kind::kv_cache || p.kind == memory_kind::hybrid) {
        for (uint32_t il = 0; il < L; ++il) {
            bool has = kv_from_start < 0 || int64_t(il) < kv_from_start;
            if (n_nextn > 0 && p.n_layer > 0) has = has && il < p.n_layer;
            if (p.kind == memory_kind::hybrid) {
                if (s.arch == "falcon-h1") {
                    // every layer has both
                } else if (one_of(s.arch, {"nemotron_h", "nemotron_h_moe"})) {
                    has = has && !p.recr_layer[il] && ff[il] == 0;
                } else {
                    has = has && il < p.n_layer && !p.recr_layer[il];
                }
            }
            p.kv_layer[il] = has;
        }
    }

    p.n_head.resize(L);
    p.n_head_kv.resize(L);
    p.head_k.resize(L);
    p.head_v.resize(L);
    p.n_ff.resize(L);
    for (uint32_t il = 0; il < L; ++il) {
        p.n_head[il] = capped(heads[il]);
        p.n_head_kv[il] = capped(heads_kv[il]);
        p.head_k[il] = capped(p.swa[il] ? hk_swa : hk);
        p.head_v[il] = capped(p.swa[il] ? hv_swa : hv);
        p.n_ff[il] = ff[il];
    }

    // llama_hparams::n_embd_r / n_embd_s.
    const uint64_t n_head0 = L > 0 ? heads[0] : 0;
    if (p.wkv_head_size != 0) {
        p.n_embd_r = token_shift * p.n_embd;
        p.n_embd_s = p.n_embd * p.wkv_head_size;
    } else if (shortconv != 0) {
        p.n_embd_r = p.n_embd * (shortconv - 1);
        p.n_embd_s = uint64_t(p.ssm_d_state) * p.ssm_d_inner;
    } else if (kda_head != 0) {
        const uint64_t d_inner = n_head0 * kda_head;
        p.n_embd_r = 3 * (p.ssm_d_conv > 0 ? p.ssm_d_conv - 1 : 3) * d_inner;
        p.n_embd_s = kda_head * kda_head * n_head0;
    } else {
        p.n_embd_r = uint64_t(p.ssm_d_conv > 0 ? p.ssm_d_conv - 1 : 0) *
                     (p.ssm_d_inner + 2ull * p.ssm_n_group * p.ssm_d_state);
        p.n_embd_s = uint64_t(p.ssm_d_state) * p.ssm_d_inner;
        if (s.arch == "minimax-01") p.n_embd_s = hk * hk * n_head0;  // linear attention
    }
    return p;
}

}  // namespace gguf_squash
