// The per-tensor quantization plan: the one place that decides, for a model header and
// llama-quantize's options, what every output tensor's type and size will be and what the output
// header holds. The quantizer (core/pipeline), the estimator and the web page all use it.
//
// It follows llama.cpp's src/llama-quant.cpp (tree de3ff81): the tensor order of the model loader
// (non-layer tensors first, then by layer number, by name within each group), which tensors may
// be quantized, the tensor categories and the per-ftype mixes (use_more_bits, the n/8 and n/16
// rules, n_gqa, n_expert, 70B and tied embeddings), manual overrides and their precedence,
// fallbacks when a row length is not a multiple of the block size, and imatrix requirements.
// Every case where llama-quantize fails comes back as a refusal with its reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_split.h"
#include "imatrix.h"
#include "llama_ftype.h"
#include "status.h"

namespace gguf_squash {

// --override-kv KEY=TYPE:VALUE (parse_kv_override, quantize_args.h)
struct kv_override {
    enum class kind { integer, floating, boolean, string };
    std::string key;
    kind type = kind::integer;
    int64_t int_value = 0;
    double float_value = 0;
    bool bool_value = false;
    std::string string_value;
};

// --tensor-type PATTERN=TYPE (parse_tensor_type_override, quantize_args.h): the pattern is a
// regular expression searched in the tensor name (lower-cased, as llama-quantize stores it).
struct tensor_type_override {
    std::string pattern;
    ggml_type type = ggml_type::f32;
};

// A conservative check that `pattern` is valid ECMAScript regex syntax (false for anything
// doubtful). Builds without exceptions (wasm) use it before std::regex, which would abort there.
bool plausible_regex_pattern(const std::string& pattern);

struct quantize_options {
    llama_ftype ftype = llama_ftype::mostly_q8_0;
    bool only_copy = false;              // COPY
    bool pure = false;                   // --pure
    bool quantize_output_tensor = true;  // false with --leave-output-tensor
    bool allow_requantize = false;       // --allow-requantize
    bool dry_run = false;                // --dry-run: a missing imatrix is reported, not refused
    std::optional<ggml_type> output_tensor_type;     // --output-tensor-type
    std::optional<ggml_type> token_embedding_type;   // --token-embedding-type
    std::vector<tensor_type_override> tensor_types;  // --tensor-type, --tensor-type-file
    std::vector<int> prune_layers;                   // --prune-layers
    std::vector<kv_override> kv_overrides;           // --override-kv, in command-line order

    // The imatrix as given to llama-quantize, after --include-weights / --exclude-weights
    // (null or empty: none). Its recorded name is the path as typed.
    const imatrix_data* imatrix = nullptr;
    std::string imatrix_file;

    // --keep-split: one output file per input shard, holding that shard's tensors in input
    // order (llama-quantize then iterates the tensors in (shard, offset) order, which also
    // orders the recipe's layer counters).
    bool keep_split = false;

    // For estimates: plan as if an imatrix covered every tensor (no quantize.imatrix.* keys are
    // added, since their values are unknown).
    bool assume_imatrix = false;
};

struct tensor_plan {
    std::string name;         // name in the output (renumbered when layers are pruned)
    std::string source_name;  // name in the input
    size_t source_index = 0;  // index in the input header's tensor list
    ggml_type source_type = ggml_type::f32;
    ggml_type target_type = ggml_type::f32;
    uint64_t ne[4] = {1, 1, 1, 1};
    uint32_t source_shard = 0;   // input shard holding the tensor (split.no; 0 unsplit)
    uint64_t source_offset = 0;  // absolute offset of the tensor's data in that shard's file
    uint64_t source_bytes = 0;
    uint32_t output_file = 0;    // output shard (--keep-split), else 0
    uint64_t target_offset = 0;  // relative to the output's data section
    uint64_t target_bytes = 0;
    bool allows_quantization = false;  // llama-quantize may change this tensor's type
    bool fallback = false;             // the mix's type did not fit the row length
    bool imatrix_required = false;     // the target type needs importance data for this tensor
    bool imatrix_present = false;      // importance data will be used for this tensor
    std::string imatrix_name;          // entry looked up (the input layer number when pruned)

    bool converts() const { return source_type != target_type; }
    uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

// With several output files (--keep-split on a split model), `output`, `header_size`,
// `file_size` and the target offsets describe the files merged into one; output_file_plan()
// gives each file's own plan, which is what a quantize_job writes.
struct quant_plan {
    gguf_header output;  // the output header: keys, tensors with target types and offsets
    std::vector<tensor_plan> tensors;   // in output order, parallel to output.tensors
    uint32_t file_type = 0;             // value written to general.file_type
    uint64_t header_size = 0;           // bytes before the data section (padded)
    uint64_t file_size = 0;             // exact size of the output file
    uint64_t source_bytes = 0;          // sum of the tensors' source sizes
    uint64_t target_bytes = 0;          // sum of the tensors' target sizes (no padding)
    uint64_t n_elements = 0;            // weights in the planned tensors
    int n_fallback = 0;                 // tensors whose type fell back
    bool will_require_imatrix = false;  // dry run without imatrix: a real run would be refused
    uint32_t output_file_count = 1;     // files written (input shards with --keep-split)
};

// Builds the plan. `input` is the input model's header (tensor offsets relative to its data
// section, data_offset set). Refusals are status_code::refused (or invalid_argument for options
// that cannot apply) with llama-quantize's reason.
result<quant_plan> make_quant_plan(const gguf_header& input, const quantize_options& options);

// The same for a model read from one or more gguf-split shards (llama.cpp's loader: metadata
// from shard 0, tensors from every shard, split.* keys dropped from the output).
// tensor_plan::source_shard and source_offset say where each tensor's bytes are.
result<quant_plan> make_quant_plan(const gguf_model& input, const quantize_options& options);

// The plan of output file `file` (< plan.output_file_count) alone: with one file, the plan
// itself; with several, that shard's tensors, shard 0's metadata only in file 0, and the split.*
// keys llama-quantize appends to every shard (split.no u16, split.count u16,
// split.tensors.count i32).
result<quant_plan> output_file_plan(const quant_plan& plan, uint32_t file);

// The name of output file `file` for the OUT argument as llama-quantize keeps it: OUT itself,
// or with --keep-split "OUT-0000N-of-0000M.gguf" (even for a single file).
std::string output_file_name(const std::string& out, const quant_plan& plan, bool keep_split,
                             uint32_t file);

// The bytes of a planned output header (quant_plan::output, or an output_file_plan's), as
// llama-quantize writes them: laid out with the plan's alignment (always 32,
// GGUF_DEFAULT_ALIGNMENT) even when a general.alignment key copied from the input or set by
// --override-kv says otherwise, since gguf_set_kv copies the key without changing the layout.
result<std::vector<uint8_t>> encode_plan_header(const gguf_header& output);

// Bits per weight of a planned output (target bytes * 8 / weights).
double plan_bits_per_weight(const quant_plan& plan);

}  // namespace gguf_squash
