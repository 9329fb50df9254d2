// wasm simd128 IQ3_XXS / IQ3_S quantizers: iq3_lanes.h over wasm128_lanes.
#include "../../kernel_table.h"
#include "../iq3_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_iq3(kernel_table& table) {
    register_iq3_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
