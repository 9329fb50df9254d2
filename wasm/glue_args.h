// JS hands argument lists to the glue as one buffer, the arguments joined with NUL bytes
// (GgufSquash.allocString(args.join('\0'))). One splitter for every entry point that takes them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gguf_squash::wasm_glue {

// "a\0b" -> {"a", "b"}; "" -> {}; an empty argument between two NULs is kept ("a\0\0b" ->
// {"a", "", "b"}), a trailing NUL adds nothing (join() never writes one).
inline std::vector<std::string> split_nul_args(const char* data, size_t size) {
    std::vector<std::string> args;
    size_t start = 0;
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == '\0') {
            args.emplace_back(data + start, i - start);
            start = i + 1;
        }
    }
    if (start < size) args.emplace_back(data + start, size - start);
    return args;
}

}  // namespace gguf_squash::wasm_glue
