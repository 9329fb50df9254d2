// The kernel table: one function pointer per type and direction. The scalar reference fills every
// entry; each ISA's registration then replaces the entries it accelerates. The table is chosen
// once (see kernel_dispatch.cpp), never per call.
#pragma once

#include <cstdint>

#include "../format/ggml_types.h"

namespace gguf_squash {

// Quantizes nrows rows of n_per_row floats; imatrix may be null (n_per_row weights otherwise).
using quantize_fn = void (*)(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                             const float* imatrix);
// Dequantizes n elements (a multiple of the block size) to F32.
using dequantize_fn = void (*)(const void* src, float* dst, int64_t n);

struct kernel_table {
    quantize_fn quantize[kGgmlTypeCount] = {};
    dequantize_fn dequantize[kGgmlTypeCount] = {};
};

// Each kernel family registers its scalar reference functions here (core/quant/ref/*.cpp).
void register_f16_bf16_ref(kernel_table& table);
void register_legacy_ref(kernel_table& table);    // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 (and Q8_1 dequant)
void register_k_quants_ref(kernel_table& table);  // Q2_K..Q6_K (and Q8_K dequant)
void register_low_bit_ref(kernel_table& table);   // Q1_0 Q2_0 MXFP4 NVFP4 TQ1_0 TQ2_0 IQ4_NL IQ4_XS
void register_iq_ref(kernel_table& table);        // IQ1_S IQ1_M IQ2_XXS IQ2_XS IQ2_S
void register_iq3_ref(kernel_table& table);       // IQ3_XXS IQ3_S

// Per-ISA overrides, defined only in builds that compile that ISA (core/quant/arch/<isa>/).
void register_sse4_kernels(kernel_table& table);
void register_avx2_kernels(kernel_table& table);
void register_wasm128_kernels(kernel_table& table);

}  // namespace gguf_squash
