// `gguf-squash estimate` as a process: every plain and +imatrix reference size through the command
// line, and a model served over HTTP by a Range-capable static server (scripts/static-server.mjs)
// giving the same output as the file while reading at most the header plus one read, split
// models followed shard by shard, and usage errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_test_support.h"
#include "format/gguf_split.h"
#include "format/gguf_writer.h"
#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

using run_result = test_support::shell_result;

run_result run(const std::string& args, const std::string& cwd = "") {
    const std::string prefix = cwd.empty() ? "" : "cd " + test_support::shell_quote(cwd) + " && ";
    return test_support::run_shell(prefix + test_support::shell_quote(GGUF_SQUASH_CLI) +
                                   " estimate " + args);
}

uint64_t size_of(const nlohmann::json& j, const std::string& name) {
    for (const auto& f : j["ftypes"])
        if (f["name"] == name) return f["file_size"];
    return 0;
}

TEST(CliEstimate, ReferenceSizesPlainAndWithImatrix) {
    const run_result plain = run("--json llama-gqa.gguf", test_support::models_dir());
    ASSERT_EQ(plain.status, 0) << plain.err;
    const nlohmann::json p = nlohmann::json::parse(plain.out);
    const run_result with =
        run("--json --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf", test_support::models_dir());
    ASSERT_EQ(with.status, 0) << with.err;
    const nlohmann::json w = nlohmann::json::parse(with.out);
    int checked = 0, refusals = 0;
    for (const auto& run : test_support::reference_runs()) {
        SCOPED_TRACE(run.name);
        if (run.args.empty()) {
            if (run.refused()) {
                for (const auto& f : p["ftypes"]) {
                    if (f["name"] == run.ftype) {
                        EXPECT_TRUE(f["requires_imatrix"].get<bool>());
                    }
                }
                ++refusals;
            } else {
                EXPECT_EQ(size_of(p, run.ftype), run.file_size);
                ++checked;
            }
        } else if (run.args == std::vector<std::string>{"--imatrix", "llama-gqa.imatrix.gguf"}) {
            EXPECT_EQ(size_of(w, run.ftype), run.file_size);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 27 + 32);
    EXPECT_EQ(refusals, 9);
    // The text table lists the same sizes.
    const run_result text = run("llama-gqa.gguf", test_support::models_dir());
    ASSERT_EQ(text.status, 0);
    EXPECT_NE(text.out.find(std::to_string(size_of(p, "Q4_K_M"))), std::string::npos);
}

TEST(CliEstimate, MemoryOptions) {
    const run_result r = run("--json --ctx 4096 --kv-type q4_0 --memory 0.02 llama-gqa.gguf",
                             test_support::models_dir());
    ASSERT_EQ(r.status, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["memory"]["kv_type"], "q4_0");
    EXPECT_EQ(j["memory"]["kv_bytes"], 2359296);  // 2.25 MiB, llama.cpp's figure
    EXPECT_EQ(j["memory"]["budget_bytes"], uint64_t(0.02 * (1 << 30) + 0.5));
    bool some_fit = false, some_not = false;
    for (const auto& f : j["ftypes"]) {
        if (f["fits"] == true) some_fit = true;
        if (f["fits"] == false) some_not = true;
    }
    EXPECT_TRUE(some_fit && some_not);
    EXPECT_EQ(run("--kv-type q5_0 llama-gqa.gguf", test_support::models_dir()).status, 2);
    EXPECT_EQ(run("--ctx 0 llama-gqa.gguf", test_support::models_dir()).status, 2);
    EXPECT_EQ(run("--memory -1 llama-gqa.gguf", test_support::models_dir()).status, 2);
    EXPECT_EQ(run("", test_support::models_dir()).status, 2);
    const run_result missing = run("no-such.gguf", test_support::models_dir());
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("no-such.gguf"), std::string::npos);
    EXPECT_EQ(run("--help").status, 0);
}

// A static server on a free port, serving `dir`, stopped at scope exit.
struct static_server {
    pid_t pid = -1;
    int port = 0;
    explicit static_server(const std::string& dir) {
        const std::string script =
            std::string(GGUF_SQUASH_FIXTURES) + "/../../scripts/static-server.mjs";
        for (int attempt = 0; attempt < 5 && pid < 0; ++attempt) {
            port = 20000 + int((::getpid() * 7 + attempt * 131) % 20000);
            const pid_t child = ::fork();
            if (child == 0) {
                const std::string p = std::to_string(port);
                ::execlp("node", "node", script.c_str(), dir.c_str(), p.c_str(), "127.0.0.1",
                         static_cast<char*>(nullptr));
                ::_exit(127);
            }
            // Wait until it answers.
            for (int i = 0; i < 100; ++i) {
                ::usleep(100 * 1000);
                const std::string probe =
                    "curl -s -o /dev/null -r 0-0 http://127.0.0.1:" + std::to_string(port) +
                    "/ 2>/dev/null";
                int st = 0;
                if (::waitpid(child, &st, WNOHANG) == child) break;  // failed (port in use?)
                if (std::system(probe.c_str()) == 0) {
                    pid = child;
                    break;
                }
            }
            if (pid < 0) ::kill(child, SIGTERM), ::waitpid(child, nullptr, 0);
        }
    }
    ~static_server() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
        }
    }
    std::string url(const std::string& rel) const {
        return "http://127.0.0.1:" + std::to_string(port) + "/" + rel;
    }
};

