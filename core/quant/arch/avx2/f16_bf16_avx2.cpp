// AVX2 F16 and BF16 conversions: f16_bf16_lanes.h over avx2_lanes.
#include "../f16_bf16_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_f16_bf16(kernel_table& table) {
    register_f16_bf16_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
