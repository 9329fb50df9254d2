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

// Per-ISA overrides, defined only in builds that compile that ISA (core/quant/arch/<isa>/):
// each is isa_kernels<that ISA's tag>::register_all.
void register_sse4_kernels(kernel_table& table);
void register_avx2_kernels(kernel_table& table);
void register_wasm128_kernels(kernel_table& table);

// The SIMD implementations' tags.
struct sse4_isa;
struct avx2_isa;
struct wasm128_isa;

// One SIMD implementation's kernels, by family. Each family is written once over a lane type
// (core/quant/arch/<family>_lanes.h); each ISA's family file
// (core/quant/arch/<isa>/<family>_<isa>.cpp, compiled with that ISA's target flags) defines the
// member for its tag by instantiating the family with the ISA's lane type, and <isa>_kernels.cpp
// instantiates register_all. A family an ISA does not accelerate keeps the scalar entries.
template <class Isa>
struct isa_kernels {
    static void register_k_quants(kernel_table& table);  // Q2_K..Q6_K
    static void register_legacy(kernel_table& table);    // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
    static void register_f16_bf16(kernel_table& table);  // F16 BF16, both directions
    static void register_iq3(kernel_table& table);       // IQ3_XXS IQ3_S
    static void register_iq4(kernel_table& table);       // IQ4_NL IQ4_XS
    static void register_low_bit(kernel_table& table);   // Q1_0 Q2_0 TQ1_0 TQ2_0
    static void register_iq2(kernel_table& table);       // IQ2_XXS IQ2_XS IQ2_S IQ1_S IQ1_M
    static void register_dequant(kernel_table& table);   // dequantization (arch/dequant_lanes.h)

    static void register_all(kernel_table& table) {
        register_k_quants(table);
        register_legacy(table);
        register_f16_bf16(table);
        register_iq3(table);
        register_iq4(table);
        register_low_bit(table);
        register_iq2(table);
        register_dequant(table);
    }
};

// Every ISA defines every family (explicit specializations, declared here so that each use sees
// them).
#define GGUF_SQUASH_ISA_KERNELS(Isa)                               \
    template <>                                                    \
    void isa_kernels<Isa>::register_k_quants(kernel_table& table); \
    template <>                                                    \
    void isa_kernels<Isa>::register_legacy(kernel_table& table);   \
    template <>                                                    \
    void isa_kernels<Isa>::register_f16_bf16(kernel_table& table); \
    template <>                                                    \
    void isa_kernels<Isa>::register_iq3(kernel_table& table);      \
    template <>                                                    \
    void isa_kernels<Isa>::register_iq4(kernel_table& table);      \
    template <>                                                    \
    void isa_kernels<Isa>::register_low_bit(kernel_table& table);  \
    template <>                                                    \
    void isa_kernels<Isa>::register_iq2(kernel_table& table);      \
    template <>                                                    \
    void isa_kernels<Isa>::register_dequant(kernel_table& table);
GGUF_SQUASH_ISA_KERNELS(sse4_isa)
GGUF_SQUASH_ISA_KERNELS(avx2_isa)
GGUF_SQUASH_ISA_KERNELS(wasm128_isa)
#undef GGUF_SQUASH_ISA_KERNELS

}  // namespace gguf_squash
