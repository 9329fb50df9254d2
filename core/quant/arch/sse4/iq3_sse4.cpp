// SSE4.1 IQ3_XXS / IQ3_S quantizers: iq3_lanes.h over sse4_lanes.
#include "../../kernel_table.h"
#include "../iq3_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<sse4_isa>::register_iq3(kernel_table& table) {
    register_iq3_lanes<sse4_lanes>(table);
}

}  // namespace gguf_squash
