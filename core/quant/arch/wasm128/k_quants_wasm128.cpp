// wasm simd128 K-quant quantizers: k_quants_lanes.h over wasm128_lanes.
#include "../../kernel_table.h"
#include "../k_quants_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_k_quants(kernel_table& table) {
    register_k_quants_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