struct http_stats {
    int requests = -1;
    uint64_t bytes = 0, header = 0;
};

http_stats parse_stats(const std::string& err) {
    http_stats s;
    std::smatch m;
    if (std::regex_search(
            err, m,
            std::regex(R"(http: (\d+) requests, (\d+) bytes received, header (\d+) bytes)"))) {
        s.requests = std::stoi(m[1]);
        s.bytes = std::stoull(m[2]);
        s.header = std::stoull(m[3]);
    }
    return s;
}

constexpr uint64_t kFirstRead = 256 * 1024;  // core/cli/http_range_reader.h

TEST(CliEstimate, UrlGivesTheFileResultReadingOnlyTheHeader) {
    static_server server(test_support::models_dir());
    ASSERT_GT(server.pid, 0) << "could not start scripts/static-server.mjs";
    for (const std::string& args :
         {std::string("--json"), std::string("--json --ctx 8192 --kv-type q8_0 --memory 0.03"),
          std::string("")}) {
        SCOPED_TRACE(args);
        const run_result file = run(args + " llama-gqa.gguf", test_support::models_dir());
        const run_result url = run("--stats " + args + " " + server.url("llama-gqa.gguf"));
        ASSERT_EQ(file.status, 0) << file.err;
        ASSERT_EQ(url.status, 0) << url.err;
        EXPECT_EQ(url.out, file.out);
        const http_stats s = parse_stats(url.err);
        const gguf_header& h = test_support::reference_input_header();
        EXPECT_EQ(s.header, h.data_offset);
        EXPECT_EQ(s.requests, 1);  // a ~90 KB header arrives in the first read
        EXPECT_LE(s.bytes, h.data_offset + kFirstRead);
    }
    // With the imatrix (a local file) too.
    const run_result file =
        run("--json --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf", test_support::models_dir());
    const run_result url =
        run("--json --imatrix llama-gqa.imatrix.gguf " + server.url("llama-gqa.gguf"),
            test_support::models_dir());
    EXPECT_EQ(url.out, file.out);
    // A missing file and a server error are one-line errors.
    const run_result missing = run(server.url("missing.gguf"));
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
}

TEST(CliEstimate, LargeHeaderGrowsReadsAndStopsAtTheHeader) {
    // The qwen2 vocabulary's header is several MB: a few growing reads, at most one read past it.
    static_server server(std::string(GGUF_SQUASH_FIXTURES) + "/vocab");
    ASSERT_GT(server.pid, 0);
    const run_result r = run("--stats --json " + server.url("ggml-vocab-qwen2.gguf"));
    ASSERT_EQ(r.status, 0) << r.err;
    const http_stats s = parse_stats(r.err);
    EXPECT_GT(s.requests, 1);
    EXPECT_LE(s.requests, 8);
    EXPECT_LE(s.bytes, s.header + (64ull << 20));
    EXPECT_EQ(s.bytes, s.header) << "the vocabulary file is all header";
    const run_result file =
        run("--json '" + std::string(GGUF_SQUASH_FIXTURES) + "/vocab/ggml-vocab-qwen2.gguf'");
    EXPECT_EQ(r.out, file.out);
}

TEST(CliEstimate, SplitModelOverHttp) {
    // llama-gqa cut into 3 shards (headers and zero-filled data of the right size).
    const gguf_header& src = test_support::reference_input_header();
    result<std::vector<gguf_header>> shards =
        split_gguf_header(src, shards_by_tensor_count(src, 32));
    ASSERT_TRUE(shards.ok()) << shards.error().message();
    const std::string dir =
        ::testing::TempDir() + "cli_estimate_split_" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
    for (uint32_t i = 0; i < shards->size(); ++i) {
        result<std::vector<uint8_t>> bytes = encode_gguf_header((*shards)[i]);
        ASSERT_TRUE(bytes.ok());
        std::ofstream f(gguf_split_path(dir + "/gqa", i, uint32_t(shards->size())),
                        std::ios::binary);
        f.write(reinterpret_cast<const char*>(bytes->data()), std::streamsize(bytes->size()));
        const uint64_t total = gguf_file_size((*shards)[i]);
        std::vector<char> zeros(total - bytes->size(), 0);
        f.write(zeros.data(), std::streamsize(zeros.size()));
    }
    static_server server(dir);
    ASSERT_GT(server.pid, 0);
    const run_result whole = run("--json llama-gqa.gguf", test_support::models_dir());
    const run_result url = run("--stats --json " + server.url("gqa-00001-of-00003.gguf"));
    ASSERT_EQ(url.status, 0) << url.err;
    EXPECT_EQ(parse_stats(url.err).requests, 3);
    const run_result local = run("--json '" + dir + "/gqa-00001-of-00003.gguf'");
    ASSERT_EQ(local.status, 0) << local.err;
    EXPECT_EQ(url.out, local.out);
    // The same sizes as the unsplit model (llama-quantize drops the split keys).
    const nlohmann::json a = nlohmann::json::parse(whole.out), b = nlohmann::json::parse(url.out);
    for (const auto& f : a["ftypes"])
        EXPECT_EQ(size_of(b, f["name"]), f["file_size"].get<uint64_t>()) << f["name"];
    std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace gguf_squash
