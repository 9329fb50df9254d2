// SSE4.1 dequantizers: dequant_lanes.h over sse4_lanes (bit-identical to the scalar reference).
#include "../../kernel_table.h"
#include "../dequant_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<sse4_isa>::register_dequant(kernel_table& table) {
    register_dequant_lanes<sse4_lanes>(table);
}

}  // namespace gguf_squash
