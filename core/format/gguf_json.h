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
//
// A preview (gguf_json_options::max_array_items) writes at most that many items of each array,
// at every nesting level; an array cut short says so with `"truncated": true` after "len",
// which keeps the true count:
//   "tokenizer.ggml.tokens": {"type": "ARRAY", "item_type": "STRING", "len": 151936,
//                             "truncated": true, "value": ["!", "\"", ...64 items]}
// Arrays that fit, and everything in the default (complete) output, have no "truncated" key.
// The rest of an array is read with gguf_array_items_json.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "gguf.h"
#include "status.h"

namespace gguf_squash {

struct gguf_json_options {
    // Items written per array. The default writes everything (`gguf-squash info --json`); a
    // preview keeps a page from turning a 150k-token vocabulary into strings it never shows.
    uint64_t max_array_items = std::numeric_limits<uint64_t>::max();
};

// One line, no trailing newline.
std::string gguf_header_to_json(const gguf_header& header, const gguf_json_options& options = {});

// Items [start, start + count) of the array under `key`, as a JSON array written like "value"
// above (nested arrays inside the slice are written whole). The range is clamped to the array:
// a start at or past its end gives "[]". `key` is the key as the file holds it or as the JSON
// shows it (invalid UTF-8 replaced by U+FFFD). An unknown key, or a key whose value is not an
// array, is an invalid_argument error naming the key.
result<std::string> gguf_array_items_json(const gguf_header& header, std::string_view key,
                                          uint64_t start, uint64_t count);

// Appends `s` as a quoted JSON string (escapes, invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view s);

// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

// Shortest decimal text that reads back to the same value ("0.1", "1e-05", "3").
std::string format_float32(float v);
std::string format_float64(double v);

}  // namespace gguf_squash
