// Kernel throughput on the benchmark model's own weights (scripts/make-bench-model), for the
// whole-model comparisons in bench/report.mjs: the same per-row work as from_f16/ (F16 -> F32 ->
// type) but on 128 rows of blk.0.ffn_up.weight, so that "kernel-only" for a whole run is measured
// on the data the run quantizes rather than on Gaussian rows.
//
//   model_rows/TYPE/ISA
//
// The model is GGUF_SQUASH_BENCH_MODEL (default build/bench/bench-model-f16.gguf, relative to the
// repository root); when it is missing the benchmarks report an error and are skipped.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "io/gguf_file.h"
#include "quant/quantize.h"

namespace {

using namespace gguf_squash;

constexpr int64_t kModelRows = 128;

struct model_rows {
    std::vector<uint16_t> f16;
    int64_t cols = 0;
    std::string error;
};

const model_rows& rows() {
    static const model_rows r = [] {
        model_rows out;
        const char* env = std::getenv("GGUF_SQUASH_BENCH_MODEL");
        const std::string path = env && *env ? env : "build/bench/bench-model-f16.gguf";
        result<gguf_header> h = read_gguf_header_file(path);
        if (!h.ok()) {
            out.error = path + ": " + h.error().message();
            return out;
        }
        const int64_t t = h->find_tensor("blk.0.ffn_up.weight");
        if (t < 0 || h->tensors[size_t(t)].type != ggml_type::f16 ||
            h->tensors[size_t(t)].ne[1] < uint64_t(kModelRows)) {
            out.error = path + ": no F16 blk.0.ffn_up.weight with enough rows";
            return out;
        }
        const gguf_tensor_info& ti = h->tensors[size_t(t)];
        out.cols = int64_t(ti.ne[0]);
        out.f16.resize(size_t(out.cols * kModelRows));
        FILE* f = std::fopen(path.c_str(), "rb");
        const bool ok = f && std::fseek(f, long(h->data_offset + ti.offset), SEEK_SET) == 0 &&
                        std::fread(out.f16.data(), 2, out.f16.size(), f) == out.f16.size();
        if (f) std::fclose(f);
        if (!ok) out.error = path + ": cannot read the rows";
        return out;
    }();
    return r;
}

void bench_model_rows(benchmark::State& state, ggml_type type, kernel_isa isa) {
    const model_rows& m = rows();
    if (!m.error.empty()) {
        state.SkipWithError(m.error.c_str());
        return;
    }
    // The active ISA is process-wide: with several benchmark threads only the first sets it.
    if (state.thread_index() == 0 && !set_kernel_isa(isa).ok()) {
        state.SkipWithError("ISA not available");
        return;
    }
    std::vector<float> f32(m.f16.size()), imatrix(size_t(m.cols), 1.0f);
    std::vector<uint8_t> out(size_t(row_size(type, uint64_t(m.cols)) * kModelRows));
    const float* im = quantize_requires_imatrix(type) ? imatrix.data() : nullptr;
    for (auto _ : state) {
        status s = dequantize_rows(ggml_type::f16, m.f16.data(), f32.data(), kModelRows, m.cols);
        if (s.ok()) s = quantize_rows(type, f32.data(), out.data(), kModelRows, m.cols, im);
        if (!s.ok()) {
            state.SkipWithError(s.message().c_str());
            break;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * kModelRows * m.cols);
    state.SetBytesProcessed(int64_t(state.iterations()) * kModelRows * m.cols * 2);
}

const bool registered = [] {
    for (const ggml_type type :
         {ggml_type::q4_0, ggml_type::q8_0, ggml_type::q4_k, ggml_type::q6_k, ggml_type::iq4_xs}) {
        for (kernel_isa isa : available_kernel_isas()) {
            const std::string name =
                std::string("model_rows/") + type_info(type).name + "/" + kernel_isa_name(isa);
            benchmark::RegisterBenchmark(name.c_str(), bench_model_rows, type, isa)
                ->Unit(benchmark::kMillisecond);
        }
    }
    // The machine's own ceiling for thread scaling: the same kernel run by 1 and by 2 threads at
    // once, each on its own rows, no I/O and nothing shared. items_per_second (real time) of
    // threads:2 over threads:1 is the most two threads can gain here (cores that share caches,
    // memory bandwidth or an SMT sibling on a VM gain less than 2x); the whole-model 2-thread
    // ratio is read against it.
    const kernel_isa best = available_kernel_isas().back();  // scalar first, best last
    for (const ggml_type type : {ggml_type::q4_k, ggml_type::q6_k}) {
        const std::string name =
            std::string("model_rows_mt/") + type_info(type).name + "/" + kernel_isa_name(best);
        benchmark::RegisterBenchmark(name.c_str(), bench_model_rows, type, best)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->Threads(1)
            ->Threads(2);
    }
    return true;
}();

}  // namespace
