// SSE4.1 K-quant quantizers: k_quants_lanes.h over sse4_lanes.
#include "../../kernel_table.h"
#include "../k_quants_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<sse4_isa>::register_k_quants(kernel_table& table) {
    register_k_quants_lanes<sse4_lanes>(table);
}

}  // namespace gguf_squash
