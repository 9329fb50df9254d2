#include "convert/hf_tokenizer.h"

#include <map>
#include <unordered_map>

#include "convert/bpe_pre_hash.h"
#include "convert/json_value.h"

namespace gguf_squash::convert {

namespace {

// gguf.TokenType
constexpr int32_t kNormal = 1;
constexpr int32_t kControl = 3;
constexpr int32_t kUserDefined = 4;
constexpr int32_t kUnused = 5;

status refuse(const std::string& what) {
    return make_error(status_code::unsupported, what);
}

std::string get_str(const json_value* v) {
    return v && v->is_string() ? v->text() : std::string();
}

// TextModel.does_token_look_special
bool looks_special(const std::string& t) {
    auto starts = [&](const char* p) { return t.rfind(p, 0) == 0; };
    auto ends = [&](const std::string& s) {
        return t.size() >= s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0;
    };
    if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
    if (starts("<|") && ends("|>")) return true;
    if (starts("<\xEF\xBD\x9C") && ends("\xEF\xBD\x9C>")) return true;  // <｜ ... ｜>
    return starts("<unused") && ends(">");
}

// For a byte-level decoder, decode(encode(token)) of an added token gives the token back when
// every character maps to itself in the byte-level alphabet (printable ASCII but space).
bool byte_level_identity(const std::string& t) {
    for (char c : t)
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E)
            return false;
    return true;
}

gguf_value string_array(gguf_string_list items) {
    gguf_value v;
    v.type = gguf_value_type::array;
    v.item_type = gguf_value_type::string;
    v.count = items.size();
    v.strings = std::move(items);
    return v;
}

struct added_token {
    int64_t id;
    std::string content;
    bool special, normalized;
};

}  // namespace

