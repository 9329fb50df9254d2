// avx2 kernel registration: replaces the scalar entries that have a avx2 implementation.
// Every replacement must produce the scalar reference's bytes exactly (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_legacy_avx2(kernel_table& table);
void register_f16_bf16_avx2(kernel_table& table);
void register_iq3_avx2(kernel_table& table);
void register_iq4_avx2(kernel_table& table);

void register_k_quants_avx2(kernel_table& table);

void register_avx2_kernels(kernel_table& table) {
    register_k_quants_avx2(table);
    register_legacy_avx2(table);
    register_f16_bf16_avx2(table);
    register_iq3_avx2(table);
    register_iq4_avx2(table);
}

}  // namespace gguf_squash
