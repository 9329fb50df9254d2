// Small synthetic GGUF headers for the estimator tests: llama-style dense (GQA), sliding-window
// and MoE models, built as headers, encoded to GGUF bytes and read back with the real reader, so
// the estimator sees exactly what a file would give it. No tensor data is needed.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"

namespace gguf_squash::test_support {

struct synthetic_model {
    std::string arch = "llama";
    uint32_t n_layer = 4;
    uint64_t n_embd = 256;
    uint64_t n_ff = 512;
    uint32_t n_head = 4;
    uint32_t n_head_kv = 1;
    std::vector<int32_t> head_kv_per_layer;  // overrides n_head_kv when set
    uint64_t key_length = 0;                 // 0: no key
    uint64_t value_length = 0;
    uint64_t n_vocab = 1024;
    uint64_t ctx_train = 4096;
    uint32_t n_swa = 0;
    int32_t swa_pattern = -1;             // <0: no key
    std::vector<bool> swa_pattern_array;  // per-layer flags (when set)
    uint32_t n_expert = 0, n_expert_used = 0;
    uint64_t n_ff_expert = 0;
};

inline gguf_value i32_array(const std::vector<int32_t>& v) {
    std::vector<uint8_t> raw(v.size() * 4);
    std::memcpy(raw.data(), v.data(), raw.size());
    return gguf_value::make_scalar_array(gguf_value_type::int32, v.size(), std::move(raw));
}

inline gguf_value bool_array(const std::vector<bool>& v) {
    std::vector<uint8_t> raw;
    for (bool b : v) raw.push_back(b ? 1 : 0);
    return gguf_value::make_scalar_array(gguf_value_type::boolean, v.size(), std::move(raw));
}

inline void add_tensor(gguf_header& h, const std::string& name, std::vector<uint64_t> ne,
                       ggml_type type) {
    gguf_tensor_info t;
    t.name = name;
    t.type = type;
    t.n_dims = uint32_t(ne.size());
    for (size_t i = 0; i < ne.size(); ++i) t.ne[i] = ne[i];
    h.tensors.push_back(t);
}

// The header as the reader returns it after encoding (data_offset set, offsets assigned).
inline gguf_header make_synthetic_header(const synthetic_model& m) {
    gguf_header h;
    const std::string a = m.arch + ".";
    h.set("general.architecture", gguf_value::make_string(m.arch));
    h.set("general.name", gguf_value::make_string("synthetic " + m.arch));
    h.set("general.file_type", gguf_value::make_u32(1));
    h.set(a + "block_count", gguf_value::make_u32(m.n_layer));
    h.set(a + "context_length", gguf_value::make_u32(uint32_t(m.ctx_train)));
    h.set(a + "embedding_length", gguf_value::make_u32(uint32_t(m.n_embd)));
    h.set(a + "feed_forward_length", gguf_value::make_u32(uint32_t(m.n_ff)));
    h.set(a + "attention.head_count", gguf_value::make_u32(m.n_head));
    if (!m.head_kv_per_layer.empty()) {
        h.set(a + "attention.head_count_kv", i32_array(m.head_kv_per_layer));
    } else {
        h.set(a + "attention.head_count_kv", gguf_value::make_u32(m.n_head_kv));
    }
    if (m.key_length)
        h.set(a + "attention.key_length", gguf_value::make_u32(uint32_t(m.key_length)));
    if (m.value_length)
        h.set(a + "attention.value_length", gguf_value::make_u32(uint32_t(m.value_length)));
    if (m.n_swa) h.set(a + "attention.sliding_window", gguf_value::make_u32(m.n_swa));
    if (m.swa_pattern >= 0)
        h.set(a + "attention.sliding_window_pattern",
              gguf_value::make_u32(uint32_t(m.swa_pattern)));
    if (!m.swa_pattern_array.empty())
        h.set(a + "attention.sliding_window_pattern", bool_array(m.swa_pattern_array));
    if (m.n_expert) {
        h.set(a + "expert_count", gguf_value::make_u32(m.n_expert));
        h.set(a + "expert_used_count", gguf_value::make_u32(m.n_expert_used));
        h.set(a + "expert_feed_forward_length", gguf_value::make_u32(uint32_t(m.n_ff_expert)));
    }
    std::vector<std::string> tokens;
    for (uint64_t i = 0; i < m.n_vocab; ++i) tokens.push_back("t" + std::to_string(i));
    h.set("tokenizer.ggml.tokens", gguf_value::make_string_array(tokens));

    const uint64_t hk = m.key_length ? m.key_length : m.n_embd / m.n_head;
    const uint64_t hv = m.value_length ? m.value_length : m.n_embd / m.n_head;
    add_tensor(h, "token_embd.weight", {m.n_embd, m.n_vocab}, ggml_type::f16);
    for (uint32_t il = 0; il < m.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        const uint64_t kv =
            m.head_kv_per_layer.empty() ? m.n_head_kv : uint64_t(m.head_kv_per_layer[il]);
        add_tensor(h, p + "attn_norm.weight", {m.n_embd}, ggml_type::f32);
        add_tensor(h, p + "attn_q.weight", {m.n_embd, hk * m.n_head}, ggml_type::f16);
        if (kv) {
            add_tensor(h, p + "attn_k.weight", {m.n_embd, hk * kv}, ggml_type::f16);
            add_tensor(h, p + "attn_v.weight", {m.n_embd, hv * kv}, ggml_type::f16);
        }
        add_tensor(h, p + "attn_output.weight", {hv * m.n_head, m.n_embd}, ggml_type::f16);
        add_tensor(h, p + "ffn_norm.weight", {m.n_embd}, ggml_type::f32);
        if (m.n_expert) {
            add_tensor(h, p + "ffn_gate_inp.weight", {m.n_embd, m.n_expert}, ggml_type::f32);
            add_tensor(h, p + "ffn_gate_exps.weight", {m.n_embd, m.n_ff_expert, m.n_expert},
                       ggml_type::f16);
            add_tensor(h, p + "ffn_up_exps.weight", {m.n_embd, m.n_ff_expert, m.n_expert},
                       ggml_type::f16);
            add_tensor(h, p + "ffn_down_exps.weight", {m.n_ff_expert, m.n_embd, m.n_expert},
                       ggml_type::f16);
        } else {
            add_tensor(h, p + "ffn_gate.weight", {m.n_embd, m.n_ff}, ggml_type::f16);
            add_tensor(h, p + "ffn_up.weight", {m.n_embd, m.n_ff}, ggml_type::f16);
            add_tensor(h, p + "ffn_down.weight", {m.n_ff, m.n_embd}, ggml_type::f16);
        }
    }
    add_tensor(h, "output_norm.weight", {m.n_embd}, ggml_type::f32);
    add_tensor(h, "output.weight", {m.n_embd, m.n_vocab}, ggml_type::f16);
    assign_tensor_offsets(h);
    result<std::vector<uint8_t>> bytes = encode_gguf_header(h);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message();
    if (!bytes.ok()) return gguf_header{};
    // The header alone: the file size is unknown, as for a header read by slices.
    gguf_reader reader;
    input_span in{bytes->data(), bytes->size(), 0};
    result<size_t> fed = reader.feed(in);
    EXPECT_TRUE(fed.ok() && reader.finished()) << (fed.ok() ? "incomplete" : fed.error().message());
    return reader.finished() ? reader.take_header() : gguf_header{};
}

}  // namespace gguf_squash::test_support
