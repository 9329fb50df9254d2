// wasm simd128 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0: legacy_lanes.h over wasm128_lanes.
#include "../../kernel_table.h"
#include "../legacy_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_legacy(kernel_table& table) {
    register_legacy_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
