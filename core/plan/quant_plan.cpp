#include "quant_plan.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>

#include "format/gguf_writer.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
constexpr uint32_t kMaxLayers = 512;          // LLAMA_MAX_LAYERS
constexpr uint32_t kMaxExperts = 512;         // LLAMA_MAX_EXPERTS

// ---------------------------------------------------------------------------------------------
// Model facts the recipes look at (llama_hparams and llm_type, as the loader derives them).

struct model_facts {
    std::string arch;
    uint32_t n_layer = 0;
    uint32_t n_expert = 0;
    uint32_t n_head = 0;     // layer 0
    uint32_t n_head_kv = 0;  // layer 0
    bool is_70b = false;

    uint32_t n_gqa() const { return n_head_kv == 0 ? 0 : n_head / n_head_kv; }
};

const kv_override* find_int_override(const quantize_options& o, const std::string& key) {
    for (const kv_override& kv : o.kv_overrides) {
        if (kv.key == key) return kv.type == kv_override::kind::integer ? &kv : nullptr;
    }
    return nullptr;
}

// An integer hyper-parameter: a scalar, or element 0 of a per-layer array.
result<std::optional<uint64_t>> read_count(const gguf_header& h, const quantize_options& o,
                                           const std::string& key) {
    if (const kv_override* ov = find_int_override(o, key)) {
        return std::optional<uint64_t>(uint64_t(ov->int_value));
    }
    const gguf_value* v = h.find(key);
    if (!v) return std::optional<uint64_t>();
    if (v->is_array()) {
        if (v->count == 0 || v->raw_items.empty()) return std::optional<uint64_t>();
        gguf_value first;
        first.type = v->item_type;
        const size_t n = gguf_value_type_size(v->item_type);
        if (n == 0 || v->item_type == gguf_value_type::float32 ||
            v->item_type == gguf_value_type::float64 || v->raw_items.size() < n) {
            return make_error(status_code::refused, "key " + key + " has the wrong type");
        }
        std::memcpy(&first.scalar_bits, v->raw_items.data(), n);
        return std::optional<uint64_t>(first.as_u64());
    }
    if (!v->is_integer()) {
        return make_error(status_code::refused,
                          "key " + key + " has wrong type " + gguf_value_type_name(v->type));
    }
    return std::optional<uint64_t>(v->as_u64());
}

result<model_facts> read_model_facts(const gguf_header& h, const quantize_options& o) {
    model_facts m;
    std::optional<std::string> arch = h.get_string("general.architecture");
    if (!arch) {
        return make_error(status_code::refused,
                          "error loading model: key not found in model: general.architecture");
    }
    m.arch = *arch;
    auto n_layer = read_count(h, o, m.arch + ".block_count");
    if (!n_layer.ok()) return n_layer.error();
    if (!n_layer->has_value()) {
        return make_error(status_code::refused,
                          "error loading model hyperparameters: key not "
                          "found in model: " +
                              m.arch + ".block_count");
    }
    if (**n_layer == 0 || **n_layer > kMaxLayers) {
        return make_error(status_code::refused,
                          m.arch + ".block_count must be in 1.." + std::to_string(kMaxLayers));
    }
    m.n_layer = uint32_t(**n_layer);
    auto n_expert = read_count(h, o, m.arch + ".expert_count");
    if (!n_expert.ok()) return n_expert.error();
    if (n_expert->value_or(0) > kMaxExperts) {
        return make_error(status_code::refused,
                          m.arch + ".expert_count is larger than " + std::to_string(kMaxExperts));
    }
    m.n_expert = uint32_t(n_expert->value_or(0));
    auto n_head = read_count(h, o, m.arch + ".attention.head_count");
    if (!n_head.ok()) return n_head.error();
    m.n_head = uint32_t(n_head->value_or(0));
    auto n_head_kv = read_count(h, o, m.arch + ".attention.head_count_kv");
    if (!n_head_kv.ok()) return n_head_kv.error();
    m.n_head_kv = n_head_kv->has_value() ? uint32_t(**n_head_kv) : m.n_head;

    // LLM_TYPE_70B, as each architecture's loader sets it; the recipes only ask about 70B.
    if (m.arch == "llama") {
        m.is_70b = m.n_expert != 8 && m.n_layer == 80 && m.n_head != m.n_head_kv;
    } else if (m.arch == "qwen2" || m.arch == "deci" || m.arch == "olmo") {
        m.is_70b = m.n_layer == 80;
    } else if (m.arch == "jais2") {
        m.is_70b = m.n_layer == 68;
    }
    return m;
}

// ---------------------------------------------------------------------------------------------
// Names.

// sscanf(name, "blk.%d.", &layer): the number after "blk." (the trailing dot is not required).
bool scan_block_number(const std::string& name, int& layer) {
    if (name.compare(0, 4, "blk.") != 0) return false;
    size_t i = 4;
    while (i < name.size() && std::isspace(static_cast<unsigned char>(name[i]))) ++i;
    bool negative = false;
    if (i < name.size() && (name[i] == '+' || name[i] == '-')) negative = name[i++] == '-';
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    long long v = 0;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
        v = std::min<long long>(v * 10 + (name[i] - '0'), 1LL << 40);
    }
    v = negative ? -v : v;
    layer = int(std::clamp<long long>(v, -2147483647LL - 1, 2147483647LL));
    return true;
}

// The model loader's tensor order: non-layer tensors first, then by layer number; by name within.
bool loader_order_less(const std::string& a, const std::string& b) {
    int la = -1, lb = -1;
    scan_block_number(a, la);
    scan_block_number(b, lb);
    if (la != lb) return la < lb;
    return a < b;
}

// The first "blk.<digits>." anywhere in the name: position and length of the digits.
bool find_block_digits(const std::string& name, size_t& pos, size_t& len) {
    for (size_t at = name.find("blk."); at != std::string::npos; at = name.find("blk.", at + 1)) {
        size_t i = at + 4, j = i;
        while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
        if (j > i && j < name.size() && name[j] == '.') {
            pos = i;
            len = j - i;
            return true;
        }
    }
    return false;
}

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

