// wasm simd128 dequantizers: dequant_lanes.h over wasm128_lanes (bit-identical to the scalar
// reference).
#include "../../kernel_table.h"
#include "../dequant_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_dequant(kernel_table& table) {
    register_dequant_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
