#include "plan/tensor_type_regex.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace gguf_squash {
namespace {

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

namespace plan_detail {

result<std::vector<std::pair<std::regex, ggml_type>>> compile_tensor_type_patterns(
    const std::vector<tensor_type_override>& overrides) {
    std::vector<std::pair<std::regex, ggml_type>> patterns;
    for (const tensor_type_override& o : overrides) {
#ifdef __EMSCRIPTEN__
        if (!plausible_regex_pattern(o.pattern)) {
            return make_error(status_code::invalid_argument,
                              "invalid --tensor-type pattern '" + o.pattern + "'");
        }
#endif
        try {
            patterns.emplace_back(std::regex(o.pattern), o.type);
        } catch (...) {
            return make_error(status_code::invalid_argument,
                              "invalid --tensor-type pattern '" + o.pattern + "'");
        }
    }
    return patterns;
}

}  // namespace plan_detail
}  // namespace gguf_squash
