// Where the F16 scales sit in a block, for the types whose every dequantized value is a product
// of such a scale and small integers (plus a second scale times small integers): a block's
// values are all finite exactly when its scales are (a non-finite scale makes every product Inf
// or NaN; finite scales stay far below FLT_MAX). These are the fields ggml_validate_row_data
// checks. Offsets come from the block layouts themselves (offsetof).
// tests/kernel_block_scales_test.cpp checks the claim against the scalar dequantizers for every
// type listed.
#pragma once

#include <cstdint>

#include "format/ggml_types.h"

namespace gguf_squash {

struct f16_scale_layout {
    uint32_t count = 0;  // 0: the type's finiteness cannot be read off its scales
    uint32_t offsets[2] = {};
};

f16_scale_layout f16_scales_of(ggml_type t);

}  // namespace gguf_squash
