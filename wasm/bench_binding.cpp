// Kernel benchmark entry points for wasm/bench_kernels.mjs (not used by the page or the CLI):
// the same 64 x 4096 weights as the native suite (bench/bench_data.h), quantized in place so JS
// can time the calls with nothing but the kernel inside.
#include <emscripten/emscripten.h>

#include <memory>
#include <vector>

#include "../bench/bench_data.h"
#include "format/ggml_types.h"
#include "format/gguf_reader.h"
#include "quant/quantize.h"

namespace {

using namespace gguf_squash;

struct bench_state {
    bench::weights w = bench::make_weights();
    std::vector<float> f32 = std::vector<float>(size_t(bench::kRows * bench::kCols));
    std::vector<uint8_t> out;
};

bench_state& state() {
    static bench_state s;
    return s;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE int gs_bench_rows() {
    return int(bench::kRows);
}
EMSCRIPTEN_KEEPALIVE int gs_bench_cols() {
    return int(bench::kCols);
}

// Chooses the kernels: 0 scalar reference, 3 wasm simd128 (kernel_isa's values). Returns a
// status code (non-zero when this module lacks the ISA).
EMSCRIPTEN_KEEPALIVE int gs_bench_set_isa(int isa) {
    return int(set_kernel_isa(kernel_isa(isa)).code());
}

// Runs `iterations` times: mode 0 quantizes the F32 weights to `type`; mode 1 converts the F16
// weights to F32 and quantizes them (the pipeline's work per row); mode 2 dequantizes `type`.
// Returns a status code.
EMSCRIPTEN_KEEPALIVE int gs_bench_run(uint32_t type_id, int mode, int iterations) {
    if (type_id >= kGgmlTypeCount || !can_quantize_to(ggml_type(type_id)))
        return int(status_code::invalid_argument);
    bench_state& s = state();
    const ggml_type type = ggml_type(type_id);
    const int64_t rows = bench::kRows, cols = bench::kCols;
    const float* imatrix = quantize_requires_imatrix(type) ? s.w.imatrix.data() : nullptr;
    s.out.resize(size_t(row_size(type, uint64_t(cols)) * uint64_t(rows)));
    status st;
    if (mode == 2) st = quantize_rows(type, s.w.f16_f32.data(), s.out.data(), rows, cols, imatrix);
    for (int i = 0; st.ok() && i < iterations; ++i) {
        if (mode == 0) {
            st = quantize_rows(type, s.w.f16_f32.data(), s.out.data(), rows, cols, imatrix);
        } else if (mode == 1) {
            st = dequantize_rows(ggml_type::f16, s.w.f16.data(), s.f32.data(), rows, cols);
            if (st.ok()) st = quantize_rows(type, s.f32.data(), s.out.data(), rows, cols, imatrix);
        } else {
            st = dequantize_rows(type, s.out.data(), s.f32.data(), rows, cols);
        }
    }
    return int(st.code());
}

// Parses a whole GGUF header from `size` bytes at `data` (the core alone, no JS in between).
// Returns the number of metadata keys, or -1 when the header is invalid.
EMSCRIPTEN_KEEPALIVE int gs_bench_parse_header(const uint8_t* data, size_t size) {
    result<gguf_header> h = read_gguf_header(data, size, uint64_t(size));
    return h.ok() ? int(h->kv.size()) : -1;
}

}  // extern "C"
