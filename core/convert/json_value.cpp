#include "convert/json_value.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "convert/utf8.h"

namespace gguf_squash::convert {

constexpr int kMaxDepth = 256;  // deeper nesting is not a checkpoint file

class json_parser {
  public:
    json_parser(std::string_view s, const std::string& what) : s_(s), what_(what) {}

    result<json_value> run() {
        json_value v;
        GS_RETURN_IF_ERROR(value(v, 0));
        skip_ws();
        if (p_ != s_.size()) return fail("unexpected data after the JSON value");
        return v;
    }

  private:
    status fail(const std::string& why) const {
        return make_error(status_code::invalid_file,
                          what_ + ": invalid JSON at byte " + std::to_string(p_) + ": " + why);
    }

    void skip_ws() {
        while (p_ < s_.size() &&
               (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r'))
            ++p_;
    }

    bool literal(std::string_view word) {
        if (s_.substr(p_, word.size()) != word) return false;
        p_ += word.size();
        return true;
    }

    status value(json_value& v, int depth) {
        if (depth > kMaxDepth) return fail("nesting deeper than 256");
        skip_ws();
        if (p_ >= s_.size()) return fail("unexpected end of input");
        const char c = s_[p_];
        if (c == '{') return object(v, depth);
        if (c == '[') return array(v, depth);
        if (c == '"') {
            v.kind_ = json_value::kind::string;
            return string(v.text_);
        }
        if (literal("true")) {
            v.kind_ = json_value::kind::boolean;
            v.bool_ = true;
            return {};
        }
        if (literal("false")) {
            v.kind_ = json_value::kind::boolean;
            return {};
        }
        if (literal("null")) return {};
        // Python's json also reads NaN / Infinity / -Infinity (configs occasionally hold them).
        for (const char* word : {"NaN", "Infinity", "-Infinity"}) {
            if (literal(word)) {
                v.kind_ = json_value::kind::number;
                v.text_ = word;
                return {};
            }
        }
        if (c == '-' || (c >= '0' && c <= '9')) return number(v);
        return fail(std::string("unexpected character '") + c + "'");
    }

    status number(json_value& v) {
        const size_t start = p_;
        if (s_[p_] == '-') ++p_;
        auto digits = [&] {
            const size_t b = p_;
            while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
            return p_ - b;
        };
        if (p_ < s_.size() && s_[p_] == '0') {
            ++p_;
        } else if (digits() == 0) {
            return fail("malformed number");
        }
        if (p_ < s_.size() && s_[p_] == '.') {
            ++p_;
            if (digits() == 0) return fail("malformed number");
        }
        if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
            ++p_;
            if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-')) ++p_;
            if (digits() == 0) return fail("malformed number");
        }
        v.kind_ = json_value::kind::number;
        v.text_ = std::string(s_.substr(start, p_ - start));
        return {};
    }

    status hex4(uint32_t& out) {
        if (p_ + 4 > s_.size()) return fail("truncated \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = s_[p_++];
            out <<= 4;
            if (h >= '0' && h <= '9')
                out |= uint32_t(h - '0');
            else if (h >= 'a' && h <= 'f')
                out |= uint32_t(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
                out |= uint32_t(h - 'A' + 10);
            else
                return fail("bad \\u escape");
        }
        return {};
    }

    status string(std::string& out) {
        ++p_;  // opening quote
        while (true) {
            const size_t run = p_;
            while (p_ < s_.size() && s_[p_] != '"' && s_[p_] != '\\' &&
                   static_cast<unsigned char>(s_[p_]) >= 0x20)
                ++p_;
            out.append(s_.data() + run, p_ - run);
            if (p_ >= s_.size()) return fail("unterminated string");
            const char c = s_[p_];
            if (c == '"') {
                ++p_;
                return {};
            }
            if (c != '\\') return fail("control character in string");
            if (++p_ >= s_.size()) return fail("unterminated string");
            const char e = s_[p_++];
            switch (e) {
                case '"':
                    out.push_back('"');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '/':
                    out.push_back('/');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'u': {
                    uint32_t cp = 0;
                    GS_RETURN_IF_ERROR(hex4(cp));
                    if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(p_, 2) == "\\u") {
                        const size_t save = p_;
                        p_ += 2;
                        uint32_t lo = 0;
                        GS_RETURN_IF_ERROR(hex4(lo));
                        if (lo >= 0xDC00 && lo < 0xE000) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        } else {
                            p_ = save;  // a lone high surrogate, as Python keeps it
                        }
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    return fail("bad escape");
            }
        }
    }

    status array(json_value& v, int depth) {
        ++p_;
        v.kind_ = json_value::kind::array;
        skip_ws();
        if (p_ < s_.size() && s_[p_] == ']') {
            ++p_;
            return {};
        }
        while (true) {
            v.items_.emplace_back();
            GS_RETURN_IF_ERROR(value(v.items_.back(), depth + 1));
            skip_ws();
            if (p_ >= s_.size()) return fail("unterminated array");
            if (s_[p_] == ',') {
                ++p_;
                continue;
            }
            if (s_[p_] == ']') {
                ++p_;
                return {};
            }
            return fail("expected ',' or ']'");
        }
    }

    status object(json_value& v, int depth) {
        ++p_;
        v.kind_ = json_value::kind::object;
        skip_ws();
        if (p_ < s_.size() && s_[p_] == '}') {
            ++p_;
            return {};
        }
        while (true) {
            skip_ws();
            if (p_ >= s_.size() || s_[p_] != '"') return fail("expected a member name");
            std::string key;
            GS_RETURN_IF_ERROR(string(key));
            skip_ws();
            if (p_ >= s_.size() || s_[p_] != ':') return fail("expected ':'");
            ++p_;
            v.members_.emplace_back(std::move(key), json_value());
            GS_RETURN_IF_ERROR(value(v.members_.back().second, depth + 1));
            skip_ws();
            if (p_ >= s_.size()) return fail("unterminated object");
            if (s_[p_] == ',') {
                ++p_;
                continue;
            }
            if (s_[p_] == '}') {
                ++p_;
                return {};
            }
            return fail("expected ',' or '}'");
        }
    }

    std::string_view s_;
    const std::string& what_;
    size_t p_ = 0;
};

bool json_value::is_integer() const {
    return kind_ == kind::number && text_.find_first_of(".eEIN") == std::string::npos;
}

std::optional<int64_t> json_value::as_i64() const {
    if (!is_integer()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text_.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return std::nullopt;
    return int64_t(v);
}

std::optional<uint64_t> json_value::as_u64() const {
    if (!is_integer() || text_[0] == '-') return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text_.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return std::nullopt;
    return uint64_t(v);
}

double json_value::as_f64() const {
    if (text_ == "NaN") return std::strtod("nan", nullptr);
    if (text_ == "Infinity") return std::strtod("inf", nullptr);
    if (text_ == "-Infinity") return std::strtod("-inf", nullptr);
    return std::strtod(text_.c_str(), nullptr);  // correctly rounded (glibc, musl in emscripten)
}

const json_value* json_value::find(std::string_view key) const {
    if (kind_ != kind::object) return nullptr;
    for (size_t i = members_.size(); i-- > 0;)
        if (members_[i].first == key) return &members_[i].second;
    return nullptr;
}

result<json_value> parse_json(std::string_view text, const std::string& what) {
    return json_parser(text, what).run();
}

}  // namespace gguf_squash::convert
