#include "convert/model_card.h"

#include <cstdint>

#include "convert/utf8.h"

namespace gguf_squash::convert {

namespace {

// Python's bytes.decode("utf-8") accepts exactly well-formed UTF-8 (no overlongs, surrogates or
// code points past U+10FFFF); anything else makes the converter fail reading README.md.
bool well_formed_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            ++i;
            continue;
        }
        int n;
        uint32_t cp, min;
        if ((b & 0xE0) == 0xC0) {
            n = 2, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            n = 3, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            n = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + size_t(n) > s.size()) return false;
        for (int k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + size_t(k)]);
            if ((c & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += size_t(n);
    }
    return true;
}

// str.splitlines() also breaks at \v \f \x1c-\x1e \x85 U+2028 U+2029; those are refused rather
// than reproduced (no model card seen uses them).
bool has_rare_line_break(const std::string& s) {
    for (size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b == 0x0B || b == 0x0C || (b >= 0x1C && b <= 0x1E)) return true;
        if (b == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85)
            return true;
        if (b == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
             static_cast<unsigned char>(s[i + 2]) == 0xA9))
            return true;
    }
    return false;
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> lines;
    size_t b = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\n' && s[i] != '\r') continue;
        lines.push_back(s.substr(b, i - b));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        b = i + 1;
    }
    if (b < s.size()) lines.push_back(s.substr(b));
    return lines;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
        s.replace(p, from.size(), to);
    return s;
}

size_t indent_of(const std::string& line) {
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    return i;
}

bool blank_or_comment(const std::string& line) {
    const size_t i = indent_of(line);
    return i == line.size() || line[i] == '#';
}

card_value other(const std::string& why) {
    card_value v;
    v.type = card_value::kind::other;
    v.text = why;
    return v;
}

card_value string_value(std::string s) {
    card_value v;
    v.type = card_value::kind::string;
    v.text = std::move(s);
    return v;
}

bool is_null_word(const std::string& s) {
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Could PyYAML's YAML 1.1 resolver read this plain scalar as a bool, int, float, timestamp,
// merge key or value key? Bools exactly; numbers and dates conservatively by their alphabet.
bool maybe_typed(const std::string& s) {
    for (const char* w :
         {"yes",   "Yes",   "YES", "no", "No", "NO",  "true", "True", "TRUE", "false",
          "False", "FALSE", "on",  "On", "ON", "off", "Off",  "OFF",  "<<",   "="})
        if (s == w) return true;
    const char c0 = s[0];
    if (!((c0 >= '0' && c0 <= '9') || c0 == '+' || c0 == '-' || c0 == '.')) return false;
    for (char c : s) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                        (c >= 'A' && c <= 'F') || c == 'x' || c == 'o' || c == '_' || c == '.' ||
                        c == ':' || c == '+' || c == '-' || c == ' ' || c == 't' || c == 'T' ||
                        c == 'Z' || c == 'i' || c == 'n' || c == 'I' || c == 'N';
        if (!ok) return false;
    }
    return true;
}

card_value plain_value(const std::string& s) {
    if (is_null_word(s)) return card_value{};
    if (maybe_typed(s)) return other("'" + s + "' may be read by YAML as a bool, number or date");
    return string_value(s);
}

struct line_error {
    std::string message;
};

class scalar_reader {
  public:
    scalar_reader(const std::string& text, size_t pos) : s_(text), p_(pos) {}
    size_t pos() const { return p_; }