bool is_token_embd_name(const std::string& n) {
    return n == "token_embd.weight" || n == "per_layer_token_embd.weight";
}
bool is_output_name(const std::string& n) {
    return n == "output.weight";
}
bool contains(const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
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

// ggml_n_dims: the number of dimensions up to the last extent above 1 (at least 1).
uint32_t effective_dims(const uint64_t ne[4]) {
    for (uint32_t i = kMaxTensorDims; i > 1; --i) {
        if (ne[i - 1] > 1) return i;
    }
    return 1;
}

// Which tensors llama-quantize may give a new type (tensor_allows_quantization).
bool allows_quantization(const quantize_options& o, const std::string& name, const uint64_t ne[4]) {
    if (o.only_copy) return false;
    if (effective_dims(ne) < 2) return false;
    // "ends with weight", with llama.cpp's unsigned arithmetic kept (a 5-character name without
    // "weight" counts as ending with it).
    bool q = name.rfind("weight") == name.size() - 6;
    q = q && !contains(name, "_norm.weight");
    q = q && (o.quantize_output_tensor || name != "output.weight");
    static const char* const kNever[] = {
        "ffn_gate_inp.weight",
        "ffn_gate_tid2eid.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d",
        "shortconv.conv.weight",
        "indexer.k_proj.weight",
        "indexer.q_proj.weight",
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
        "attn_rel_b.weight",
        ".position_embd",
        "sam.pos_embd",
        "sam.neck.",
        "sam.net_",
        ".rel_pos",
        ".patch_embd",
        ".patch_merger",
        "a.rvq.codebook",
        "mm.a.code_embd",
    };
    for (const char* part : kNever) q = q && !contains(name, part);
    q = q && name != "position_embd.weight" && name != "token_types.weight";
    return q;
}

// ---------------------------------------------------------------------------------------------
// Regular expressions. Builds without exception support (wasm) cannot catch std::regex_error,
// so there a pattern is first checked against the ECMAScript grammar, conservatively: anything
// doubtful is refused rather than risking an abort.

bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

bool plausible_regex_pattern(const std::string& p) {
    int open = 0, groups = 0;
    bool can_quantify = false;  // the previous item is an atom a quantifier may follow
    for (size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\') {
            if (++i >= p.size()) return false;
            const char e = p[i];
            if (e >= '1' && e <= '9') {
                if (e - '0' > groups) return false;
            } else if (e == 'c') {
                if (i + 1 >= p.size() || !std::isalpha(static_cast<unsigned char>(p[i + 1])))
                    return false;
                ++i;
            } else if (e == 'x') {
                if (i + 2 >= p.size() || !is_hex(p[i + 1]) || !is_hex(p[i + 2])) return false;
                i += 2;
            } else if (e == 'u') {
                for (int k = 1; k <= 4; ++k) {
                    if (i + k >= p.size() || !is_hex(p[i + k])) return false;
                }
                i += 4;
            }
            can_quantify = e != 'b' && e != 'B';
        } else if (c == '[') {
            size_t j = i + 1;
            if (j < p.size() && p[j] == '^') ++j;
            int prev = -1;
            bool closed = false;
            for (; j < p.size(); ++j) {
                if (p[j] == ']') {
                    closed = true;
                    break;
                }
                int cur = static_cast<unsigned char>(p[j]);
                if (p[j] == '\\') {
                    if (++j >= p.size()) return false;
                    cur = -1;  // escapes are not checked as range ends
                } else if (p[j] == '[') {
                    return false;  // [: :], [. .], [= =] and the like: refused
                } else if (p[j] == '-' && prev >= 0 && j + 1 < p.size() && p[j + 1] != ']' &&
                           p[j + 1] != '\\') {
                    if (static_cast<unsigned char>(p[j + 1]) < prev) return false;
                    ++j;
                    cur = -1;
                }
                prev = cur;
            }
            if (!closed) return false;
            i = j;
            can_quantify = true;
        } else if (c == '(') {
            if (i + 1 < p.size() && p[i + 1] == '?') {
                if (i + 2 >= p.size() || (p[i + 2] != ':' && p[i + 2] != '=' && p[i + 2] != '!')) {
                    return false;
                }
                i += 2;
            } else {
                ++groups;
            }
            ++open;
            can_quantify = false;
        } else if (c == ')') {
            if (--open < 0) return false;
            can_quantify = true;
        } else if (c == '|') {
            can_quantify = false;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (!can_quantify) return false;
            if (c == '{') {
                size_t j = i + 1, m = 0, n = 0, digits_m = 0, digits_n = 0;
                while (j < p.size() && std::isdigit(static_cast<unsigned char>(p[j]))) {
                    m = std::min<size_t>(m * 10 + size_t(p[j++] - '0'), 100000);
                    ++digits_m;
                }
                if (digits_m == 0) return false;
                bool comma = false;
                if (j < p.size() && p[j] == ',') {
                    comma = true;
                    ++j;
                    while (j < p.size() && std::isdigit(static_cast<unsigned char>(p[j]))) {
                        n = std::min<size_t>(n * 10 + size_t(p[j++] - '0'), 100000);
                        ++digits_n;
                    }
                }
                if (j >= p.size() || p[j] != '}') return false;
                if (comma && digits_n > 0 && n < m) return false;
                i = j;
            }
            if (i + 1 < p.size() && p[i + 1] == '?') ++i;  // lazy
            can_quantify = false;
        } else if (c == '}' || c == ']') {
            return false;
        } else if (c == '^' || c == '$') {
            can_quantify = false;
        } else {
            can_quantify = true;
        }
    }
    return open == 0;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Type selection (llama_tensor_get_type and its helpers).

using ft = llama_ftype;

struct recipe_state {
    const quantize_options& options;
    const model_facts& model;
    std::vector<std::pair<std::regex, ggml_type>> patterns;
    int n_attention_wv = 0, n_ffn_down = 0, n_ffn_gate = 0, n_ffn_up = 0;
    int i_attention_wv = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;
    int n_fallback = 0;
    bool has_imatrix = false;
    bool has_tied_embeddings = true;
};

bool any_of(ft f, std::initializer_list<ft> list) {
    return std::find(list.begin(), list.end(), f) != list.end();
}

uint32_t block_size_of(ggml_type t) {
    return type_info(t).block_size;
}

// A type that fits the row length when the chosen one does not (tensor_type_fallback).
result<ggml_type> fallback_type(recipe_state& s, const uint64_t ne[4], ggml_type target,
                                bool& fell_back) {
    const uint64_t ncols = ne[0];
    const uint64_t qk = block_size_of(target);
    if (ncols % qk == 0) return target;
    fell_back = true;
    ++s.n_fallback;
    ggml_type r = target;
    switch (target) {
        case ggml_type::iq1_s:
        case ggml_type::iq1_m:
        case ggml_type::iq2_xxs:
        case ggml_type::iq2_xs:
        case ggml_type::iq2_s:
        case ggml_type::iq3_xxs:
        case ggml_type::iq3_s:
        case ggml_type::iq4_xs:
            r = ggml_type::iq4_nl;
            break;
        case ggml_type::q2_0:
        case ggml_type::q2_k:
        case ggml_type::q3_k:
        case ggml_type::tq1_0:
        case ggml_type::tq2_0:
            r = ggml_type::q4_0;
            break;
        case ggml_type::q4_k:
            r = ggml_type::q5_0;
            break;
        case ggml_type::q5_k:
            r = ggml_type::q5_1;
            break;
        case ggml_type::q6_k:
            r = ggml_type::q8_0;
            break;
        default:
            if (qk > 32) {
                return make_error(status_code::refused,
                                  std::string("no tensor type fallback is defined for type ") +
                                      type_info(target).ggml_name);
            }
            break;
    }
    // Still not a divisor of the row length (rows not a multiple of 32): F16.
    if (ncols % block_size_of(r) != 0) r = ggml_type::f16;
    return r;
}

// The layer of an FFN tensor: the running counter, or for MoE models the number in the name.
result<std::pair<int, int>> layer_info(const recipe_state& s, int i_layer, int n_layer,
                                       const std::string& name) {
    if (std::max<uint32_t>(1, s.model.n_expert) > 1) {
        if (!scan_block_number(name, i_layer)) {
            return make_error(status_code::refused, "Failed to determine layer for tensor " + name);
        }
        if (i_layer < 0 || i_layer >= n_layer) {
            return make_error(status_code::refused,
                              "Bad layer " + std::to_string(i_layer) + " for tensor " + name +
                                  ". Must be in [0, " + std::to_string(n_layer) + ")");
        }
    }
    return std::make_pair(i_layer, n_layer);
}

bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
           (i_layer - n_layers / 8) % 3 == 2;
}

