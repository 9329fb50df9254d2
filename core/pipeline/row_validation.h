// Checks on weight rows, as llama.cpp makes them: a float row holding NaN or Inf is refused
// (llama-quantize checks the rows it reads), and so is a quantized row whose blocks do not read
// back finite (ggml_validate_row_data on what it wrote, as when weights overflow a type's F16
// scale).
#pragma once

#include <cstdint>

#include "format/ggml_types.h"
#include "quant/block_scales.h"

namespace gguf_squash::pipeline_detail {

bool is_float_like(ggml_type t);

// Index of the first non-finite value in a row of `n` values of a float-like type, or -1.
int64_t first_non_finite(ggml_type type, const uint8_t* row, int64_t n);
// The same, with the vector scans below for F32, F16 and BF16 (rows of any alignment).
int64_t first_non_finite_row(ggml_type type, const uint8_t* row, int64_t n);
// The same for F32 values, branch-free per 16 values (it runs over every weight of the model).
int64_t first_non_finite(const float* v, int64_t n);
// The same for a row of 16-bit floats whose exponent field is `exponent` (F16 0x7c00, BF16
// 0x7f80), scanned as read: their Inf/NaN are exactly the converted row's, at the same columns.
int64_t first_non_finite_16(const uint8_t* row, int64_t n, uint16_t exponent);

// First of `nrows` quantized rows (`row_bytes` each, blocks of `block_bytes`) holding a block
// with a non-finite F16 scale, or -1.
int64_t first_row_with_non_finite_scale(const f16_scale_layout& layout, uint32_t block_bytes,
                                        const uint8_t* rows, uint64_t row_bytes, int64_t nrows);

}  // namespace gguf_squash::pipeline_detail
