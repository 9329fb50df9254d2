// Determinism (native): the output is byte-identical to llama-quantize's whatever the kernel
// implementation (scalar, SSE4.1, AVX2), the thread count (1, 2, 4), the input chunk size
// (1 KiB .. 64 MiB) and the slab cap (1 KiB .. 64 MiB). Every comparison is against the
// reference file's sha256 in llama-gqa.reference.json, so "identical" also means "correct".
// The wasm builds get the same check from pipeline_reference_test under node (SIMD and baseline
// modules) and from tests/js.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "kernel_isa_harness.h"
#include "pipeline/quantize_job.h"
#include "pipeline_reference.h"
#include "quant/quantize.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

using test_support::reference_run;

const std::vector<uint8_t>& input_bytes() {
    static const std::vector<uint8_t> b =
        test_support::read_all(test_support::models_dir() + "/llama-gqa.gguf");
    return b;
}

const reference_run* find_run(const std::string& name) {
    for (const auto& r : test_support::reference_runs()) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

// sha256 of the output, or the error message.
std::string quantize_sha(const reference_run& run, const quantize_job_options& opts, size_t chunk) {
    result<test_support::prepared_run> prep = test_support::prepare_run(run);
    if (!prep.ok()) return "prepare: " + prep.error().message();
    result<quant_plan> plan =
        make_quant_plan(test_support::reference_input_header(), prep->args.options);
    if (!plan.ok()) return "plan: " + plan.error().message();
    quantize_job job(*plan, prep->imatrix.get(), opts);
    const std::vector<uint8_t>& in = input_bytes();
    gguf_squash::sha256 sha;
    auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (off >= in.size()) return size_t(0);
        const size_t k = std::min<uint64_t>(n, in.size() - off);
        std::memcpy(buf, in.data() + off, k);
        return k;
    };
    auto write = [&](const uint8_t* d, size_t n) -> status {
        sha.update(d, n);
        return {};
    };
    status s = run_quantize_job(job, read, write, chunk);
    if (!s.ok()) return "run: " + s.message();
    return sha.hex();
}

bool light() {
    return std::getenv("GGUF_SQUASH_TEST_LIGHT") != nullptr;
}

// One run per kernel family (legacy, K-quants, IQ2/IQ1 grids, IQ3 grids, IQ4, ternary, FP4,
// float conversions), with and without importance weights.
const char* const kFamilyRuns[] = {
    "Q4_0+imatrix", "Q5_1",           "Q2_K+imatrix",  "Q3_K_M",        "Q4_K_M+imatrix",
    "Q6_K",         "IQ2_XS+imatrix", "IQ1_M+imatrix", "IQ3_S+imatrix", "IQ4_XS+imatrix",
    "TQ1_0",        "MXFP4_MOE",      "BF16",
};

bool in_pipeline_every_isa(const char* name) {
    for (const char* n : test_support::kSimdFamilyRuns) {
        if (std::strcmp(name, n) == 0) return true;
    }
    return false;
}

TEST(Determinism, EveryKernelImplementationGivesTheReferenceBytes) {
    kernel_isa_guard guard;
    const std::vector<kernel_isa> isas = available_kernel_isas();
    ASSERT_FALSE(isas.empty());
    int identical = 0, total = 0;
    for (kernel_isa isa : isas) {
        ASSERT_TRUE(set_kernel_isa(isa).ok());
        for (const char* name : kFamilyRuns) {
            // Light (the sanitizer build): the families PipelineReferenceEveryIsa (kSimdFamilyRuns)
            // runs through the whole pipeline on every implementation are left to it, and the
            // scalar IQ searches (minutes under ASan) to the kernel tests.
            if (light() && (in_pipeline_every_isa(name) ||
                            (isa == kernel_isa::scalar && std::strncmp(name, "IQ", 2) == 0))) {
                continue;
            }
            SCOPED_TRACE(std::string(kernel_isa_name(isa)) + " " + name);
            const reference_run* run = find_run(name);
            ASSERT_NE(run, nullptr);
            quantize_job_options o;
            o.threads = 2;
            const std::string sha = quantize_sha(*run, o, size_t(1) << 20);
            EXPECT_EQ(sha, run->file_sha256);
            identical += sha == run->file_sha256;
            ++total;
        }
    }
    std::printf("[determinism] %d of %d runs over %zu kernel implementations byte-identical\n",
                identical, total, isas.size());
}

TEST(Determinism, ThreadCountsGiveTheReferenceBytes) {
    int identical = 0, total = 0;
    for (const char* name : {"Q4_K_M+imatrix", "IQ2_XXS+imatrix", "IQ4_NL", "Q8_0"}) {
        const reference_run* run = find_run(name);
        ASSERT_NE(run, nullptr);
        for (int threads : {1, 2, 4}) {
            SCOPED_TRACE(std::string(name) + " threads " + std::to_string(threads));
            quantize_job_options o;
            o.threads = threads;
            o.max_buffer_bytes = 1 << 20;  // several slabs per tensor, so threads share slabs
            const std::string sha = quantize_sha(*run, o, size_t(1) << 20);
            EXPECT_EQ(sha, run->file_sha256);
            identical += sha == run->file_sha256;
            ++total;
        }
    }
    std::printf("[determinism] %d of %d runs with 1/2/4 threads byte-identical\n", identical,
                total);
}

