// Kernel throughput: every quantizable type on every kernel ISA this build and CPU can run.
//
// Each benchmark works on 64 rows x 4096 weights (bench/bench_data.h, the same weights the wasm
// harness wasm/bench_binding.cpp uses). Three families:
//   quantize/TYPE/ISA     F32 in, TYPE out (the kernel alone)
//   from_f16/TYPE/ISA     F16 in, as a model file holds it: F16 -> F32 -> TYPE, the work the
//                         quantize pipeline does per row (issue 8's unit: one thread, from F16)
//   dequantize/TYPE/ISA   TYPE back to F32
// items_per_second counts weights, so figures compare across types and directions; bytes_per_second
// counts the input side's bytes (4 per weight for F32, 2 for F16). Types that refuse to quantize
// without an imatrix get one. Timings are CPU time (the default), which a loaded machine disturbs
// less than wall time.
//
// Filter with --benchmark_filter, e.g. 'from_f16/(Q4_K|Q6_K)/' or '/avx2$'.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_data.h"
#include "format/ggml_types.h"
#include "quant/quantize.h"

namespace {

using namespace gguf_squash;
using bench::kCols;
using bench::kRows;

const bench::weights& data() {
    static const bench::weights w = bench::make_weights();
    return w;
}

const float* imatrix_for(ggml_type type) {
    return quantize_requires_imatrix(type) ? data().imatrix.data() : nullptr;
}

void bench_quantize(benchmark::State& state, ggml_type type, kernel_isa isa) {
    if (!set_kernel_isa(isa).ok()) {
        state.SkipWithError("ISA not available");
        return;
    }
    const bench::weights& d = data();
    std::vector<uint8_t> out(size_t(row_size(type, kCols) * kRows));
    for (auto _ : state) {
        const status s =
            quantize_rows(type, d.f16_f32.data(), out.data(), kRows, kCols, imatrix_for(type));
        if (!s.ok()) {
            state.SkipWithError(s.message().c_str());
            break;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * kRows * kCols);
    state.SetBytesProcessed(int64_t(state.iterations()) * kRows * kCols * int64_t(sizeof(float)));
}

// What the pipeline does for one slab of an F16 tensor: convert, then quantize.
void bench_from_f16(benchmark::State& state, ggml_type type, kernel_isa isa) {
    if (!set_kernel_isa(isa).ok()) {
        state.SkipWithError("ISA not available");
        return;
    }
    const bench::weights& d = data();
    std::vector<float> f32(size_t(kRows * kCols));
    std::vector<uint8_t> out(size_t(row_size(type, kCols) * kRows));
    for (auto _ : state) {
        status s = dequantize_rows(ggml_type::f16, d.f16.data(), f32.data(), kRows, kCols);
        if (s.ok())
            s = quantize_rows(type, f32.data(), out.data(), kRows, kCols, imatrix_for(type));
        if (!s.ok()) {
            state.SkipWithError(s.message().c_str());
            break;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * kRows * kCols);
    state.SetBytesProcessed(int64_t(state.iterations()) * kRows * kCols * 2);
}

void bench_dequantize(benchmark::State& state, ggml_type type, kernel_isa isa) {
    if (!set_kernel_isa(isa).ok()) {
        state.SkipWithError("ISA not available");
        return;
    }
    const bench::weights& d = data();
    std::vector<uint8_t> packed(size_t(row_size(type, kCols) * kRows));
    if (!quantize_rows(type, d.f16_f32.data(), packed.data(), kRows, kCols, imatrix_for(type))
             .ok()) {
        state.SkipWithError("quantize failed");
        return;
    }
    std::vector<float> back(size_t(kRows * kCols));
    for (auto _ : state) {
        const status s = dequantize_rows(type, packed.data(), back.data(), kRows, kCols);
        if (!s.ok()) {
            state.SkipWithError(s.message().c_str());
            break;
        }
        benchmark::DoNotOptimize(back.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * kRows * kCols);
    state.SetBytesProcessed(int64_t(state.iterations()) * kRows * kCols * int64_t(sizeof(float)));
}

// Registered at static-initialisation time so the list follows what this build and CPU offer.
const bool registered = [] {
    const std::vector<kernel_isa> isas = available_kernel_isas();
    for (const std::string direction : {"quantize", "from_f16", "dequantize"}) {
        for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
            const ggml_type_info* info = ggml_type_lookup(id);
            if (!info || !info->valid) continue;
            const ggml_type type = ggml_type(id);
            if (!can_quantize_to(type) || kCols % info->block_size != 0) continue;
            if (direction == "dequantize" && !can_dequantize(type)) continue;
            for (kernel_isa isa : isas) {
                const std::string name = direction + "/" + info->name + "/" + kernel_isa_name(isa);
                if (direction == "quantize") {
                    benchmark::RegisterBenchmark(name.c_str(), bench_quantize, type, isa)
                        ->Unit(benchmark::kMillisecond);
                } else if (direction == "from_f16") {
                    benchmark::RegisterBenchmark(name.c_str(), bench_from_f16, type, isa)
                        ->Unit(benchmark::kMillisecond);
                } else {
                    benchmark::RegisterBenchmark(name.c_str(), bench_dequantize, type, isa)
                        ->Unit(benchmark::kMicrosecond);
                }
            }
        }
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
