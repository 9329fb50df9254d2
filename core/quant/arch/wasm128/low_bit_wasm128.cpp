// wasm simd128 Q1_0 Q2_0 TQ1_0 TQ2_0 quantizers: low_bit_lanes.h over wasm128_lanes.
#include "../../kernel_table.h"
#include "../low_bit_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_low_bit(kernel_table& table) {
    register_low_bit_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