// The ftype's mix (llama_tensor_get_type_impl).
result<ggml_type> mix_type(recipe_state& s, ggml_type t, const std::string& name,
                           const uint64_t ne[4], tensor_category cat) {
    const ft f = s.options.ftype;
    const model_facts& m = s.model;
    const bool falcon = m.arch == "falcon";
    const uint32_t n_gqa = m.n_gqa();

    if (cat == tensor_category::output ||
        (s.has_tied_embeddings && cat == tensor_category::token_embd)) {
        if (s.options.output_tensor_type) {
            t = *s.options.output_tensor_type;
        } else {
            const uint64_t nx = ne[0];
            const uint64_t qk = block_size_of(t);
            if (f == ft::mostly_mxfp4_moe) {
                t = ggml_type::q8_0;
            } else if (falcon || nx % qk != 0) {
                t = ggml_type::q8_0;
            } else if (any_of(f, {ft::mostly_iq2_xxs, ft::mostly_iq2_xs, ft::mostly_iq3_xxs,
                                  ft::mostly_iq1_s, ft::mostly_iq2_s, ft::mostly_iq2_m,
                                  ft::mostly_iq1_m})) {
                t = ggml_type::q5_k;
            } else if (t != ggml_type::q8_0) {
                t = ggml_type::q6_k;
            }
        }
    } else if (f == ft::mostly_mxfp4_moe) {
        const bool bailing_expert = m.arch == "bailingmoe3" && (cat == tensor_category::ffn_up ||
                                                                cat == tensor_category::ffn_gate ||
                                                                cat == tensor_category::ffn_down);
        if (ne[2] > 1 && (m.arch != "bailingmoe3" || bailing_expert)) {
            t = ggml_type::mxfp4;
        } else {
            t = ggml_type::q8_0;
        }
    } else if (cat == tensor_category::token_embd) {
        if (s.options.token_embedding_type) {
            t = *s.options.token_embedding_type;
        } else if (any_of(f, {ft::mostly_iq2_xxs, ft::mostly_iq2_xs, ft::mostly_iq1_s,
                              ft::mostly_iq1_m})) {
            t = ggml_type::q2_k;
        } else if (any_of(f, {ft::mostly_iq2_s, ft::mostly_iq2_m, ft::mostly_iq3_xxs})) {
            t = ggml_type::iq3_s;
        } else if (any_of(f, {ft::mostly_tq1_0, ft::mostly_tq2_0, ft::mostly_q2_0})) {
            t = ggml_type::q4_k;
        }
    } else if (any_of(f, {ft::mostly_iq2_xxs, ft::mostly_iq2_xs, ft::mostly_iq1_s, ft::mostly_iq2_s,
                          ft::mostly_iq2_m, ft::mostly_iq1_m})) {
        const bool iq2_s_or_m = f == ft::mostly_iq2_s || f == ft::mostly_iq2_m;
        if (is_attn_v_like(cat)) {
            if (n_gqa >= 4 || m.n_expert >= 4) {
                t = ggml_type::q4_k;
            } else {
                t = iq2_s_or_m ? ggml_type::iq3_s : ggml_type::q2_k;
            }
            ++s.i_attention_wv;
        } else if (m.n_expert == 8 && cat == tensor_category::attention_k) {
            t = ggml_type::q4_k;
        } else if (cat == tensor_category::ffn_down) {
            if (s.i_ffn_down < s.n_ffn_down / 8) {
                t = iq2_s_or_m ? ggml_type::iq3_s : ggml_type::q2_k;
            }
            ++s.i_ffn_down;
        } else if (cat == tensor_category::attention_output) {
            if (m.n_expert == 8) {
                t = ggml_type::q5_k;
            } else if (f == ft::mostly_iq1_s || f == ft::mostly_iq1_m) {
                t = ggml_type::iq2_xxs;
            } else if (iq2_s_or_m) {
                t = ggml_type::iq3_s;
            }
        }
    } else if (is_attn_v_like(cat)) {
        if (f == ft::mostly_q2_k) {
            t = n_gqa >= 4 ? ggml_type::q4_k : ggml_type::q3_k;
        } else if (f == ft::mostly_q2_k_s && n_gqa >= 4) {
            t = ggml_type::q4_k;
        } else if (f == ft::mostly_iq3_xxs) {
            t = n_gqa >= 4 ? ggml_type::q4_k
                           : (!s.has_imatrix ? ggml_type::iq3_s : ggml_type::iq3_xxs);
        } else if ((f == ft::mostly_iq3_xs || f == ft::mostly_iq3_s) && n_gqa >= 4) {
            t = ggml_type::q4_k;
        } else if (f == ft::mostly_iq3_m) {
            t = ggml_type::q4_k;
        } else if (f == ft::mostly_q3_k_m) {
            t = s.i_attention_wv < 2 ? ggml_type::q5_k : ggml_type::q4_k;
        } else if (f == ft::mostly_q3_k_l) {
            t = ggml_type::q5_k;
        } else if ((f == ft::mostly_iq4_nl || f == ft::mostly_iq4_xs) && n_gqa >= 4) {
            t = ggml_type::q5_k;
        } else if ((f == ft::mostly_q4_k_m || f == ft::mostly_q5_k_m) &&
                   use_more_bits(s.i_attention_wv, s.n_attention_wv)) {
            t = ggml_type::q6_k;
        } else if (f == ft::mostly_q4_k_s && s.i_attention_wv < 4) {
            t = ggml_type::q5_k;
        }
        // 70B: attn_v is 8x smaller than attn_q, so more bits cost little.
        if (m.is_70b && (t == ggml_type::q3_k || t == ggml_type::q4_k)) t = ggml_type::q5_k;
        if (m.n_expert == 8) t = ggml_type::q8_0;
        ++s.i_attention_wv;
    } else if (cat == tensor_category::attention_k) {
        if (m.n_expert == 8) {
            t = ggml_type::q8_0;
        } else if (f == ft::mostly_iq3_xs) {
            t = ggml_type::iq3_xxs;
        } else if (f == ft::mostly_iq3_xxs) {
            t = ggml_type::iq2_s;
        }
    } else if (cat == tensor_category::attention_q) {
        if (f == ft::mostly_iq3_xs) {
            t = ggml_type::iq3_xxs;
        } else if (f == ft::mostly_iq3_xxs) {
            t = ggml_type::iq2_s;
        }
    } else if (cat == tensor_category::ffn_down) {
        auto info = layer_info(s, s.i_ffn_down, s.n_ffn_down, name);
        if (!info.ok()) return info.error();
        const int i_layer = info->first, n_layer = info->second;
        if (f == ft::mostly_q2_k) {
            t = ggml_type::q3_k;
        } else if (f == ft::mostly_q2_k_s) {
            if (i_layer < n_layer / 8) t = ggml_type::q4_k;
        } else if (f == ft::mostly_iq3_xxs && !s.has_imatrix) {
            t = i_layer < n_layer / 8 ? ggml_type::q4_k : ggml_type::q3_k;
        } else if (f == ft::mostly_q3_k_m) {
            t = i_layer < n_layer / 16                         ? ggml_type::q5_k
                : (!falcon || use_more_bits(i_layer, n_layer)) ? ggml_type::q4_k
                                                               : ggml_type::q3_k;
        } else if (f == ft::mostly_iq3_m &&
                   (i_layer < n_layer / 8 ||
                    (m.n_expert == 8 && use_more_bits(i_layer, n_layer)))) {
            t = ggml_type::q4_k;
        } else if (f == ft::mostly_q3_k_l) {
            t = falcon ? ggml_type::q4_k : ggml_type::q5_k;
        } else if (f == ft::mostly_q4_k_m) {
            if (falcon) {
                t = i_layer < n_layer / 16            ? ggml_type::q6_k
                    : use_more_bits(i_layer, n_layer) ? ggml_type::q5_k
                                                      : ggml_type::q4_k;
            } else if (use_more_bits(i_layer, n_layer)) {
                t = ggml_type::q6_k;
            }
        } else if (i_layer < n_layer / 8 && (f == ft::mostly_iq4_nl || f == ft::mostly_iq4_xs) &&
                   !s.has_imatrix) {
            t = ggml_type::q5_k;
        } else if (f == ft::mostly_q5_k_m && use_more_bits(i_layer, n_layer)) {
            t = ggml_type::q6_k;
        } else if (f == ft::mostly_q4_k_s && !falcon && i_layer < n_layer / 8) {
            t = ggml_type::q5_k;
        } else if ((f == ft::mostly_q4_0 || f == ft::mostly_q5_0) && s.has_imatrix &&
                   i_layer < n_layer / 8) {
            // The first ffn_down layers can go wrong even with an imatrix for Q4_0/Q5_0.
            t = f == ft::mostly_q4_0 ? ggml_type::q4_1 : ggml_type::q5_1;
        }
        ++s.i_ffn_down;
    } else if (cat == tensor_category::attention_output) {
        if (!falcon) {
            if (m.n_expert == 8) {
                if (any_of(f, {ft::mostly_q2_k, ft::mostly_iq3_xs, ft::mostly_iq3_xxs,
                               ft::mostly_q3_k_s, ft::mostly_q3_k_m, ft::mostly_iq4_nl,
                               ft::mostly_q4_k_s, ft::mostly_q4_k_m, ft::mostly_iq3_s,
                               ft::mostly_iq3_m, ft::mostly_iq4_xs})) {
                    t = ggml_type::q5_k;
                }
            } else {
                if (f == ft::mostly_q2_k) {
                    t = ggml_type::q3_k;
                } else if (f == ft::mostly_iq3_xxs) {
                    t = ggml_type::iq3_s;
                } else if (f == ft::mostly_q3_k_m) {
                    t = ggml_type::q4_k;
                } else if (f == ft::mostly_q3_k_l) {
                    t = ggml_type::q5_k;
                } else if (f == ft::mostly_iq3_m) {
                    t = ggml_type::q4_k;
                }
            }
        } else if (f == ft::mostly_q3_k_l) {
            t = ggml_type::q4_k;
        }
    } else if (cat == tensor_category::attention_qkv) {
        if (f == ft::mostly_q3_k_m || f == ft::mostly_q3_k_l || f == ft::mostly_iq3_m) {
            t = ggml_type::q4_k;
        } else if (f == ft::mostly_q4_k_m) {
            t = ggml_type::q5_k;
        } else if (f == ft::mostly_q5_k_m) {
            t = ggml_type::q6_k;
        }
    } else if (cat == tensor_category::ffn_gate || cat == tensor_category::ffn_up) {
        int& counter = cat == tensor_category::ffn_gate ? s.i_ffn_gate : s.i_ffn_up;
        const int total = cat == tensor_category::ffn_gate ? s.n_ffn_gate : s.n_ffn_up;
        auto info = layer_info(s, counter, total, name);
        if (!info.ok()) return info.error();
        const int i_layer = info->first, n_layer = info->second;
        if (f == ft::mostly_iq3_xs && i_layer >= n_layer / 8 && i_layer < 7 * n_layer / 8) {
            t = ggml_type::iq3_xxs;
        }
        ++counter;
    }
    return t;
}

