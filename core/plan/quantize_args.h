// llama-quantize's command line, parsed without touching the filesystem, so the native CLI, the
// wasm CLI and the tests read arguments the same way:
//   [options] IN [OUT] TYPE [NTHREADS]
// Options are recognised only before the first positional argument, as in llama-quantize.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quant_plan.h"
#include "status.h"

namespace gguf_squash {

struct quantize_args {
    quantize_options options;  // everything but the imatrix itself
    std::string input;
    std::string output;        // as given, or the default name (empty for --dry-run)
    std::string ftype_name;    // canonical option name ("Q4_K_M", "Q4_K", "COPY")
    int nthreads = 0;          // 0: not given
    std::string imatrix_file;  // --imatrix
    std::vector<std::string> include_weights, exclude_weights;
    bool keep_split = false;
    uint64_t max_buffer_size = 0;   // --max-buffer-size in bytes, 0: default
    bool allow_non_finite = false;  // --allow-non-finite (ours): quantize NaN/Inf weights
    bool help = false;
};

// Parses "KEY=int:42", "KEY=float:0.5", "KEY=bool:true", "KEY=str:text" as llama.cpp does (keys
// under 128 bytes, strings at most 127).
result<kv_override> parse_kv_override(const std::string& text);

// --tensor-type PATTERN=TYPE: the pattern lower-cased, TYPE a ggml type name.
result<tensor_type_override> parse_tensor_type_override(const std::string& text);

// --prune-layers "L0,L1,...": sorted, without duplicates.
result<std::vector<int>> parse_prune_layers(const std::string& text);

// Reads a --tensor-type-file's contents.
using read_text_file_fn = std::function<result<std::string>(const std::string& path)>;

// Errors are status_code::invalid_argument with the reason; the caller prints usage.
result<quantize_args> parse_quantize_args(const std::vector<std::string>& args,
                                          const read_text_file_fn& read_text_file);

// llama-quantize's default output: the input's directory + "ggml-model-" + TYPE + ".gguf"
// (no extension with --keep-split).
std::string default_output_name(const std::string& input, const std::string& ftype_name,
                                bool keep_split);

// `quantize --help`: llama-quantize's usage text for the program named `exe`, with its list of
// types and their notes. The native CLI and the wasm CLI both print this one text.
std::string quantize_usage_text(const std::string& exe);

}  // namespace gguf_squash
