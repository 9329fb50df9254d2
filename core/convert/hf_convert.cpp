#include "convert/hf_convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "convert/json_value.h"
#include "quant/quant_common.h"
#include "quant/quantize.h"

namespace gguf_squash::convert {

namespace {

constexpr double kPi = 3.141592653589793;  // Python's math.pi

// llama_ftype values the converter writes as general.file_type.
constexpr uint32_t kFtypeAllF32 = 0;
constexpr uint32_t kFtypeMostlyF16 = 1;
constexpr uint32_t kFtypeMostlyQ8_0 = 7;
constexpr uint32_t kFtypeMostlyBF16 = 32;

status config_error(const std::string& field, const std::string& why) {
    return make_error(status_code::invalid_file, "config.json: " + field + ": " + why);
}

struct arch_entry {
    const char* hf;
    const char* gguf;
    bool llama_permute;  // LlamaModel.undo_permute
    bool llama_extras;   // LlamaModel: vocab_size, rope.dimension_count, rope_freqs
    bool gemma3;         // Gemma3Model: its norm names, norms + 1, its keys after TextModel's
};

constexpr arch_entry kArchs[] = {
    {"LlamaForCausalLM", "llama", true, true, false},
    {"LLaMAForCausalLM", "llama", true, true, false},
    {"MistralForCausalLM", "llama", true, true, false},
    {"Qwen2ForCausalLM", "qwen2", false, false, false},
    {"Qwen3ForCausalLM", "qwen3", false, false, false},
    {"Gemma3ForCausalLM", "gemma3", false, false, true},
};

// TextModel.find_hparam: the first of `keys` present (present with null counts as present).
const json_value* find_hparam(const json_value& h, std::initializer_list<const char*> keys) {
    for (const char* k : keys)
        if (const json_value* v = h.find(k)) return v;
    return nullptr;
}

// Keys whose presence makes the converter write more (or different) metadata than planned here;
// refused rather than guessed.
constexpr const char* kUnplannedKeys[] = {
    "num_local_experts",
    "num_experts",
    "n_routed_experts",
    "num_experts_per_tok",
    "num_experts_per_token",
    "top_k_experts",
    "n_group",
    "topk_group",
    "layer_norm_eps",
    "layer_norm_epsilon",
    "norm_epsilon",
    "score_function",
    "scoring_func",
    "score_func",
    "moe_router_activation",
    "moe_router_activation_func",
    "expert_selection_fn",
    "quantization_config",
    "rope_parameters",
    "local_rope_theta",
    "rope_local_theta",
    "rope_theta_local",
    "swa_rope_theta",
    "rope_local_base_freq",
    "partial_rotary_factor",
    "rope_pct",
    "rope_percent",
    "global_rope_theta",
    "rope_global_theta",
    "rope_theta_global",
    "draft_vocab_size",
    "transformer_layer_config",
    "text_config",
};

result<uint32_t> u32_param(const json_value* v, const std::string& field) {
    if (!v) return config_error(field, "missing");
    auto u = v->as_u64();
    if (!u || *u > 0xFFFFFFFFull) return config_error(field, "not an unsigned 32-bit integer");
    return uint32_t(*u);
}

struct tensor_name_map {
    // HF suffix after "model.layers.N." -> GGUF suffix after "blk.N."
    std::map<std::string, std::string> layer;
    std::map<std::string, std::string> global;
};

const tensor_name_map& llama_names() {
    static const tensor_name_map m = [] {
        tensor_name_map t;
        t.global = {{"model.embed_tokens.weight", "token_embd.weight"},
                    {"model.norm.weight", "output_norm.weight"},
                    {"lm_head.weight", "output.weight"}};
        const char* pairs[][2] = {
            {"input_layernorm", "attn_norm"},    {"self_attn.q_proj", "attn_q"},
            {"self_attn.k_proj", "attn_k"},      {"self_attn.v_proj", "attn_v"},
            {"self_attn.o_proj", "attn_output"}, {"post_attention_layernorm", "ffn_norm"},
            {"mlp.gate_proj", "ffn_gate"},       {"mlp.up_proj", "ffn_up"},
            {"mlp.down_proj", "ffn_down"},       {"self_attn.q_norm", "attn_q_norm"},
            {"self_attn.k_norm", "attn_k_norm"},
        };
        for (auto& p : pairs)
            for (const char* suffix : {".weight", ".bias"})
                t.layer[std::string(p[0]) + suffix] = std::string(p[1]) + suffix;
        return t;
    }();
    return m;
}

// Gemma 2/3 name their four norms per layer differently from Llama (gguf-py's
// MODEL_TENSOR.ATTN_POST_NORM / FFN_NORM / FFN_POST_NORM for MODEL_ARCH.GEMMA3).
const tensor_name_map& gemma3_names() {
    static const tensor_name_map m = [] {
        tensor_name_map t = llama_names();
        const char* pairs[][2] = {{"post_attention_layernorm", "post_attention_norm"},
                                  {"pre_feedforward_layernorm", "ffn_norm"},
                                  {"post_feedforward_layernorm", "post_ffw_norm"}};
        for (auto& p : pairs)
            for (const char* suffix : {".weight", ".bias"})
                t.layer[std::string(p[0]) + suffix] = std::string(p[1]) + suffix;
        return t;
    }();
    return m;
}

// The GGUF name of a checkpoint tensor, or "" when the converter could not map it.
std::string map_name(const std::string& hf, uint32_t n_layer, bool gemma3) {
    const auto& m = gemma3 ? gemma3_names() : llama_names();
    if (auto it = m.global.find(hf); it != m.global.end()) return it->second;
    const std::string prefix = "model.layers.";
    if (hf.compare(0, prefix.size(), prefix) != 0) return "";
    size_t p = prefix.size();
    size_t q = p;
    while (q < hf.size() && hf[q] >= '0' && hf[q] <= '9') ++q;
    if (q == p || q >= hf.size() || hf[q] != '.') return "";
    const std::string bid = hf.substr(p, q - p);
    if (bid.size() > 6 || std::stoul(bid) >= n_layer) return "";
    auto it = m.layer.find(hf.substr(q + 1));
    if (it == m.layer.end()) return "";
    return "blk." + std::to_string(std::stoul(bid)) + "." + it->second;
}

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

ggml_type outtype_ggml(outtype t) {
    switch (t) {
        case outtype::f32:
            return ggml_type::f32;
        case outtype::bf16:
            return ggml_type::bf16;
        case outtype::q8_0:
            return ggml_type::q8_0;
        default:
            return ggml_type::f16;
    }
}

uint32_t outtype_ftype(outtype t) {
    switch (t) {
        case outtype::f32:
            return kFtypeAllF32;
        case outtype::bf16:
            return kFtypeMostlyBF16;
        case outtype::q8_0:
            return kFtypeMostlyQ8_0;
        default:
            return kFtypeMostlyF16;
    }
}

// LlamaModel.generate_extra_tensors for rope_type "llama3", computed in float32 as torch does.
std::vector<float> llama3_rope_factors(const json_value& rope, float base, uint32_t dim) {
    auto num = [&](const char* k, double d) {
        const json_value* v = rope.find(k);
        return v && v->is_number() ? v->as_f64() : d;
    };
    const double factor = num("factor", 8.0);
    const double low_freq_factor = num("low_freq_factor", 1.0);
    const double high_freq_factor = num("high_freq_factor", 4.0);
    const double old_context_len = num("original_max_position_embeddings", 8192);
    const double low_freq_wavelen = old_context_len / low_freq_factor;
    const double high_freq_wavelen = old_context_len / high_freq_factor;
    std::vector<float> out;
    for (uint32_t i = 0; i < dim; i += 2) {
        const float expo = float(i) / float(dim);
        const float freq = 1.0f / std::pow(base, expo);
        const float wavelen =
            float(2 * kPi) / freq;  // 2 * math.pi, rounded to float32 as torch does
        if (double(wavelen) < high_freq_wavelen) {
            out.push_back(1.0f);
        } else if (double(wavelen) > low_freq_wavelen) {
            out.push_back(float(factor));
        } else {
            const float smooth = (float(old_context_len) / wavelen - float(low_freq_factor)) /
                                 float(high_freq_factor - low_freq_factor);
            out.push_back(1.0f / ((1.0f - smooth) / float(factor) + smooth));
        }
    }
    return out;
}

// gguf-py's layout: the tensors back to back in file order, each padded to the alignment.
void assign_offsets(hf_plan& plan) {
    uint64_t offset = 0;
    for (auto& t : plan.tensors) {
        t.info.offset = offset;
        offset += align_up(t.info.nbytes(), kGgufPyAlignment);
    }
    plan.data_size = offset;
}

}  // namespace

result<outtype> outtype_from_name(const std::string& name) {
    if (name == "auto") return outtype::auto_type;
    if (name == "f32") return outtype::f32;
    if (name == "f16") return outtype::f16;
    if (name == "bf16") return outtype::bf16;
    if (name == "q8_0") return outtype::q8_0;
    return make_error(
        status_code::invalid_argument,
        "--outtype: '" + name + "' is not one of auto, f32, f16, bf16, q8_0" +
            (name == "tq1_0" || name == "tq2_0" ? " (ternary types are not supported yet)" : ""));
}

const char* outtype_name(outtype t) {
    switch (t) {
        case outtype::auto_type:
            return "auto";
        case outtype::f32:
            return "f32";
        case outtype::f16:
            return "f16";
        case outtype::bf16:
            return "bf16";
        case outtype::q8_0:
            return "q8_0";
    }
    return "?";
}

result<hf_plan> plan_hf_conversion(const hf_inputs& in, outtype requested) {
    auto cfg = parse_json(in.config_json, "config.json");
    if (!cfg) return cfg.error();
    const json_value& h = *cfg;
    if (!h.is_object()) return config_error("(top level)", "not a JSON object");

    // get_model_architecture: architectures[0].
    const json_value* archs = h.find("architectures");
    if (!archs || !archs->is_array() || archs->items().empty() || !archs->items()[0].is_string())
        return config_error("architectures", "missing or not a list of names");
    const std::string hf_arch = archs->items()[0].text();
    const arch_entry* arch = nullptr;
    for (const auto& a : kArchs)
        if (hf_arch == a.hf) arch = &a;
    if (!arch)
        return make_error(
            status_code::unsupported,
            "config.json: architectures: " + hf_arch +
                " is not supported by gguf-squash convert (supported: LlamaForCausalLM, "
                "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM); "
                "llama.cpp's "
                "convert_hf_to_gguf.py is needed for it");
    for (const char* k : kUnplannedKeys)
        if (h.find(k) && !(arch->gemma3 && std::strcmp(k, "rope_local_base_freq") == 0))
            return make_error(
                status_code::unsupported,
                "config.json: " + std::string(k) +
                    ": present; the converter writes "
                    "metadata for it that gguf-squash convert does not reproduce yet");
    if (const json_value* c = h.find("is_causal"); c && c->is_bool() && !c->as_bool())
        return make_error(status_code::unsupported,
                          "config.json: is_causal: false is not supported yet");

    hf_plan plan;
    plan.hf_architecture = hf_arch;
    plan.gguf_architecture = arch->gguf;
    plan.requested = requested;
    const std::string A = plan.gguf_architecture;

    // The converter reads transformers' AutoConfig(config.json).to_dict(), which fills absent keys
    // with the config class's defaults. Derived ones are reproduced below (num_key_value_heads =
    // num_attention_heads; LlamaConfig / MistralConfig head_dim = hidden_size / heads); a key whose
    // default is a constant of the class must be in config.json.
    const std::string model_type = h.find("model_type") && h.find("model_type")->is_string()
                                       ? h.find("model_type")->text()
                                       : std::string();
    // Gemma3ForCausalLM with model_type gemma3 (the multimodal config) reads text_config.
    if (arch->gemma3 ? model_type != "gemma3_text"
                     : model_type != "llama" && model_type != "mistral" && model_type != "qwen2" &&
                           model_type != "qwen3")
        return make_error(status_code::unsupported,
                          "config.json: model_type: '" + model_type + "' with " + hf_arch +
                              " is not supported yet (llama, mistral, qwen2, qwen3, gemma3_text)");
    std::vector<const char*> required = {
        "num_hidden_layers",       "hidden_size",  "intermediate_size", "num_attention_heads",
        "max_position_embeddings", "rms_norm_eps", "rope_theta",        "vocab_size"};
    // Gemma3TextConfig's constant defaults (head_dim 256, 4 KV heads, ...) would be written too.
    if (arch->gemma3)
        required.insert(required.end(), {"head_dim", "num_key_value_heads", "rope_local_base_freq",
                                         "sliding_window"});
    for (const char* key : required) {
        const json_value* v = h.find(key);
        if (!v || v->is_null())
            return make_error(status_code::unsupported,
                              std::string("config.json: ") + key +
                                  ": absent; the converter would take transformers' default for "
                                  "it, which gguf-squash convert does not reproduce");
    }
    const bool derives_head_dim = model_type == "llama" || model_type == "mistral";
    if (model_type == "qwen3" && (!h.find("head_dim") || h.find("head_dim")->is_null()))
        return make_error(status_code::unsupported,
                          "config.json: head_dim: absent; the converter would take Qwen3Config's "
                          "default, which gguf-squash convert does not reproduce");

    auto n_layer =
        u32_param(find_hparam(h, {"n_layers", "num_hidden_layers", "n_layer", "num_layers"}),
                  "num_hidden_layers");
    if (!n_layer) return n_layer.error();
    const json_value* n_head_v = find_hparam(h, {"num_attention_heads", "n_head", "n_heads"});
    const json_value* n_kv_v = find_hparam(h, {"num_key_value_heads", "n_kv_heads"});
    const json_value* n_embd_v = find_hparam(h, {"hidden_size", "n_embd", "dim"});

    // --- tensors: every shard's header first (ModelBase.index_tensors) ---
    std::vector<int> order(in.shards.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return in.shards[a].file < in.shards[b].file; });
    if (in.shards.empty())
        return make_error(
            status_code::invalid_file,
            "no model*.safetensors in the model folder (pytorch_model*.bin checkpoints "
            "are not supported yet)");
    if (in.has_index) {
        auto idx = parse_json(in.index_json, "model.safetensors.index.json");
        if (!idx) return idx.error();
        const json_value* wm = idx->find("weight_map");
        if (!wm || !wm->is_object())
            return make_error(status_code::invalid_file,
                              "model.safetensors.index.json: weight_map: missing or not an object");
        std::map<std::string, std::string> index_map;
        std::set<std::string> index_files;
        for (const auto& [name, file] : wm->members()) {
            if (!file.is_string())
                return make_error(
                    status_code::invalid_file,
                    "model.safetensors.index.json: weight_map: '" + name + "' is not a file name");
            index_map[name] = file.text();
            index_files.insert(file.text());
        }
        std::map<std::string, std::string> in_parts;
        for (const auto& s : in.shards)
            if (index_files.count(s.file))
                for (const auto& t : s.header.tensors) in_parts[t.name] = s.file;
        std::vector<std::string> missing, extra;
        for (const auto& [name, file] : index_map)
            if (!in_parts.count(name)) missing.push_back(name + " (" + file + ")");
        for (const auto& [name, file] : in_parts)
            if (!index_map.count(name)) extra.push_back(name + " (" + file + ")");
        std::set<std::string> have;
        for (const auto& s : in.shards) have.insert(s.file);
        for (const auto& f : index_files)
            if (!have.count(f))
                return make_error(status_code::invalid_file,
                                  "model.safetensors.index.json: weight_map names " + f +
                                      ", which is not in the model folder");
        if (!missing.empty() || !extra.empty()) {
            std::string msg = "model.safetensors.index.json: weight_map does not match the shards:";
            if (!missing.empty())
                msg += " missing " + missing.front() +
                       (missing.size() > 1 ? " and " + std::to_string(missing.size() - 1) + " more"
                                           : "");
            if (!extra.empty())
                msg +=
                    " extra " + extra.front() +
                    (extra.size() > 1 ? " and " + std::to_string(extra.size() - 1) + " more" : "");
            return make_error(status_code::invalid_file, msg);
        }
        // Only the indexed shards are read (part_names come from the weight map).
        order.erase(std::remove_if(order.begin(), order.end(),
                                   [&](int i) { return !index_files.count(in.shards[i].file); }),
                    order.end());
    }

