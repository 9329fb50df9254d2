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

#include "pipeline/quantize_job.h"
#include "pipeline_reference.h"
#include "quant/quantize.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

using testing::reference_run;

const std::vector<uint8_t>& input_bytes() {
    static const std::vector<uint8_t> b =
        testing::read_all(testing::models_dir() + "/llama-gqa.gguf");
    return b;
}

const reference_run* find_run(const std::string& name) {
    for (const auto& r : testing::reference_runs()) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

// sha256 of the output, or the error message.
std::string quantize_sha(const reference_run& run, const quantize_job_options& opts, size_t chunk) {
    result<testing::prepared_run> prep = testing::prepare_run(run);
    if (!prep.ok()) return "prepare: " + prep.error().message();
    result<quant_plan> plan =
        make_quant_plan(testing::reference_input_header(), prep->args.options);
    if (!plan.ok()) return "plan: " + plan.error().message();
    quantize_job job(*plan, prep->imatrix.get(), opts);
    const std::vector<uint8_t>& in = input_bytes();
    testing::sha256 sha;
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

// Restores the kernel implementation chosen at start-up.
struct isa_guard {
    kernel_isa saved = active_kernel_isa();
    ~isa_guard() { set_kernel_isa(saved); }
};

// One run per kernel family (legacy, K-quants, IQ2/IQ1 grids, IQ3 grids, IQ4, ternary, FP4,
// float conversions), with and without importance weights.
const char* const kFamilyRuns[] = {
    "Q4_0+imatrix", "Q5_1",           "Q2_K+imatrix",  "Q3_K_M",        "Q4_K_M+imatrix",
    "Q6_K",         "IQ2_XS+imatrix", "IQ1_M+imatrix", "IQ3_S+imatrix", "IQ4_XS+imatrix",
    "TQ1_0",        "MXFP4_MOE",      "BF16",
};

TEST(Determinism, EveryKernelImplementationGivesTheReferenceBytes) {
    isa_guard guard;
    const std::vector<kernel_isa> isas = available_kernel_isas();
    ASSERT_FALSE(isas.empty());
    int identical = 0, total = 0;
    for (kernel_isa isa : isas) {
        ASSERT_TRUE(set_kernel_isa(isa).ok());
        for (const char* name : kFamilyRuns) {
            if (light() && isa == kernel_isa::scalar && std::strncmp(name, "IQ", 2) == 0) continue;
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

// The environment switch the CLI honours: GGUF_SQUASH_KERNELS=scalar|sse4|avx2.
TEST(Determinism, KernelEnvironmentSwitchThroughTheCli) {
    const reference_run* run = find_run("IQ4_XS+imatrix");
    ASSERT_NE(run, nullptr);
    char tmpl[] = "/tmp/gs-determinism-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    for (kernel_isa isa : available_kernel_isas()) {
        SCOPED_TRACE(kernel_isa_name(isa));
        const std::string out = dir + "/out.gguf";
        const std::string cmd = "cd '" + testing::models_dir() +
                                "' && GGUF_SQUASH_KERNELS=" + kernel_isa_name(isa) + " '" +
                                GGUF_SQUASH_CLI +
                                "' quantize --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf '" +
                                out + "' IQ4_XS 2 >/dev/null 2>&1";
        const int rc = std::system(cmd.c_str());
        ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << cmd;
        const std::vector<uint8_t> b = testing::read_all(out);
        EXPECT_EQ(testing::sha256_hex(b.data(), b.size()), run->file_sha256);
        std::remove(out.c_str());
    }
    ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace gguf_squash
