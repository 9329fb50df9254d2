// The quantization API: one entry point per direction, dispatching by type to the kernel table
// chosen once at start-up (scalar reference, SSE4.1, AVX2 or wasm simd128).
//
// The unit of work is a range of whole rows: the pipeline and the web workers call these with row
// chunks, and the result for a row never depends on which chunk it was in.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "format/ggml_types.h"
#include "status.h"

namespace gguf_squash {

enum class kernel_isa { scalar, sse4, avx2, wasm128 };

const char* kernel_isa_name(kernel_isa isa);
// The implementations this build and this CPU can run, scalar first.
std::vector<kernel_isa> available_kernel_isas();
// The implementation called `name` ("scalar", "sse4", "avx2", "wasm128"): invalid_argument for an
// unknown name, unsupported for one this build or CPU cannot run; the message lists what can.
result<kernel_isa> kernel_isa_from_name(std::string_view name);
// The implementation in use. Chosen on first use: GGUF_SQUASH_KERNELS (scalar|sse4|avx2|wasm128)
// if set, else the best one available.
kernel_isa active_kernel_isa();
// Whether the start-up choice succeeded: an error when GGUF_SQUASH_KERNELS names an unknown or
// unavailable implementation. Then quantize_rows and dequantize_rows return this error (never
// silently the best implementation) until set_kernel_isa chooses one.
status kernel_selection_status();
// Forces an implementation (tests, benchmarks, the JS API's "scalar" switch).
status set_kernel_isa(kernel_isa isa);

// Types we can write (the 27 llama.cpp writes, plus F32). A property of the build, the same for
// every kernel implementation (the scalar reference covers them all).
bool can_quantize_to(ggml_type type);
// Types we can read back to F32 (every valid tensor type except the integer ones). Same for every
// implementation.
bool can_dequantize(ggml_type type);
// ggml_quantize_requires_imatrix: these types refuse to quantize without importance weights.
bool quantize_requires_imatrix(ggml_type type);

// Quantizes `nrows` rows of `n_per_row` floats from `src` into `dst`, which must hold
// row_size(type, n_per_row) * nrows bytes. `imatrix` holds n_per_row importance weights or is
// null. Same bytes as ggml_quantize_chunk for the same rows.
status quantize_rows(ggml_type type, const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix);

// Dequantizes `nrows` rows of `n_per_row` elements of `type` into `dst`, as ggml's to_float does.
status dequantize_rows(ggml_type type, const void* src, float* dst, int64_t nrows,
                       int64_t n_per_row);

}  // namespace gguf_squash
