// wasm simd128 F16 and BF16 conversions: f16_bf16_lanes.h over wasm128_lanes.
#include "../f16_bf16_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_f16_bf16(kernel_table& table) {
    register_f16_bf16_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
