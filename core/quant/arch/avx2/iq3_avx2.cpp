// AVX2 IQ3_XXS / IQ3_S quantizers: iq3_lanes.h over avx2_lanes.
#include "../../kernel_table.h"
#include "../iq3_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_iq3(kernel_table& table) {
    register_iq3_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
