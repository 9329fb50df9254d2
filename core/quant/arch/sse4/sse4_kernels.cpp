// sse4 kernel registration: replaces the scalar entries that have a sse4 implementation.
// Every replacement must produce the scalar reference's bytes exactly (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_iq4_sse4(kernel_table& table);

void register_sse4_kernels(kernel_table& table) {
    register_iq4_sse4(table);
}

}  // namespace gguf_squash
