// AVX2 K-quant quantizers: k_quants_lanes.h over avx2_lanes.
#include "../../kernel_table.h"
#include "../k_quants_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_k_quants(kernel_table& table) {
    register_k_quants_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
