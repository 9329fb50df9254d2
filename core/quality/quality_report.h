// `gguf-squash quality`: what each ftype does to the model's weights. For every requested ftype
// the per-tensor plan (make_quant_plan, what the quantizer writes) says each tensor's type; every
// (tensor, type) pair it uses is measured once by a measure_job (error_measure.h) with the
// quantizer's kernels and importances, and each ftype's figures are assembled from those.
//
// Per tensor (error_measure.h): rmse, rel_rmse, max_abs, weighted_mse over the measured rows.
// Tensors the plan leaves as they are: error 0. Per ftype, pooled over the tensors the plan
// quantizes, each tensor counting with its element count n_t (with every row measured this is
// exactly the sum over all weights):
//   rmse = sqrt(Σ n_t·mse_t / Σ n_t), rel_rmse = sqrt(Σ n_t·mse_t / Σ n_t·msx_t),
//   weighted_mse = Σ n_t·weighted_mse_t / Σ n_t
// where msx_t = Σx²/N over the measured values.
//
// The JSON and the text are rendered here, so the native and wasm CLIs print the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "error_measure.h"
#include "format/gguf_split.h"
#include "plan/imatrix.h"
#include "plan/quant_plan.h"

namespace gguf_squash {

struct quality_options {
    std::vector<std::string> ftypes;  // llama-quantize option names; empty: every ftype
    const imatrix_data* imatrix = nullptr;
    std::string imatrix_name;  // recorded as typed (changes the header, so the file size)
    uint64_t rows_per_matrix = kDefaultMeasuredRows;  // 0: every row
};

// The ftypes `quality` measures by default: every option llama-quantize lists except the
// aliases and COPY.
std::vector<std::string> default_quality_ftypes();

// "Q4_K_M,q8_0" or "all" to option names (canonical spelling); invalid_argument names the one
// not known.
result<std::vector<std::string>> parse_quality_ftypes(const std::string& list);

// "all" or a positive count (0 stands for all).
result<uint64_t> parse_quality_rows(const std::string& text);

struct tensor_quality {
    std::string name;
    ggml_type type = ggml_type::f32;  // the plan's target type
    ggml_type source_type = ggml_type::f32;
    uint64_t n_elements = 0;
    bool quantized = false;  // the plan changes its type (else: error 0, nothing measured)
    error_sums error;
    // The objective `fit` minimises: n_elements × (weighted_mse with an imatrix, else mse).
    double total_error(bool weighted) const;
};

struct ftype_quality {
    std::string name;
    llama_ftype ftype = llama_ftype::mostly_q8_0;
    uint64_t file_size = 0;
    uint64_t weights_bytes = 0;  // tensor data, unpadded (the plan's target_bytes)
    uint64_t n_elements = 0;     // weights in all tensors
    double rmse = 0, rel_rmse = 0, weighted_mse = 0;
    uint64_t rows_measured = 0;
    double total_error = 0;               // Σ over its tensors of tensor_quality::total_error
    std::vector<tensor_quality> tensors;  // in output order
};

struct quality_skip {
    std::string name;
    std::string reason;  // the plan's refusal
};

struct quality_report {
    std::vector<ftype_quality> ftypes;
    std::vector<quality_skip> skipped;  // ftypes the plan refuses (no imatrix for IQ2_XXS, ...)
    uint64_t rows_per_matrix = 0;       // 0: every row
    bool weighted = false;              // an imatrix was given
};

// What to measure for a set of plans: each (source tensor, type, importances) once, in input
// order so that reads go forward through each shard.
struct measure_set {
    std::vector<measure_request> requests;
    // (source_index, type, importances) -> (request, index in its types)
    std::map<std::tuple<size_t, ggml_type, const float*>, std::pair<size_t, size_t>> where;

    // (source_index, importances) -> request
    std::map<std::pair<size_t, const float*>, size_t> request_of;

    // Adds `type` for plan tensor `tp` with importances `w` (or null).
    void add(const tensor_plan& tp, ggml_type type, const float* w);
    const error_sums* find(const std::vector<std::vector<error_sums>>& results, size_t source,
                           ggml_type type, const float* w) const;
    // Sorts the requests by (shard, offset), keeping `where` in step.
    void order_by_input();
};

// The importances a planned tensor is quantized with, or null.
const float* plan_importance(const tensor_plan& tp, const imatrix_data* imatrix);

// The model's header with large tokenizer arrays replaced by items of the same encoded size
// (plans copy the metadata; sizes only depend on the byte count).
gguf_model compact_model_for_planning(const gguf_model& model);

struct quality_setup {
    quality_options options;
    std::vector<std::string> names;  // ftypes planned, in order
    std::vector<quant_plan> plans;   // parallel to names
    std::vector<quality_skip> skipped;
    measure_set measures;
};

result<quality_setup> plan_quality(const gguf_model& model, const quality_options& options);

// The report from a finished measure_job over setup.measures.requests.
quality_report make_quality_report(const quality_setup& setup,
                                   const std::vector<std::vector<error_sums>>& results);

// One ftype's figures from its plan and the measurements (used by fit for the standard types).
ftype_quality ftype_figures(const std::string& name, const quant_plan& plan,
                            const measure_set& measures,
                            const std::vector<std::vector<error_sums>>& results,
                            const imatrix_data* imatrix);

// {"ftypes":[{"name","file_size","rmse","rel_rmse","weighted_mse"?,"rows":"all"|N,
//   "tensors":[{"name","type","n_elements","rows_measured","rmse","rel_rmse","max_abs",
//   "weighted_mse"?}]}],"skipped":[{"name","reason"}]}  (weighted_mse only with an imatrix)
std::string quality_to_json(const quality_report& report);
// A table, one line per ftype, saying how many rows were measured.
std::string quality_to_text(const quality_report& report);

}  // namespace gguf_squash
