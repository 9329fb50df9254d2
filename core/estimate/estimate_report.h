// `gguf-squash estimate`: for every ftype llama-quantize offers, the exact output size from the
// quantization plan (make_quant_plan, the code the quantizer writes from), the memory needed to
// run it, and a recommendation for a memory budget and context. The JSON and the text table are
// rendered here, so the native CLI and the wasm build print the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "memory_model.h"
#include "model_summary.h"
#include "plan/imatrix.h"
#include "plan/llama_ftype.h"

namespace gguf_squash {

struct estimate_options {
    // An importance matrix as given to --imatrix; its name is recorded in the output header as
    // typed, so it changes the file size. Null: none.
    const imatrix_data* imatrix = nullptr;
    std::string imatrix_name;
    uint64_t ctx = 4096;
    ggml_type kv_type = ggml_type::f16;
    bool flash_attn = true;            // --flash-attn on|off (llama.cpp's "auto" is on for a CPU)
    uint32_t n_ubatch = kLlamaUbatch;  // --ubatch N
    uint32_t n_parallel = 1;           // --parallel N: sequences (KV streams, recurrent rows)
    std::optional<uint64_t> memory_bytes;  // the budget (--memory GB)
    bool include_aliases = false;          // Q3_K, Q4_K, Q5_K rows (same plans as _M)
};

struct ftype_estimate {
    std::string name;  // llama-quantize's option name
    llama_ftype ftype = llama_ftype::mostly_q8_0;
    std::string note;  // llama-quantize's size / quality note
    bool ok = false;   // false: the plan refused (error says why); sizes are then 0
    std::string error;
    uint64_t file_size = 0;
    uint64_t header_size = 0;
    uint64_t weights_bytes = 0;  // tensor data, unpadded
    double bpw = 0;
    bool requires_imatrix = false;  // cannot be made without one (size: as if one were given)
    int fallback_tensors = 0;
    std::map<std::string, int> tensor_types;  // ggml type name -> tensors
    memory_breakdown memory;
    std::optional<bool> fits;  // with a budget
};

struct recommendation {
    std::optional<std::string> name;  // nullopt: nothing fits
    std::string reason;
    std::vector<std::string> advice;  // the usual guidance that applies
};

struct estimate_report {
    model_summary model;
    memory_hparams memory_model;
    std::vector<ftype_estimate> ftypes;
    memory_breakdown memory;  // for the recommended type (Q4_K_M when nothing is recommended)
    std::string memory_ftype;
    recommendation rec;
    uint64_t ctx = 0;
    ggml_type kv_type = ggml_type::f16;
    memory_options memory_opts;
    std::optional<uint64_t> memory_bytes;
    bool imatrix_given = false;
};

// The whole estimate from a header (a merged one for split models, see merged_model_header).
result<estimate_report> make_estimate(const gguf_header& header, const estimate_options& options);

// The recommendation over computed rows: the highest-quality type on the usual ladder
// (Q8_0 below 13B parameters, Q6_K, Q5_K_M, Q4_K_M, IQ4_XS, Q3_K_M, ... down to IQ1_S) that
// fits the budget with the requested context; types that need an imatrix only when one is given.
recommendation recommend_ftype(const model_summary& model, const std::vector<ftype_estimate>& rows,
                               std::optional<uint64_t> memory_bytes, bool imatrix_given);

// One JSON object on one line (no trailing newline):
//   {"model": {...}, "ftypes": [{name, file_size, bpw, requires_imatrix, fallback_tensors,
//    tensor_types, ...}], "memory": {ctx, kv_type, flash_attn, ubatch, parallel, weights_bytes,
//    kv_bytes, recurrent_bytes, output_bytes, compute_bytes, other_bytes, total_bytes, max_ctx,
//    error (only when llama.cpp would refuse the cache)}, "recommendation": {...}}
std::string estimate_to_json(const estimate_report& report);
// The human-readable table.
std::string estimate_to_text(const estimate_report& report);

}  // namespace gguf_squash
