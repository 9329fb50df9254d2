// SSE4.1 IQ2_XXS / IQ2_XS / IQ2_S / IQ1_S / IQ1_M quantizers: iq2_lanes.h and iq1_lanes.h over
// sse4_lanes.
#include "../../kernel_table.h"
#include "../iq1_lanes.h"
#include "../iq2_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<sse4_isa>::register_iq2(kernel_table& table) {
    register_iq2_lanes<sse4_lanes>(table);
    register_iq1_lanes<sse4_lanes>(table);
}

}  // namespace gguf_squash
