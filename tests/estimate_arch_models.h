// Small models of the architecture families whose memory llama.cpp sizes differently from a plain
// transformer: MLA + MoE (deepseek2), pure recurrent (mamba2), hybrid (granitehybrid), sliding
// window (gemma3), MoE (qwen3moe), and a llama with a head size of 16 (llama.cpp refuses a q8_0 K
// cache for it). Each is a whole model with the tensor names and shapes llama.cpp's loader
// expects for its architecture (src/models/<arch>.cpp, tree de3ff81), big enough that llama.cpp
// loads and runs it, and a "test" tokenizer. The estimator tests only need the headers; with
// GGUF_SQUASH_WRITE_MEMORY_MODELS=DIR the tests also write the files (deterministic data) so that
// tools/record_llama_memory.mjs can run llama.cpp on them.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"

namespace gguf_squash::test_support {

struct arch_test_model {
    std::string name;  // file stem: the recorder's key
    gguf_header header;
};

namespace arch_models_detail {

inline gguf_value u32_array(const std::vector<uint32_t>& v) {
    std::vector<uint8_t> raw(v.size() * 4);
    std::memcpy(raw.data(), v.data(), raw.size());
    return gguf_value::make_scalar_array(gguf_value_type::uint32, v.size(), std::move(raw));
}

inline gguf_value f32_array(const std::vector<float>& v) {
    std::vector<uint8_t> raw(v.size() * 4);
    std::memcpy(raw.data(), v.data(), raw.size());
    return gguf_value::make_scalar_array(gguf_value_type::float32, v.size(), std::move(raw));
}

inline void tensor(gguf_header& h, const std::string& name, std::vector<uint64_t> ne,
                   ggml_type type) {
    gguf_tensor_info t;
    t.name = name;
    t.type = type;
    t.n_dims = uint32_t(ne.size());
    for (size_t i = 0; i < ne.size(); ++i) t.ne[i] = ne[i];
    h.tensors.push_back(t);
}
// Matrices in F16, vectors (norms, biases, SSM parameters) in F32, as converted models hold them.
inline void mat(gguf_header& h, const std::string& name, std::vector<uint64_t> ne) {
    tensor(h, name, std::move(ne), ggml_type::f16);
}
inline void vec(gguf_header& h, const std::string& name, std::vector<uint64_t> ne) {
    tensor(h, name, std::move(ne), ggml_type::f32);
}

inline std::string blk(uint32_t il, const char* what) {
    return "blk." + std::to_string(il) + "." + what;
}

// The keys every model here has: architecture, sizes, RMS epsilon and a "test" tokenizer
// (llama.cpp's LLAMA_VOCAB_TYPE_TEST: token strings and scores, no special tokens).
inline gguf_header base_header(const std::string& arch, const std::string& name, uint32_t n_layer,
                               uint32_t n_embd, uint32_t n_vocab) {
    gguf_header h;
    const std::string a = arch + ".";
    h.set("general.architecture", gguf_value::make_string(arch));
    h.set("general.name", gguf_value::make_string(name));
    h.set("general.file_type", gguf_value::make_u32(1));
    h.set(a + "block_count", gguf_value::make_u32(n_layer));
    h.set(a + "context_length", gguf_value::make_u32(32768));
    h.set(a + "embedding_length", gguf_value::make_u32(n_embd));
    h.set(a + "attention.layer_norm_rms_epsilon", gguf_value::make_f32(1e-5f));
    h.set("tokenizer.ggml.model", gguf_value::make_string("test"));
    std::vector<std::string> tokens;
    for (uint32_t i = 0; i < n_vocab; ++i) tokens.push_back("tok_" + std::to_string(i));
    h.set("tokenizer.ggml.tokens", gguf_value::make_string_array(tokens));
    h.set("tokenizer.ggml.scores", f32_array(std::vector<float>(n_vocab, 0.0f)));
    return h;
}

inline void embeddings(gguf_header& h, uint64_t n_embd, uint64_t n_vocab, bool tied) {
    mat(h, "token_embd.weight", {n_embd, n_vocab});
    vec(h, "output_norm.weight", {n_embd});
    if (!tied) mat(h, "output.weight", {n_embd, n_vocab});
}

inline void attention(gguf_header& h, uint32_t il, uint64_t n_embd, uint64_t q, uint64_t kv_k,
                      uint64_t kv_v) {
    mat(h, blk(il, "attn_q.weight"), {n_embd, q});
    mat(h, blk(il, "attn_k.weight"), {n_embd, kv_k});
    mat(h, blk(il, "attn_v.weight"), {n_embd, kv_v});
    mat(h, blk(il, "attn_output.weight"), {q, n_embd});
}

inline void dense_ffn(gguf_header& h, uint32_t il, uint64_t n_embd, uint64_t n_ff) {
    mat(h, blk(il, "ffn_gate.weight"), {n_embd, n_ff});
    mat(h, blk(il, "ffn_down.weight"), {n_ff, n_embd});
    mat(h, blk(il, "ffn_up.weight"), {n_embd, n_ff});
}

inline void moe_ffn(gguf_header& h, uint32_t il, uint64_t n_embd, uint64_t n_ff_exp,
                    uint64_t n_expert) {
    vec(h, blk(il, "ffn_gate_inp.weight"), {n_embd, n_expert});
    mat(h, blk(il, "ffn_gate_exps.weight"), {n_embd, n_ff_exp, n_expert});
    mat(h, blk(il, "ffn_down_exps.weight"), {n_ff_exp, n_embd, n_expert});
    mat(h, blk(il, "ffn_up_exps.weight"), {n_embd, n_ff_exp, n_expert});
}

// A mamba2 mixer (llama_model_mamba2 / granite_hybrid load_arch_tensors).
inline void mamba2_mixer(gguf_header& h, uint32_t il, uint64_t n_embd, uint64_t d_inner,
                         uint64_t d_state, uint64_t n_group, uint64_t n_ssm_head, uint64_t d_conv) {
    const uint64_t conv_dim = d_inner + 2 * n_group * d_state;
    mat(h, blk(il, "ssm_in.weight"), {n_embd, d_inner + conv_dim + n_ssm_head});
    vec(h, blk(il, "ssm_conv1d.weight"), {d_conv, conv_dim});
    vec(h, blk(il, "ssm_conv1d.bias"), {conv_dim});
    vec(h, blk(il, "ssm_dt.bias"), {n_ssm_head});
    vec(h, blk(il, "ssm_a"), {1, n_ssm_head});
    vec(h, blk(il, "ssm_d"), {1, n_ssm_head});
    vec(h, blk(il, "ssm_norm.weight"), {d_inner / n_group, n_group});
    mat(h, blk(il, "ssm_out.weight"), {d_inner, n_embd});
}

inline void ssm_keys(gguf_header& h, const std::string& arch, uint32_t d_conv, uint32_t d_inner,
                     uint32_t d_state, uint32_t n_ssm_head, uint32_t n_group) {
    const std::string a = arch + ".";
    h.set(a + "ssm.conv_kernel", gguf_value::make_u32(d_conv));
    h.set(a + "ssm.inner_size", gguf_value::make_u32(d_inner));
    h.set(a + "ssm.state_size", gguf_value::make_u32(d_state));
    h.set(a + "ssm.time_step_rank", gguf_value::make_u32(n_ssm_head));
    h.set(a + "ssm.group_count", gguf_value::make_u32(n_group));
}

// Offsets assigned, encoded and read back with the real reader: what a file's header gives.
inline gguf_header finish(gguf_header h) {
    assign_tensor_offsets(h);
    result<std::vector<uint8_t>> bytes = encode_gguf_header(h);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message();
    if (!bytes.ok()) return gguf_header{};
    gguf_reader reader;
    input_span in{bytes->data(), bytes->size(), 0};
    result<size_t> fed = reader.feed(in);
    EXPECT_TRUE(fed.ok() && reader.finished()) << (fed.ok() ? "incomplete" : fed.error().message());
    return reader.finished() ? reader.take_header() : gguf_header{};
}

}  // namespace arch_models_detail

// llama, head size 16 (n_embd 256, 16 heads, 4 KV heads): llama.cpp refuses q8_0/q4_0 caches.
inline arch_test_model arch_model_llama_hd16() {
    using namespace arch_models_detail;
    const uint32_t n_layer = 4, n_embd = 256, n_head = 16, n_head_kv = 4, n_ff = 768;
    const uint32_t n_vocab = 4096, hd = n_embd / n_head;
    gguf_header h = base_header("llama", "memory llama-hd16", n_layer, n_embd, n_vocab);
    h.set("llama.feed_forward_length", gguf_value::make_u32(n_ff));
    h.set("llama.attention.head_count", gguf_value::make_u32(n_head));
    h.set("llama.attention.head_count_kv", gguf_value::make_u32(n_head_kv));
    h.set("llama.rope.dimension_count", gguf_value::make_u32(hd));
    embeddings(h, n_embd, n_vocab, false);
    for (uint32_t il = 0; il < n_layer; ++il) {
        vec(h, blk(il, "attn_norm.weight"), {n_embd});
        attention(h, il, n_embd, n_embd, hd * n_head_kv, hd * n_head_kv);
        vec(h, blk(il, "ffn_norm.weight"), {n_embd});
        dense_ffn(h, il, n_embd, n_ff);
    }
    return {"llama-hd16", finish(std::move(h))};
}

// gemma3: 8 layers, window 512, the default period 6 (layers 5 full, the rest windowed), head
// size 128 from key_length, 2 KV heads, tied embeddings.
inline arch_test_model arch_model_gemma3() {
    using namespace arch_models_detail;
    const uint32_t n_layer = 8, n_embd = 512, n_head = 4, n_head_kv = 2, hd = 128, n_ff = 1536;
    const uint32_t n_vocab = 8192;
    gguf_header h = base_header("gemma3", "memory gemma3", n_layer, n_embd, n_vocab);
    h.set("gemma3.feed_forward_length", gguf_value::make_u32(n_ff));
    h.set("gemma3.attention.head_count", gguf_value::make_u32(n_head));
    h.set("gemma3.attention.head_count_kv", gguf_value::make_u32(n_head_kv));
    h.set("gemma3.attention.key_length", gguf_value::make_u32(hd));
    h.set("gemma3.attention.value_length", gguf_value::make_u32(hd));
    h.set("gemma3.attention.sliding_window", gguf_value::make_u32(512));
    embeddings(h, n_embd, n_vocab, true);
    for (uint32_t il = 0; il < n_layer; ++il) {
        vec(h, blk(il, "attn_norm.weight"), {n_embd});
        attention(h, il, n_embd, hd * n_head, hd * n_head_kv, hd * n_head_kv);
        vec(h, blk(il, "post_attention_norm.weight"), {n_embd});
        vec(h, blk(il, "attn_k_norm.weight"), {hd});
        vec(h, blk(il, "attn_q_norm.weight"), {hd});
        vec(h, blk(il, "ffn_norm.weight"), {n_embd});
        dense_ffn(h, il, n_embd, n_ff);
        vec(h, blk(il, "post_ffw_norm.weight"), {n_embd});
    }
    return {"gemma3", finish(std::move(h))};
}

// qwen3moe: 4 layers, 8 heads of 64, 2 KV heads, 16 experts of 256, 4 used.
inline arch_test_model arch_model_qwen3moe() {
    using namespace arch_models_detail;
    const uint32_t n_layer = 4, n_embd = 512, n_head = 8, n_head_kv = 2, hd = 64;
    const uint32_t n_expert = 16, n_expert_used = 4, n_ff_exp = 256, n_vocab = 16384;
    gguf_header h = base_header("qwen3moe", "memory qwen3moe", n_layer, n_embd, n_vocab);
    h.set("qwen3moe.feed_forward_length", gguf_value::make_u32(1024));
    h.set("qwen3moe.attention.head_count", gguf_value::make_u32(n_head));
    h.set("qwen3moe.attention.head_count_kv", gguf_value::make_u32(n_head_kv));
    h.set("qwen3moe.expert_count", gguf_value::make_u32(n_expert));
    h.set("qwen3moe.expert_used_count", gguf_value::make_u32(n_expert_used));
    h.set("qwen3moe.expert_feed_forward_length", gguf_value::make_u32(n_ff_exp));
    embeddings(h, n_embd, n_vocab, false);
    for (uint32_t il = 0; il < n_layer; ++il) {
        vec(h, blk(il, "attn_norm.weight"), {n_embd});
        attention(h, il, n_embd, hd * n_head, hd * n_head_kv, hd * n_head_kv);
        vec(h, blk(il, "attn_k_norm.weight"), {hd});
        vec(h, blk(il, "attn_q_norm.weight"), {hd});
        vec(h, blk(il, "ffn_norm.weight"), {n_embd});
        moe_ffn(h, il, n_embd, n_ff_exp, n_expert);
    }
    return {"qwen3moe", finish(std::move(h))};
}

// deepseek2 with MLA: kv_lora_rank 256, rope 32, MLA head sizes 96/64, 8 heads, no q LoRA, one
// leading dense layer, then 8 routed experts (2 used) and one shared expert. GGUF's key_length /
// value_length are the compressed sizes (kv_lora_rank + rope, kv_lora_rank) with one KV head.
inline arch_test_model arch_model_deepseek2() {
    using namespace arch_models_detail;
    const uint32_t n_layer = 4, n_embd = 512, n_head = 8, kv_lora = 256, rope = 32;
    const uint32_t hd_k_mla = 96, hd_v_mla = 64, n_ff = 1024, n_ff_exp = 256;
    const uint32_t n_expert = 8, n_expert_used = 2, n_vocab = 8192;
    gguf_header h = base_header("deepseek2", "memory deepseek2-mla", n_layer, n_embd, n_vocab);
    const std::string a = "deepseek2.";
    h.set(a + "feed_forward_length", gguf_value::make_u32(n_ff));
    h.set(a + "attention.head_count", gguf_value::make_u32(n_head));
    h.set(a + "attention.head_count_kv", gguf_value::make_u32(1));
    h.set(a + "attention.key_length", gguf_value::make_u32(kv_lora + rope));
    h.set(a + "attention.value_length", gguf_value::make_u32(kv_lora));
    h.set(a + "attention.key_length_mla", gguf_value::make_u32(hd_k_mla));
    h.set(a + "attention.value_length_mla", gguf_value::make_u32(hd_v_mla));
    h.set(a + "attention.q_lora_rank", gguf_value::make_u32(0));
    h.set(a + "attention.kv_lora_rank", gguf_value::make_u32(kv_lora));
    h.set(a + "rope.dimension_count", gguf_value::make_u32(rope));
    h.set(a + "leading_dense_block_count", gguf_value::make_u32(1));
    h.set(a + "expert_count", gguf_value::make_u32(n_expert));
    h.set(a + "expert_used_count", gguf_value::make_u32(n_expert_used));
    h.set(a + "expert_shared_count", gguf_value::make_u32(1));
    h.set(a + "expert_feed_forward_length", gguf_value::make_u32(n_ff_exp));
    h.set(a + "expert_weights_scale", gguf_value::make_f32(1.0f));
    embeddings(h, n_embd, n_vocab, false);
    for (uint32_t il = 0; il < n_layer; ++il) {
        vec(h, blk(il, "attn_norm.weight"), {n_embd});
        vec(h, blk(il, "attn_kv_a_norm.weight"), {kv_lora});
        mat(h, blk(il, "attn_q.weight"), {n_embd, n_head * hd_k_mla});
        mat(h, blk(il, "attn_kv_a_mqa.weight"), {n_embd, kv_lora + rope});
        mat(h, blk(il, "attn_k_b.weight"), {hd_k_mla - rope, kv_lora, n_head});
        mat(h, blk(il, "attn_v_b.weight"), {kv_lora, hd_v_mla, n_head});
        mat(h, blk(il, "attn_output.weight"), {n_head * hd_v_mla, n_embd});
        vec(h, blk(il, "ffn_norm.weight"), {n_embd});
        if (il < 1) {
            dense_ffn(h, il, n_embd, n_ff);
        } else {
            vec(h, blk(il, "ffn_gate_inp.weight"), {n_embd, n_expert});
            mat(h, blk(il, "ffn_down_exps.weight"), {n_ff_exp, n_embd, n_expert});
            mat(h, blk(il, "ffn_gate_exps.weight"), {n_embd, n_ff_exp, n_expert});
            mat(h, blk(il, "ffn_up_exps.weight"), {n_embd, n_ff_exp, n_expert});
            mat(h, blk(il, "ffn_gate_shexp.weight"), {n_embd, n_ff_exp});
            mat(h, blk(il, "ffn_down_shexp.weight"), {n_ff_exp, n_embd});
            mat(h, blk(il, "ffn_up_shexp.weight"), {n_embd, n_ff_exp});
        }
    }
    return {"deepseek2-mla", finish(std::move(h))};
}

// mamba2: 4 layers, d_inner 1024, d_state 128, 1 group, 16 SSM heads, conv kernel 4.
inline arch_test_model arch_model_mamba2() {
    using namespace arch_models_detail;
    const uint32_t n_layer = 4, n_embd = 512, d_inner = 1024, d_state = 128, n_group = 1;
    const uint32_t n_ssm_head = 16, d_conv = 4, n_vocab = 8192;
    gguf_header h = base_header("mamba2", "memory mamba2", n_layer, n_embd, n_vocab);
    ssm_keys(h, "mamba2", d_conv, d_inner, d_state, n_ssm_head, n_group);
    embeddings(h, n_embd, n_vocab, false);
    for (uint32_t il = 0; il < n_layer; ++il) {
        vec(h, blk(il, "attn_norm.weight"), {n_embd});
        mamba2_mixer(h, il, n_embd, d_inner, d_state, n_group, n_ssm_head, d_conv);
    }
    return {"mamba2", finish(std::move(h))};
}

// granitehybrid: 6 layers, mamba2 mixers except layers 2 and 5 (attention, 8 heads of 64, 2 KV
// heads: head_count_kv is 0 on recurrent layers), dense feed-forward on every layer.
inline arch_test_model arch_model_granitehybrid() {
    using namespace arch_models_detail;
    const uint32_t n_layer = 6, n_embd = 512, n_head = 8, hd = 64, n_ff = 1024;
    const uint32_t d_inner = 1024, d_state = 64, n_group = 1, n_ssm_head = 16, d_conv = 4;
    const uint32_t n_vocab = 8192;
    const std::vector<uint32_t> kv_heads = {0, 0, 2, 0, 0, 2};
    gguf_header h = base_header("granitehybrid", "memory granitehybrid", n_layer, n_embd, n_vocab);
    const std::string a = "granitehybrid.";
    h.set(a + "feed_forward_length", gguf_value::make_u32(n_ff));
    h.set(a + "attention.head_count", gguf_value::make_u32(n_head));
    h.set(a + "attention.head_count_kv", u32_array(kv_heads));
    ssm_keys(h, "granitehybrid", d_conv, d_inner, d_state, n_ssm_head, n_group);
    embeddings(h, n_embd, n_vocab, false);
    for (uint32_t il = 0; il < n_layer; ++il) {
        vec(h, blk(il, "attn_norm.weight"), {n_embd});
        if (kv_heads[il] == 0) {
            mamba2_mixer(h, il, n_embd, d_inner, d_state, n_group, n_ssm_head, d_conv);
        } else {
            attention(h, il, n_embd, hd * n_head, hd * kv_heads[il], hd * kv_heads[il]);
        }
        vec(h, blk(il, "ffn_norm.weight"), {n_embd});
        dense_ffn(h, il, n_embd, n_ff);
    }
    return {"granitehybrid", finish(std::move(h))};
}

inline std::vector<arch_test_model> arch_test_models() {
    return {arch_model_llama_hd16(), arch_model_gemma3(), arch_model_qwen3moe(),
            arch_model_deepseek2(),  arch_model_mamba2(), arch_model_granitehybrid()};
}

// The whole file: header, then each tensor's data (small deterministic values; F32 or F16) and
// its padding. Returns false if the file cannot be written.
inline bool write_arch_model_file(const gguf_header& header, const std::string& path) {
    result<std::vector<uint8_t>> head = encode_gguf_header(header);
    if (!head.ok()) return false;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    bool ok = std::fwrite(head->data(), 1, head->size(), f) == head->size();
    uint32_t state = 12345;
    std::vector<uint8_t> buf;
    for (const gguf_tensor_info& t : header.tensors) {
        const uint64_t n = t.n_elements();
        buf.assign(t.nbytes() + tensor_padding(t.nbytes(), header.alignment), 0);
        for (uint64_t i = 0; i < n; ++i) {
            state = state * 1664525u + 1013904223u;
            // Uniform in [-0.05, 0.05): small enough that no activation overflows F16.
            const float v = (float(state >> 8) / float(1u << 24) - 0.5f) * 0.1f;
            if (t.type == ggml_type::f32) {
                std::memcpy(buf.data() + i * 4, &v, 4);
            } else {
                // F32 -> F16 by truncation (values are small and normal; exactness is irrelevant).
                uint32_t bits;
                std::memcpy(&bits, &v, 4);
                const uint32_t sign = (bits >> 16) & 0x8000u;
                const int32_t exp = int32_t((bits >> 23) & 0xff) - 127 + 15;
                uint16_t half = uint16_t(sign);
                if (exp > 0 && exp < 31)
                    half = uint16_t(sign | (uint32_t(exp) << 10) | ((bits >> 13) & 0x3ffu));
                std::memcpy(buf.data() + i * 2, &half, 2);
            }
        }
        ok = ok && std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
    }
    return std::fclose(f) == 0 && ok;
}

}  // namespace gguf_squash::test_support