    // The converter's dict of tensors: a later shard's tensor of the same name replaces the
    // earlier one in place (dict assignment keeps the first position).
    std::vector<std::pair<int, const st_tensor*>> sources;
    std::map<std::string, size_t> position;
    for (int si : order)
        for (const auto& t : in.shards[si].header.tensors) {
            if (auto it = position.find(t.name); it != position.end()) {
                sources[it->second] = {si, &t};
            } else {
                position[t.name] = sources.size();
                sources.push_back({si, &t});
            }
        }

    // --outtype auto: the first tensor of two or more dimensions decides (ModelBase.__init__).
    outtype resolved = requested;
    if (requested == outtype::auto_type) {
        resolved = outtype::f16;
        for (const auto& [si, t] : sources) {
            if (t->shape.size() < 2) continue;
            if (t->dtype == st_dtype::bf16) resolved = outtype::bf16;
            break;
        }
    }
    plan.file_type = outtype_ftype(resolved);
    if (const json_value* v = h.find("vocab_size"); v && !v->is_null()) {
        auto u = u32_param(v, "vocab_size");
        if (!u) return u.error();
        plan.vocab_size = *u;
    }

    // --- hyperparameters: TextModel.set_gguf_parameters, then the model class's ---
    auto add_u32 = [&](const std::string& key, uint32_t v) {
        plan.hparams.push_back({key, gguf_value::make_u32(v)});
    };
    auto add_f32 = [&](const std::string& key, double v) {
        plan.hparams.push_back({key, gguf_value::make_f32(float(v))});
    };
    add_u32(A + ".block_count", *n_layer);
    if (const json_value* v =
            find_hparam(h, {"max_position_embeddings", "n_ctx", "n_positions", "max_length",
                            "max_sequence_length", "model_max_length"});
        v && !v->is_null()) {
        auto u = u32_param(v, "max_position_embeddings");
        if (!u) return u.error();
        add_u32(A + ".context_length", *u);
    }
    std::optional<uint32_t> n_embd, n_head, n_kv;
    if (n_embd_v && !n_embd_v->is_null()) {
        auto u = u32_param(n_embd_v, "hidden_size");
        if (!u) return u.error();
        n_embd = *u;
        add_u32(A + ".embedding_length", *u);
    }
    if (const json_value* v =
            find_hparam(h, {"prefix_dense_intermediate_size", "dense_intermediate_size",
                            "intermediate_size", "n_inner", "hidden_dim"});
        v && !v->is_null()) {
        auto u = u32_param(v, "intermediate_size");
        if (!u) return u.error();
        add_u32(A + ".feed_forward_length", *u);
    }
    if (n_head_v && !n_head_v->is_null()) {
        auto u = u32_param(n_head_v, "num_attention_heads");
        if (!u) return u.error();
        n_head = *u;
        add_u32(A + ".attention.head_count", *u);
    }
    if (n_kv_v && !n_kv_v->is_null()) {
        auto u = u32_param(n_kv_v, "num_key_value_heads");
        if (!u) return u.error();
        n_kv = *u;
    } else {
        n_kv = n_head;  // the config classes' default
    }
    if (n_kv) add_u32(A + ".attention.head_count_kv", *n_kv);
    const json_value* rope = h.find("rope_scaling");
    if (rope && !rope->is_null()) {
        if (!rope->is_object()) return config_error("rope_scaling", "not an object");
        const json_value* rt = rope->find("rope_type");
        if (!rt) rt = rope->find("type");
        if (rt && !rt->is_null()) {
            std::string type = rt->is_string() ? rt->text() : "";
            std::string lower = type;
            for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
            if (lower != "llama3")
                return make_error(
                    status_code::unsupported,
                    "config.json: rope_scaling.rope_type: '" + type +
                        "' is not supported by gguf-squash convert yet (only llama3)");
            if (!arch->llama_extras)
                return make_error(status_code::unsupported,
                                  "config.json: rope_scaling: llama3 rope scaling on " + hf_arch +
                                      " is not supported yet");
        }
    }
    const json_value* theta =
        find_hparam(h, {"global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta",
                        "rotary_emb_base"});
    if (theta && !theta->is_null()) {
        if (!theta->is_number()) return config_error("rope_theta", "not a number");
        add_f32(A + ".rope.freq_base", theta->as_f64());
    }
    // TextModel: rope_parameters["sliding_attention"]["rope_theta"] from the local theta keys.
    if (const json_value* v = arch->gemma3 ? h.find("rope_local_base_freq") : nullptr) {
        if (!v->is_number()) return config_error("rope_local_base_freq", "not a number");
        add_f32(A + ".rope.freq_base_swa", v->as_f64());
    }
    if (const json_value* v = find_hparam(h, {"rms_norm_eps", "norm_eps"}); v && !v->is_null()) {
        if (!v->is_number()) return config_error("rms_norm_eps", "not a number");
        add_f32(A + ".attention.layer_norm_rms_epsilon", v->as_f64());
    }
    std::optional<uint32_t> head_dim;
    if (const json_value* v = h.find("head_dim"); v && !v->is_null()) {
        auto u = u32_param(v, "head_dim");
        if (!u) return u.error();
        head_dim = *u;
    } else if (derives_head_dim) {
        if (!n_embd || !n_head || *n_head == 0)
            return config_error("hidden_size / num_attention_heads", "missing");
        head_dim = *n_embd / *n_head;
    }
    if (head_dim) {
        add_u32(A + ".attention.key_length", *head_dim);
        add_u32(A + ".attention.value_length", *head_dim);
    }
    add_u32("general.file_type", plan.file_type);
    if (arch->gemma3) {
        // Gemma3Model.set_gguf_parameters rewrites context_length, head_count, the epsilon,
        // key/value_length, freq_base and head_count_kv (the same values here: every one is
        // required above, so its .get() default is never used) and adds its own keys.
        if (const json_value* v = h.find("attn_logit_softcapping"); v && !v->is_null())
            return config_error("attn_logit_softcapping",
                                "set; the converter asserts it is null for Gemma 3");
        if (const json_value* v = h.find("final_logit_softcapping"); v && !v->is_null()) {
            if (!v->is_number()) return config_error("final_logit_softcapping", "not a number");
            if (v->as_f64() != 0.0) add_f32(A + ".final_logit_softcapping", v->as_f64());
        }
        const json_value* pattern = h.find("sliding_window_pattern");
        if (!(pattern && pattern->is_integer() && pattern->as_i64() == 1)) {
            auto w = u32_param(h.find("sliding_window"), "sliding_window");
            if (!w) return w.error();
            add_u32(A + ".attention.sliding_window", *w);
        }
    }
    uint32_t rope_dim = 0;
    if (arch->llama_extras) {
        auto vocab = u32_param(h.find("vocab_size"), "vocab_size");
        if (!vocab) return vocab.error();
        add_u32(A + ".vocab_size", *vocab);
        rope_dim = *head_dim;  // LlamaModel: head_dim, else hidden_size / heads (the same here)
        add_u32(A + ".rope.dimension_count", rope_dim);
    }

