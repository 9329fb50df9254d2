// Header parsing and the estimate table (issue 8: the qwen2 vocabulary's header parses in under
// 10 ms natively; every ftype's estimate computes in under 50 ms from a parsed header).
//
//   header/FILE         parse a whole GGUF header from memory (the file is read once, untimed)
//   estimate_table/FILE the web page's estimate table: for every ftype llama-quantize offers, the
//                       dry-run plan and the real plan (what wasm/plan_binding.cpp's
//                       gs_estimate_json computes, minus the JSON)
//
// Paths are relative to the repository root (run from there, as scripts/bench.sh does);
// GGUF_SQUASH_BENCH_MODEL names the generated benchmark model (default
// build/bench/bench-model-f16.gguf). Files that are missing are skipped.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "plan/llama_ftype.h"
#include "plan/quant_plan.h"
#include "plan/quantize_args.h"

namespace {

using namespace gguf_squash;

bool read_file(const std::string& path, std::vector<uint8_t>& out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
    std::fclose(f);
    return true;
}

// Only the header's bytes: a model file's header is a few MiB at most, its weights are not read.
bool read_head(const std::string& path, size_t limit, std::vector<uint8_t>& out,
               uint64_t& file_size) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    std::fseek(f, 0, SEEK_END);
    file_size = uint64_t(std::ftell(f));
    std::fseek(f, 0, SEEK_SET);
    out.resize(std::min<size_t>(limit, size_t(file_size)));
    const size_t got = std::fread(out.data(), 1, out.size(), f);
    out.resize(got);
    std::fclose(f);
    return true;
}

void bench_header(benchmark::State& state, std::string path) {
    std::vector<uint8_t> bytes;
    if (!read_file(path, bytes)) {
        state.SkipWithError(("cannot read " + path).c_str());
        return;
    }
    for (auto _ : state) {
        result<gguf_header> h =
            read_gguf_header(bytes.data(), bytes.size(), uint64_t(bytes.size()));
        if (!h.ok()) {
            state.SkipWithError(h.error().message().c_str());
            break;
        }
        benchmark::DoNotOptimize(h.value().kv.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes.size()));
}

void bench_estimate_table(benchmark::State& state, std::string path) {
    std::vector<uint8_t> head;
    uint64_t file_size = 0;
    if (!read_head(path, size_t(64) << 20, head, file_size)) {
        state.SkipWithError(("cannot read " + path).c_str());
        return;
    }
    result<gguf_header> h = read_gguf_header(head.data(), head.size(), file_size);
    if (!h.ok()) {
        state.SkipWithError(h.error().message().c_str());
        return;
    }
    const gguf_header& header = h.value();
    int rows = 0;
    for (auto _ : state) {
        rows = 0;
        for (const ftype_option& opt : quantize_ftype_options()) {
            if (opt.is_alias) continue;
            result<quantize_args> args = parse_quantize_args({"model.gguf", opt.name}, nullptr);
            if (!args.ok()) {
                state.SkipWithError(args.error().message().c_str());
                return;
            }
            quantize_options dry = args->options;
            dry.dry_run = true;
            result<quant_plan> plain = make_quant_plan(header, dry);
            const bool needs_imatrix = plain.ok() && plain->will_require_imatrix;
            if (!needs_imatrix) {
                result<quant_plan> plan = make_quant_plan(header, args->options);
                benchmark::DoNotOptimize(plan.ok());
            }
            benchmark::DoNotOptimize(plain.ok());
            ++rows;
        }
    }
    state.counters["ftypes"] = rows;
    state.counters["tensors"] = double(header.tensors.size());
}

std::string bench_model_path() {
    const char* env = std::getenv("GGUF_SQUASH_BENCH_MODEL");
    return env && *env ? env : "build/bench/bench-model-f16.gguf";
}

const bool registered = [] {
    const std::string vocab = "tests/fixtures/vocab/";
    for (const char* name : {"ggml-vocab-qwen2.gguf", "ggml-vocab-gpt-2.gguf"}) {
        benchmark::RegisterBenchmark((std::string("header/") + name).c_str(), bench_header,
                                     vocab + name)
            ->Unit(benchmark::kMillisecond)
            ->Repetitions(10)
            ->ReportAggregatesOnly(true);
    }
    const std::pair<const char*, std::string> models[] = {
        {"llama-gqa.gguf", "tests/fixtures/models/llama-gqa.gguf"},
        {"bench-model-f16.gguf", bench_model_path()},
    };
    for (const auto& [name, path] : models) {
        benchmark::RegisterBenchmark((std::string("estimate_table/") + name).c_str(),
                                     bench_estimate_table, path)
            ->Unit(benchmark::kMillisecond)
            ->Repetitions(10)
            ->ReportAggregatesOnly(true);
    }
    return true;
}();

}  // namespace