    // A quoted scalar starting at the quote; false on an unclosed quote or an unread escape.
    bool quoted(std::string& out, std::string& error) {
        const char q = s_[p_++];
        while (p_ < s_.size()) {
            const char c = s_[p_++];
            if (q == '\'' && c == '\'') {
                if (p_ < s_.size() && s_[p_] == '\'') {
                    out.push_back('\'');
                    ++p_;
                    continue;
                }
                return true;
            }
            if (q == '"' && c == '"') return true;
            if (q == '"' && c == '\\') {
                if (p_ >= s_.size()) break;
                const char e = s_[p_++];
                switch (e) {
                    case '\\':
                        out.push_back('\\');
                        break;
                    case '"':
                        out.push_back('"');
                        break;
                    case '/':
                        out.push_back('/');
                        break;
                    case 'n':
                        out.push_back('\n');
                        break;
                    case 't':
                        out.push_back('\t');
                        break;
                    case 'r':
                        out.push_back('\r');
                        break;
                    case '0':
                        out.push_back('\0');
                        break;
                    case ' ':
                        out.push_back(' ');
                        break;
                    case 'x':
                    case 'u':
                    case 'U': {
                        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                        if (p_ + n > s_.size()) break;
                        uint32_t cp = 0;
                        for (size_t k = 0; k < n; ++k) {
                            const char h = s_[p_ + k];
                            const int d = h >= '0' && h <= '9'   ? h - '0'
                                          : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                          : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                 : -1;
                            if (d < 0) {
                                error = "a bad \\" + std::string(1, e) + " escape";
                                return false;
                            }
                            cp = cp * 16 + uint32_t(d);
                        }
                        p_ += n;
                        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                            error = "an escape that is not a Unicode scalar value";
                            return false;
                        }
                        append_utf8(out, cp);
                        break;
                    }
                    default:
                        error = "the escape \\" + std::string(1, e) + " is not read here";
                        return false;
                }
                continue;
            }
            out.push_back(c);
        }
        error = "a quoted scalar that does not end on its line";
        return false;
    }

  private:
    const std::string& s_;
    size_t p_;
};

// What follows a value on its line must be nothing or a comment.
bool only_comment_after(const std::string& s, size_t p) {
    while (p < s.size() && s[p] == ' ') ++p;
    return p == s.size() || s[p] == '#';
}

// A flow sequence [a, 'b', "c"] on one line, starting at s[p] == '['.
result<card_value> flow_sequence(const std::string& s, size_t p, const std::string& where) {
    card_value v;
    v.type = card_value::kind::list;
    ++p;
    for (;;) {
        while (p < s.size() && s[p] == ' ') ++p;
        if (p >= s.size())
            return make_error(status_code::unsupported,
                              where + ": a flow sequence that does not end on its line");
        if (s[p] == ']') {
            ++p;
            break;
        }
        if (s[p] == '[' || s[p] == '{')
            return other("a nested flow collection");  // the caller checks the line's end
        if (s[p] == '\'' || s[p] == '"') {
            scalar_reader r(s, p);
            std::string text, error;
            if (!r.quoted(text, error))
                return make_error(status_code::unsupported, where + ": " + error);
            v.items.push_back(string_value(text));
            p = r.pos();
        } else {
            const size_t b = p;
            while (p < s.size() && s[p] != ',' && s[p] != ']' && s[p] != '[' && s[p] != '{' &&
                   s[p] != '}' && !(s[p] == ':' && (p + 1 >= s.size() || s[p + 1] == ' ')) &&
                   !(s[p] == '#' && s[p - 1] == ' '))
                ++p;
            std::string text = s.substr(b, p - b);
            while (!text.empty() && text.back() == ' ') text.pop_back();
            if (p < s.size() && s[p] != ',' && s[p] != ']')
                return other("a flow sequence with mappings or comments inside");
            v.items.push_back(plain_value(text));
        }
        while (p < s.size() && s[p] == ' ') ++p;
        if (p < s.size() && s[p] == ',') {
            ++p;
            continue;
        }
        if (p < s.size() && s[p] == ']') {
            ++p;
            break;
        }
        return make_error(status_code::unsupported,
                          where + (p >= s.size() ? ": a flow sequence that does not end on its line"
                                                 : ": a malformed flow sequence"));
    }
    if (!only_comment_after(s, p))
        return make_error(status_code::unsupported, where + ": text after a flow sequence");
    return v;
}

