// Our own small JSON emitter for GGUF headers (`gguf-squash info --json`). It lives in core and
// uses no JSON library so that the native CLI and the wasm build print byte-identical output.
//
// The object:
//   {"version": 3, "alignment": 32, "data_offset": 91936,
//    "metadata": {"general.architecture": {"type": "STRING", "value": "llama"},
//                 "tokenizer.ggml.tokens": {"type": "ARRAY", "item_type": "STRING",
//                                           "len": 4096, "value": ["<unk>", ...]}, ...},
//    "tensors": [{"name": "token_embd.weight", "type": "F16", "shape": [256, 4096],
//                 "offset": 0, "nbytes": 2097152}, ...]}
// `offset` is relative to data_offset; `shape` lists ne[0..n_dims). Nested arrays appear as
// items of the same {type: "ARRAY", item_type, len, value} form. Integers print exactly; floats
// print in the shortest form that reads back to the same value; NaN and infinities, which JSON
// lacks, print as the strings "NaN", "Infinity", "-Infinity". Strings that are not valid UTF-8
// have each invalid byte replaced by U+FFFD, so the output is always valid JSON.
#pragma once

#include <string>
#include <string_view>

#include "gguf.h"

namespace gguf_squash {

// One line, no trailing newline.
std::string gguf_header_to_json(const gguf_header& header);

// Appends `s` as a quoted JSON string (escapes, invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view s);

// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

// Shortest decimal text that reads back to the same value ("0.1", "1e-05", "3").
std::string format_float32(float v);
std::string format_float64(double v);

}  // namespace gguf_squash
