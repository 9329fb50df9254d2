// Small pieces shared by the C ABI glue files: JSON text for JS, malloc'd strings, the model
// handle. The glue only serialises results computed by core/.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "format/gguf.h"

namespace gguf_squash::wasm_glue {

// One model as JS sees it: a parsed header (of a file, or of the first shard of a split model).
struct model_handle {
    gguf_header header;
};

// A JSON string literal, with control characters and invalid UTF-8 escaped so that JSON.parse
// always succeeds (bad bytes become U+FFFD).
inline void append_json_string(std::string& out, const std::string& s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
            ++i;
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
        } else if (c < 0x80) {
            out += char(c);
            ++i;
        } else {
            // Accept only well-formed sequences; replace anything else byte by byte.
            size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            bool ok = n != 0 && i + n <= s.size();
            for (size_t k = 1; ok && k < n; ++k)
                ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
            if (ok) {
                out.append(s, i, n);
                i += n;
            } else {
                out += "\\ufffd";
                ++i;
            }
        }
    }
    out += '"';
}

inline char* to_c_string(const std::string& s) {
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (!out) return nullptr;
    std::memcpy(out, s.data(), s.size() + 1);
    return out;
}

inline std::string json_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace gguf_squash::wasm_glue
