// What llama.cpp's model loader derives from a header that the quantization recipe looks at:
// the hyper-parameters and model size class (llama_hparams, llm_type), the tensors in the
// loader's order, and the file type it reports for a model without general.file_type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "plan/quant_plan.h"
#include "status.h"

namespace gguf_squash::plan_detail {

struct model_facts {
    std::string arch;
    uint32_t n_layer = 0;
    uint32_t n_expert = 0;
    uint32_t n_head = 0;     // layer 0
    uint32_t n_head_kv = 0;  // layer 0
    bool is_70b = false;

    uint32_t n_gqa() const { return n_head_kv == 0 ? 0 : n_head / n_head_kv; }
};

// The facts, with integer --override-kv values taking the place of the header's (the loader
// applies overrides before it reads the hyper-parameters). Refuses what the loader refuses.
result<model_facts> read_model_facts(const gguf_header& h, const quantize_options& o);

// One input tensor as the model loader sees it: its info, the shard that holds it and the
// absolute offset of its data in that shard's file.
struct source_tensor {
    const gguf_tensor_info* info = nullptr;
    uint32_t shard = 0;
    uint64_t offset = 0;
};

// sscanf(name, "blk.%d.", &layer): the number after "blk." (the trailing dot is not required).
bool scan_block_number(const std::string& name, int& layer);

// Indices into `src` in the model loader's tensor order: non-layer tensors first, then by layer
// number; by name within each group.
std::vector<size_t> loader_order(const std::vector<source_tensor>& src);

// The file type the loader reports for COPY: general.file_type, else the most common tensor type
// (over `order`) marked as guessed.
result<uint32_t> loader_file_type(const gguf_header& h, const std::vector<source_tensor>& src,
                                  const std::vector<size_t>& order);

}  // namespace gguf_squash::plan_detail
