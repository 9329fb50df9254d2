// AVX2 IQ2_XXS / IQ2_XS / IQ2_S quantizers: iq2_lanes.h over avx2_lanes.
#include "../../kernel_table.h"
#include "../iq2_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_iq2(kernel_table& table) {
    register_iq2_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
