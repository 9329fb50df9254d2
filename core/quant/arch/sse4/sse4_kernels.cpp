// SSE4.1 kernel registration: replaces the scalar entries that have a SSE4.1 implementation.
// Every replacement must produce the scalar reference's bytes exactly (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_sse4_kernels(kernel_table& table) {
    isa_kernels<sse4_isa>::register_all(table);
}

}  // namespace gguf_squash