TEST(Determinism, ChunkSizesAndSlabCapsFrom1KiBTo64MiBGiveTheReferenceBytes) {
    const reference_run* run = find_run("Q4_K_M+imatrix");
    ASSERT_NE(run, nullptr);
    int identical = 0, total = 0;
    const size_t kib = 1024, mib = kib * kib;
    const size_t sizes[] = {kib, 4 * kib, 64 * kib, mib, 16 * mib, 64 * mib};
    for (size_t chunk : sizes) {
        for (uint64_t cap :
             {uint64_t(kib), uint64_t(64 * kib), uint64_t(mib), uint64_t(64 * mib)}) {
            if (light() && chunk != kib && cap != kib) continue;
            SCOPED_TRACE("chunk " + std::to_string(chunk) + " cap " + std::to_string(cap));
            quantize_job_options o;
            o.max_buffer_bytes = cap;
            o.threads = 2;
            const std::string sha = quantize_sha(*run, o, chunk);
            EXPECT_EQ(sha, run->file_sha256);
            identical += sha == run->file_sha256;
            ++total;
        }
    }
    std::printf("[determinism] %d of %d chunk/slab combinations byte-identical\n", identical,
                total);
}

// The environment switch the CLI honours: GGUF_SQUASH_KERNELS=scalar|sse4|avx2. Each run must
// report the implementation it was asked for (the bytes alone cannot tell, since every
// implementation writes the same ones) and still write the reference file.
TEST(Determinism, KernelEnvironmentSwitchThroughTheCli) {
    const reference_run* run = find_run("IQ4_XS+imatrix");
    ASSERT_NE(run, nullptr);
    test_support::temp_dir dir;
    const std::string out = (dir.path / "out.gguf").string();
    for (kernel_isa isa : available_kernel_isas()) {
        SCOPED_TRACE(kernel_isa_name(isa));
        const std::string cmd = "cd " + test_support::shell_quote(test_support::models_dir()) +
                                " && GGUF_SQUASH_KERNELS=" + kernel_isa_name(isa) + " " +
                                test_support::shell_quote(GGUF_SQUASH_CLI) +
                                " quantize --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf " +
                                test_support::shell_quote(out) + " IQ4_XS 2";
        const test_support::shell_result r = test_support::run_shell(cmd);
        ASSERT_EQ(r.status, 0) << cmd << "\n" << r.err;
        EXPECT_NE(r.err.find(std::string("kernel implementation: ") + kernel_isa_name(isa) + "\n"),
                  std::string::npos)
            << r.err;
        const std::vector<uint8_t> b = test_support::read_all(out);
        EXPECT_EQ(gguf_squash::sha256_hex(b.data(), b.size()), run->file_sha256);
        std::remove(out.c_str());
    }
}

// An unknown or unavailable implementation is refused (exit 2, the reason on stderr, no output),
// never silently replaced by the best one.
TEST(Determinism, KernelEnvironmentSwitchRefusesUnknownOrUnavailable) {
    test_support::temp_dir dir;
    const std::string out = (dir.path / "out.gguf").string();
    std::vector<std::pair<std::string, std::string>> cases = {
        {"avx9", "unknown kernel implementation 'avx9'"},
        {"AVX2", "unknown kernel implementation 'AVX2'"},
    };
    // wasm128 is never available natively; on x86 without AVX2 the same holds for avx2.
    for (kernel_isa isa : {kernel_isa::sse4, kernel_isa::avx2, kernel_isa::wasm128}) {
        const std::vector<kernel_isa> avail = available_kernel_isas();
        if (std::find(avail.begin(), avail.end(), isa) == avail.end())
            cases.push_back({kernel_isa_name(isa), std::string("kernel implementation '") +
                                                       kernel_isa_name(isa) +
                                                       "' is not available"});
    }
    for (const auto& [value, message] : cases) {
        SCOPED_TRACE(value);
        const std::string cmd =
            "cd " + test_support::shell_quote(test_support::models_dir()) +
            " && GGUF_SQUASH_KERNELS=" + value + " " + test_support::shell_quote(GGUF_SQUASH_CLI) +
            " quantize llama-gqa.gguf " + test_support::shell_quote(out) + " Q4_0 1";
        const test_support::shell_result r = test_support::run_shell(cmd);
        EXPECT_EQ(r.status, 2) << r.err;
        EXPECT_NE(r.err.find("GGUF_SQUASH_KERNELS: " + message), std::string::npos) << r.err;
        EXPECT_TRUE(dir.files().empty());
    }
}

}  // namespace
}  // namespace gguf_squash
