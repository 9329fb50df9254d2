// AVX2 kernel registration: replaces the scalar entries that have a AVX2 implementation.
// Every replacement must produce the scalar reference's bytes exactly (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_avx2_kernels(kernel_table& table) {
    isa_kernels<avx2_isa>::register_all(table);
}

}  // namespace gguf_squash
