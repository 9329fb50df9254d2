// --tensor-type patterns as llama-quantize compiles them (std::regex, ECMAScript), guarded for
// builds without exceptions. plausible_regex_pattern itself is declared in quant_plan.h.
#pragma once

#include <regex>
#include <utility>
#include <vector>

#include "plan/quant_plan.h"
#include "status.h"

namespace gguf_squash::plan_detail {

// The patterns compiled in order; invalid_argument naming the first that does not compile.
result<std::vector<std::pair<std::regex, ggml_type>>> compile_tensor_type_patterns(
    const std::vector<tensor_type_override>& overrides);

}  // namespace gguf_squash::plan_detail