// llama_tensor_get_type: overrides first, then the mix, then the fallback.
result<ggml_type> choose_type(recipe_state& s, const std::string& name, const uint64_t ne[4],
                              ggml_type default_type, tensor_category cat, bool& fell_back) {
    const quantize_options& o = s.options;
    if (o.token_embedding_type && cat == tensor_category::token_embd) {
        // per_layer_token_embd follows --token-embedding-type unless a --tensor-type names it.
        bool named = false;
        if (name == "per_layer_token_embd.weight") {
            for (const auto& p : s.patterns) {
                if (std::regex_search(name, p.first)) {
                    named = true;
                    break;
                }
            }
        }
        if (!named) return *o.token_embedding_type;
    }
    if (o.output_tensor_type && cat == tensor_category::output) return *o.output_tensor_type;

    ggml_type t = default_type;
    if (!type_info(default_type).is_quantized) return t;
    bool manual = false;
    for (const auto& p : s.patterns) {
        if (std::regex_search(name, p.first)) {
            t = p.second;
            manual = true;
            break;
        }
    }
    if (!manual && !o.pure) {
        auto mixed = mix_type(s, t, name, ne, cat);
        if (!mixed.ok()) return mixed.error();
        t = *mixed;
    }
    return fallback_type(s, ne, t, fell_back);
}