    // --- the tensors, in the converter's order ---
    std::vector<planned_tensor> tensors;
    if (arch->llama_extras && rope && rope->is_object()) {
        const json_value* rt = rope->find("rope_type");
        if (!rt) rt = rope->find("type");
        if (rt && rt->is_string()) {
            const json_value* rb = rope->find("rope_theta");
            const double base = rb && rb->is_number()         ? rb->as_f64()
                                : theta && theta->is_number() ? theta->as_f64()
                                                              : 10000.0;
            planned_tensor t;
            t.generated = llama3_rope_factors(*rope, float(base), rope_dim);
            t.info.name = "rope_freqs.weight";
            t.info.type = ggml_type::f32;
            t.info.n_dims = 1;
            t.info.ne[0] = t.generated.size();
            tensors.push_back(std::move(t));
        }
    }
    for (const auto& [si, st] : sources) {
        const std::string& name = st->name;
        if (ends_with(name, ".attention.masked_bias") || ends_with(name, ".attention.bias") ||
            ends_with(name, ".rotary_emb.inv_freq"))
            continue;
        const std::string field = in.shards[si].file + ": tensor '" + name + "'";
        if (st->dtype != st_dtype::f32 && st->dtype != st_dtype::f16 && st->dtype != st_dtype::bf16)
            return make_error(status_code::unsupported,
                              field + ": dtype " + st->dtype_text +
                                  " is not supported by gguf-squash convert yet (F32, F16, BF16)");
        const std::string gname = map_name(name, *n_layer, arch->gemma3);
        if (gname.empty())
            return make_error(
                status_code::unsupported,
                field + ": the converter cannot map this name (\"Can not map tensor\")");
        if (st->shape.empty() || st->shape.size() > kMaxTensorDims)
            return make_error(
                status_code::unsupported,
                field + ": " + std::to_string(st->shape.size()) + " dimensions are not supported");
        planned_tensor t;
        t.source_name = name;
        t.shard = si;
        t.source = *st;
        t.info.name = gname;
        t.info.n_dims = uint32_t(st->shape.size());
        for (size_t d = 0; d < st->shape.size(); ++d)
            t.info.ne[d] = st->shape[st->shape.size() - 1 - d];
        if (arch->llama_permute &&
            (ends_with(name, "q_proj.weight") || ends_with(name, "q_proj.bias") ||
             ends_with(name, "k_proj.weight") || ends_with(name, "k_proj.bias"))) {
            if (!n_head) return config_error("num_attention_heads", "missing");
            const bool is_k = ends_with(name, "k_proj.weight") || ends_with(name, "k_proj.bias");
            uint32_t heads = *n_head;
            if (is_k && n_kv && *n_kv != *n_head) heads = *n_kv;
            const uint64_t rows = st->shape[0];
            if (heads == 0 || rows % (uint64_t(heads) * 2) != 0)
                return make_error(status_code::invalid_file,
                                  field + ": " + std::to_string(rows) + " rows do not split into " +
                                      std::to_string(heads) + " heads of two halves");
            t.permute_heads = heads;
        }
        // The dtype rule of ModelBase.prepare_tensors.
        const bool is_f32 =
            t.info.n_dims <= 1 || ends_with(gname, "_norm.weight") || !ends_with(gname, ".weight");
        ggml_type type = is_f32 ? ggml_type::f32 : outtype_ggml(resolved);
        if (type == ggml_type::q8_0 && t.info.ne[0] % 32 != 0) type = ggml_type::f16;  // QuantError
        t.info.type = type;
        // Gemma3Model.norm_shift: Gemma3RMSNorm scales by (1 + w), so the converter writes w + 1.
        if (arch->gemma3 && ends_with(name, "norm.weight")) t.norm_shift = 1.0f;
        tensors.push_back(std::move(t));
    }
    plan.tensors = std::move(tensors);
    assign_offsets(plan);
    return plan;
}

