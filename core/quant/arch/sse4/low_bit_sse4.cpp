// SSE4.1 Q1_0 Q2_0 TQ1_0 TQ2_0 quantizers: low_bit_lanes.h over sse4_lanes.
#include "../../kernel_table.h"
#include "../low_bit_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<sse4_isa>::register_low_bit(kernel_table& table) {
    register_low_bit_lanes<sse4_lanes>(table);
}

}  // namespace gguf_squash