// tensor_requires_imatrix
bool requires_imatrix(const std::string& name, ggml_type t, ft f) {
    if (is_token_embd_name(name) || is_output_name(name)) return false;
    switch (t) {
        case ggml_type::iq3_xxs:
        case ggml_type::iq2_xxs:
        case ggml_type::iq2_xs:
        case ggml_type::iq2_s:
        case ggml_type::iq1_m:
        case ggml_type::iq1_s:
            return true;
        case ggml_type::q2_k:
            return f == ft::mostly_q2_k_s;  // only in a Q2_K_S file
        default:
            return false;
    }
}

// ---------------------------------------------------------------------------------------------
// Output metadata.

// gguf_set_val_*: a set removes the key and appends it at the end.
// How llama-quantize's output header is encoded: general.alignment is data (see
// encode_plan_header).
gguf_encode_options plan_encode_options() {
    gguf_encode_options o;
    o.alignment_key_as_data = true;
    return o;
}

void set_last(std::vector<gguf_kv>& kv, const std::string& key, gguf_value v) {
    kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const gguf_kv& e) { return e.key == key; }),
             kv.end());
    kv.push_back({key, std::move(v)});
}

void erase_key(std::vector<gguf_kv>& kv, const std::string& key) {
    auto it = std::find_if(kv.begin(), kv.end(), [&](const gguf_kv& e) { return e.key == key; });
    if (it != kv.end()) kv.erase(it);
}

gguf_value override_value(const kv_override& o) {
    switch (o.type) {
        case kv_override::kind::floating:
            return gguf_value::make_f32(float(o.float_value));
        // Integer overrides are written as UINT32 of the absolute value, as llama.cpp does.
        case kv_override::kind::integer:
            return gguf_value::make_u32(
                uint32_t(o.int_value < 0 ? -(uint64_t)o.int_value : (uint64_t)o.int_value));
        case kv_override::kind::boolean:
            return gguf_value::make_bool(o.bool_value);
        case kv_override::kind::string:
            return gguf_value::make_string(o.string_value);
    }
    return gguf_value::make_string(o.string_value);
}

// The file type the loader reports for COPY: general.file_type, else the most common tensor type
// marked as guessed.
// One input tensor as the model loader sees it: its info, the shard that holds it and the
// absolute offset of its data in that shard's file.
struct source_tensor {
    const gguf_tensor_info* info = nullptr;
    uint32_t shard = 0;
    uint64_t offset = 0;
};

result<uint32_t> loader_file_type(const gguf_header& h, const std::vector<source_tensor>& src,
                                  const std::vector<size_t>& order) {
    if (const gguf_value* v = h.find("general.file_type")) {
        if (v->type != gguf_value_type::uint32) {
            return make_error(status_code::refused, "key general.file_type has wrong type " +
                                                        std::string(gguf_value_type_name(v->type)));
        }
        return uint32_t(v->scalar_bits);
    }
    std::map<ggml_type, uint32_t> counts;
    uint32_t best_count = 0;
    ggml_type best = ggml_type::f32;
    for (size_t i : order) {
        const ggml_type t = src[i].info->type;
        if (++counts[t] > best_count) {
            best_count = counts[t];
            best = t;
        }
    }
    uint32_t f = 0;
    switch (best) {
        case ggml_type::f32:
            f = 0;
            break;
        case ggml_type::f16:
            f = 1;
            break;
        case ggml_type::bf16:
            f = 32;
            break;
        case ggml_type::q4_0:
            f = 2;
            break;
        case ggml_type::q4_1:
            f = 3;
            break;
        case ggml_type::q5_0:
            f = 8;
            break;
        case ggml_type::q5_1:
            f = 9;
            break;
        case ggml_type::q8_0:
            f = 7;
            break;
        case ggml_type::q2_k:
            f = 10;
            break;
        case ggml_type::q3_k:
            f = 12;
            break;
        case ggml_type::q4_k:
            f = 15;
            break;
        case ggml_type::q5_k:
            f = 17;
            break;
        case ggml_type::q6_k:
            f = 18;
            break;
        case ggml_type::tq1_0:
            f = 36;
            break;
        case ggml_type::tq2_0:
            f = 37;
            break;
        case ggml_type::iq2_xxs:
            f = 19;
            break;
        case ggml_type::iq2_xs:
            f = 20;
            break;
        case ggml_type::iq2_s:
            f = 28;
            break;
        case ggml_type::iq3_xxs:
            f = 23;
            break;
        case ggml_type::iq1_s:
            f = 24;
            break;
        case ggml_type::iq1_m:
            f = 31;
            break;
        case ggml_type::iq4_nl:
            f = 25;
            break;
        case ggml_type::iq4_xs:
            f = 30;
            break;
        case ggml_type::iq3_s:
            f = 26;
            break;
        case ggml_type::nvfp4:
            f = 39;
            break;
        case ggml_type::q1_0:
            f = 40;
            break;
        case ggml_type::q2_0:
            f = 41;
            break;
        default:
            f = 0;
            break;
    }
    return f | kLlamaFtypeGuessed;
}

