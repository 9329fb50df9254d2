// Kernel throughput: every quantizable type on every kernel ISA this build and CPU can run.
//
// Each benchmark quantizes (or dequantizes) 64 rows x 4096 Gaussian floats, the shape of a small
// weight matrix, and reports bytes_processed as the F32 side's bytes so that MB/s compare across
// types. Types that refuse to quantize without an imatrix get one.
//
// Filter with --benchmark_filter, e.g. 'quantize/IQ3_S/' or '/avx2$'.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "format/ggml_types.h"
#include "quant/quantize.h"

namespace {

using namespace gguf_squash;

constexpr int64_t kRows = 64;
constexpr int64_t kCols = 4096;

struct bench_data {
    std::vector<float> weights;
    std::vector<float> imatrix;
};

const bench_data& data() {
    static const bench_data d = [] {
        bench_data out;
        std::mt19937 rng(1234);
        std::normal_distribution<float> gauss(0.f, 1.f);
        std::uniform_real_distribution<float> importance(0.05f, 4.f);
        out.weights.resize(size_t(kRows * kCols));
        for (float& w : out.weights) w = gauss(rng);
        out.imatrix.resize(size_t(kCols));
        for (float& w : out.imatrix) w = importance(rng);
        return out;
    }();
    return d;
}

void bench_quantize(benchmark::State& state, ggml_type type, kernel_isa isa) {
    if (!set_kernel_isa(isa).ok()) {
        state.SkipWithError("ISA not available");
        return;
    }
    const bench_data& d = data();
    const float* imatrix = quantize_requires_imatrix(type) ? d.imatrix.data() : nullptr;
    std::vector<uint8_t> out(size_t(row_size(type, kCols) * kRows));
    for (auto _ : state) {
        const status s = quantize_rows(type, d.weights.data(), out.data(), kRows, kCols, imatrix);
        if (!s.ok()) {
            state.SkipWithError(s.message().c_str());
            break;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * kRows * kCols * int64_t(sizeof(float)));
}

void bench_dequantize(benchmark::State& state, ggml_type type, kernel_isa isa) {
    if (!set_kernel_isa(isa).ok()) {
        state.SkipWithError("ISA not available");
        return;
    }
    const bench_data& d = data();
    const float* imatrix = quantize_requires_imatrix(type) ? d.imatrix.data() : nullptr;
    std::vector<uint8_t> packed(size_t(row_size(type, kCols) * kRows));
    if (!quantize_rows(type, d.weights.data(), packed.data(), kRows, kCols, imatrix).ok()) {
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
    state.SetBytesProcessed(int64_t(state.iterations()) * kRows * kCols * int64_t(sizeof(float)));
}

// Registered at static-initialisation time so the list follows what this build and CPU offer.
const bool registered = [] {
    const std::vector<kernel_isa> isas = available_kernel_isas();
    for (const char* direction : {"quantize", "dequantize"}) {
        const bool quantize = std::string(direction) == "quantize";
        for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
            const ggml_type_info* info = ggml_type_lookup(id);
            if (!info || !info->valid) continue;
            const ggml_type type = ggml_type(id);
            if (!can_quantize_to(type) || kCols % info->block_size != 0) continue;
            if (!quantize && !can_dequantize(type)) continue;
            for (kernel_isa isa : isas) {
                const std::string name =
                    std::string(direction) + "/" + info->name + "/" + kernel_isa_name(isa);
                if (quantize) {
                    benchmark::RegisterBenchmark(name.c_str(), bench_quantize, type, isa)
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
