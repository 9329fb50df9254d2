// AVX2 K-quant quantizers: the lane-parallel searches of k_quants_lanes.h with 8 sub-blocks per
// vector. Only IEEE-exact operations (no FMA), so every lane matches the scalar reference.
#include "../../kernel_table.h"
#include "../k_quants_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {
namespace {

// Q4_K/Q5_K have 8 sub-blocks per super-block: one vector. Q2_K/Q3_K/Q6_K have 16: a pair.
using kernels8 = k_quants_lanes<avx2_lanes>;
using kernels16 = k_quants_lanes<lanes_pair<avx2_lanes>>;

}  // namespace

void register_k_quants_avx2(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::q2_k)] = kernels16::q2_k;
    table.quantize[uint32_t(ggml_type::q3_k)] = kernels16::q3_k;
    table.quantize[uint32_t(ggml_type::q4_k)] = kernels8::q4_k;
    table.quantize[uint32_t(ggml_type::q5_k)] = kernels8::q5_k;
    table.quantize[uint32_t(ggml_type::q6_k)] = kernels16::q6_k;
}

}  // namespace gguf_squash
