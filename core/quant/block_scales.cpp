#include "quant/block_scales.h"

#include <cstddef>

#include "quant/ref/iq4_ref.h"
#include "quant/ref/k_quants_ref.h"
#include "quant/ref/legacy_ref.h"
#include "quant/ref/low_bit_ref.h"

namespace gguf_squash {

f16_scale_layout f16_scales_of(ggml_type t) {
    switch (t) {
        case ggml_type::q4_0:
            return {1, {offsetof(block_q4_0, d), 0}};
        case ggml_type::q5_0:
            return {1, {offsetof(block_q5_0, d), 0}};
        case ggml_type::q8_0:
            return {1, {offsetof(block_q8_0, d), 0}};
        case ggml_type::iq4_nl:
            return {1, {offsetof(block_iq4_nl, d), 0}};
        case ggml_type::iq4_xs:
            return {1, {offsetof(block_iq4_xs, d), 0}};
        case ggml_type::q4_1:
            return {2, {offsetof(block_q4_1, d), offsetof(block_q4_1, m)}};
        case ggml_type::q5_1:
            return {2, {offsetof(block_q5_1, d), offsetof(block_q5_1, m)}};
        case ggml_type::q4_k:
            return {2, {offsetof(block_q4_k, d), offsetof(block_q4_k, dmin)}};
        case ggml_type::q5_k:
            return {2, {offsetof(block_q5_k, d), offsetof(block_q5_k, dmin)}};
        case ggml_type::q2_k:
            return {2, {offsetof(block_q2_k, d), offsetof(block_q2_k, dmin)}};
        case ggml_type::q3_k:
            return {1, {offsetof(block_q3_k, d), 0}};
        case ggml_type::q6_k:
            return {1, {offsetof(block_q6_k, d), 0}};
        // Q1_0: +-d; Q2_0, TQ2_0: (0..3 - 1) * d; TQ1_0: (-1..1) * d.
        case ggml_type::q1_0:
            return {1, {offsetof(low_bit_blocks::block_q1_0, d), 0}};
        case ggml_type::q2_0:
            return {1, {offsetof(low_bit_blocks::block_q2_0, d), 0}};
        case ggml_type::tq1_0:
            return {1, {offsetof(low_bit_blocks::block_tq1_0, d), 0}};
        case ggml_type::tq2_0:
            return {1, {offsetof(low_bit_blocks::block_tq2_0, d), 0}};
        // The grid types: d times a positive sub-block factor times a non-zero grid level (IQ1_S:
        // a level in -1..1 plus +-1/8), all far below FLT_MAX / 65504. Their layouts
        // (ref/iq2_ref.cpp, ref/iq3_ref.cpp) start with the fp16 d. IQ1_M spreads its d over
        // four nibbles, so it is not here.
        case ggml_type::iq2_xxs:
        case ggml_type::iq2_xs:
        case ggml_type::iq2_s:
        case ggml_type::iq1_s:
        case ggml_type::iq3_xxs:
        case ggml_type::iq3_s:
            return {1, {0, 0}};
        default:
            return {};
    }
}

}  // namespace gguf_squash
