// wasm simd128 kernel registration: replaces the scalar entries that have a wasm simd128
// implementation. Every replacement must produce the scalar reference's bytes exactly
// (tests/kernel_*_test.cpp).
#include "../../kernel_table.h"

namespace gguf_squash {

void register_wasm128_kernels(kernel_table& table) {
    isa_kernels<wasm128_isa>::register_all(table);
}

}  // namespace gguf_squash
