#include "convert/bpe_pre_hash.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "convert/utf8.h"
#include "sha256.h"

namespace gguf_squash::convert {

namespace {

struct code_point_range {
    uint32_t lo, hi;
};

#include "convert/pre_hashes.inc"
#include "convert/unicode_ranges.inc"

template <size_t N>
bool in_ranges(const code_point_range (&r)[N], uint32_t c) {
    size_t lo = 0, hi = N;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (r[mid].hi < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < N && r[lo].lo <= c && c <= r[lo].hi;
}

bool is_letter(uint32_t c) {
    return in_ranges(kLetterRanges, c);
}
bool is_number(uint32_t c) {
    return in_ranges(kNumberRanges, c);
}
bool is_space(uint32_t c) {
    return in_ranges(kWhiteSpaceRanges, c);
}
bool is_crlf(uint32_t c) {
    return c == '\r' || c == '\n';
}
bool is_other(uint32_t c) {
    return !is_space(c) && !is_letter(c) && !is_number(c);
}

status refuse(const std::string& what) {
    return make_error(status_code::unsupported,
                      "tokenizer.json: " + what +
                          "; gguf-squash convert cannot compute tokenizer.ggml.pre "
                          "for it yet");
}

// The two Split patterns of the byte-level BPE tokenizers handled here: Llama 3's (numbers in
// runs of up to three digits) and Qwen2's (single digits). Same alternation otherwise:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
constexpr const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Case-insensitive ASCII letter match, with the one non-ASCII code point that folds to one of
// the contraction letters (U+017F LATIN SMALL LETTER LONG S folds to 's').
bool ci(uint32_t c, char lower) {
    if (c == uint32_t(lower) || c == uint32_t(lower - 'a' + 'A')) return true;
    return lower == 's' && c == 0x17F;
}

// Length of the leftmost-first match at `i` (every code point is matched by some alternative,
// so matches are back to back).
size_t match_at(const std::vector<uint32_t>& c, size_t i, size_t max_digits) {
    const size_t n = c.size();
    auto at = [&](size_t k) -> uint32_t { return k < n ? c[k] : 0xFFFFFFFF; };
    // 1. contractions
    if (c[i] == '\'' && i + 1 < n) {
        const uint32_t a = at(i + 1), b = at(i + 2);
        if (ci(a, 's') || ci(a, 't')) return 2;
        if ((ci(a, 'r') && ci(b, 'e')) || (ci(a, 'v') && ci(b, 'e'))) return 3;
        if (ci(a, 'm')) return 2;
        if (ci(a, 'l') && ci(b, 'l')) return 3;
        if (ci(a, 'd')) return 2;
    }
    // 2. [^\r\n\p{L}\p{N}]?\p{L}+
    {
        size_t j = i;
        if (!is_crlf(c[i]) && !is_letter(c[i]) && !is_number(c[i]) && i + 1 < n &&
            is_letter(c[i + 1]))
            j = i + 1;
        if (j < n && is_letter(c[j])) {
            while (j < n && is_letter(c[j])) ++j;
            return j - i;
        }
    }
    // 3. \p{N}{1,D}
    if (is_number(c[i])) {
        size_t j = i;
        while (j < n && j - i < max_digits && is_number(c[j])) ++j;
        return j - i;
    }
    // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
    {
        size_t j = i;
        if (c[i] == ' ' && i + 1 < n && is_other(c[i + 1])) j = i + 1;
        if (j < n && is_other(c[j])) {
            while (j < n && is_other(c[j])) ++j;
            while (j < n && is_crlf(c[j])) ++j;
            return j - i;
        }
    }
    // whitespace alternatives over the run of white space starting here
    size_t end = i;
    while (end < n && is_space(c[end])) ++end;
    if (end > i) {
        // 5. \s*[\r\n]+ : up to and including the run's last \r or \n
        for (size_t k = end; k-- > i;)
            if (is_crlf(c[k])) return k + 1 - i;
        // 6. \s+(?!\S)
        if (end == n) return end - i;
        if (end - i >= 2) return end - 1 - i;
        // 7. \s+
        return end - i;
    }
    return 1;  // not reached: every code point is a letter, number, space or other
}

// bytes_to_unicode(): the byte-level alphabet of GPT-2.
uint32_t byte_char(uint8_t b) {
    static const std::vector<uint32_t> table = [] {
        std::vector<uint32_t> t(256, 0);
        std::vector<bool> direct(256, false);
        for (int x = '!'; x <= '~'; ++x) direct[size_t(x)] = true;
        for (int x = 0xA1; x <= 0xAC; ++x) direct[size_t(x)] = true;
        for (int x = 0xAE; x <= 0xFF; ++x) direct[size_t(x)] = true;
        uint32_t next = 256;
        for (int x = 0; x < 256; ++x) t[size_t(x)] = direct[size_t(x)] ? uint32_t(x) : next++;
        return t;
    }();
    return table[b];
}

std::string get_str(const json_value* v) {
    return v && v->is_string() ? v->text() : std::string();
}

// "left right" -> merge rank (the first occurrence of a pair is its rank), in either
// tokenizer.json format.
result<std::unordered_map<std::string, size_t>> merge_ranks(const json_value& model) {
    std::unordered_map<std::string, size_t> rank;
    if (const json_value* m = model.find("merges"); m && m->is_array()) {
        rank.reserve(m->items().size());
        for (size_t r = 0; r < m->items().size(); ++r) {
            const json_value& e = m->items()[r];
            std::string key;
            if (e.is_string()) {
                key = e.text();
            } else if (e.is_array() && e.items().size() == 2) {
                key = e.items()[0].text() + " " + e.items()[1].text();
            } else {
                return refuse("model.merges format");
            }
            rank.emplace(key, r);
        }
    }
    return rank;
}

// BPE: merge the adjacent pair of lowest rank (leftmost on ties) until none is left, the same
// order as the tokenizers library's priority queue of (rank, position); then the ids.
status merge_to_ids(std::vector<std::string>& sym,
                    const std::unordered_map<std::string, size_t>& rank,
                    const std::unordered_map<std::string, int64_t>& vocab,
                    std::vector<int64_t>& ids) {
    while (sym.size() > 1) {
        size_t best = SIZE_MAX, at = 0;
        for (size_t k = 0; k + 1 < sym.size(); ++k) {
            auto it = rank.find(sym[k] + " " + sym[k + 1]);
            if (it != rank.end() && it->second < best) {
                best = it->second;
                at = k;
            }
        }
        if (best == SIZE_MAX) break;
        sym[at] += sym[at + 1];
        sym.erase(sym.begin() + long(at) + 1);
    }
    for (const auto& s : sym) {
        auto it = vocab.find(s);
        if (it == vocab.end() || it->second < 0) return refuse("a symbol outside the vocabulary");
        ids.push_back(it->second);
    }
    return {};
}

// model: BPE without dropout, prefixes or suffixes (what both pipelines below implement).
status check_plain_bpe(const json_value& model) {
    if (const json_value* d = model.find("dropout"); d && !d->is_null())
        return refuse("BPE dropout");
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (const json_value* v = model.find(k);
            v && !v->is_null() && !(v->is_string() && v->text().empty()))
            return refuse(std::string("model.") + k);
    return {};
}

std::unordered_map<std::string, int64_t> vocab_ids(const json_value& model) {
    std::unordered_map<std::string, int64_t> vocab;
    if (const json_value* v = model.find("vocab"); v && v->is_object()) {
        vocab.reserve(v->members().size());
        for (const auto& [tok, id] : v->members()) vocab[tok] = id.as_i64().value_or(-1);
    }
    return vocab;
}

// post_processor: ByteLevel changes no ids; TemplateProcessing adds its special tokens.
status apply_post_processor(const json_value& tj, std::vector<int64_t>& ids) {
    const json_value* pp = tj.find("post_processor");
    if (!pp || pp->is_null()) return {};
    std::vector<const json_value*> procs;
    if (get_str(pp->find("type")) == "Sequence") {
        if (const json_value* ps = pp->find("processors"); ps && ps->is_array())
            for (const auto& p : ps->items()) procs.push_back(&p);
    } else {
        procs.push_back(pp);
    }
    for (const json_value* p : procs) {
        const std::string type = get_str(p->find("type"));
        if (type == "ByteLevel") continue;
        if (type != "TemplateProcessing") return refuse("post_processor " + type);
        const json_value* single = p->find("single");
        const json_value* specials = p->find("special_tokens");
        if (!single || !single->is_array()) return refuse("TemplateProcessing without single");
        std::vector<int64_t> out;
        for (const auto& piece : single->items()) {
            if (const json_value* seq = piece.find("Sequence")) {
                if (get_str(seq->find("id")) != "A") return refuse("TemplateProcessing sequence");
                out.insert(out.end(), ids.begin(), ids.end());
            } else if (const json_value* st = piece.find("SpecialToken")) {
                const json_value* entry =
                    specials ? specials->find(get_str(st->find("id"))) : nullptr;
                const json_value* eids = entry ? entry->find("ids") : nullptr;
                if (!eids || !eids->is_array()) return refuse("TemplateProcessing special token");
                for (const auto& e : eids->items()) out.push_back(e.as_i64().value_or(-1));
            } else {
                return refuse("TemplateProcessing piece");
            }
        }
        ids = std::move(out);
    }
    return {};
}

bool is_string_pattern(const json_value* pattern, const char* s) {
    return pattern && get_str(pattern->find("String")) == s;
}

// The SentencePiece-style BPE of Gemma's tokenizer.json: a Replace(' ' -> '▁') normalizer, a
// Split(' ') pre-tokenizer (which finds no ' ' left after that normalizer), BPE over code points
// with byte_fallback. The added tokens (none normalized) are split out of the raw text first,
// leftmost-longest as the tokenizers library's AddedVocabulary does, and the pieces between them
// are normalized and encoded on their own.
result<std::vector<int64_t>> encode_spm_style(const json_value& tj, const std::string& text) {
    const json_value* norm = tj.find("normalizer");
    if (!norm || get_str(norm->find("type")) != "Replace" ||
        !is_string_pattern(norm->find("pattern"), " ") ||
        get_str(norm->find("content")) != "\xE2\x96\x81")
        return refuse("this normalizer");
    if (const json_value* pre = tj.find("pre_tokenizer"); pre && !pre->is_null()) {
        const json_value* inv = pre->find("invert");
        if (get_str(pre->find("type")) != "Split" ||
            !is_string_pattern(pre->find("pattern"), " ") || !inv || !inv->is_bool() ||
            inv->as_bool())
            return refuse("this pre_tokenizer");
    }
    const json_value* model = tj.find("model");
    if (!model) return refuse("no model");
    GS_RETURN_IF_ERROR(check_plain_bpe(*model));
    const json_value* im = model->find("ignore_merges");
    if (im && im->is_bool() && im->as_bool()) return refuse("ignore_merges with byte_fallback");
    const auto vocab = vocab_ids(*model);
    auto rank = merge_ranks(*model);
    if (!rank) return rank.error();

    struct added {
        std::string content;
        int64_t id;
    };
    std::vector<added> tokens;
    if (const json_value* at = tj.find("added_tokens"); at && at->is_array())
        for (const auto& a : at->items()) {
            const std::string c = get_str(a.find("content"));
            const json_value* no = a.find("normalized");
            const bool normalized = no && no->is_bool() && no->as_bool();
            bool flags = false;
            for (const char* k : {"single_word", "lstrip", "rstrip"})
                if (const json_value* f = a.find(k); f && f->is_bool() && f->as_bool())
                    flags = true;
            if (c.empty() || text.find(c) == std::string::npos) continue;
            if (normalized || flags)
                return refuse("added token '" + c +
                              "' (normalized, or with single_word / lstrip / rstrip) occurs in "
                              "the check text");
            tokens.push_back({c, a.find("id") ? a.find("id")->as_i64().value_or(-1) : -1});
        }

    std::vector<int64_t> ids;
    auto encode_piece = [&](const std::string& piece) -> status {
        std::string normalized;
        for (char c : piece) {
            if (c == ' ')
                normalized += "\xE2\x96\x81";
            else
                normalized += c;
        }
        std::vector<std::string> sym;
        for (uint32_t cp : decode_utf8(normalized)) {
            std::string s;
            append_utf8(s, cp);
            if (vocab.count(s)) {
                sym.push_back(s);
                continue;
            }
            // byte_fallback: one <0xHH> token per byte of the character
            for (unsigned char b : s) {
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", b);
                if (!vocab.count(name)) return refuse("a character without a byte-fallback token");
                sym.push_back(name);
            }
        }
        GS_RETURN_IF_ERROR(merge_to_ids(sym, *rank, vocab, ids));
        return {};
    };
    std::string pending;
    for (size_t i = 0; i < text.size();) {
        const added* best = nullptr;
        for (const auto& t : tokens)
            if (text.compare(i, t.content.size(), t.content) == 0 &&
                (!best || t.content.size() > best->content.size()))
                best = &t;
        if (!best) {
            pending += text[i++];
            continue;
        }
        if (!pending.empty()) GS_RETURN_IF_ERROR(encode_piece(pending));
        pending.clear();
        if (best->id < 0) return refuse("an added token without an id");
        ids.push_back(best->id);
        i += best->content.size();
    }
    if (!pending.empty()) GS_RETURN_IF_ERROR(encode_piece(pending));
    GS_RETURN_IF_ERROR(apply_post_processor(tj, ids));
    return ids;
}

}  // namespace

result<std::vector<int64_t>> encode_pre_check_text(const json_value& tj) {
    const std::string text(reinterpret_cast<const char*>(kPreCheckText), sizeof kPreCheckText);
    if (const json_value* model = tj.find("model")) {
        const json_value* bf = model->find("byte_fallback");
        if (bf && bf->is_bool() && bf->as_bool()) return encode_spm_style(tj, text);
    }

    // normalizer: none, or NFC (the check text is already in NFC, so NFC leaves it unchanged)
    if (const json_value* norm = tj.find("normalizer"); norm && !norm->is_null()) {
        if (get_str(norm->find("type")) != "NFC")
            return refuse("normalizer " + get_str(norm->find("type")));
    }
    // added tokens are split out first; none may occur in the check text here
    if (const json_value* at = tj.find("added_tokens"); at && at->is_array())
        for (const auto& a : at->items()) {
            const std::string c = get_str(a.find("content"));
            if (!c.empty() && text.find(c) != std::string::npos)
                return refuse("added token '" + c + "' occurs in the check text");
        }
    // pre_tokenizer: Sequence[Split(pattern, Isolated), ByteLevel(no prefix space, no regex)]
    const json_value* pre = tj.find("pre_tokenizer");
    if (!pre || get_str(pre->find("type")) != "Sequence") return refuse("this pre_tokenizer");
    const json_value* list = pre->find("pretokenizers");
    if (!list || !list->is_array() || list->items().size() != 2)
        return refuse("this pre_tokenizer");
    const json_value& split = list->items()[0];
    const json_value& bl = list->items()[1];
    const json_value* pat = split.find("pattern");
    const std::string regex = pat ? get_str(pat->find("Regex")) : "";
    const json_value* inv = split.find("invert");
    if (get_str(split.find("type")) != "Split" || get_str(split.find("behavior")) != "Isolated" ||
        !inv || !inv->is_bool() || inv->as_bool())
        return refuse("this Split pre-tokenizer");
    size_t max_digits = 0;
    if (regex == kLlama3Pattern)
        max_digits = 3;
    else if (regex == kQwen2Pattern)
        max_digits = 1;
    else
        return refuse("the Split pattern " + regex);
    const json_value* aps = bl.find("add_prefix_space");
    const json_value* ur = bl.find("use_regex");
    if (get_str(bl.find("type")) != "ByteLevel" || !aps || !aps->is_bool() || aps->as_bool() ||
        !ur || !ur->is_bool() || ur->as_bool())
        return refuse("this ByteLevel pre-tokenizer");

    const json_value* model = tj.find("model");
    if (!model) return refuse("no model");
    GS_RETURN_IF_ERROR(check_plain_bpe(*model));
    const json_value* im = model->find("ignore_merges");
    const bool ignore_merges = im && im->is_bool() && im->as_bool();
    const auto vocab = vocab_ids(*model);
    auto rank = merge_ranks(*model);
    if (!rank) return rank.error();

    std::vector<int64_t> ids;
    const std::vector<uint32_t> cps = decode_utf8(text);
    for (size_t i = 0; i < cps.size();) {
        const size_t len = match_at(cps, i, max_digits);
        std::string piece;
        for (size_t k = i; k < i + len; ++k) append_utf8(piece, cps[k]);
        i += len;
        // ByteLevel: each byte of the piece becomes one symbol of the byte-level alphabet
        std::vector<std::string> sym;
        std::string word;
        for (unsigned char b : piece) {
            std::string s;
            append_utf8(s, byte_char(b));
            sym.push_back(s);
            word += s;
        }
        if (ignore_merges) {
            if (auto it = vocab.find(word); it != vocab.end()) {
                ids.push_back(it->second);
                continue;
            }
        }
        GS_RETURN_IF_ERROR(merge_to_ids(sym, *rank, vocab, ids));
    }
    GS_RETURN_IF_ERROR(apply_post_processor(tj, ids));
    return ids;
}

std::string pre_check_hash(const std::vector<int64_t>& ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(ids[i]);
    }
    s += "]";
    return sha256_hex(s.data(), s.size());
}

const char* pre_name_for_hash(const std::string& hash) {
    for (const auto& e : kPreHashes)
        if (hash == e.sha256) return e.name;
    return nullptr;
}

result<std::string> detect_bpe_pre(const json_value& tokenizer_json) {
    auto ids = encode_pre_check_text(tokenizer_json);
    if (!ids) return ids.error();
    const std::string hash = pre_check_hash(*ids);
    const char* name = pre_name_for_hash(hash);
    if (!name)
        return make_error(
            status_code::unsupported,
            "tokenizer.json: the BPE pre-tokenizer was not recognized (chkhsh " + hash +
                "), as llama.cpp's converter reports it: update get_vocab_base_pre()");
    return std::string(name);
}

}  // namespace gguf_squash::convert