// The scalar (or one-line flow sequence) that starts at s[p] and fills the rest of the line.
result<card_value> inline_value(const std::string& s, size_t p, const std::string& where) {
    while (p < s.size() && s[p] == ' ') ++p;
    if (p >= s.size() || s[p] == '#') return card_value{};
    const char c = s[p];
    if (c == '\'' || c == '"') {
        scalar_reader r(s, p);
        std::string text, error;
        if (!r.quoted(text, error))
            return make_error(status_code::unsupported, where + ": " + error);
        if (!only_comment_after(s, r.pos()))
            return make_error(status_code::unsupported, where + ": text after a quoted scalar");
        return string_value(text);
    }
    if (c == '[') return flow_sequence(s, p, where);
    if (c == '{') return other("a flow mapping");
    if (c == '|' || c == '>') return other("a block scalar");
    if (c == '&' || c == '*' || c == '!') return other("an anchor, alias or tag");
    if (c == '@' || c == '`' || c == '%' || c == ',' || c == ']' || c == '}')
        return make_error(status_code::unsupported,
                          where + ": a plain scalar cannot start with '" + std::string(1, c) + "'");
    if ((c == '-' || c == '?' || c == ':') && (p + 1 >= s.size() || s[p + 1] == ' '))
        return other("a nested collection");
    size_t e = p;
    while (e < s.size()) {
        if (s[e] == ':' && (e + 1 >= s.size() || s[e + 1] == ' ')) return other("a nested mapping");
        if (s[e] == '#' && s[e - 1] == ' ') break;
        ++e;
    }
    std::string text = s.substr(p, e - p);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return plain_value(text);
}

}  // namespace

const card_value* model_card::find(const std::string& key) const {
    const card_value* found = nullptr;
    for (const auto& [k, v] : keys)
        if (k == key) found = &v;
    return found;
}

