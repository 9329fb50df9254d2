// The quantize command end to end (native only: spawns the CLI): reference runs through the real
// command line, refusals and failures leave no file (refused types, truncated input, unwritable
// output, a full disk via ulimit -f, SIGTERM), and the bytes do not depend on the thread count.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "pipeline_reference.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

namespace fs = std::filesystem;
using test_support::reference_run;
using test_support::shell_quote;
using test_support::temp_dir;

// Runs `gguf-squash quantize ARGS` in the fixture folder; returns the exit status.
int run_cli(const std::vector<std::string>& args, const std::string& prefix = "") {
    std::string cmd = "cd " + shell_quote(test_support::models_dir()) + " && " + prefix +
                      shell_quote(GGUF_SQUASH_CLI) + " quantize";
    for (const auto& a : args) cmd += " " + shell_quote(a);
    cmd += " >/dev/null 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

std::string file_sha(const fs::path& p) {
    std::vector<uint8_t> b = test_support::read_all(p);
    return gguf_squash::sha256_hex(b.data(), b.size());
}

const reference_run& find_run(const std::string& name) {
    for (const auto& r : test_support::reference_runs()) {
        if (r.name == name) return r;
    }
    static reference_run none;
    return none;
}

std::vector<std::string> run_args(const reference_run& run, const fs::path& out, int threads) {
    std::vector<std::string> a = run.args;
    a.push_back("llama-gqa.gguf");
    a.push_back(out.string());
    a.push_back(run.ftype);
    a.push_back(std::to_string(threads));
    return a;
}

TEST(CliQuantize, RepresentativeRunsAreByteIdentical) {
    temp_dir dir;
    int identical = 0, total = 0;
    for (const char* name : {"Q4_K_M", "IQ2_XXS+imatrix", "Q4_K_M+imatrix-dat", "Q3_K_S",
                             "Q4_K_M+tensor-type", "Q4_K_M+override-kv", "Q4_K_M+prune", "COPY",
                             "IQ4_XS+imatrix+exclude", "Q4_K_M+output-q8_0+embd-q3_k"}) {
        SCOPED_TRACE(name);
        const reference_run& run = find_run(name);
        ASSERT_FALSE(run.name.empty());
        const fs::path out = dir.path / "out.gguf";
        ++total;
        ASSERT_EQ(run_cli(run_args(run, out, 2)), 0);
        const bool same = file_sha(out) == run.file_sha256;
        EXPECT_TRUE(same);
        identical += same;
        fs::remove(out);
    }
    std::printf("[cli] %d of %d runs through the command line byte-identical\n", identical, total);
}

TEST(CliQuantize, RefusalsLeaveNoFile) {
    temp_dir dir;
    int refused = 0, total = 0;
    for (const auto& run : test_support::reference_runs()) {
        if (!run.refused()) continue;
        SCOPED_TRACE(run.name);
        ++total;
        const int rc = run_cli(run_args(run, dir.path / "out.gguf", 1));
        EXPECT_NE(rc, 0);
        EXPECT_TRUE(dir.files().empty());
        refused += rc != 0 && dir.files().empty();
    }
    std::printf("[cli] %d of %d refusals exited non-zero with no file left\n", refused, total);
}

TEST(CliQuantize, ThreadCountDoesNotChangeBytes) {
    temp_dir dir;
    for (const char* name : {"Q4_K_M+imatrix", "IQ3_XXS+imatrix"}) {
        SCOPED_TRACE(name);
        const reference_run& run = find_run(name);
        for (int threads : {1, 2, 4}) {
            const fs::path out = dir.path / ("t" + std::to_string(threads) + ".gguf");
            ASSERT_EQ(run_cli(run_args(run, out, threads)), 0) << threads << " threads";
            EXPECT_EQ(file_sha(out), run.file_sha256) << threads << " threads";
        }
    }
}

TEST(CliQuantize, TruncatedInputLeavesNoFile) {
    temp_dir dir;
    std::vector<uint8_t> in =
        test_support::read_all(test_support::models_dir() + "/llama-gqa.gguf");
    ASSERT_FALSE(in.empty());
    const fs::path cut = dir.path / "cut.gguf";
    FILE* f = std::fopen(cut.c_str(), "wb");
    std::fwrite(in.data(), 1, in.size() * 2 / 3, f);
    std::fclose(f);
    const fs::path out = dir.path / "out.gguf";
    EXPECT_EQ(run_cli({cut.string(), out.string(), "Q8_0", "1"}), 1);
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(dir.files().size(), 1u);  // only the truncated input
}

TEST(CliQuantize, UnwritableOutputLeavesNoFile) {
    temp_dir dir;
    const fs::path out = dir.path / "missing-dir" / "out.gguf";
    EXPECT_EQ(run_cli({"llama-gqa.gguf", out.string(), "Q8_0", "1"}), 1);
    EXPECT_TRUE(dir.files().empty());
}

TEST(CliQuantize, FullDiskLeavesNoFile) {
    temp_dir dir;
    const fs::path out = dir.path / "out.gguf";
    // 1024-byte blocks: 2 MB allowed, the Q8_0 output needs 8.7 MB.
    EXPECT_EQ(run_cli({"llama-gqa.gguf", out.string(), "Q8_0", "1"}, "ulimit -f 2000; "), 1);
    EXPECT_TRUE(dir.files().empty());
}

TEST(CliQuantize, SigtermLeavesNoFile) {
    temp_dir dir;
    const fs::path out = dir.path / "out.gguf";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::chdir(test_support::models_dir().c_str()) != 0) ::_exit(99);
        std::freopen("/dev/null", "w", stdout);
        std::freopen("/dev/null", "w", stderr);
        ::execl(GGUF_SQUASH_CLI, GGUF_SQUASH_CLI, "quantize", "--imatrix", "llama-gqa.imatrix.gguf",
                "llama-gqa.gguf", out.c_str(), "IQ1_M", "1", (char*)nullptr);
        ::_exit(98);
    }
    // Wait until the temporary output exists (the run is under way), then stop it.
    bool started = false;
    for (int i = 0; i < 400 && !started; ++i) {
        for (const auto& name : dir.files())
            started = started || name.find(".tmp.") != std::string::npos;
        if (!started) ::usleep(10000);
    }
    ::kill(pid, SIGTERM);
    int st = 0;
    ::waitpid(pid, &st, 0);
    ASSERT_TRUE(started) << "the run never started writing";
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) GTEST_SKIP() << "finished before the signal";
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    EXPECT_TRUE(dir.files().empty());
}

TEST(CliQuantize, HelpListsTypesAndDefaultOutputName) {
    temp_dir dir;
    const std::string cmd = shell_quote(GGUF_SQUASH_CLI) + " quantize --help 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    for (const char* t : {"Q4_K_M", "IQ2_XXS", "MXFP4_MOE", "COPY", "alias for Q4_K_M",
                          "+0.1754 ppl @ Llama-3-8B"}) {
        EXPECT_NE(text.find(t), std::string::npos) << t;
    }
    // IN TYPE: the output is named ggml-model-TYPE.gguf next to the input.
    const fs::path in = dir.path / "m.gguf";
    fs::copy_file(test_support::models_dir() + "/llama-gqa.gguf", in);
    EXPECT_EQ(run_cli({in.string(), "q8_0", "1"}), 0);
    EXPECT_EQ(file_sha(dir.path / "ggml-model-Q8_0.gguf"), find_run("Q8_0").file_sha256);
}

}  // namespace
}  // namespace gguf_squash
