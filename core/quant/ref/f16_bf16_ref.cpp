// F16 and BF16: element-wise conversions (ggml_fp32_to_fp16_row, ggml_fp32_to_bf16_row_ref).
// Importance weights do not apply to them.
#include "quant/kernel_table.h"
#include "quant/quant_common.h"

namespace gguf_squash {

void quantize_f16_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
}

void quantize_bf16_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                       const float*) {
    uint16_t* out = static_cast<uint16_t*>(dst);
    const int64_t n = nrows * n_per_row;
    for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_bf16(src[i]);
}

void dequantize_f16_ref(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
}

void dequantize_bf16_ref(const void* src, float* dst, int64_t n) {
    const uint16_t* in = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(in[i]);
}

void register_f16_bf16_ref(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::f16)] = quantize_f16_ref;
    table.quantize[uint32_t(ggml_type::bf16)] = quantize_bf16_ref;
    table.dequantize[uint32_t(ggml_type::f16)] = dequantize_f16_ref;
    table.dequantize[uint32_t(ggml_type::bf16)] = dequantize_bf16_ref;
}

}  // namespace gguf_squash