bool can_convert_from(ggml_type t) {
    if (t == ggml_type::f16 || t == ggml_type::bf16 || t == ggml_type::f32) return true;
    return type_info(t).is_quantized && can_dequantize(t);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Option parsing.

result<kv_override> parse_kv_override(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq >= 128) {
        return make_error(status_code::invalid_argument, "malformed KV override '" + text + "'");
    }
    kv_override o;
    // The key is a C string in llama.cpp: it ends at the first NUL.
    o.key = std::string(text.c_str(), std::min(eq, std::strlen(text.c_str())));
    const std::string rest = text.substr(eq + 1);
    auto starts = [&](const char* p) { return rest.compare(0, std::strlen(p), p) == 0; };
    if (starts("int:")) {
        o.type = kv_override::kind::integer;
        o.int_value = std::strtoll(rest.c_str() + 4, nullptr, 10);  // atol
    } else if (starts("float:")) {
        o.type = kv_override::kind::floating;
        o.float_value = std::strtod(rest.c_str() + 6, nullptr);  // atof
    } else if (starts("bool:")) {
        o.type = kv_override::kind::boolean;
        const std::string v = rest.substr(5);
        if (v == "true") {
            o.bool_value = true;
        } else if (v == "false") {
            o.bool_value = false;
        } else {
            return make_error(status_code::invalid_argument,
                              "invalid boolean value for KV override '" + text + "'");
        }
    } else if (starts("str:")) {
        o.type = kv_override::kind::string;
        o.string_value = rest.substr(4);
        if (o.string_value.size() > 127) {
            return make_error(
                status_code::invalid_argument,
                "malformed KV override '" + text + "', value cannot exceed 127 chars");
        }
    } else {
        return make_error(status_code::invalid_argument,
                          "invalid type for KV override '" + text + "'");
    }
    return o;
}

result<tensor_type_override> parse_tensor_type_override(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
        return make_error(status_code::invalid_argument, "malformed tensor type '" + text + "'");
    }
    if (eq == 0) return make_error(status_code::invalid_argument, "missing tensor name");
    if (eq + 1 == text.size()) {
        return make_error(status_code::invalid_argument, "missing quantization type");
    }
    tensor_type_override o;
    o.pattern = text.substr(0, eq);
    for (char& c : o.pattern) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::optional<ggml_type> t = parse_ggml_type_name(text.substr(eq + 1));
    if (!t) {
        return make_error(status_code::invalid_argument,
                          "invalid quantization type '" + text.substr(eq + 1) + "'");
    }
    o.type = *t;
    return o;
}

result<std::vector<int>> parse_prune_layers(const std::string& text) {
    std::vector<int> layers;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string part =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        // std::stoi: leading integer; anything unparsable counts as -1, which is refused.
        char* end = nullptr;
        errno = 0;
        const long v = std::strtol(part.c_str(), &end, 10);
        int id = (end == part.c_str() || errno == ERANGE || v > 2147483647L) ? -1 : int(v);
        if (id < 0) {
            return make_error(status_code::invalid_argument, "invalid layer id '" + part + "'");
        }
        layers.push_back(id);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    std::sort(layers.begin(), layers.end());
    layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
    return layers;
}

// ---------------------------------------------------------------------------------------------

namespace {

// make_quant_plan for a model's metadata (`input`, shard 0's header) and its tensors from every
// shard.
result<quant_plan> plan_model(const gguf_header& input, const std::vector<source_tensor>& src,
                              const quantize_options& opts) {
    const std::optional<ggml_type> default_type = ftype_default_type(opts.ftype);
    if (!default_type) {
        return make_error(status_code::invalid_argument,
                          "invalid output file type " + std::to_string(uint32_t(opts.ftype)));
    }
    auto facts = read_model_facts(input, opts);
    if (!facts.ok()) return facts.error();

    recipe_state s{opts, *facts, {}};
    for (const tensor_type_override& o : opts.tensor_types) {
#ifdef __EMSCRIPTEN__
        if (!plausible_regex_pattern(o.pattern)) {
            return make_error(status_code::invalid_argument,
                              "invalid --tensor-type pattern '" + o.pattern + "'");
        }
#endif
        try {
            s.patterns.emplace_back(std::regex(o.pattern), o.type);
        } catch (...) {
            return make_error(status_code::invalid_argument,
                              "invalid --tensor-type pattern '" + o.pattern + "'");
        }
    }

    const imatrix_data* im = (opts.imatrix && !opts.imatrix->empty()) ? opts.imatrix : nullptr;
    s.has_imatrix = im != nullptr || opts.assume_imatrix;
    if (im) {
        for (const auto& [name, values] : im->entries) {
            for (float v : values) {
                if (!std::isfinite(v)) {
                    return make_error(status_code::refused,
                                      "imatrix contains non-finite value in entry " + name);
                }
            }
        }
    }

    // The loader's tensor order.
    std::vector<size_t> order(src.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return loader_order_less(src[a].info->name, src[b].info->name);
    });

    quant_plan plan;
    plan.file_type = uint32_t(opts.ftype);
    if (opts.only_copy) {
        auto f = loader_file_type(input, src, order);
        if (!f.ok()) return f.error();
        plan.file_type = *f;
    }

    // Layer pruning: renumber the kept layers, remembering where each new number came from.
    std::map<int, std::string> mapped;  // input layer -> output layer ("" = pruned)
    int next_id = 0;
    std::vector<std::pair<size_t, std::string>> kept;  // input index, output name
    for (size_t i : order) {
        const std::string& name = src[i].info->name;
        if (opts.prune_layers.empty()) {
            kept.emplace_back(i, name);
            continue;
        }
        size_t pos = 0, len = 0;
        if (!find_block_digits(name, pos, len)) {
            kept.emplace_back(i, name);
            continue;
        }
        const std::string digits = name.substr(pos, len);
        if (len > 9) {
            return make_error(status_code::refused, "layer number out of range in " + name);
        }
        const int blk = std::atoi(digits.c_str());
        if (!mapped.count(blk)) {
            if (std::binary_search(opts.prune_layers.begin(), opts.prune_layers.end(), blk)) {
                mapped[blk] = "";
            } else if (blk < opts.prune_layers.front()) {
                mapped[blk] = std::to_string(blk);
                next_id = blk + 1;
            } else {
                mapped[blk] = std::to_string(next_id);
                ++next_id;
            }
        }
        if (mapped[blk].empty()) continue;
        std::string renamed = name;
        renamed.replace(pos, len, mapped[blk]);
        kept.emplace_back(i, renamed);
    }

