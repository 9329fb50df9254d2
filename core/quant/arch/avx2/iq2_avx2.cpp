// AVX2 IQ2_XXS / IQ2_XS / IQ2_S / IQ1_S / IQ1_M quantizers: iq2_lanes.h and iq1_lanes.h over
// avx2_lanes.
#include "../../kernel_table.h"
#include "../iq1_lanes.h"
#include "../iq2_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {

template <>
void isa_kernels<avx2_isa>::register_iq2(kernel_table& table) {
    register_iq2_lanes<avx2_lanes>(table);
    register_iq1_lanes<avx2_lanes>(table);
}

}  // namespace gguf_squash