result<std::vector<gguf_kv>> plan_tokenizer_metadata(const hf_tokenizer_inputs& in) {
    std::vector<gguf_kv> kv;
    json_value tcfg;
    if (in.has_tokenizer_config) {
        auto t = parse_json(in.tokenizer_config_json, "tokenizer_config.json");
        if (!t) return t.error();
        tcfg = std::move(*t);
        if (!tcfg.is_object())
            return make_error(status_code::invalid_file, "tokenizer_config.json: not an object");
        if (get_str(tcfg.find("tokenizer_class")) == "HybridDNATokenizer")
            return refuse(
                "tokenizer_config.json: tokenizer_class: HybridDNATokenizer is not supported");
        if (const json_value* a = tcfg.find("add_prefix_space");
            a && a->is_bool() && in.llama_family)
            kv.push_back({"tokenizer.ggml.add_space_prefix", gguf_value::make_bool(a->as_bool())});
    }
    if (in.has_tokenizer_model)
        return refuse(
            "tokenizer.model: SentencePiece vocabularies (the converter's "
            "_set_vocab_sentencepiece) "
            "are not supported by gguf-squash convert yet");
    if (in.tokenizer_json.empty())
        return make_error(
            status_code::invalid_file,
            "tokenizer.json: missing (gguf-squash convert reads byte-level BPE tokenizer.json)");
    auto tj_r = parse_json(in.tokenizer_json, "tokenizer.json");
    if (!tj_r) return tj_r.error();
    const json_value& tj = *tj_r;
    const json_value* model = tj.find("model");
    if (!model || !model->is_object())
        return make_error(status_code::invalid_file, "tokenizer.json: model: missing");
    const std::string mtype = get_str(model->find("type"));
    const json_value* bf = model->find("byte_fallback");
    const json_value* im = model->find("ignore_merges");
    const bool byte_fallback = bf && bf->is_bool() && bf->as_bool();
    if (in.llama_family) {
        // LlamaHfVocab takes SentencePiece-style BPE (byte_fallback, a Sequence decoder).
        const json_value* dec = tj.find("decoder");
        const bool is_llama3 = mtype == "BPE" && im && im->is_bool() && im->as_bool() &&
                               !(bf ? (bf->is_bool() && bf->as_bool()) : true);
        if (!is_llama3 && mtype == "BPE" && byte_fallback && dec &&
            get_str(dec->find("type")) == "Sequence")
            return refuse(
                "tokenizer.json: a SentencePiece-style BPE (byte_fallback) takes the converter's "
                "LlamaHfVocab path, which gguf-squash convert does not support yet");
    }
    if (mtype != "BPE")
        return refuse("tokenizer.json: model.type: '" + mtype +
                      "' is not supported yet (byte-level BPE only)");
    if (byte_fallback)
        return refuse(
            "tokenizer.json: model.byte_fallback: true is not supported yet (byte-level BPE only)");
    const json_value* decoder = tj.find("decoder");
    if (!decoder || get_str(decoder->find("type")) != "ByteLevel")
        return refuse("tokenizer.json: decoder: only a ByteLevel decoder is supported yet");

    // tokenizer.vocab: the model's vocabulary and the added tokens.
    const json_value* vocab = model->find("vocab");
    if (!vocab || !vocab->is_object())
        return make_error(status_code::invalid_file,
                          "tokenizer.json: model.vocab: missing or not an object");
    std::map<int64_t, std::string> by_id;
    for (const auto& [tok, id] : vocab->members()) {
        auto i = id.as_i64();
        if (!i || *i < 0)
            return make_error(status_code::invalid_file,
                              "tokenizer.json: model.vocab: bad id for '" + tok + "'");
        by_id[*i] = tok;
    }
    std::vector<added_token> added;
    std::unordered_map<int64_t, size_t> added_by_id;
    if (const json_value* at = tj.find("added_tokens"); at && at->is_array()) {
        for (const auto& a : at->items()) {
            auto id = a.find("id") ? a.find("id")->as_i64() : std::nullopt;
            const json_value* c = a.find("content");
            if (!id || !c || !c->is_string())
                return make_error(status_code::invalid_file,
                                  "tokenizer.json: added_tokens: entry without id or content");
            const json_value* sp = a.find("special");
            const json_value* no = a.find("normalized");
            added_token t{*id, c->text(), sp && sp->is_bool() && sp->as_bool(),
                          no && no->is_bool() && no->as_bool()};
            added_by_id[t.id] = added.size();
            added.push_back(t);
            by_id[t.id] = t.content;
        }
    }
    // transformers re-adds tokenizer_config.json's added_tokens_decoder; flags that differ from
    // tokenizer.json's would depend on its version, so they are refused.
    if (const json_value* dec = tcfg.find("added_tokens_decoder"); dec && dec->is_object()) {
        for (const auto& [id_text, a] : dec->members()) {
            const int64_t id = std::strtoll(id_text.c_str(), nullptr, 10);
            auto it = added_by_id.find(id);
            const json_value* sp = a.find("special");
            const json_value* no = a.find("normalized");
            if (it == added_by_id.end() ||
                added[it->second].content != get_str(a.find("content")) ||
                added[it->second].special != (sp && sp->is_bool() && sp->as_bool()) ||
                added[it->second].normalized != (no && no->is_bool() && no->as_bool()))
                return refuse("tokenizer_config.json: added_tokens_decoder: token " + id_text +
                              " differs from tokenizer.json's added_tokens; not supported yet");
        }
    }
    if (by_id.empty())
        return make_error(status_code::invalid_file, "tokenizer.json: empty vocabulary");
    const int64_t max_id = by_id.rbegin()->first;
    const uint64_t vocab_size = in.vocab_size ? in.vocab_size : uint64_t(by_id.size());
    if (uint64_t(max_id) >= vocab_size)
        return make_error(status_code::invalid_file,
                          "config.json: vocab_size: " + std::to_string(vocab_size) +
                              " is not above the tokenizer's largest id " + std::to_string(max_id));

    auto pre = detect_bpe_pre(tj);
    if (!pre) return pre.error();

    gguf_string_list tokens;
    std::vector<uint8_t> types;
    types.reserve(vocab_size * 4);
    auto push_type = [&](int32_t t) {
        for (int b = 0; b < 4; ++b) types.push_back(uint8_t(uint32_t(t) >> (8 * b)));
    };
    for (uint64_t i = 0; i < vocab_size; ++i) {
        auto it = by_id.find(int64_t(i));
        if (it == by_id.end()) {
            tokens.push_back("[PAD" + std::to_string(i) + "]");
            push_type(kUnused);
            continue;
        }
        std::string token = it->second;
        auto a = added_by_id.find(int64_t(i));
        if (a == added_by_id.end()) {
            push_type(kNormal);
        } else {
            const added_token& t = added[a->second];
            if (!t.normalized && !byte_level_identity(token))
                return refuse(
                    "tokenizer.json: added token " + std::to_string(i) +
                    " is not normalized and has characters outside printable ASCII; the "
                    "converter re-decodes it through the tokenizer, which is not implemented yet");
            if (t.special || looks_special(token)) {
                push_type(kControl);
            } else {
                // pre-normalize user-defined spaces ("▁" -> " ")
                std::string out;
                for (size_t p = 0; p < token.size(); ++p) {
                    if (token.compare(p, 3, "\xE2\x96\x81") == 0) {
                        out += ' ';
                        p += 2;
                    } else {
                        out += token[p];
                    }
                }
                token = out;
                push_type(kUserDefined);
            }
        }
        tokens.push_back(token);
    }
    kv.push_back({"tokenizer.ggml.model", gguf_value::make_string("gpt2")});
    kv.push_back({"tokenizer.ggml.pre", gguf_value::make_string(*pre)});
    kv.push_back({"tokenizer.ggml.tokens", string_array(std::move(tokens))});
    kv.push_back(
        {"tokenizer.ggml.token_type",
         gguf_value::make_scalar_array(gguf_value_type::int32, vocab_size, std::move(types))});

    // --- SpecialVocab(load_merges=True) ---
    const json_value* merges = model->find("merges");
    if (merges && merges->is_array() && !merges->items().empty()) {
        gguf_string_list list;
        const json_value& first = merges->items()[0];
        if (first.is_string()) {
            for (const auto& m : merges->items()) {
                if (!m.is_string())
                    return make_error(status_code::invalid_file,
                                      "tokenizer.json: model.merges: mixed formats");
                list.push_back(m.text());
            }
        } else if (first.is_array() && first.items().size() == 2 && first.items()[0].is_string()) {
            for (const auto& m : merges->items()) {
                if (!m.is_array() || m.items().size() != 2 || !m.items()[0].is_string() ||
                    !m.items()[1].is_string())
                    return make_error(status_code::invalid_file,
                                      "tokenizer.json: model.merges: mixed formats");
                std::string s;
                for (int k = 0; k < 2; ++k) {
                    if (k) s += ' ';
                    for (char c : m.items()[size_t(k)].text()) {
                        if (c == ' ')
                            s += "\xC4\xA0";  // chr(ord(' ') + 256) = U+0120
                        else
                            s += c;
                    }
                }
                list.push_back(s);
            }
        } else {
            return make_error(status_code::invalid_file,
                              "tokenizer.json: model.merges: unknown format");
        }
        kv.push_back({"tokenizer.ggml.merges", string_array(std::move(list))});
    } else {
        return refuse("tokenizer.json: model.merges: none (merges.txt is not read yet)");
    }

    // Special tokens: tokenizer_config.json (through tokenizer.json's added tokens), then
    // config.json.
    const char* kTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
    std::vector<std::pair<std::string, int64_t>> special_ids;
    std::vector<std::pair<std::string, bool>> add_special;
    auto set_add = [&](const std::string& typ, bool v) {
        for (auto& [k, val] : add_special)
            if (k == typ) {
                val = v;
                return;
            }
        add_special.push_back({typ, v});
    };
    // SpecialVocab._set_special_token: the first id found for a type wins.
    auto set_id = [&](const std::string& typ, int64_t id) -> status {
        if (id < 0)
            return make_error(status_code::invalid_file, "invalid value for special token type " +
                                                             typ + ": " + std::to_string(id));
        for (auto& [k, val] : special_ids)
            if (k == typ) return {};
        special_ids.push_back({typ, id});
        return {};
    };
    auto token_text = [&](const char* key) -> std::string {
        const json_value* e = tcfg.find(key);
        if (e && e->is_string()) return e->text();
        if (e && e->is_object()) return get_str(e->find("content"));
        return "";
    };
    if (const json_value* pp = tj.find("post_processor"); pp && pp->is_object()) {
        std::vector<const json_value*> procs;
        if (const json_value* ps = pp->find("processors"); ps && ps->is_array()) {
            for (const auto& p : ps->items()) procs.push_back(&p);
        } else {
            procs.push_back(pp);
        }
        const std::string special_bos = token_text("bos_token"),
                          special_eos = token_text("eos_token");
        const std::string special_cls = token_text("cls_token"),
                          special_sep = token_text("sep_token");
        if ((special_bos.empty() && !special_cls.empty()) ||
            (special_eos.empty() && !special_sep.empty()))
            return refuse(
                "tokenizer_config.json: cls_token / sep_token standing in for bos / eos are not "
                "supported yet");
        for (const json_value* p : procs) {
            const std::string type = get_str(p->find("type"));
            if (type == "RobertaProcessing" || type == "BertProcessing")
                return refuse("tokenizer.json: post_processor " + type + " is not supported yet");
            if (type != "TemplateProcessing") continue;
            const json_value* single = p->find("single");
            const json_value* pair = p->find("pair");
            auto special_of = [](const json_value& e) {
                const json_value* st = e.find("SpecialToken");
                return st ? get_str(st->find("id")) : std::string();
            };
            std::string first, last;
            if (single && single->is_array() && single->items().size() > 1) {
                first = special_of(single->items().front());
                if (!first.empty()) {
                    if (!in.has_tokenizer_config || (first != special_bos && first != special_cls))
                        return refuse(
                            "tokenizer.json: TemplateProcessing starts with '" + first +
                            "', which is not tokenizer_config.json's bos_token; not supported yet");
                    set_add("bos", true);
                }
                last = special_of(single->items().back());
                if (!last.empty()) {
                    if (!in.has_tokenizer_config || last != special_eos)
                        return refuse(
                            "tokenizer.json: TemplateProcessing ends with '" + last +
                            "', which is not tokenizer_config.json's eos_token; not supported yet");
                    set_add("eos", true);
                }
            }
            if (pair && pair->is_array() && !pair->items().empty()) {
                std::vector<const json_value*> items;
                for (const auto& e : pair->items()) items.push_back(&e);
                size_t start = (!first.empty() && special_of(*items.front()) == first) ? 1 : 0;
                size_t stop = (!last.empty() && special_of(*items.back()) == last)
                                  ? items.size() - 1
                                  : items.size();
                if (start < stop) {
                    std::vector<const json_value*> mid(items.begin() + long(start),
                                                       items.begin() + long(stop));
                    auto seq_of = [](const json_value& e) {
                        const json_value* s = e.find("Sequence");
                        return s ? get_str(s->find("id")) : std::string();
                    };
                    if (seq_of(*mid.front()) == "A" && seq_of(*mid.back()) == "B" &&
                        mid.size() > 2) {
                        std::vector<const json_value*> inner(mid.begin() + 1, mid.end() - 1);
                        bool add_sep = false;
                        const std::string e0 = special_of(*inner[0]);
                        if (!e0.empty() && (e0 == special_sep || e0 == special_eos) && last.empty())
                            add_sep = true;
                        if (inner.size() == 2) {
                            const std::string e1 = special_of(*inner[1]);
                            if (!e1.empty() && (e1 == special_sep || e1 == special_eos))
                                add_sep = true;
                        }
                        if (add_sep && special_sep.empty())
                            return refuse(
                                "tokenizer.json: TemplateProcessing separates pairs with eos_token "
                                "and no sep_token; not supported yet");
                        set_add("sep", add_sep);
                    }
                }
            }
        }
    }
    // chat template: tokenizer_config.json's, else chat_template.jinja, else chat_template.json's.
    bool have_template = false;
    std::string chat_template;
    if (in.has_tokenizer_config) {
        if (in.has_additional_chat_templates && in.has_chat_template_jinja)
            return refuse(
                "additional_chat_templates/: several chat templates are not supported yet");
        const json_value* ct = tcfg.find("chat_template");
        if (ct) {
            if (ct->is_string()) {
                have_template = true;
                chat_template = ct->text();
            } else if (ct->is_array()) {
                return refuse(
                    "tokenizer_config.json: chat_template: a list of named templates is not "
                    "supported yet");
            }
        } else if (in.has_chat_template_jinja) {
            have_template = true;
            chat_template = in.chat_template_jinja;
        } else if (in.has_chat_template_json) {
            auto cj = parse_json(in.chat_template_json, "chat_template.json");
            if (!cj) return cj.error();
            const json_value* t = cj->find("chat_template");
            if (t && t->is_string()) {
                have_template = true;
                chat_template = t->text();
            } else if (t && t->is_array()) {
                return refuse(
                    "chat_template.json: chat_template: a list of named templates is not supported "
                    "yet");
            }
        }
        for (const char* typ : kTypes) {
            const json_value* add = tcfg.find(std::string("add_") + typ + "_token");
            if (add && add->is_bool()) set_add(typ, add->as_bool());
            const json_value* e = tcfg.find(std::string(typ) + "_token");
            if (!e || !(e->is_string() ||
                        (e->is_object() && e->find("content") && e->find("content")->is_string())))
                continue;
            const std::string content = token_text((std::string(typ) + "_token").c_str());
            for (const auto& a : added)
                if (a.content == content) {
                    GS_RETURN_IF_ERROR(set_id(typ, a.id));
                    break;
                }
        }
    }
    {
        auto cfg = parse_json(in.config_json, "config.json");
        if (!cfg) return cfg.error();
        if (cfg->find("text_config"))
            return refuse("config.json: text_config is not supported yet");
        for (const char* typ : kTypes) {
            const json_value* v = cfg->find(std::string(typ) + "_token_id");
            if (v && v->is_integer())
                if (auto i = v->as_i64()) GS_RETURN_IF_ERROR(set_id(typ, *i));
        }
    }
    const std::map<std::string, std::string> id_keys = {
        {"bos", "tokenizer.ggml.bos_token_id"},     {"eos", "tokenizer.ggml.eos_token_id"},
        {"unk", "tokenizer.ggml.unknown_token_id"}, {"sep", "tokenizer.ggml.seperator_token_id"},
        {"pad", "tokenizer.ggml.padding_token_id"}, {"cls", "tokenizer.ggml.cls_token_id"},
        {"mask", "tokenizer.ggml.mask_token_id"}};
    for (const auto& [typ, id] : special_ids) {
        if (id > 0xFFFFFFFFll)
            return make_error(status_code::invalid_file, typ + " token id out of range");
        kv.push_back({id_keys.at(typ), gguf_value::make_u32(uint32_t(id))});
    }
    for (const auto& [typ, v] : add_special) {
        if (typ != "bos" && typ != "eos" && typ != "sep")
            return refuse("tokenizer_config.json: add_" + typ + "_token is not supported yet");
        kv.push_back({"tokenizer.ggml.add_" + typ + "_token", gguf_value::make_bool(v)});
    }
    if (have_template)
        kv.push_back({"tokenizer.chat_template", gguf_value::make_string(chat_template)});
    // normalizer flags (Lowercase / StripAccents / BertNormalizer, also inside a Sequence)
    const json_value* norm = tj.find("normalizer");
    if (norm && norm->is_object()) {
        std::vector<const json_value*> stack{norm};
        for (size_t k = 0; k < stack.size(); ++k) {
            const std::string t = get_str(stack[k]->find("type"));
            if (t == "Lowercase" || t == "StripAccents" || t == "BertNormalizer")
                return refuse("tokenizer.json: normalizer " + t + " is not supported yet");
            if (t == "Sequence")
                if (const json_value* ns = stack[k]->find("normalizers"); ns && ns->is_array())
                    for (const auto& n : ns->items()) stack.push_back(&n);
        }
    }
    return kv;
}

}  // namespace gguf_squash::convert
