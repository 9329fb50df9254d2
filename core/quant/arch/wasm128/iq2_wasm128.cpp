// wasm simd128 IQ2_XXS / IQ2_XS / IQ2_S / IQ1_S / IQ1_M quantizers: iq2_lanes.h and iq1_lanes.h
// over wasm128_lanes.
#include "../../kernel_table.h"
#include "../iq1_lanes.h"
#include "../iq2_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<wasm128_isa>::register_iq2(kernel_table& table) {
    register_iq2_lanes<wasm128_lanes>(table);
    register_iq1_lanes<wasm128_lanes>(table);
}

}  // namespace gguf_squash