    // Output metadata: the input's keys, then the quantization keys, overrides and block count,
    // each set moving its key to the end.
    gguf_header& out = plan.output;
    out.version = 3;
    out.alignment = kDefaultAlignment;
    for (const gguf_kv& kv : input.kv) {
        if (kv.value.is_array() && kv.value.item_type == gguf_value_type::array) {
            return make_error(status_code::refused,
                              "key " + kv.key + ": nested arrays cannot be copied");
        }
        set_last(out.kv, kv.key, kv.value);
    }
    set_last(out.kv, "general.quantization_version", gguf_value::make_u32(kQuantizationVersion));
    set_last(out.kv, "general.file_type", gguf_value::make_u32(plan.file_type));
    erase_key(out.kv, "split.no");
    erase_key(out.kv, "split.count");
    erase_key(out.kv, "split.tensors.count");
    std::vector<kv_override> overrides = opts.kv_overrides;
    if (im) {
        auto str = [](const std::string& key, const std::string& v) {
            kv_override o;
            o.key = key;
            o.type = kv_override::kind::string;
            o.string_value = v.substr(0, 127);
            return o;
        };
        auto num = [](const std::string& key, int64_t v) {
            kv_override o;
            o.key = key;
            o.type = kv_override::kind::integer;
            o.int_value = v;
            return o;
        };
        overrides.push_back(str("quantize.imatrix.file", opts.imatrix_file));
        if (!im->datasets.empty()) {
            overrides.push_back(str("quantize.imatrix.dataset", im->datasets[0]));
        }
        overrides.push_back(num("quantize.imatrix.entries_count", int64_t(im->entries.size())));
        if (im->chunk_count > 0) {
            overrides.push_back(num("quantize.imatrix.chunks_count", im->chunk_count));
        }
    }
    for (const kv_override& o : overrides) {
        if (o.key == "general.alignment" && o.type != kv_override::kind::integer) {
            return make_error(status_code::refused, "general.alignment must be type u32");
        }
        set_last(out.kv, o.key, override_value(o));
    }
    if (!opts.prune_layers.empty()) {
        set_last(out.kv, facts->arch + ".block_count", gguf_value::make_u32(uint32_t(next_id)));
    }

    // --keep-split: llama-quantize sorts the kept tensors by (shard, offset) before anything
    // else, so its files, its tensor order and its layer counters all follow the input files.
    if (opts.keep_split) {
        std::stable_sort(kept.begin(), kept.end(), [&](const auto& a, const auto& b) {
            const source_tensor& x = src[a.first];
            const source_tensor& y = src[b.first];
            return x.shard != y.shard ? x.shard < y.shard : x.offset < y.offset;
        });
        std::vector<bool> used;
        for (const auto& k : kept) {
            const uint32_t shard = src[k.first].shard;
            if (shard >= used.size()) used.resize(shard + 1, false);
            used[shard] = true;
        }
        plan.output_file_count = std::max<uint32_t>(1, uint32_t(used.size()));
        // Shard 0 always exists (it holds the metadata); a later shard left without tensors
        // (all pruned) is a file llama-quantize cannot create.
        for (size_t i = 1; i < used.size(); ++i) {
            if (!used[i]) {
                return make_error(status_code::refused,
                                  "--keep-split: no tensors are left for output shard " +
                                      std::to_string(i + 1) + " of " + std::to_string(used.size()));
            }
        }
        if (plan.output_file_count > 65535) {
            return make_error(status_code::refused, "--keep-split: too many shards");
        }
    }

    // Counters and categories over the kept tensors.
    std::vector<tensor_category> cats(kept.size());
    for (size_t k = 0; k < kept.size(); ++k) {
        cats[k] = category_of(kept[k].second);
        if (is_attn_v_like(cats[k])) ++s.n_attention_wv;
        if (cats[k] == tensor_category::output) s.has_tied_embeddings = false;
    }
    s.n_ffn_down = s.n_ffn_gate = s.n_ffn_up = int(facts->n_layer);

    // Preliminary pass: types and the imatrix requirement.
    plan.tensors.resize(kept.size());
    for (size_t k = 0; k < kept.size(); ++k) {
        const gguf_tensor_info& info = *src[kept[k].first].info;
        tensor_plan& tp = plan.tensors[k];
        tp.name = kept[k].second;
        tp.source_name = info.name;
        tp.source_index = kept[k].first;
        tp.source_type = info.type;
        for (int d = 0; d < 4; ++d) tp.ne[d] = info.ne[d];
        tp.source_shard = src[kept[k].first].shard;
        tp.source_offset = src[kept[k].first].offset;
        tp.source_bytes = info.nbytes();
        tp.output_file = opts.keep_split ? tp.source_shard : 0;
        tp.allows_quantization = allows_quantization(opts, tp.name, tp.ne);
        tp.target_type = info.type;
        if (tp.allows_quantization) {
            auto t = choose_type(s, tp.name, tp.ne, *default_type, cats[k], tp.fallback);
            if (!t.ok()) return t.error();
            tp.target_type = *t;
        }
        tp.imatrix_required = requires_imatrix(tp.name, tp.target_type, ft(plan.file_type));
        if (!im && !opts.assume_imatrix && tp.allows_quantization && tp.imatrix_required) {
            if (opts.dry_run) {
                plan.will_require_imatrix = true;
            } else {
                return make_error(
                    status_code::refused,
                    "this quantization requires an importance matrix (offending "
                    "tensor: " +
                        tp.name + ", target type: " + type_info(tp.target_type).ggml_name + ")");
            }
        }
        // The imatrix entry keeps the input's layer number.
        tp.imatrix_name = tp.name;
        if (!mapped.empty()) {
            size_t pos = 0, len = 0;
            if (find_block_digits(tp.name, pos, len)) {
                const std::string blk = tp.name.substr(pos, len);
                for (const auto& [orig, now] : mapped) {
                    if (now == blk) {
                        tp.imatrix_name.replace(pos, len, std::to_string(orig));
                        break;
                    }
                }
            }
        }
    }

