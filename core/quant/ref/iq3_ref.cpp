// Scalar reference kernels for IQ3_XXS and IQ3_S: ggml's quantize_iq3_xxs / quantize_iq3_s and
// dequantize_row_iq3_xxs / dequantize_row_iq3_s, byte for byte.
#include <cstring>

#include "iq3_dequant.h"
#include "iq3_grids.h"
#include "iq3_quantize_impl.h"
#include "quant/kernel_table.h"
#include "quant/quant_common.h"

namespace gguf_squash {
namespace {

// ggml multiplies by (bit ? -1.f : 1.f). For every non-NaN value that is exactly a negation when
// the bit is set; for a NaN (a NaN or infinite scale) the sign of the result is whatever the
// compiler made of the multiply (GCC and Clang turn it into a negation or not, depending on the
// code around it). Negating explicitly gives the same floats for every other value, and one
// answer for NaN on every compiler and ISA (the SIMD dequantizers negate too).
inline float with_sign_bit(float v, uint8_t signs, int bit) {
    return (signs >> bit) & 1 ? -v : v;
}

void quantize_iq3_xxs_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    quantize_iq3_xxs_rows<iq3_scalar_search>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq3_s_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix) {
    quantize_iq3_s_rows<iq3_scalar_search>(src, dst, nrows, n_per_row, imatrix);
}

// The 8 values of one group: the grid levels times db, negated where the sign bit is set.
void iq3_eight_ref(uint32_t g1, uint32_t g2, uint32_t signs, float db, float* y) {
    uint8_t a[4], b[4];
    std::memcpy(a, &g1, 4);
    std::memcpy(b, &g2, 4);
    for (int j = 0; j < 4; ++j) {
        y[j + 0] = with_sign_bit(db * float(a[j]), uint8_t(signs), j);
        y[j + 4] = with_sign_bit(db * float(b[j]), uint8_t(signs), j + 4);
    }
}

void dequantize_iq3_xxs_ref(const void* src, float* dst, int64_t n) {
    walk_iq3_xxs(src, dst, n, iq3_eight_ref);
}

void dequantize_iq3_s_ref(const void* src, float* dst, int64_t n) {
    walk_iq3_s(src, dst, n, iq3_eight_ref);
}

}  // namespace

void register_iq3_ref(kernel_table& table) {
    table.quantize[size_t(ggml_type::iq3_xxs)] = quantize_iq3_xxs_ref;
    table.quantize[size_t(ggml_type::iq3_s)] = quantize_iq3_s_ref;
    table.dequantize[size_t(ggml_type::iq3_xxs)] = dequantize_iq3_xxs_ref;
    table.dequantize[size_t(ggml_type::iq3_s)] = dequantize_iq3_s_ref;
}

}  // namespace gguf_squash
