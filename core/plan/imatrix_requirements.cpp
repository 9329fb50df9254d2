#include "plan/imatrix_requirements.h"

#include <cmath>

#include "plan/tensor_category.h"

namespace gguf_squash::plan_detail {

const imatrix_data* usable_imatrix(const quantize_options& o) {
    return (o.imatrix && !o.imatrix->empty()) ? o.imatrix : nullptr;
}

status check_imatrix_values(const imatrix_data* im) {
    if (!im) return {};
    for (const auto& [name, values] : im->entries) {
        for (float v : values) {
            if (!std::isfinite(v)) {
                return make_error(status_code::refused,
                                  "imatrix contains non-finite value in entry " + name);
            }
        }
    }
    return {};
}

bool requires_imatrix(const std::string& name, ggml_type t, llama_ftype f) {
    if (is_token_embd_name(name) || is_output_name(name)) return false;
    switch (t) {
        case ggml_type::iq3_xxs:
        case ggml_type::iq2_xxs:
        case ggml_type::iq2_xs:
        case ggml_type::iq2_s:
        case ggml_type::iq1_m:
        case ggml_type::iq1_s:
            return true;
        case ggml_type::q2_k:
            // K-quants do not need importance data as a rule; the one exception is Q2_K tensors
            // in a Q2_K_S file.
            return f == llama_ftype::mostly_q2_k_s;
        default:
            return false;
    }
}

result<bool> imatrix_present_for(const tensor_plan& tp, const quantize_options& o,
                                 const imatrix_data* im) {
    if (o.assume_imatrix) return true;
    if (!im) return false;
    auto it = im->entries.find(tp.imatrix_name);
    if (it == im->entries.end()) return false;
    if (it->second.size() == tp.ne[0] * tp.ne[2]) return true;
    if (is_token_embd_name(tp.name)) return false;
    return make_error(status_code::refused, "imatrix size " + std::to_string(it->second.size()) +
                                                " is different from tensor size " +
                                                std::to_string(tp.ne[0] * tp.ne[2]) + " for " +
                                                tp.name);
}

}  // namespace gguf_squash::plan_detail
