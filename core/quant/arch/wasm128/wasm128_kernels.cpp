// wasm128 kernel registration: replaces the scalar entries that have a wasm128 implementation.
// Every replacement must produce the scalar reference's bytes exactly (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_legacy_wasm128(kernel_table& table);
void register_f16_bf16_wasm128(kernel_table& table);
void register_iq3_wasm128(kernel_table& table);
void register_iq4_wasm128(kernel_table& table);

void register_k_quants_wasm128(kernel_table& table);

void register_wasm128_kernels(kernel_table& table) {
    register_k_quants_wasm128(table);
    register_legacy_wasm128(table);
    register_f16_bf16_wasm128(table);
    register_iq3_wasm128(table);
    register_iq4_wasm128(table);
}

}  // namespace gguf_squash