    // Main-pass checks, made up front so that nothing is written for a run that will fail.
    for (tensor_plan& tp : plan.tensors) {
        const uint32_t bs = block_size_of(tp.target_type);
        if (tp.ne[0] % bs != 0) {
            return make_error(status_code::refused,
                              "tensor " + tp.name + ": row length " + std::to_string(tp.ne[0]) +
                                  " is not a multiple of " + std::to_string(bs) +
                                  " (block size of " + type_info(tp.target_type).ggml_name + ")");
        }
        tp.target_bytes = row_size(tp.target_type, tp.ne[0]) * (tp.ne[1] * tp.ne[2] * tp.ne[3]);
        if (!tp.converts() || opts.dry_run) continue;
        if (opts.assume_imatrix) {
            tp.imatrix_present = true;
        } else if (im) {
            auto it = im->entries.find(tp.imatrix_name);
            if (it != im->entries.end()) {
                if (it->second.size() == tp.ne[0] * tp.ne[2]) {
                    tp.imatrix_present = true;
                } else if (!is_token_embd_name(tp.name)) {
                    return make_error(status_code::refused,
                                      "imatrix size " + std::to_string(it->second.size()) +
                                          " is different from tensor size " +
                                          std::to_string(tp.ne[0] * tp.ne[2]) + " for " + tp.name);
                }
            }
        }
        if (!tp.imatrix_present && tp.imatrix_required) {
            return make_error(status_code::refused, "Missing importance matrix for tensor " +
                                                        tp.name +
                                                        " in a very low-bit quantization");
        }
        if (type_info(tp.source_type).is_quantized && !opts.allow_requantize) {
            return make_error(status_code::refused, std::string("requantizing from type ") +
                                                        type_info(tp.source_type).ggml_name +
                                                        " is disabled");
        }
        if (!can_convert_from(tp.source_type)) {
            return make_error(status_code::refused,
                              std::string("cannot dequantize/convert tensor type ") +
                                  type_info(tp.source_type).ggml_name);
        }
        if (!can_quantize_to(tp.target_type)) {
            return make_error(status_code::refused, "tensor " + tp.name +
                                                        ": cannot quantize to type " +
                                                        type_info(tp.target_type).ggml_name);
        }
        if (quantize_requires_imatrix(tp.target_type) && !tp.imatrix_present) {
            return make_error(status_code::refused,
                              "tensor " + tp.name + ": type " +
                                  type_info(tp.target_type).ggml_name +
                                  " cannot be made without an importance matrix");
        }
    }

    // Output tensors.
    for (const tensor_plan& tp : plan.tensors) {
        gguf_tensor_info t;
        t.name = tp.name;
        t.type = tp.target_type;
        for (int d = 0; d < 4; ++d) t.ne[d] = tp.ne[d];
        t.n_dims = effective_dims(tp.ne);
        out.tensors.push_back(std::move(t));
        plan.source_bytes += tp.source_bytes;
        plan.target_bytes += tp.target_bytes;
        plan.n_elements += tp.n_elements();
    }
    plan.n_fallback = s.n_fallback;
    assign_tensor_offsets(out);
    for (size_t k = 0; k < plan.tensors.size(); ++k) {
        plan.tensors[k].target_offset = out.tensors[k].offset;
    }
    result<std::vector<uint8_t>> encoded = encode_plan_header(out);
    if (!encoded.ok()) {
        return make_error(status_code::refused,
                          "cannot write the output header: " + encoded.error().message());
    }
    plan.header_size = encoded->size();
    out.data_offset = plan.header_size;
    plan.file_size = gguf_file_size(out, plan_encode_options());
    if (plan.output_file_count > 1) {
        // Offsets within each file.
        for (uint32_t f = 0; f < plan.output_file_count; ++f) {
            uint64_t offset = 0;
            for (tensor_plan& tp : plan.tensors) {
                if (tp.output_file != f) continue;
                tp.target_offset = offset;
                offset += align_up(tp.target_bytes, out.alignment);
            }
        }
    }
    return plan;
}

}  // namespace

result<quant_plan> make_quant_plan(const gguf_header& input, const quantize_options& opts) {
    std::vector<source_tensor> src(input.tensors.size());
    for (size_t i = 0; i < src.size(); ++i) {
        src[i].info = &input.tensors[i];
        src[i].offset = input.data_offset + input.tensors[i].offset;
    }
    return plan_model(input, src, opts);
}

result<quant_plan> make_quant_plan(const gguf_model& input, const quantize_options& opts) {
    if (input.shards.empty()) {
        return make_error(status_code::invalid_argument, "the model has no shards");
    }
    std::vector<source_tensor> src(input.tensors.size());
    for (size_t i = 0; i < src.size(); ++i) {
        const gguf_model_tensor& t = input.tensors[i];
        if (t.shard >= input.shards.size()) {
            return make_error(status_code::invalid_argument,
                              "tensor " + t.info.name + " names a missing shard");
        }
        src[i].info = &t.info;
        src[i].shard = t.shard;
        src[i].offset = input.data_offset(t);
    }
    return plan_model(input.metadata(), src, opts);
}

result<quant_plan> output_file_plan(const quant_plan& plan, uint32_t file) {
    if (file >= plan.output_file_count) {
        return make_error(status_code::invalid_argument,
                          "no output file " + std::to_string(file) + " in the plan");
    }
    if (plan.output_file_count == 1) return plan;
    quant_plan part;
    part.file_type = plan.file_type;
    part.will_require_imatrix = plan.will_require_imatrix;
    part.output_file_count = 1;
    gguf_header& out = part.output;
    out.version = plan.output.version;
    out.alignment = plan.output.alignment;
    if (file == 0) out.kv = plan.output.kv;
    for (size_t k = 0; k < plan.tensors.size(); ++k) {
        const tensor_plan& tp = plan.tensors[k];
        if (tp.output_file != file) continue;
        part.tensors.push_back(tp);
        out.tensors.push_back(plan.output.tensors[k]);
        part.source_bytes += tp.source_bytes;
        part.target_bytes += tp.target_bytes;
        part.n_elements += tp.n_elements();
        if (tp.fallback) ++part.n_fallback;
    }
    gguf_value no, count;
    no.type = count.type = gguf_value_type::uint16;
    no.scalar_bits = file;
    count.scalar_bits = plan.output_file_count;
    set_last(out.kv, kSplitNoKey, no);
    set_last(out.kv, kSplitCountKey, count);
    set_last(out.kv, kSplitTensorsCountKey, gguf_value::make_i32(int32_t(plan.tensors.size())));
    assign_tensor_offsets(out);
    for (size_t k = 0; k < part.tensors.size(); ++k) {
        part.tensors[k].target_offset = out.tensors[k].offset;
    }
    result<std::vector<uint8_t>> encoded = encode_plan_header(out);
    if (!encoded.ok()) {
        return make_error(status_code::refused,
                          "cannot write the output header: " + encoded.error().message());
    }
    part.header_size = encoded->size();
    out.data_offset = part.header_size;
    part.file_size = gguf_file_size(out, plan_encode_options());
    return part;
}

std::string output_file_name(const std::string& out, const quant_plan& plan, bool keep_split,
                             uint32_t file) {
    if (!keep_split) return out;
    return gguf_split_path(out, file, plan.output_file_count);
}

result<std::vector<uint8_t>> encode_plan_header(const gguf_header& output) {
    return encode_gguf_header(output, plan_encode_options());
}

double plan_bits_per_weight(const quant_plan& plan) {
    return plan.n_elements ? double(plan.target_bytes) * 8.0 / double(plan.n_elements) : 0.0;
}

}  // namespace gguf_squash
