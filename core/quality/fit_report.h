// `gguf-squash fit`: one ggml type per quantizable tensor, chosen to minimise the measured error
// with the output within a target (file size, bits per weight, or memory at a context), written
// as a --tensor-type-file for llama-quantize.
//
// Which types a tensor may take is what the plan allows it under `--tensor-type ^name$=T` with the
// base ftype: the type itself (no fallback: the row length is a multiple of its block size), and
// an importance matrix for the types that need one. Every candidate is measured as `quality`
// measures (error_measure.h); a tensor's error is n_elements × weighted_mse (with an imatrix) or
// × mse. Sizes come from the plan: the file is the plan's fixed part (header, tensors that are not
// quantizable) plus each tensor's padded bytes, and the final plan built from the chosen types
// must give that exact size, or the fit fails.
//
// The optimiser is fit_solver.h. Its answer is then compared with every standard ftype's mix
// under the same measurement; a standard mix that fits and has less error is taken instead, so the
// result is never worse than a standard type at the same target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "estimate/memory_hparams.h"
#include "estimate/memory_model.h"
#include "estimate/model_summary.h"
#include "quality_report.h"

namespace gguf_squash {

enum class fit_target_kind { file_size, bpw, memory };

struct fit_target {
    fit_target_kind kind = fit_target_kind::file_size;
    uint64_t bytes = 0;   // file_size: the file; memory: weights + KV cache + other
    double bpw = 0;       // bpw: tensor data bits per weight (as the plan counts them)
    uint64_t ctx = 4096;  // memory only
    ggml_type kv_type = ggml_type::f16;
};

// "4800000000", "4.5GiB", "4800MB", "512M" (K/M/G/T alone are binary, KB/MB/GB/TB decimal,
// KiB/MiB/GiB/TiB binary, B bytes; case-insensitive).
result<uint64_t> parse_size(const std::string& text);

struct fit_options {
    fit_target target;
    const imatrix_data* imatrix = nullptr;
    std::string imatrix_name;
    std::string base;  // the ftype given to llama-quantize; empty: chosen after the fit
    uint64_t rows_per_matrix = kDefaultMeasuredRows;
};

struct fit_candidate {
    ggml_type type = ggml_type::f32;
    uint64_t file_bytes = 0;  // padded to the alignment
    uint64_t raw_bytes = 0;
};

struct fit_tensor {
    std::string name;
    size_t source_index = 0;
    ggml_type source_type = ggml_type::f32;
    uint64_t n_elements = 0;
    const float* importance = nullptr;
    std::vector<fit_candidate> candidates;
};

struct fit_standard_mix {
    std::string name;
    uint64_t file_size = 0;
    uint64_t weights_bytes = 0;
    std::vector<ggml_type> types;  // per fit_setup::tensors
};

struct fit_setup {
    fit_options options;
    gguf_model model;                 // compacted for planning
    std::string base;                 // the base used to decide the candidates
    std::vector<fit_tensor> tensors;  // the quantizable ones, in output order
    uint64_t fixed_file_bytes = 0;    // header and the tensors that keep their type, padded
    uint64_t fixed_raw_bytes = 0;     // the tensors that keep their type, unpadded
    uint64_t n_elements = 0;          // every tensor's weights
    uint64_t alignment = 32;
    std::vector<fit_standard_mix> standards;
    model_summary summary;
    memory_hparams memory;  // what estimate's memory model reads from the header
    measure_set measures;
};

result<fit_setup> plan_fit(const gguf_model& model, const fit_options& options);

struct fit_comparison {
    std::string name;
    uint64_t file_size = 0;
    double total_error = 0;
    bool fits = false;  // within the target
};

struct fit_result {
    std::string base;
    std::vector<std::pair<std::string, ggml_type>> types;  // every quantizable tensor
    uint64_t file_size = 0;
    uint64_t weights_bytes = 0;
    double bpw = 0;
    double total_error = 0;
    bool weighted = false;
    uint64_t rows_per_matrix = 0;
    fit_target target;
    uint64_t limit = 0;                      // the bound in the target's measure (bytes)
    std::optional<memory_breakdown> memory;  // memory targets
    double optimiser_error = 0;              // the optimiser's own answer, before the comparison
    std::string from_standard;  // non-empty: this standard mix was better and was taken
    std::vector<fit_comparison> standards;
};

// The fit from a finished measure_job over setup.measures.requests. Impossible targets are
// status_code::refused naming the smallest target that works.
result<fit_result> solve_fit_setup(const fit_setup& setup,
                                   const std::vector<std::vector<error_sums>>& results);

// "^blk\.0\.attn_q\.weight$=q4_K" lines, one per tensor.
std::string fit_type_file(const fit_result& fit);
// The name as a regular expression matching exactly it.
std::string exact_name_pattern(const std::string& name);

// llama-quantize --tensor-type-file TYPES [--imatrix F] MODEL OUT BASE (arguments shell-quoted
// when needed).
std::string fit_command(const fit_result& fit, const std::string& types_file,
                        const std::string& imatrix_file, const std::string& model,
                        const std::string& out);

// {"target":{...},"base","file_size","weights_bytes","bpw","total_error","error_measure",
//  "rows","from_standard","command","types_file","tensor_types":[{"name","type"}],
//  "standard":[{"name","file_size","total_error","fits"}]}
std::string fit_to_json(const fit_result& fit, const std::string& command,
                        const std::string& types_file);
std::string fit_to_text(const fit_result& fit, const std::string& command,
                        const std::string& types_file);

}  // namespace gguf_squash
