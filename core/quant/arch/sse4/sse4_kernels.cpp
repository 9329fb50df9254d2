// sse4 kernel registration: replaces the scalar entries that have a sse4 implementation.
// Every replacement must produce the scalar reference's bytes exactly (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_legacy_sse4(kernel_table& table);
void register_f16_bf16_sse4(kernel_table& table);
void register_iq3_sse4(kernel_table& table);
void register_iq4_sse4(kernel_table& table);

void register_k_quants_sse4(kernel_table& table);

void register_sse4_kernels(kernel_table& table) {
    register_k_quants_sse4(table);
    register_legacy_sse4(table);
    register_f16_bf16_sse4(table);
    register_iq3_sse4(table);
    register_iq4_sse4(table);
}

}  // namespace gguf_squash
