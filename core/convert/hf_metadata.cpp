#include "convert/hf_metadata.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include "convert/json_value.h"
#include "convert/model_card.h"

namespace gguf_squash::convert {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_word(char c) {
    return is_digit(c) || is_alpha(c) || c == '_';
}
char lower(char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}
char upper(char c) {
    return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c;
}

bool ieq(char a, char b) {
    return lower(a) == lower(b);
}

bool ieq_word(const std::string& s, const char* w) {
    size_t i = 0;
    for (; w[i]; ++i)
        if (i >= s.size() || !ieq(s[i], w[i])) return false;
    return i == s.size();
}

// (v|iter)?\d+([.]\d+)*, case-insensitive, whole string
bool is_version(const std::string& s) {
    size_t p = 0;
    if (s.size() >= 4 && ieq(s[0], 'i') && ieq(s[1], 't') && ieq(s[2], 'e') && ieq(s[3], 'r') &&
        s.size() > 4 && is_digit(s[4]))
        p = 4;
    else if (!s.empty() && ieq(s[0], 'v'))
        p = 1;
    auto digits = [&] {
        const size_t b = p;
        while (p < s.size() && is_digit(s[p])) ++p;
        return p > b;
    };
    if (!digits()) return false;
    while (p < s.size()) {
        if (s[p] != '.') return false;
        ++p;
        if (!digits()) return false;
    }
    return true;
}

// i?q\d(_\w)*|b?fp?(16|32), case-insensitive, whole string
bool is_quant_type(const std::string& s) {
    size_t p = 0;
    if (p < s.size() && ieq(s[p], 'i')) ++p;
    if (p < s.size() && ieq(s[p], 'q') && p + 1 < s.size() && is_digit(s[p + 1])) {
        size_t q = p + 2;
        while (q + 1 < s.size() + 0 && s[q] == '_' && is_word(s[q + 1])) q += 2;
        if (q == s.size()) return true;
    }
    p = 0;
    if (p < s.size() && ieq(s[p], 'b')) ++p;
    if (p >= s.size() || !ieq(s[p], 'f')) return false;
    ++p;
    if (p < s.size() && ieq(s[p], 'p')) ++p;
    const std::string rest = s.substr(p);
    return rest == "16" || rest == "32";
}

// (([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl), case-insensitive
bool is_size(const std::string& s) {
    for (const char* w : {"small", "mini", "medium", "large", "xl", "xxl"})
        if (ieq_word(s, w)) return true;
    auto rest_ok = [&](size_t p) {
        const size_t b = p;
        while (p < s.size() && is_digit(s[p])) ++p;
        if (p == b) return false;
        if (p < s.size() && (s[p] == '.' || s[p] == '_') && p + 1 < s.size() &&
            is_digit(s[p + 1])) {
            ++p;
            while (p < s.size() && is_digit(s[p])) ++p;
        }
        if (p >= s.size()) return false;
        const char c = lower(s[p]);
        if (c != 'k' && c != 'm' && c != 'b' && c != 't') return false;
        ++p;
        if (p < s.size() && is_digit(s[p])) ++p;
        return p == s.size();
    };
    if (rest_ok(0)) return true;
    if (!s.empty() && ieq(s[0], 'a') && rest_ok(1)) return true;
    size_t p = 0;
    while (p < s.size() && is_digit(s[p])) ++p;
    return p > 0 && p < s.size() && ieq(s[p], 'x') && rest_ok(p + 1);
}

bool is_finetune_word(const std::string& s) {
    return ieq_word(s, "chat") || ieq_word(s, "instruct") || ieq_word(s, "vision") ||
           ieq_word(s, "lora");
}

// Python's str.islower() and str.title() on ASCII.
bool py_islower(const std::string& w) {
    bool cased = false;
    for (char c : w) {
        if (c >= 'A' && c <= 'Z') return false;
        if (c >= 'a' && c <= 'z') cased = true;
    }
    return cased;
}

std::string py_title(const std::string& w) {
    std::string out;
    bool prev_cased = false;
    for (char c : w) {
        if (is_alpha(c)) {
            out.push_back(prev_cased ? lower(c) : upper(c));
            prev_cased = true;
        } else {
            out.push_back(c);
            prev_cased = false;
        }
    }
    return out;
}

// ^(v\d+(?:\.\d+)*|\d.*)$ — version-like or starting with a digit
bool title_exempt(const std::string& w) {
    if (!w.empty() && is_digit(w[0])) return true;
    return w.size() > 1 && w[0] == 'v' && is_version(w.substr(1)) && is_digit(w[1]);
}

// Metadata.id_to_title
std::string id_to_title(std::string s) {
    for (char& c : s)
        if (c == '-') c = ' ';
    std::string out;
    size_t p = 0;
    while (p < s.size()) {
        while (p < s.size() && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r' ||
                                s[p] == '\f' || s[p] == '\v'))
            ++p;
        const size_t b = p;
        while (p < s.size() && !(s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r' ||
                                 s[p] == '\f' || s[p] == '\v'))
            ++p;
        if (p == b) break;
        const std::string w = s.substr(b, p - b);
        if (!out.empty()) out += ' ';
        out += py_islower(w) && !title_exempt(w) ? py_title(w) : w;
    }
    return out;
}

