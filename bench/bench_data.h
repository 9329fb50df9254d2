// The benchmark weights, shared by the native Google Benchmark suite (bench/kernels_bench.cpp)
// and the wasm harness (wasm/bench_binding.cpp), so that native and wasm MB/s come from the same
// numbers. The generator is spelled out (mt19937 words, Box-Muller in double) because the standard
// library's distributions differ between libstdc++ and emscripten's libc++.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "quant/quant_common.h"

namespace gguf_squash::bench {

// 64 rows x 4096 columns: a slab of a real weight matrix, small enough to stay in L2 with the
// output.
constexpr int64_t kRows = 64;
constexpr int64_t kCols = 4096;

struct weights {
    std::vector<float> f32;      // kRows * kCols weights, LLM-like scale (sigma 0.02, rows vary)
    std::vector<uint16_t> f16;   // the same weights rounded to F16 (what a model file holds)
    std::vector<float> f16_f32;  // the F16 weights back as F32 (exactly what the pipeline sees)
    std::vector<float> imatrix;  // kCols importance weights in [0.05, 4)
};

inline weights make_weights() {
    weights w;
    std::mt19937 rng(1234);
    auto uniform = [&] { return (double(rng() >> 5) + 0.5) / double(1u << 27); };  // (0, 1)
    w.f32.resize(size_t(kRows * kCols));
    for (int64_t r = 0; r < kRows; ++r) {
        // A per-row scale spread, as real weight rows have.
        const double row_scale = 0.02 * std::exp(0.5 * (uniform() - 0.5));
        for (int64_t c = 0; c < kCols; c += 2) {
            const double radius = std::sqrt(-2.0 * std::log(uniform()));
            const double angle = 6.283185307179586 * uniform();
            w.f32[size_t(r * kCols + c)] = float(row_scale * radius * std::cos(angle));
            w.f32[size_t(r * kCols + c + 1)] = float(row_scale * radius * std::sin(angle));
        }
    }
    w.f16.resize(w.f32.size());
    w.f16_f32.resize(w.f32.size());
    for (size_t i = 0; i < w.f32.size(); ++i) {
        w.f16[i] = fp32_to_fp16(w.f32[i]);
        w.f16_f32[i] = fp16_to_fp32(w.f16[i]);
    }
    w.imatrix.resize(size_t(kCols));
    for (float& v : w.imatrix) v = float(0.05 + 3.95 * uniform());
    return w;
}

}  // namespace gguf_squash::bench
