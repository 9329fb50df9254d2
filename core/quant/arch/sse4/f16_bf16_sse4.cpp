// SSE4.1 F16 and BF16 conversions: f16_bf16_lanes.h over sse4_lanes.
#include "../f16_bf16_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<sse4_isa>::register_f16_bf16(kernel_table& table) {
    register_f16_bf16_lanes<sse4_lanes>(table);
}

}  // namespace gguf_squash
