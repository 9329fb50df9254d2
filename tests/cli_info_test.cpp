// `gguf-squash info` as a process: exit statuses, JSON identical to the library's, one-line
// errors naming field and offset for every malformed file, also under a memory and time limit.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "format/gguf_json.h"
#include "format/gguf_reader.h"
#include "gguf_fixture_files.h"
#include "gguf_malformed_cases.h"
#include "io/gguf_file.h"

namespace gguf_squash {
namespace {

using run_result = test_support::shell_result;

run_result run(const std::string& args, const std::string& prefix = "") {
    return test_support::run_shell(prefix + test_support::shell_quote(GGUF_SQUASH_CLI) + " " +
                                   args);
}

std::string quoted(const std::string& path) {
    return "'" + path + "'";
}

TEST(CliInfo, JsonIsTheLibrarysObject) {
    for (const std::string& rel : test_support::fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const run_result r = run("info --json " + quoted(test_support::fixture_path(rel)));
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_TRUE(r.err.empty());
        result<gguf_header> h = read_gguf_header_file(test_support::fixture_path(rel));
        ASSERT_TRUE(h.ok());
        EXPECT_TRUE(r.out == gguf_header_to_json(*h) + "\n");
        EXPECT_TRUE(nlohmann::json::accept(r.out));
    }
}

TEST(CliInfo, TextForSeveralFiles) {
    const run_result r =
        run("info " + quoted(test_support::fixture_path("models/llama-gqa.gguf")) + " " +
            quoted(test_support::fixture_path("vocab/ggml-vocab-qwen2.gguf")));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("llama-gqa.gguf:\nGGUF version 3, alignment 32"), std::string::npos);
    EXPECT_NE(r.out.find("21 metadata keys, 75 tensors"), std::string::npos);
    EXPECT_NE(r.out.find("ggml-vocab-qwen2.gguf:\n"), std::string::npos);
    EXPECT_NE(r.out.find("20 metadata keys, 0 tensors"), std::string::npos);
    EXPECT_NE(r.out.find("STRING[151936]"), std::string::npos);
}

TEST(CliInfo, JsonForSeveralFilesIsOneObjectPerLine) {
    const run_result r =
        run("info " + quoted(test_support::fixture_path("models/llama-gqa.gguf")) + " --json " +
            quoted(test_support::fixture_path("vocab/ggml-vocab-gpt-2.gguf")));
    ASSERT_EQ(r.status, 0) << r.err;
    const size_t nl = r.out.find('\n');
    ASSERT_NE(nl, std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(r.out.substr(0, nl))["tensors"].size(), 75u);
    EXPECT_EQ(nlohmann::json::parse(r.out.substr(nl + 1))["metadata"].size(), 16u);
}

TEST(CliInfo, UsageErrorsExitTwo) {
    EXPECT_EQ(run("info").status, 2);
    EXPECT_EQ(
        run("info --bogus " + quoted(test_support::fixture_path("models/llama-gqa.gguf"))).status,
        2);
    EXPECT_EQ(run("info --help").status, 0);
}

TEST(CliInfo, MissingFileExitsOne) {
    const run_result r = run("info /nonexistent/x.gguf");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("x.gguf"), std::string::npos);
}

// Each malformed file: exit 1, nothing on stdout, one line on stderr naming the field and the
// byte offset; under `ulimit -v 2000000` and `timeout 10` (issue 7), unless sanitizers reserve
// address space the limit would not allow.
TEST(CliInfo, EveryMalformedFileRefusedWithOneLine) {
#if defined(__SANITIZE_ADDRESS__)
    const std::string prefix = "timeout 10 ";
#else
    const std::string prefix = "ulimit -v 2000000; timeout 10 ";
#endif
    for (const test_support::malformed_case& c : test_support::malformed_cases()) {
        SCOPED_TRACE(c.name);
        const test_support::gguf_bytes g = c.build();
        const run_result r = run(
            "info --json " + quoted(test_support::fixture_path("malformed/" + c.name + ".gguf")),
            prefix);
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_TRUE(r.out.empty());
        ASSERT_FALSE(r.err.empty());
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
        EXPECT_NE(r.err.find(c.field), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("at byte offset " + std::to_string(g.mark) + ":"), std::string::npos)
            << r.err;
    }
}

TEST(CliInfo, OneBadFileAmongGoodOnesExitsOne) {
    const run_result r =
        run("info " + quoted(test_support::fixture_path("malformed/bad_magic.gguf")) + " " +
            quoted(test_support::fixture_path("models/llama-gqa.gguf")));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("75 tensors"), std::string::npos);
    EXPECT_NE(r.err.find("magic at byte offset 0"), std::string::npos);
}

}  // namespace
}  // namespace gguf_squash