struct id_components {
    std::optional<std::string> full_name, org, basename, finetune, version, size_label;
};

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += '-';
        out += p;
    }
    return out;
}

// Metadata.get_model_id_components
id_components model_id_components(const std::string& model_id, uint64_t total_params) {
    id_components r;
    if (model_id.find(' ') != std::string::npos) {
        r.full_name = model_id;
        return r;
    }
    std::string name = model_id;
    if (auto slash = model_id.find('/'); slash != std::string::npos) {
        r.org = model_id.substr(0, slash);
        name = model_id.substr(slash + 1);
        if (!r.org->empty() && (*r.org)[0] == '.') r.org.reset();
    }
    r.full_name = name;
    std::vector<std::string> parts;
    size_t b = 0;
    for (size_t i = 0; i <= name.size(); ++i)
        if (i == name.size() || name[i] == '-') {
            if (i > b) parts.push_back(name.substr(b, i - b));
            b = i + 1;
        }
    std::vector<std::set<std::string>> types(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string part = parts[i];
        if (is_version(part)) {
            types[i].insert("version");
        } else if (is_quant_type(part)) {
            types[i].insert("type");
            for (char& c : parts[i]) c = upper(c);
        } else if (i > 0 && is_size(part)) {
            for (char& c : part)
                if (c == '_') c = '.';
            if (is_digit(part.back()))
                part = part.substr(0, part.size() - 2) + "." + part.back() + part[part.size() - 2];
            if (part.size() > 1 && is_digit(part[part.size() - 2])) {
                const char last = part.back();
                if (last == 'k' || last == 'm' || last == 'b' || last == 't')
                    part.back() = upper(last);
            }
            if (total_params != 0) {
                // float(part[:-1]): only a plain decimal number converts here (else ValueError)
                const std::string num = part.substr(0, part.size() - 1);
                bool numeric = !num.empty();
                int dots = 0;
                for (char c : num) {
                    if (c == '.')
                        ++dots;
                    else if (!is_digit(c))
                        numeric = false;
                }
                numeric = numeric && dots <= 1 && num != ".";
                if (numeric) {
                    const std::string scale = " KMBT";
                    const auto pos = scale.find(part.back());
                    const double mult =
                        pos == std::string::npos ? 1e-3 : std::pow(1000.0, double(pos));
                    const double label_params = std::strtod(num.c_str(), nullptr) * mult;
                    const double total = double(total_params);
                    if (std::fabs(label_params - total) > double(7 * total_params / 8)) {
                        types[i].insert("finetune");
                        part.back() = lower(part.back());
                    }
                }
            }
            if (types[i].empty()) types[i].insert("size_label");
            parts[i] = part;
        } else if (i > 0 && is_finetune_word(part)) {
            types[i].insert("finetune");
        }
    }
    bool numeric_size = false;
    for (size_t i = 0; i < parts.size(); ++i)
        if (types[i].count("size_label"))
            for (char c : parts[i]) numeric_size = numeric_size || is_digit(c);
    if (numeric_size)
        for (size_t i = 0; i < parts.size(); ++i)
            if (types[i].count("size_label")) {
                bool all_alpha = !parts[i].empty();
                for (char c : parts[i]) all_alpha = all_alpha && is_alpha(c);
                if (all_alpha) types[i].erase("size_label");
            }
    bool at_start = true;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (at_start &&
            ((types[i].empty() && is_alpha(parts[i][0])) || types[i].count("version"))) {
            types[i].insert("basename");
        } else {
            at_start = false;
            if (types[i].empty()) types[i].insert("finetune");
        }
    }
    for (size_t i = parts.size(); i-- > 0;) {
        if (types[i].count("basename") && types[i].size() > 1) {
            types[i].erase("basename");
        } else {
            break;
        }
    }
    std::vector<std::string> basename, size_label, finetune, version;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (types[i].count("basename")) basename.push_back(parts[i]);
        if (types[i].count("size_label")) {
            bool seen = false;
            for (const auto& s : size_label) seen = seen || s == parts[i];
            if (!seen) size_label.push_back(parts[i]);
        }
        if (types[i].count("finetune")) finetune.push_back(parts[i]);
        if (types[i].count("version") && !types[i].count("basename")) version.push_back(parts[i]);
    }
    if (!basename.empty()) r.basename = join(basename);
    if (!size_label.empty()) r.size_label = join(size_label);
    if (!finetune.empty()) r.finetune = join(finetune);
    if (!version.empty()) r.version = join(version);
    if (!r.size_label && !r.finetune && !r.version) r.basename.reset();
    return r;
}

