// Importance data: which tensors need it (tensor_requires_imatrix), and the checks llama-quantize
// makes on what it was given (non-finite values, an entry's size against its tensor).
#pragma once

#include <string>

#include "plan/imatrix.h"
#include "plan/llama_ftype.h"
#include "plan/quant_plan.h"
#include "status.h"

namespace gguf_squash::plan_detail {

// The imatrix to use: null when none was given or it is empty.
const imatrix_data* usable_imatrix(const quantize_options& o);

// Refuses an imatrix holding a NaN or infinity.
status check_imatrix_values(const imatrix_data* im);

// tensor_requires_imatrix: whether `name` quantized to `t` in a file of type `f` needs
// importance data.
bool requires_imatrix(const std::string& name, ggml_type t, llama_ftype f);

// Whether importance data will be used for a converted tensor: with assume_imatrix always, else
// when the imatrix has an entry of the right size. An entry of the wrong size is refused (except
// for token_embd, which llama-quantize then quantizes without it).
result<bool> imatrix_present_for(const tensor_plan& tp, const quantize_options& o,
                                 const imatrix_data* im);

}  // namespace gguf_squash::plan_detail
