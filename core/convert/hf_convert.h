// A Hugging Face checkpoint as the GGUF that llama.cpp's convert_hf_to_gguf.py (tree de3ff81)
// would write, planned from the small files alone: config.json, the index and every shard's
// safetensors header. No weight is read to plan, so the tensor infos, their offsets and every
// size are known up front; each tensor's bytes are then produced row by row from slices of its
// shard (convert_rows), in the order the GGUF needs them. That makes the conversion a *virtual
// GGUF source*: the quantize pipeline can later read it as if it were the F16/BF16 file.
//
// What is reproduced here (from conversion/base.py, conversion/llama.py, conversion/qwen.py,
// conversion/gemma.py and gguf-py): the tensor order (shards in name order, tensors by name
// within a shard, generated tensors such as Llama 3.1's rope_freqs first), the name map, Llama's
// Q/K permutation, Gemma 3's norms + 1 and token_embd cut (limit_token_embd_rows), the dtype
// rule (1-D tensors and norms F32; --outtype for the rest; auto = the first 2-D tensor's
// BF16/F16, else F16; Q8_0 falls back to F16 for rows that are not whole blocks), gguf-py's
// layout (n_dims as written, every tensor padded to 32) and the hyperparameter keys of
// LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM /
// Gemma3ForCausalLM.
// The general.* keys come from hf_metadata.h, the tokenizer keys from hf_tokenizer.h;
// assemble_header puts the three together in the converter's order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convert/safetensors.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "status.h"

namespace gguf_squash::convert {

// gguf-py's GGUFWriter default alignment: every tensor padded to it.
constexpr uint64_t kGgufPyAlignment = 32;

enum class outtype : uint8_t { auto_type, f32, f16, bf16, q8_0 };

// "auto", "f32", ... as convert_hf_to_gguf.py's --outtype spells them.
result<outtype> outtype_from_name(const std::string& name);
const char* outtype_name(outtype t);

struct hf_shard {
    std::string file;  // name inside the model folder
    st_header header;
};

struct hf_inputs {
    std::string config_json;       // config.json's text (required)
    bool has_index = false;        // model.safetensors.index.json exists
    std::string index_json;        // its text
    std::vector<hf_shard> shards;  // every model*.safetensors, any order
};

struct planned_tensor {
    gguf_tensor_info info;       // name, type, ne (ne[0] = row length), offset in the data section
    std::string source_name;     // the checkpoint's tensor name ("" for generated tensors)
    int shard = -1;              // index into hf_inputs::shards (-1: generated)
    st_tensor source;            // the shard's tensor (dtype, shape, absolute extent)
    uint32_t permute_heads = 0;  // Llama's Q/K row permutation over this many heads (0: none)
    std::vector<float> generated;  // the values of a generated tensor (rope_freqs)
    float norm_shift = 0.0f;       // added to every value (Gemma 3's norms: w + 1)
};

struct hf_plan {
    std::string hf_architecture;    // "LlamaForCausalLM", ...
    std::string gguf_architecture;  // "llama", "qwen2", "qwen3", "gemma3"
    outtype requested = outtype::auto_type;
    uint32_t file_type = 0;        // general.file_type (llama_ftype)
    uint32_t vocab_size = 0;       // config.json's vocab_size (0: absent)
    std::vector<gguf_kv> hparams;  // the model's keys, from ARCH.block_count to general.file_type
                                   // and the model class's own keys after it, in the writer's order
    std::vector<planned_tensor> tensors;  // in file order, offsets assigned
    uint64_t data_size = 0;               // bytes of the data section (each tensor padded to 32)
};

// Plans the conversion; errors name the file and field (config.json: architectures, ...).
result<hf_plan> plan_hf_conversion(const hf_inputs& in, outtype requested);

// Gemma3Model.modify_tensors: token_embd keeps only its first `rows` rows (data_torch[:rows],
// the tokenizer's size; a checkpoint may have more). The tensor's source extent shrinks with it
// and the offsets after it move. Nothing changes when the tensor has no more rows than that.
void limit_token_embd_rows(hf_plan& plan, uint64_t rows);

// Every tensor's element count, summed (gguf-py's get_total_parameter_count for a model
// without experts or LoRA tensors): what the size label is made from.
uint64_t total_parameters(const hf_plan& plan);

// The name part of the file type for file names: "F32", "F16", "BF16", "Q8_0".
const char* output_type_name(const hf_plan& plan);

// The whole header in gguf-py's order: `general` (general.architecture ... size_label), the
// plan's hyperparameters, general.quantization_version, then `tokenizer`; the planned tensors.
gguf_header assemble_header(const hf_plan& plan, const std::vector<gguf_kv>& general,
                            const std::vector<gguf_kv>& tokenizer);

// How gguf-py lays the header out (n_dims as given, padding to 32).
gguf_encode_options gguf_py_layout();

// Row `r` of the output tensor comes from this row of the source tensor (Llama's Q/K permutation;
// the identity otherwise). Rows are ne[0] elements; a source row is the same elements.
uint64_t source_row(const planned_tensor& t, uint64_t r);

// Converts `nrows` source rows (each ne[0] elements of the source dtype, little-endian) that
// belong at output rows [first_row, first_row + nrows) — already in output order — into `dst`,
// which holds row_size(info.type, ne[0]) * nrows bytes. Generated tensors ignore `src`.
status convert_rows(const planned_tensor& t, const uint8_t* src, uint64_t first_row, uint64_t nrows,
                    uint8_t* dst);

}  // namespace gguf_squash::convert