std::string replace_all(std::string s, char from, char to) {
    for (char& c : s)
        if (c == from) c = to;
    return s;
}

std::string strip(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
        --e;
    return s.substr(b, e - b);
}

bool ascii_only(const std::string& s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// ---- the model card (Metadata.apply_metadata_heuristic's first part) ----

struct source_entry {  // a base model or a dataset
    std::optional<std::string> name, organization, version, repo_url;
};

struct card_metadata {
    std::optional<std::string> name, author, version, organization, description, finetune, basename,
        size_label, source_url, source_doi, source_uuid, source_repo_url, license, license_name,
        license_link;
    std::optional<std::vector<source_entry>> base_models, datasets;
    std::optional<std::vector<std::string>> tags, languages;
};

status card_error(const std::string& key, const std::string& why) {
    return make_error(status_code::unsupported, "README.md: front matter: " + key + ": " + why);
}

std::string not_read(const card_value& v) {
    return v.type == card_value::kind::list ? "a list where the converter reads one string"
                                            : v.text + "; not read yet";
}

// use_model_card_metadata: the first card key present with a value fills an empty slot. The
// name keys also make the file name, so an empty or non-ASCII one is refused (gguf-py strips
// Unicode white space there, and tells "" from None).
status use_scalar(const model_card& card, std::optional<std::string>& slot, const char* key,
                  bool naming) {
    const card_value* v = card.find(key);
    if (!v || slot || v->type == card_value::kind::null) return {};
    if (v->type != card_value::kind::string) return card_error(key, not_read(*v));
    if (naming && (v->text.empty() || !ascii_only(v->text)))
        return card_error(key, "an empty or non-ASCII name part is not supported yet");
    slot = v->text;
    return {};
}

// use_array_model_card_metadata: a string is appended, a list's strings are appended.
status use_array(const model_card& card, std::optional<std::vector<std::string>>& slot,
                 const char* key) {
    const card_value* v = card.find(key);
    if (!v || v->type == card_value::kind::null) return {};
    if (v->type == card_value::kind::other) return card_error(key, not_read(*v));
    if (!slot) slot.emplace();
    if (v->type == card_value::kind::string) {
        slot->push_back(v->text);
        return {};
    }
    for (const auto& item : v->items) {
        if (item.type != card_value::kind::string)
            return card_error(key,
                              "an item that is not a string (the converter would write an "
                              "array of mixed types)");
        slot->push_back(item.text);
    }
    return {};
}

// https?://huggingface.co/([^/]+/[^/]+)$ ('.' any character, as in the pattern)
std::optional<std::string> hub_id_of_url(const std::string& url) {
    size_t p = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
    if (p == 0 || url.compare(p, 11, "huggingface") != 0 || url.size() < p + 15 ||
        url.compare(p + 12, 3, "co/") != 0)
        return std::nullopt;
    const std::string id = url.substr(p + 15);
    const size_t slash = id.find('/');
    if (slash == 0 || slash == std::string::npos || slash + 1 == id.size() ||
        id.find('/', slash + 1) != std::string::npos)
        return std::nullopt;
    return id;
}

// The base_model / datasets entries: a Hub id or a URL becomes name, organization, version and
// repo_url by the same id heuristics as the model's own name.
status use_sources(const model_card& card, std::optional<std::vector<source_entry>>& slot,
                   const char* const keys[3], uint64_t total_params) {
    const card_value* v = nullptr;
    const char* key = nullptr;
    for (int k = 0; k < 3 && !v; ++k) v = card.find(key = keys[k]);
    if (!v) return {};
    if (v->type == card_value::kind::other) return card_error(key, not_read(*v));
    std::vector<card_value> ids;
    if (v->type == card_value::kind::string) ids.push_back(*v);
    if (v->type == card_value::kind::list) ids = v->items;
    slot.emplace();
    for (const auto& id : ids) {
        source_entry e;
        if (id.type == card_value::kind::null) {  // "not in a known format": an empty entry
            slot->push_back(e);
            continue;
        }
        if (id.type != card_value::kind::string) return card_error(key, not_read(id));
        const std::string& s = id.text;
        if (!ascii_only(s)) return card_error(key, "non-ASCII ids are not supported yet");
        const bool url =
            s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("ssh://", 0) == 0;
        std::optional<std::string> hub_id = url ? std::nullopt : std::optional<std::string>(s);
        if (url) {
            e.repo_url = s;
            if (s.find("huggingface.co") != std::string::npos) hub_id = hub_id_of_url(s);
        }
        if (hub_id) {
            const id_components c = model_id_components(*hub_id, total_params);
            if (c.full_name) e.name = id_to_title(*c.full_name);
            if (c.org) e.organization = id_to_title(*c.org);
            if (c.version) e.version = c.version;
            if (!url && c.org && c.full_name)
                e.repo_url = "https://huggingface.co/" + *c.org + "/" + *c.full_name;
        }
        slot->push_back(e);
    }
    return {};
}

result<card_metadata> read_card(const model_card& card, uint64_t total_params) {
    card_metadata m;
    struct scalar_key {
        std::optional<std::string> card_metadata::*slot;
        const char* key;
        bool naming;
    };
    using M = card_metadata;
    // In Metadata.apply_metadata_heuristic's order: llama.cpp's own keys, the model_* ones,
    // then the Hub conventions (model_creator, model_type).
    const scalar_key keys[] = {
        {&M::name, "name", true},
        {&M::author, "author", false},
        {&M::version, "version", true},
        {&M::organization, "organization", false},
        {&M::description, "description", false},
        {&M::finetune, "finetune", true},
        {&M::basename, "basename", true},
        {&M::size_label, "size_label", true},
        {&M::source_url, "url", false},
        {&M::source_doi, "doi", false},
        {&M::source_uuid, "uuid", false},
        {&M::source_repo_url, "repo_url", false},
        {&M::name, "model_name", true},
        {&M::author, "model_author", false},
        {&M::version, "model_version", true},
        {&M::organization, "model_organization", false},
        {&M::description, "model_description", false},
        {&M::finetune, "model_finetune", true},
        {&M::basename, "model_basename", true},
        {&M::size_label, "model_size_label", true},
        {&M::source_url, "model_url", false},
        {&M::source_doi, "model_doi", false},
        {&M::source_uuid, "model_uuid", false},
        {&M::source_repo_url, "model_repo_url", false},
        {&M::author, "model_creator", false},
        {&M::basename, "model_type", true},
    };
    for (const auto& k : keys)
        if (status s = use_scalar(card, m.*(k.slot), k.key, k.naming); !s.ok()) return s;
    static const char* const base_keys[3] = {"base_model", "base_models", "base_model_sources"};
    static const char* const data_keys[3] = {"datasets", "dataset", "dataset_sources"};
    if (status s = use_sources(card, m.base_models, base_keys, total_params); !s.ok()) return s;
    if (status s = use_sources(card, m.datasets, data_keys, total_params); !s.ok()) return s;
    // license: a string, or a list written joined with ','.
    if (const card_value* v = card.find("license"); v && v->type != card_value::kind::null) {
        if (v->type == card_value::kind::other) return card_error("license", not_read(*v));
        if (v->type == card_value::kind::string) {
            m.license = v->text;
        } else {
            std::string joined;
            for (size_t i = 0; i < v->items.size(); ++i) {
                if (v->items[i].type != card_value::kind::string)
                    return card_error("license", "an item that is not a string");
                joined += (i ? "," : "") + v->items[i].text;
            }
            m.license = joined;
        }
    }
    for (const auto& k : {scalar_key{&M::license_name, "license_name", false},
                          scalar_key{&M::license_link, "license_link", false}})
        if (status s = use_scalar(card, m.*(k.slot), k.key, k.naming); !s.ok()) return s;
    for (const char* k : {"tags", "pipeline_tag"})
        if (status s = use_array(card, m.tags, k); !s.ok()) return s;
    for (const char* k : {"languages", "language"})
        if (status s = use_array(card, m.languages, k); !s.ok()) return s;
    return m;
}

// Qwen3Model._is_qwen3_reranker: such a model is converted as a reranker (other keys and
// tensors); refused rather than converted as a plain Qwen3.
bool looks_like_qwen3_reranker(const hf_general_inputs& in, const json_value& cfg) {
    auto lower_has = [](std::string s, const char* needle) {
        for (char& c : s) c = lower(c);
        return s.find(needle) != std::string::npos;
    };
    if (lower_has(in.model_card, "# qwen3-reranker") ||
        lower_has(in.model_card, "# qwen3-vl-reranker"))
        return true;
    std::vector<std::string> hints = {in.folder_name};
    for (const char* k : {"_name_or_path", "model_type"})
        if (const json_value* v = cfg.find(k); v && v->is_string()) hints.push_back(v->text());
    if (const json_value* a = cfg.find("architectures");
        a && a->is_array() && !a->items().empty() && a->items()[0].is_string())
        hints.push_back(a->items()[0].text());
    for (const auto& h : hints)
        if (lower_has(h, "qwen3-reranker") || lower_has(h, "qwen3-vl-reranker")) return true;
    return false;
}

}  // namespace

