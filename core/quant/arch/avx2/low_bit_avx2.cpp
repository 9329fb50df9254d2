// AVX2 Q1_0 Q2_0 TQ1_0 TQ2_0 quantizers: low_bit_lanes.h over avx2_lanes.
#include "../../kernel_table.h"
#include "../low_bit_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_low_bit(kernel_table& table) {
    register_low_bit_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
