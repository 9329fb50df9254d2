#include "convert/hf_tokenizer.h"

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "convert/bpe_pre_hash.h"
#include "convert/json_value.h"
#include "convert/sentencepiece_model.h"

namespace gguf_squash::convert {

namespace {

// gguf.TokenType
constexpr int32_t kNormal = 1;
constexpr int32_t kControl = 3;
constexpr int32_t kUserDefined = 4;
constexpr int32_t kUnused = 5;
constexpr int32_t kByte = 6;

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

// "▁" -> " " (the converter's pre-normalization of user-defined spaces; also Gemma's decoder).
std::string spaces_for_u2581(const std::string& token) {
    std::string out;
    for (size_t p = 0; p < token.size(); ++p) {
        if (token.compare(p, 3, "\xE2\x96\x81") == 0) {
            out += ' ';
            p += 2;
        } else {
            out += token[p];
        }
    }
    return out;
}

bool is_string_pattern(const json_value* pattern, const char* s) {
    return pattern && get_str(pattern->find("String")) == s;
}

// SentencePiece-style BPE's decoder (Gemma): Sequence[Replace('▁' -> ' '), ByteFallback, Fuse].
bool is_u2581_decoder(const json_value* dec) {
    if (!dec || get_str(dec->find("type")) != "Sequence") return false;
    const json_value* list = dec->find("decoders");
    if (!list || !list->is_array() || list->items().size() != 3) return false;
    const auto& d = list->items();
    return get_str(d[0].find("type")) == "Replace" &&
           is_string_pattern(d[0].find("pattern"), "\xE2\x96\x81") &&
           get_str(d[0].find("content")) == " " && get_str(d[1].find("type")) == "ByteFallback" &&
           get_str(d[2].find("type")) == "Fuse";
}

// <0xHH>: a token ByteFallback decodes to its byte.
bool is_byte_token(const std::string& t) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
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

// tokenizer.json's added_tokens, in file order.
result<std::vector<added_token>> added_tokens_of(const json_value& tj) {
    std::vector<added_token> added;
    if (const json_value* at = tj.find("added_tokens"); at && at->is_array()) {
        for (const auto& a : at->items()) {
            auto id = a.find("id") ? a.find("id")->as_i64() : std::nullopt;
            const json_value* c = a.find("content");
            if (!id || !c || !c->is_string())
                return make_error(status_code::invalid_file,
                                  "tokenizer.json: added_tokens: entry without id or content");
            const json_value* sp = a.find("special");
            const json_value* no = a.find("normalized");
            added.push_back({*id, c->text(), sp && sp->is_bool() && sp->as_bool(),
                             no && no->is_bool() && no->as_bool()});
        }
    }
    return added;
}

// transformers re-adds tokenizer_config.json's added_tokens_decoder; flags that differ from
// tokenizer.json's would depend on its version, so they are refused.
status check_added_tokens_decoder(const json_value& tcfg, const std::vector<added_token>& added,
                                  const std::unordered_map<int64_t, size_t>& added_by_id) {
    const json_value* dec = tcfg.find("added_tokens_decoder");
    if (!dec || !dec->is_object()) return {};
    for (const auto& [id_text, a] : dec->members()) {
        const int64_t id = std::strtoll(id_text.c_str(), nullptr, 10);
        auto it = added_by_id.find(id);
        const json_value* sp = a.find("special");
        const json_value* no = a.find("normalized");
        if (it == added_by_id.end() || added[it->second].content != get_str(a.find("content")) ||
            added[it->second].special != (sp && sp->is_bool() && sp->as_bool()) ||
            added[it->second].normalized != (no && no->is_bool() && no->as_bool()))
            return refuse("tokenizer_config.json: added_tokens_decoder: token " + id_text +
                          " differs from tokenizer.json's added_tokens; not supported yet");
    }
    return {};
}

// The special tokens transformers knows for a tokenizer (all_special_tokens, in its order):
// tokenizer_config.json's bos/eos/unk/sep/pad/cls/mask_token, additional_special_tokens and
// extra_special_tokens, special_tokens_map.json's over them, without repeats.
result<std::vector<std::string>> all_special_tokens(const json_value& tcfg,
                                                    const hf_tokenizer_inputs& in) {
    std::vector<std::pair<std::string, const json_value*>> attrs;
    for (const char* k : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                          "cls_token", "mask_token", "additional_special_tokens"})
        attrs.push_back({k, tcfg.find(k)});
    json_value stm;
    if (in.has_special_tokens_map) {
        auto t = parse_json(in.special_tokens_map_json, "special_tokens_map.json");
        if (!t) return t.error();
        stm = std::move(*t);
    }
    for (auto& [k, v] : attrs)
        if (const json_value* o = stm.find(k)) v = o;
    if (tcfg.find("extra_special_tokens") || stm.find("extra_special_tokens"))
        return refuse(
            "tokenizer_config.json: extra_special_tokens with LlamaHfVocab is not "
            "supported yet");
    std::vector<std::string> out;
    auto add = [&](const std::string& key, const json_value& v) -> status {
        std::string t = v.is_string()   ? v.text()
                        : v.is_object() ? get_str(v.find("content"))
                                        : std::string();
        if (!v.is_null() && !v.is_string() && !(v.is_object() && v.find("content")))
            return refuse("tokenizer_config.json: " + key + ": not a token");
        if (t.empty()) return {};
        for (const auto& o : out)
            if (o == t) return {};
        out.push_back(t);
        return {};
    };
    for (const auto& [k, v] : attrs) {
        if (!v) continue;
        if (k == "additional_special_tokens" && v->is_array()) {
            for (const auto& e : v->items()) GS_RETURN_IF_ERROR(add(k, e));
        } else {
            GS_RETURN_IF_ERROR(add(k, *v));
        }
    }
    return out;
}

// gguf.LlamaHfVocab (a Llama 2 / Mistral tokenizer.json: SentencePiece-style BPE read through
// transformers): the model's ids in order, BYTE for <0xHH>, CONTROL for the special tokens'
// ids, else NORMAL; then the added tokens past the model's vocabulary by id, CONTROL when
// special, else USER_DEFINED. Every score is -1000; no [PAD] padding. Returns the token count.
result<uint64_t> llama_hf_vocab(std::vector<gguf_kv>& kv, const json_value& tj,
                                const json_value& tcfg, const hf_tokenizer_inputs& in) {
    const json_value* vocab = tj.find("model") ? tj.find("model")->find("vocab") : nullptr;
    if (!vocab || !vocab->is_object())
        return make_error(status_code::invalid_file,
                          "tokenizer.json: model.vocab: missing or not an object");
    std::unordered_map<std::string, int64_t> model_ids;
    std::map<int64_t, std::string> by_id;
    for (const auto& [tok, id] : vocab->members()) {
        auto i = id.as_i64();
        if (!i || *i < 0 || !model_ids.emplace(tok, *i).second || !by_id.emplace(*i, tok).second)
            return refuse("tokenizer.json: model.vocab: '" + tok +
                          "': a bad or repeated id or token; not supported");
    }
    const uint64_t base = model_ids.size();  // tokenizer.vocab_size
    auto added_r = added_tokens_of(tj);
    if (!added_r) return added_r.error();
    const std::vector<added_token>& added = *added_r;
    std::unordered_map<int64_t, size_t> added_by_id;
    std::unordered_map<std::string, int64_t> added_ids;
    for (size_t k = 0; k < added.size(); ++k) {
        const auto m = model_ids.find(added[k].content);
        if (!added_ids.emplace(added[k].content, added[k].id).second ||
            !added_by_id.emplace(added[k].id, k).second ||
            (m != model_ids.end() && m->second != added[k].id) ||
            (uint64_t(added[k].id) < base && by_id[added[k].id] != added[k].content))
            return refuse("tokenizer.json: added token '" + added[k].content +
                          "' repeats or moves a token; not supported");
    }
    GS_RETURN_IF_ERROR(check_added_tokens_decoder(tcfg, added, added_by_id));
    auto specials = all_special_tokens(tcfg, in);
    if (!specials) return specials.error();
    std::unordered_map<std::string, int64_t> special_ids;
    std::set<int64_t> special_id_set;
    for (const auto& t : *specials) {
        auto a = added_ids.find(t);
        auto m = model_ids.find(t);
        if (a == added_ids.end() && m == model_ids.end())
            return refuse("tokenizer_config.json: special token '" + t +
                          "' is not in tokenizer.json; transformers would add it (not "
                          "supported yet)");
        const int64_t id = a != added_ids.end() ? a->second : m->second;
        special_ids[t] = id;
        special_id_set.insert(id);
    }
    gguf_string_list tokens;
    std::vector<uint8_t> types;
    auto push_type = [&](int32_t t) {
        for (int b = 0; b < 4; ++b) types.push_back(uint8_t(uint32_t(t) >> (8 * b)));
    };
    auto is_hex = [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    };
    for (uint64_t i = 0; i < base; ++i) {
        auto it = by_id.find(int64_t(i));
        if (it == by_id.end())
            return refuse("tokenizer.json: model.vocab has no id " + std::to_string(i) +
                          " (the converter fails on it)");
        const std::string& t = it->second;
        const bool byte = t.size() == 6 && t.compare(0, 3, "<0x") == 0 && is_hex(t[3]) &&
                          is_hex(t[4]) && t[5] == '>';
        push_type(byte ? kByte : special_id_set.count(int64_t(i)) ? kControl : kNormal);
        tokens.push_back(t);
    }
    std::map<int64_t, std::string> extra;  // get_added_vocab() sorted by id, past the base
    for (const auto& a : added)
        if (uint64_t(a.id) >= base) extra[a.id] = a.content;
    for (const auto& [id, t] : extra) {
        push_type(special_ids.count(t) ? kControl : kUserDefined);
        tokens.push_back(t);
    }
    const uint64_t n = tokens.size();
    std::vector<uint8_t> scores(n * 4);
    const float score = -1000.0f;
    for (uint64_t i = 0; i < n; ++i) std::memcpy(scores.data() + 4 * i, &score, 4);
    kv.push_back({"tokenizer.ggml.model", gguf_value::make_string("llama")});
    kv.push_back({"tokenizer.ggml.pre", gguf_value::make_string("default")});
    kv.push_back({"tokenizer.ggml.tokens", string_array(std::move(tokens))});
    kv.push_back({"tokenizer.ggml.scores",
                  gguf_value::make_scalar_array(gguf_value_type::float32, n, std::move(scores))});
    kv.push_back({"tokenizer.ggml.token_type",
                  gguf_value::make_scalar_array(gguf_value_type::int32, n, std::move(types))});
    return n;
}

// LlamaHfVocab's own test (else the converter falls back to _set_vocab_gpt2): a BPE with
// byte_fallback and a Sequence decoder.
bool takes_llama_hf_vocab(const json_value& tj) {
    const json_value* model = tj.find("model");
    const json_value* dec = tj.find("decoder");
    if (!model || !dec || !dec->is_object()) return false;
    const json_value* bf = model->find("byte_fallback");
    return get_str(model->find("type")) == "BPE" && bf && bf->is_bool() && bf->as_bool() &&
           get_str(dec->find("type")) == "Sequence";
}

// _set_vocab_gpt2's tokenizer.ggml.model ... token_type (get_vocab_base). Returns what
// Gemma3Model slices token_embd to on this path: len(model.vocab) + len(added_tokens).
result<uint64_t> gpt2_vocab(std::vector<gguf_kv>& kv, const json_value& tj, const json_value& tcfg,
                            const hf_tokenizer_inputs& in) {
    const json_value* model = tj.find("model");
    if (!model || !model->is_object())
        return make_error(status_code::invalid_file, "tokenizer.json: model: missing");
    const std::string mtype = get_str(model->find("type"));
    const json_value* bf = model->find("byte_fallback");
    const bool byte_fallback = bf && bf->is_bool() && bf->as_bool();
    if (mtype != "BPE")
        return refuse("tokenizer.json: model.type: '" + mtype +
                      "' is not supported yet (byte-level BPE only)");
    // The decoder decides what decode(encode(token)) gives an added token (below): a byte-level
    // BPE's ByteLevel, or Gemma's ▁ decoder, which comes with byte_fallback.
    const json_value* decoder = tj.find("decoder");
    const bool u2581_decoder = is_u2581_decoder(decoder);
    if (byte_fallback && !u2581_decoder)
        return refuse(
            "tokenizer.json: model.byte_fallback: true is supported only with a "
            "Replace('\xE2\x96\x81', ' ') + ByteFallback + Fuse decoder (Gemma's)");
    if (!u2581_decoder && (!decoder || get_str(decoder->find("type")) != "ByteLevel"))
        return refuse(
            "tokenizer.json: decoder: only a ByteLevel decoder or Gemma's "
            "Replace + ByteFallback + Fuse is supported yet");

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
    auto added_r = added_tokens_of(tj);
    if (!added_r) return added_r.error();
    const std::vector<added_token>& added = *added_r;
    std::unordered_map<int64_t, size_t> added_by_id;
    for (size_t k = 0; k < added.size(); ++k) {
        added_by_id[added[k].id] = k;
        by_id[added[k].id] = added[k].content;
    }
    GS_RETURN_IF_ERROR(check_added_tokens_decoder(tcfg, added, added_by_id));
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
            // The converter replaces a non-normalized added token by
            // tokenizer.decode(tokenizer.encode(token)): the token's own id, decoded.
            if (!t.normalized && u2581_decoder) {
                if (is_byte_token(token))
                    return refuse("tokenizer.json: added token " + std::to_string(i) + " '" +
                                  token + "' would decode to a byte; not supported yet");
                token = spaces_for_u2581(token);
            } else if (!t.normalized && !byte_level_identity(token)) {
                return refuse(
                    "tokenizer.json: added token " + std::to_string(i) +
                    " is not normalized and has characters outside printable ASCII; the "
                    "converter re-decodes it through the tokenizer, which is not implemented yet");
            }
            if (t.special || looks_special(token)) {
                push_type(kControl);
            } else {
                token = spaces_for_u2581(token);  // pre-normalize user-defined spaces
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
    uint64_t rows = vocab->members().size();
    if (const json_value* at = tj.find("added_tokens"); at && at->is_array())
        rows += at->items().size();
    return rows;
}

// SpecialVocab(load_merges=True): tokenizer.json's merges, in gguf-py's text form.
status add_merges(std::vector<gguf_kv>& kv, const json_value* model) {
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
    return {};
}

// SpecialVocab: the special token ids (tokenizer_config.json's *_token through tokenizer.json's
// added tokens, then config.json's *_token_id), add_*_token (the post-processor, then
// tokenizer_config.json), the chat template and the normalizer flags. `tj` is null without a
// tokenizer.json; ids at or past n_vocab (when not 0) are skipped, as SpecialVocab(n_vocab=...)
// does on the SentencePiece path.
status add_special_vocab(std::vector<gguf_kv>& kv, const json_value* tj, const json_value& tcfg,
                         const hf_tokenizer_inputs& in, uint64_t n_vocab) {
    std::vector<added_token> added;
    if (tj) {
        auto a = added_tokens_of(*tj);
        if (!a) return a.error();
        added = std::move(*a);
    }
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
        if (n_vocab && uint64_t(id) >= n_vocab) return {};  // "out of range ... skipping"
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
    if (const json_value* pp = tj ? tj->find("post_processor") : nullptr; pp && pp->is_object()) {
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
    const json_value* norm = tj ? tj->find("normalizer") : nullptr;
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
    return {};
}

// _create_vocab_sentencepiece: tokenizer.model's pieces (USER_DEFINED pieces count as NORMAL),
// padded with [PADi] (score -10000, UNUSED) to config.json's vocab_size; then added_tokens.json
// and tokenizer_config.json's added_tokens_decoder write over them (score -1000).
struct spm_vocab {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
};

status spm_error(const std::string& what) {
    return make_error(status_code::invalid_file, what);
}

result<spm_vocab> sentencepiece_vocab(const hf_tokenizer_inputs& in, const json_value& tcfg) {
    auto pieces = parse_sentencepiece_model(in.tokenizer_model);
    if (!pieces) return pieces.error();
    const uint64_t vocab_size = in.vocab_size ? in.vocab_size : pieces->size();
    spm_vocab v;
    v.tokens.resize(vocab_size);
    for (uint64_t i = 0; i < vocab_size; ++i) v.tokens[i] = "[PAD" + std::to_string(i) + "]";
    v.scores.assign(vocab_size, -10000.0f);
    v.types.assign(vocab_size, kUnused);
    for (size_t i = 0; i < pieces->size() && i < vocab_size; ++i) {
        const spm_piece& p = (*pieces)[i];
        int32_t type = kNormal;
        if (p.type == spm_type::unknown || p.type == spm_type::control ||
            p.type == spm_type::unused || p.type == spm_type::byte)
            type = int32_t(p.type);
        v.tokens[i] = p.piece;
        v.scores[i] = p.score;
        v.types[i] = type;
    }
    if (in.has_added_tokens_json) {
        auto at = parse_json(in.added_tokens_json, "added_tokens.json");
        if (!at) return at.error();
        if (!at->is_object()) return spm_error("added_tokens.json: not an object");
        for (const auto& [token, id_v] : at->members()) {
            auto id = id_v.as_i64();
            if (!id || *id < 0)
                return spm_error("added_tokens.json: '" + token + "': not a token id");
            if (uint64_t(*id) >= vocab_size) continue;  // "id is out of range"
            v.tokens[size_t(*id)] = token;
            v.scores[size_t(*id)] = -1000.0f;
            v.types[size_t(*id)] = kUserDefined;
        }
    }
    if (const json_value* dec = tcfg.find("added_tokens_decoder"); dec && dec->is_object()) {
        for (const auto& [id_text, data] : dec->members()) {
            // int(token_id): the decimal ids transformers writes
            bool digits = !id_text.empty() && id_text.size() < 19;
            for (char c : id_text) digits = digits && c >= '0' && c <= '9';
            if (!digits)
                return spm_error("tokenizer_config.json: added_tokens_decoder: '" + id_text +
                                 "' is not a token id");
            const uint64_t id = std::strtoull(id_text.c_str(), nullptr, 10);
            const json_value* content = data.find("content");
            if (!content || !content->is_string())
                return spm_error("tokenizer_config.json: added_tokens_decoder: " + id_text +
                                 ": content missing");
            if (id >= vocab_size) continue;
            std::string token = content->text();
            const json_value* sp = data.find("special");
            const bool special = sp && sp->is_bool() && sp->as_bool();
            if (sp && !sp->is_null() && !sp->is_bool())
                return refuse("tokenizer_config.json: added_tokens_decoder: " + id_text +
                              ": special is not a boolean");
            if (special || looks_special(token)) {
                v.types[id] = kControl;
            } else {
                token = spaces_for_u2581(token);
                v.types[id] = kUserDefined;
            }
            v.scores[id] = -1000.0f;
            v.tokens[id] = token;
        }
    }
    return v;
}

}  // namespace

result<hf_tokenizer_plan> plan_tokenizer(const hf_tokenizer_inputs& in) {
    hf_tokenizer_plan plan;
    std::vector<gguf_kv>& kv = plan.kv;
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
    if (in.has_tokenizer_model && !in.gemma3 && !in.llama_family)
        return refuse(
            "tokenizer.model: SentencePiece vocabularies (the converter's "
            "_set_vocab_sentencepiece) are supported by gguf-squash convert only for Llama, "
            "Mistral and Gemma 3 yet");
    // LlamaModel.set_vocab writes more for CodeLlama's and Granite's vocabulary sizes.
    if (in.llama_family && (in.vocab_size == 32016 || in.vocab_size == 49152))
        return refuse("config.json: vocab_size: " + std::to_string(in.vocab_size) +
                      " (CodeLlama's extra special tokens / Granite's add_bos_token) is not "
                      "supported yet");
    std::optional<json_value> tj;
    if (!in.tokenizer_json.empty()) {
        auto t = parse_json(in.tokenizer_json, "tokenizer.json");
        if (!t) return t.error();
        tj = std::move(*t);
    }
    if (in.has_tokenizer_model) {
        // LlamaModel.set_vocab tries _set_vocab_sentencepiece first; Gemma3Model.set_vocab uses it
        // and then writes add_space_prefix = false.
        auto v = sentencepiece_vocab(in, tcfg);
        if (!v) return v.error();
        const uint64_t n = v->tokens.size();
        std::vector<uint8_t> scores(n * 4), types(n * 4);
        std::memcpy(scores.data(), v->scores.data(), n * 4);
        for (uint64_t i = 0; i < n; ++i)
            for (int b = 0; b < 4; ++b)
                types[i * 4 + b] = uint8_t(uint32_t(v->types[i]) >> (8 * b));
        kv.push_back({"tokenizer.ggml.model", gguf_value::make_string("llama")});
        kv.push_back({"tokenizer.ggml.pre", gguf_value::make_string("default")});
        kv.push_back({"tokenizer.ggml.tokens", string_array(gguf_string_list(v->tokens))});
        kv.push_back(
            {"tokenizer.ggml.scores",
             gguf_value::make_scalar_array(gguf_value_type::float32, n, std::move(scores))});
        kv.push_back({"tokenizer.ggml.token_type",
                      gguf_value::make_scalar_array(gguf_value_type::int32, n, std::move(types))});
        GS_RETURN_IF_ERROR(add_special_vocab(kv, tj ? &*tj : nullptr, tcfg, in, n));
        if (in.gemma3) {
            kv.push_back({"tokenizer.ggml.add_space_prefix", gguf_value::make_bool(false)});
            plan.embedding_rows = n;  // len(self._create_vocab_sentencepiece()[0])
        }
        return plan;
    }
    if (!tj)
        return make_error(
            status_code::invalid_file,
            "tokenizer.json: missing (gguf-squash convert reads byte-level BPE tokenizer.json)");
    if (in.llama_family && takes_llama_hf_vocab(*tj)) {
        // LlamaModel.set_vocab: no tokenizer.model, so _set_vocab_llama_hf.
        auto n = llama_hf_vocab(kv, *tj, tcfg, in);
        if (!n) return n.error();
        GS_RETURN_IF_ERROR(add_special_vocab(kv, &*tj, tcfg, in, *n));
        return plan;
    }
    auto rows = gpt2_vocab(kv, *tj, tcfg, in);
    if (!rows) return rows.error();
    if (in.gemma3) plan.embedding_rows = *rows;
    GS_RETURN_IF_ERROR(add_merges(kv, tj->find("model")));
    GS_RETURN_IF_ERROR(add_special_vocab(kv, &*tj, tcfg, in, 0));
    return plan;
}

result<std::vector<gguf_kv>> plan_tokenizer_metadata(const hf_tokenizer_inputs& in) {
    auto plan = plan_tokenizer(in);
    if (!plan) return plan.error();
    return std::move(plan->kv);
}

}  // namespace gguf_squash::convert
