// AVX2 dequantizers: dequant_lanes.h over avx2_lanes (bit-identical to the scalar reference).
#include "../../kernel_table.h"
#include "../dequant_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_dequant(kernel_table& table) {
    register_dequant_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
