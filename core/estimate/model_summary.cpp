#include "model_summary.h"

#include <algorithm>
#include <cstring>

#include "hparam_values.h"

namespace gguf_squash {

namespace {

// The SWA period llama.cpp's model code assumes when the file has no pattern key, and whether
// the dense layer comes first (llama_hparams::set_swa_pattern). Architectures not listed use no
// sliding-window layers even when the file names a window.
struct swa_default {
    const char* arch;
    uint32_t period;
    bool dense_first;
};
constexpr swa_default kSwaDefaults[] = {
    {"gemma2", 2, false},          {"gemma3", 6, false},      {"gemma3n", 5, false},
    {"gemma-embedding", 6, false}, {"cohere2", 4, false},     {"llama4", 4, false},
    {"gpt-oss", 2, false},         {"exaone4", 4, false},     {"olmo2", 4, false},
    {"modern-bert", 3, true},      {"smallthinker", 4, true}, {"afmoe", 4, false},
    {"exaone-moe", 4, false},      {"plamo3", 8, false},
};

void apply_swa_period(std::vector<bool>& swa, uint64_t period, bool dense_first) {
    for (size_t il = 0; il < swa.size(); ++il) {
        if (period == 0) {
            swa[il] = true;
        } else if (dense_first) {
            swa[il] = il % period != 0;
        } else {
            swa[il] = il % period < period - 1;
        }
    }
}

uint64_t max_of(const std::vector<uint64_t>& v) {
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

}  // namespace

uint32_t model_summary::max_head_kv() const {
    return n_head_kv.empty() ? 0 : *std::max_element(n_head_kv.begin(), n_head_kv.end());
}

uint32_t model_summary::n_swa_layers() const {
    return uint32_t(std::count(swa_layer.begin(), swa_layer.end(), true));
}

result<model_summary> summarize_model(const gguf_header& h) {
    model_summary s;
    s.arch = h.get_string("general.architecture").value_or("");
    s.name = h.get_string("general.name").value_or("");
    if (std::optional<uint64_t> ft = h.get_u64("general.file_type")) s.file_type = uint32_t(*ft);
    s.n_tensors = h.tensors.size();
    s.header_bytes = h.data_offset;
    for (const gguf_tensor_info& t : h.tensors) {
        s.n_params += t.n_elements();
        s.tensor_bytes += t.nbytes();
    }
    const std::string a = s.arch + ".";
    // Caps keep hostile values from sizing vectors: no model has a million layers.
    constexpr uint64_t kMaxLayers = 1 << 16;
    s.n_layer =
        uint32_t(std::min<uint64_t>(hparam_u64(h, a + "block_count").value_or(0), kMaxLayers));
    s.n_ctx_train = hparam_u64(h, a + "context_length").value_or(0);
    s.n_embd = hparam_u64(h, a + "embedding_length").value_or(0);
    s.n_expert = uint32_t(hparam_u64(h, a + "expert_count").value_or(0));
    s.n_expert_used = uint32_t(hparam_u64(h, a + "expert_used_count").value_or(0));
    s.n_ff_expert = hparam_u64(h, a + "expert_feed_forward_length").value_or(0);
    s.n_swa = uint32_t(hparam_u64(h, a + "attention.sliding_window").value_or(0));

    auto ff = hparam_per_layer(h, a + "feed_forward_length", s.n_layer);
    if (!ff.ok()) return ff.error();
    if (*ff) s.n_ff = max_of(**ff);
    auto heads = hparam_per_layer(h, a + "attention.head_count", s.n_layer);
    if (!heads.ok()) return heads.error();
    std::vector<uint64_t> n_head = heads->value_or(std::vector<uint64_t>(s.n_layer, 0));
    s.n_head = uint32_t(max_of(n_head));
    auto kv = hparam_per_layer(h, a + "attention.head_count_kv", s.n_layer);
    if (!kv.ok()) return kv.error();
    std::vector<uint64_t> n_head_kv = kv->value_or(n_head);  // llama.cpp: defaults to head_count

    // Head sizes: key_length / value_length, else n_embd / n_head (of the widest layer, as
    // llama.cpp computes n_embd_head_k from the first layer's head count).
    const uint64_t head0 = n_head.empty() || n_head[0] == 0 ? 0 : s.n_embd / n_head[0];
    const uint64_t head_k = hparam_u64(h, a + "attention.key_length").value_or(head0);
    const uint64_t head_v = hparam_u64(h, a + "attention.value_length").value_or(head0);
    const uint64_t head_k_swa = hparam_u64(h, a + "attention.key_length_swa").value_or(head_k);
    const uint64_t head_v_swa = hparam_u64(h, a + "attention.value_length_swa").value_or(head_v);

    s.swa_layer.assign(s.n_layer, false);
    if (s.n_swa > 0) {
        const gguf_value* pattern = h.find(a + "attention.sliding_window_pattern");
        if (pattern && pattern->is_array()) {
            // One flag per layer.
            for (uint32_t il = 0; il < s.n_layer; ++il) {
                std::optional<uint64_t> x = hparam_item(*pattern, il);
                s.swa_layer[il] = x.value_or(0) != 0;
            }
        } else {
            std::optional<uint64_t> period = pattern ? hparam_scalar(*pattern) : std::nullopt;
            for (const swa_default& d : kSwaDefaults) {
                if (s.arch == d.arch)
                    apply_swa_period(s.swa_layer, period.value_or(d.period), d.dense_first);
            }
        }
    }

    s.n_head_kv.resize(s.n_layer);
    s.head_dim_k.resize(s.n_layer);
    s.head_dim_v.resize(s.n_layer);
    for (uint32_t il = 0; il < s.n_layer; ++il) {
        s.n_head_kv[il] = uint32_t(std::min<uint64_t>(n_head_kv[il], 1u << 20));
        const bool swa = s.swa_layer[il];
        s.head_dim_k[il] = uint32_t(std::min<uint64_t>(swa ? head_k_swa : head_k, 1u << 24));
        s.head_dim_v[il] = uint32_t(std::min<uint64_t>(swa ? head_v_swa : head_v, 1u << 24));
    }

    // Vocabulary: the tokenizer's list, else vocab_size, else the embedding's row count.
    if (const gguf_value* tokens = h.find("tokenizer.ggml.tokens"); tokens && tokens->is_array()) {
        s.n_vocab = tokens->count;
    } else if (std::optional<uint64_t> nv = hparam_u64(h, a + "vocab_size")) {
        s.n_vocab = *nv;
    } else if (int64_t i = h.find_tensor("token_embd.weight"); i >= 0) {
        s.n_vocab = h.tensors[size_t(i)].ne[1];
    }
    return s;
}

gguf_header merged_model_header(const gguf_model& model) {
    gguf_header out;
    if (model.shards.empty()) return out;
    const gguf_header& first = model.shards.front();
    out.version = first.version;
    out.alignment = first.alignment;
    out.kv = first.kv;
    out.data_offset = first.data_offset;
    out.tensors.reserve(model.tensors.size());
    for (const gguf_model_tensor& t : model.tensors) out.tensors.push_back(t.info);
    return out;
}

}  // namespace gguf_squash
