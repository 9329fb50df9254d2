#include "plan/type_mix.h"

namespace gguf_squash::plan_detail {

result<ggml_type> fallback_type(recipe_state& s, const uint64_t ne[4], ggml_type target,
                                bool& fell_back) {
    const uint64_t ncols = ne[0];
    const uint64_t qk = type_info(target).block_size;
    if (ncols % qk == 0) return target;
    fell_back = true;
    ++s.n_fallback;
    ggml_type r = target;
    switch (target) {
        case ggml_type::iq1_s:
        case ggml_type::iq1_m:
        case ggml_type::iq2_xxs:
        case ggml_type::iq2_xs:
        case ggml_type::iq2_s:
        case ggml_type::iq3_xxs:
        case ggml_type::iq3_s:
        case ggml_type::iq4_xs:
            r = ggml_type::iq4_nl;
            break;
        case ggml_type::q2_0:
        case ggml_type::q2_k:
        case ggml_type::q3_k:
        case ggml_type::tq1_0:
        case ggml_type::tq2_0:
            r = ggml_type::q4_0;
            break;
        case ggml_type::q4_k:
            r = ggml_type::q5_0;
            break;
        case ggml_type::q5_k:
            r = ggml_type::q5_1;
            break;
        case ggml_type::q6_k:
            r = ggml_type::q8_0;
            break;
        default:
            if (qk > 32) {
                return make_error(status_code::refused,
                                  std::string("no tensor type fallback is defined for type ") +
                                      type_info(target).ggml_name);
            }
            break;
    }
    // Still not a divisor of the row length (rows not a multiple of 32): F16.
    if (ncols % type_info(r).block_size != 0) r = ggml_type::f16;
    return r;
}

}  // namespace gguf_squash::plan_detail
