// Small pieces shared by the C ABI glue files: malloc'd strings for JS, numbers for JSON, the
// model handle, the error document. The glue only serialises results computed by core/.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "format/gguf.h"
#include "format/gguf_json.h"  // append_json_string: escapes and replaces invalid UTF-8

namespace gguf_squash::wasm_glue {

// One model as JS sees it: a parsed header (of a file, or of the first shard of a split model).
struct model_handle {
    gguf_header header;
};

inline char* to_c_string(const std::string& s) {
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (!out) return nullptr;
    std::memcpy(out, s.data(), s.size() + 1);
    return out;
}

// {"error": message, "code": n}: a failed call's result, which the JS API throws as a GgufError
// (GgufSquash.takeJson recognises exactly this shape).
inline std::string error_json(const status& s) {
    std::string out = "{\"error\":";
    append_json_string(out, s.message());
    out += ",\"code\":" + std::to_string(int(s.code())) + "}";
    return out;
}

inline char* error_c_string(const status& s) {
    return to_c_string(error_json(s));
}

inline std::string json_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace gguf_squash::wasm_glue