result<model_card> parse_model_card(const std::string& readme) {
    model_card card;
    if (!well_formed_utf8(readme))
        return make_error(status_code::unsupported,
                          "README.md: not UTF-8 (the converter reads it as UTF-8 and would fail)");
    std::vector<std::string> all = split_lines(readme);
    if (all.empty() || all[0] != "---") return card;
    std::string yaml;
    for (size_t i = 1; i < all.size() && all[i] != "---"; ++i) yaml += all[i] + "\n";
    if (has_rare_line_break(yaml))
        return make_error(status_code::unsupported,
                          "README.md: the front matter holds a line break other than \\n / \\r "
                          "(\\v, \\f, U+2028, ...); not read yet");
    // Metadata.load_model_card's two fixes, on the joined text as there.
    yaml = replace_all(yaml, "- no\n", "- \"no\"\n");
    yaml = replace_all(yaml, "\t", "  ");
    card.present = true;

    const std::vector<std::string> lines = split_lines(yaml);
    auto where = [](size_t i) {
        return "README.md: front matter line " + std::to_string(i + 2);  // the file's line
    };
    for (size_t i = 0; i < lines.size();) {
        const std::string& line = lines[i];
        if (blank_or_comment(line)) {
            ++i;
            continue;
        }
        if (indent_of(line) > 0)
            return make_error(status_code::unsupported,
                              where(i) + ": an indented line where a top-level key was expected");
        if (line[0] == '-' || line[0] == '?' || line[0] == '%' || line[0] == '[' ||
            line[0] == '{' || line.rfind("...", 0) == 0)
            return make_error(status_code::unsupported,
                              where(i) + ": the front matter is not a plain key: value mapping");
        // The key: quoted, or plain up to ': ' / a final ':'.
        std::string key;
        size_t p = 0;
        if (line[0] == '"' || line[0] == '\'') {
            scalar_reader r(line, 0);
            std::string error;
            if (!r.quoted(key, error))
                return make_error(status_code::unsupported, where(i) + ": " + error);
            p = r.pos();
            while (p < line.size() && line[p] == ' ') ++p;
            if (p >= line.size() || line[p] != ':')
                return make_error(status_code::unsupported, where(i) + ": a key without ':'");
        } else {
            while (p < line.size() &&
                   !(line[p] == ':' && (p + 1 == line.size() || line[p + 1] == ' ')))
                ++p;
            if (p == line.size())
                return make_error(status_code::unsupported, where(i) + ": not a 'key: value' line");
            key = line.substr(0, p);
            while (!key.empty() && key.back() == ' ') key.pop_back();
        }
        ++p;  // past ':'
        while (p < line.size() && line[p] == ' ') ++p;
        size_t j = i + 1;
        result<card_value> value = card_value{};
        if (p < line.size() && (line[p] == '"' || line[p] == '\'')) {
            // A quoted scalar, maybe over several lines (Meta's extra_gated_prompt): read on
            // until its closing quote.
            std::string joined = line.substr(p);
            for (size_t k = i + 1; k < lines.size(); ++k) joined += "\n" + lines[k];
            scalar_reader r(joined, 0);
            std::string text, error;
            if (!r.quoted(text, error))
                return make_error(status_code::unsupported,
                                  where(i) + " (" + key + "): " +
                                      (error.rfind("a quoted scalar that does not end", 0) == 0
                                           ? "a quoted scalar that does not end"
                                           : error));
            size_t extra = 0;
            for (size_t k = 0; k < r.pos(); ++k) extra += joined[k] == '\n';
            const std::string& end_line = lines[i + extra];
            const size_t end_pos =
                extra ? r.pos() - joined.rfind('\n', r.pos() - 1) - 1 : p + r.pos();
            if (!only_comment_after(end_line, end_pos))
                return make_error(status_code::unsupported,
                                  where(i + extra) + " (" + key + "): text after a quoted scalar");
            value = extra ? other("a quoted scalar over several lines") : string_value(text);
            j = i + extra + 1;
        } else {
            value = inline_value(line, p, where(i) + " (" + key + ")");
            if (!value) return value.error();
        }
        // The lines that belong to this key: more indented ones, and, after an empty value, a
        // block sequence whose dashes stand in column 0.
        const bool empty_value = value->type == card_value::kind::null;
        while (j < lines.size()) {
            const std::string& l = lines[j];
            if (blank_or_comment(l) || indent_of(l) > 0 ||
                (empty_value && l[0] == '-' && (l.size() == 1 || l[1] == ' '))) {
                ++j;
                continue;
            }
            break;
        }
        size_t last = j;  // one past the last non-blank line of the block
        while (last > i + 1 && blank_or_comment(lines[last - 1])) --last;
        if (last > i + 1) {
            if (!empty_value) {
                if (value->type != card_value::kind::other)
                    *value = other("a value that continues on the next lines");
            } else {
                // A block sequence of one-line scalars, or anything else (kept as `other`).
                size_t first = i + 1;
                while (blank_or_comment(lines[first])) ++first;
                const size_t dash = indent_of(lines[first]);
                card_value list;
                list.type = card_value::kind::list;
                bool simple = true;
                for (size_t k = first; k < last && simple; ++k) {
                    const std::string& l = lines[k];
                    if (blank_or_comment(l)) continue;
                    if (indent_of(l) != dash || l[dash] != '-' ||
                        (dash + 1 < l.size() && l[dash + 1] != ' ')) {
                        simple = false;
                        break;
                    }
                    auto item = inline_value(l, dash + 1, where(k) + " (" + key + ")");
                    if (!item) return item.error();
                    if (item->type == card_value::kind::list) *item = other("a nested sequence");
                    list.items.push_back(std::move(*item));
                }
                *value = simple ? list : other("a nested mapping or a multi-line sequence item");
            }
        }
        card.keys.emplace_back(std::move(key), std::move(*value));
        i = j;
    }
    return card;
}

}  // namespace gguf_squash::convert
