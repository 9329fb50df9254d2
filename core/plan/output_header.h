// The output header llama-quantize writes: the input's keys, then general.quantization_version,
// general.file_type, the imatrix keys and --override-kv values, each set moving its key to the
// end (gguf_set_val_*), the split keys dropped; the tensors with their new types, laid out with
// the default alignment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "plan/imatrix.h"
#include "plan/quant_plan.h"
#include "status.h"

namespace gguf_squash::plan_detail {

// How llama-quantize's output header is encoded: general.alignment is data (see
// encode_plan_header).
gguf_encode_options plan_encode_options();

// gguf_set_val_*: a set removes the key and appends it at the end.
void set_last(std::vector<gguf_kv>& kv, const std::string& key, gguf_value v);

// The output's keys into `out` (version and alignment set too). `im` is the imatrix used (or
// null); `n_layers_kept` replaces ARCH.block_count when layers were pruned.
status build_output_metadata(const gguf_header& input, const quantize_options& opts,
                             const imatrix_data* im, uint32_t file_type, const std::string& arch,
                             int n_layers_kept, gguf_header& out);

// The output tensors from plan.tensors, their offsets, the header and file sizes and the totals;
// with several output files, each tensor's offset within its own file.
status lay_out_output(quant_plan& plan);

}  // namespace gguf_squash::plan_detail