void limit_token_embd_rows(hf_plan& plan, uint64_t rows) {
    bool changed = false;
    for (auto& t : plan.tensors) {
        if (t.info.name != "token_embd.weight" || t.shard < 0 || t.info.n_dims != 2 ||
            t.info.ne[1] <= rows)
            continue;
        const uint64_t row_src = t.source.nbytes / t.info.ne[1];
        t.info.ne[1] = rows;
        t.source.shape[0] = rows;
        t.source.nbytes = rows * row_src;
        changed = true;
    }
    if (changed) assign_offsets(plan);
}

uint64_t total_parameters(const hf_plan& plan) {
    uint64_t n = 0;
    for (const auto& t : plan.tensors) n += t.info.n_elements();
    return n;
}

const char* output_type_name(const hf_plan& plan) {
    switch (plan.file_type) {
        case kFtypeAllF32:
            return "F32";
        case kFtypeMostlyBF16:
            return "BF16";
        case kFtypeMostlyQ8_0:
            return "Q8_0";
        default:
            return "F16";
    }
}

gguf_header assemble_header(const hf_plan& plan, const std::vector<gguf_kv>& general,
                            const std::vector<gguf_kv>& tokenizer) {
    gguf_header h;
    h.version = 3;
    h.alignment = kGgufPyAlignment;
    h.kv = general;
    h.kv.insert(h.kv.end(), plan.hparams.begin(), plan.hparams.end());
    h.kv.push_back(
        {"general.quantization_version", gguf_value::make_u32(2)});  // GGML_QUANT_VERSION
    h.kv.insert(h.kv.end(), tokenizer.begin(), tokenizer.end());
    for (const auto& t : plan.tensors) h.tensors.push_back(t.info);
    return h;
}

