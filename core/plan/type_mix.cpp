#include "plan/type_mix.h"

#include <algorithm>
#include <initializer_list>

#include "plan/llama_ftype.h"

namespace gguf_squash::plan_detail {
namespace {

using ft = llama_ftype;

bool any_of(ft f, std::initializer_list<ft> list) {
    return std::find(list.begin(), list.end(), f) != list.end();
}

uint32_t block_size_of(ggml_type t) {
    return type_info(t).block_size;
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

}  // namespace

std::vector<tensor_category> init_counters(recipe_state& s, const std::vector<std::string>& names) {
    std::vector<tensor_category> cats(names.size());
    for (size_t k = 0; k < names.size(); ++k) {
        cats[k] = category_of(names[k]);
        if (is_attn_v_like(cats[k])) ++s.n_attention_wv;
        if (cats[k] == tensor_category::output) s.has_tied_embeddings = false;
    }
    s.n_ffn_down = s.n_ffn_gate = s.n_ffn_up = int(s.model.n_layer);
    return cats;
}

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

}  // namespace gguf_squash::plan_detail
