// wasm simd128 K-quant quantizers: the lane-parallel searches of k_quants_lanes.h with 4
// sub-blocks per vector. Only IEEE-exact operations, so every lane matches the scalar reference.
#include "../../kernel_table.h"
#include "../k_quants_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {
namespace {

// Pairs of vectors: 8 sub-blocks per pass, two independent add chains.
using kernels = k_quants_lanes<lanes_pair<wasm128_lanes>>;

}  // namespace

void register_k_quants_wasm128(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::q2_k)] = kernels::q2_k;
    table.quantize[uint32_t(ggml_type::q3_k)] = kernels::q3_k;
    table.quantize[uint32_t(ggml_type::q4_k)] = kernels::q4_k;
    table.quantize[uint32_t(ggml_type::q5_k)] = kernels::q5_k;
    table.quantize[uint32_t(ggml_type::q6_k)] = kernels::q6_k;
}

}  // namespace gguf_squash