std::string size_label_for(uint64_t total_params) {
    const double n = double(total_params);
    double scaled;
    char suffix;
    if (n > 1e12) {
        scaled = n * 1e-12;
        suffix = 'T';
    } else if (n > 1e9) {
        scaled = n * 1e-9;
        suffix = 'B';
    } else if (n > 1e6) {
        scaled = n * 1e-6;
        suffix = 'M';
    } else {
        scaled = n * 1e-3;
        suffix = 'K';
    }
    // fix = max(min_digits - len(str(round(scaled)).lstrip('0')), 0); round() is half-even.
    const double rounded = std::nearbyint(scaled);
    std::string digits = std::to_string(static_cast<long long>(rounded));
    size_t z = 0;
    while (z < digits.size() && digits[z] == '0') ++z;
    const int len = int(digits.size() - z);
    const int fix = len >= 2 ? 0 : 2 - len;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f%c", fix, scaled, suffix);
    return buf;
}

result<hf_general> plan_general_metadata(const hf_general_inputs& in) {
    hf_general g;
    model_card card;
    if (in.has_model_card) {
        auto parsed = parse_model_card(in.model_card);
        if (!parsed) return parsed.error();
        card = std::move(*parsed);
    }
    auto cm = read_card(card, in.total_params);
    if (!cm) return cm.error();
    std::optional<std::string> name = cm->name, org = cm->organization, basename = cm->basename,
                               finetune = cm->finetune, version = cm->version,
                               size_label = cm->size_label;
    auto take = [&](const id_components& c) {
        if (!name && c.full_name) name = id_to_title(*c.full_name);
        if (!org && c.org) org = id_to_title(*c.org);
        if (!basename && c.basename) basename = c.basename;
        if (!finetune && c.finetune) finetune = c.finetune;
        if (!version && c.version) version = c.version;
        if (!size_label && c.size_label) size_label = c.size_label;
    };
    auto cfg = parse_json(in.config_json, "config.json");
    if (!cfg) return cfg.error();
    if (in.gguf_architecture == "qwen3" && looks_like_qwen3_reranker(in, *cfg))
        return make_error(status_code::unsupported,
                          "README.md / config.json: a Qwen3 reranker (the converter's "
                          "_is_qwen3_reranker: '# qwen3-reranker' in README.md or in the model's "
                          "names); rerankers are not supported yet");
    if (const json_value* nop = cfg->find("_name_or_path"); nop && nop->is_string()) {
        const std::string& id = nop->text();
        size_t slashes = 0;
        for (char c : id) slashes += c == '/';
        if (slashes <= 1) {
            if (!ascii_only(id))
                return make_error(
                    status_code::unsupported,
                    "config.json: _name_or_path: non-ASCII names are not supported yet");
            take(model_id_components(id, in.total_params));
        }
    }
    if (!ascii_only(in.folder_name))
        return make_error(status_code::unsupported,
                          "the model folder's name '" + in.folder_name +
                              "' is not ASCII; naming such folders is not supported yet");
    take(model_id_components(in.folder_name, in.total_params));
    if (!size_label && in.total_params > 0) size_label = size_label_for(in.total_params);

    g.kv.push_back({"general.architecture", gguf_value::make_string(in.gguf_architecture)});
    g.kv.push_back({"general.type", gguf_value::make_string("model")});

    // generation_config.json's sampling keys (an unreadable file is ignored, as gguf-py does).
    if (in.has_generation_config) {
        auto gen = parse_json(in.generation_config_json, "generation_config.json");
        if (gen && gen->is_object()) {
            auto get = [&](const char* k) -> const json_value* {
                const json_value* v = gen->find(k);
                return v && !v->is_null() ? v : nullptr;
            };
            struct sampling_key {
                const char* hf;
                const char* gguf;
                gguf_value_type type;
            };
            const sampling_key keys[] = {
                {"sequence", "general.sampling.sequence", gguf_value_type::string},
                {"top_k", "general.sampling.top_k", gguf_value_type::int32},
                {"top_p", "general.sampling.top_p", gguf_value_type::float32},
                {"min_p", "general.sampling.min_p", gguf_value_type::float32},
                {"xtc_probability", "general.sampling.xtc_probability", gguf_value_type::float32},
                {"xtc_threshold", "general.sampling.xtc_threshold", gguf_value_type::float32},
                {"temperature", "general.sampling.temp", gguf_value_type::float32},
                {"penalty_last_n", "general.sampling.penalty_last_n", gguf_value_type::int32},
                {"penalty_repeat", "general.sampling.penalty_repeat", gguf_value_type::float32},
                {"mirostat", "general.sampling.mirostat", gguf_value_type::int32},
                {"mirostat_tau", "general.sampling.mirostat_tau", gguf_value_type::float32},
                {"mirostat_eta", "general.sampling.mirostat_eta", gguf_value_type::float32},
            };
            for (const auto& k : keys) {
                const json_value* v = get(k.hf);
                if (!v && std::string(k.hf) == "penalty_repeat") v = get("repetition_penalty");
                if (!v) continue;
                const std::string field = std::string("generation_config.json: ") + k.hf;
                if (k.type == gguf_value_type::string) {
                    if (!v->is_string())
                        return make_error(status_code::unsupported, field + ": not a string");
                    g.kv.push_back({k.gguf, gguf_value::make_string(v->text())});
                } else if (k.type == gguf_value_type::int32) {
                    auto i = v->as_i64();
                    if (!i || *i < INT32_MIN || *i > INT32_MAX)
                        return make_error(status_code::unsupported,
                                          field + ": not a 32-bit integer");
                    g.kv.push_back({k.gguf, gguf_value::make_i32(int32_t(*i))});
                } else {
                    if (!v->is_number() || v->is_bool())
                        return make_error(status_code::unsupported, field + ": not a number");
                    g.kv.push_back({k.gguf, gguf_value::make_f32(float(v->as_f64()))});
                }
            }
        }
    }
    g.name = *name;
    // Metadata.set_gguf_meta_model's order; add_string skips empty strings.
    auto put = [&](const char* key, const std::optional<std::string>& v) {
        if (v && !v->empty()) g.kv.push_back({key, gguf_value::make_string(*v)});
    };
    put("general.name", name);
    put("general.author", cm->author);
    put("general.version", version);
    put("general.organization", org);
    put("general.finetune", finetune);
    put("general.basename", basename);
    put("general.description", cm->description);
    put("general.size_label", size_label);
    put("general.license", cm->license);
    put("general.license.name", cm->license_name);
    put("general.license.link", cm->license_link);
    put("general.source.url", cm->source_url);
    put("general.source.doi", cm->source_doi);
    put("general.source.uuid", cm->source_uuid);
    put("general.source.repo_url", cm->source_repo_url);
    auto put_sources = [&](const std::string& prefix,
                           const std::optional<std::vector<source_entry>>& list) {
        if (!list) return;
        g.kv.push_back({prefix + ".count", gguf_value::make_u32(uint32_t(list->size()))});
        for (size_t i = 0; i < list->size(); ++i) {
            const std::string p = prefix + "." + std::to_string(i) + ".";
            put((p + "name").c_str(), (*list)[i].name);
            put((p + "version").c_str(), (*list)[i].version);
            put((p + "organization").c_str(), (*list)[i].organization);
            put((p + "repo_url").c_str(), (*list)[i].repo_url);
        }
    };
    put_sources("general.base_model", cm->base_models);
    put_sources("general.dataset", cm->datasets);
    if (cm->tags && !cm->tags->empty())
        g.kv.push_back({"general.tags", gguf_value::make_string_array(*cm->tags)});
    if (cm->languages && !cm->languages->empty())
        g.kv.push_back({"general.languages", gguf_value::make_string_array(*cm->languages)});
    g.basename = basename.value_or("");
    g.finetune = finetune.value_or("");
    g.version = version.value_or("");
    g.size_label = size_label.value_or("");
    return g;
}

std::string default_output_name(const hf_general& g, const std::string& output_type) {
    std::string name = replace_all(
        replace_all(strip(g.basename.empty() ? g.name : g.basename), ' ', '-'), '/', '-');
    if (name.empty() && g.basename.empty() && g.name.empty()) name = "ggml-model";
    std::string out = name;
    if (!g.size_label.empty()) out += "-" + g.size_label;
    if (!g.finetune.empty()) out += "-" + replace_all(strip(g.finetune), ' ', '-');
    if (!g.version.empty()) out += "-" + replace_all(strip(g.version), ' ', '-');
    std::string enc = replace_all(strip(output_type), ' ', '-');
    for (char& c : enc) c = upper(c);
    out += "-" + enc;
    return out + ".gguf";
}

}  // namespace gguf_squash::convert