gguf_encode_options gguf_py_layout() {
    gguf_encode_options o;
    o.keep_stored_n_dims = true;
    return o;
}

uint64_t source_row(const planned_tensor& t, uint64_t r) {
    if (t.permute_heads == 0) return r;
    // weights.reshape(n_head, 2, rows / n_head / 2, cols).swapaxes(1, 2): output row
    // (head, i, j) holds source row (head, j, i).
    const uint64_t rows = t.info.n_rows();
    const uint64_t per_head = rows / t.permute_heads;
    const uint64_t half = per_head / 2;
    const uint64_t head = r / per_head;
    const uint64_t within = r % per_head;
    const uint64_t i = within / 2;
    const uint64_t j = within % 2;
    return head * per_head + j * half + i;
}

status convert_rows(const planned_tensor& t, const uint8_t* src, uint64_t first_row, uint64_t nrows,
                    uint8_t* dst) {
    const uint64_t n = t.info.ne[0];
    if (first_row + nrows > t.info.n_rows())
        return make_error(status_code::internal, t.info.name + ": rows out of range");
    std::vector<float> f(n * nrows);
    if (t.shard < 0) {
        std::memcpy(f.data(), t.generated.data() + first_row * n, f.size() * sizeof(float));
    } else if (t.source.dtype == st_dtype::f32) {
        std::memcpy(f.data(), src, f.size() * sizeof(float));
    } else {
        const ggml_type from = t.source.dtype == st_dtype::bf16 ? ggml_type::bf16 : ggml_type::f16;
        GS_RETURN_IF_ERROR(dequantize_rows(from, src, f.data(), int64_t(nrows), int64_t(n)));
    }
    if (t.norm_shift != 0.0f) {
        // data_torch + 1 in the dtype the converter holds: BF16 was widened to F32 first (an
        // exact F32 add); F16 stays F16, so the sum is rounded to F16 once.
        const bool f16 = t.shard >= 0 && t.source.dtype == st_dtype::f16;
        for (float& x : f) {
            x += t.norm_shift;
            if (f16) x = fp16_to_fp32(fp32_to_fp16(x));
        }
    }
    if (t.info.type == ggml_type::f32) {
        std::memcpy(dst, f.data(), f.size() * sizeof(float));
        return {};
    }
    return quantize_rows(t.info.type, f.data(), dst, int64_t(nrows), int64_t(n), nullptr);
}

}  // namespace gguf_squash::convert
