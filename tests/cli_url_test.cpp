// `gguf-squash quantize URL`: the model and the imatrix streamed from the Hub emulator
// (tests/support/hub_emulator.mjs: a Hub that redirects to a CDN with Range and faults). The
// output equals llama-quantize's reference with a dropped connection and a 503 injected, the
// bytes fetched stay within the file's size + header + 2%, and every error case gives its
// message and leaves no file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "pipeline_reference.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

std::string file_sha(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return gguf_squash::sha256_hex(b.data(), b.size());
}

const test_support::reference_run& find_run(const std::string& name) {
    for (const auto& r : test_support::reference_runs())
        if (r.name == name) return r;
    static test_support::reference_run none;
    ADD_FAILURE() << "no reference run " << name;
    return none;
}

// The emulator on two free ports serving test/llama-gqa and test/gated (token hf_test_token).
struct hub_emulator {
    pid_t pid = -1;
    int port = 0;
    test_support::temp_dir root;
    hub_emulator() {
        const std::string models = test_support::models_dir();
        for (const char* repo : {"test/llama-gqa", "test/gated"}) {
            std::filesystem::create_directories(root.path / repo);
            for (const char* f : {"llama-gqa.gguf", "llama-gqa.imatrix.gguf"}) {
                std::filesystem::create_symlink(models + "/" + f, root.path / repo / f);
            }
        }
        const std::string script =
            std::string(GGUF_SQUASH_FIXTURES) + "/../support/hub_emulator.mjs";
        for (int attempt = 0; attempt < 5 && pid < 0; ++attempt) {
            port = 20000 + int((::getpid() * 11 + attempt * 257) % 20000) / 2 * 2;
            const pid_t child = ::fork();
            if (child == 0) {
                const std::string hp = std::to_string(port), cp = std::to_string(port + 1);
                const std::string dir = root.path.string();
                ::execlp("node", "node", script.c_str(), "--root", dir.c_str(), "--gated",
                         "test/gated", "--hub-port", hp.c_str(), "--cdn-port", cp.c_str(),
                         static_cast<char*>(nullptr));
                ::_exit(127);
            }
            for (int i = 0; i < 100; ++i) {
                ::usleep(100 * 1000);
                int st = 0;
                if (::waitpid(child, &st, WNOHANG) == child) break;  // port in use?
                if (std::system(("curl -sf -o /dev/null " + hub() + "/_emulator/stats").c_str()) ==
                    0) {
                    pid = child;
                    break;
                }
            }
            if (pid < 0) ::kill(child, SIGTERM), ::waitpid(child, nullptr, 0);
        }
    }
    ~hub_emulator() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
        }
    }
    std::string hub() const { return "http://127.0.0.1:" + std::to_string(port); }
    std::string url(const std::string& repo, const std::string& file) const {
        return hub() + "/" + repo + "/resolve/main/" + file;
    }
    void faults(const std::string& json) const {
        const std::string cmd = "curl -sf -o /dev/null -X POST --data " +
                                test_support::shell_quote(json) + " " + hub() + "/_emulator/faults";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
    // The one-shot faults fired (each clears itself when it has).
    bool faults_cleared() const {
        const nlohmann::json armed = nlohmann::json::parse(
            test_support::run_shell("curl -sf " + hub() + "/_emulator/faults").out);
        for (const char* k : {"dropAfterBytes", "stallAfterBytes", "status503Once"})
            if (armed.contains(k)) return false;
        return true;
    }
    nlohmann::json stats() const {
        return nlohmann::json::parse(
            test_support::run_shell("curl -sf " + hub() + "/_emulator/stats").out);
    }
};

test_support::shell_result quantize(const test_support::temp_dir& dir, const std::string& args,
                                    const std::string& env = "") {
    return test_support::run_shell("cd " + test_support::shell_quote(dir.path.string()) + " && " +
                                   env + " " + test_support::shell_quote(GGUF_SQUASH_CLI) +
                                   " quantize " + args);
}

TEST(CliUrl, QuantizeThroughFaultsEqualsReference) {
    hub_emulator emu;
    ASSERT_GT(emu.pid, 0) << "the emulator did not start";
    const uint64_t size =
        std::filesystem::file_size(test_support::models_dir() + "/llama-gqa.gguf");
    const uint64_t imatrix_size =
        std::filesystem::file_size(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
    struct item {
        std::string args, out, ref;
        uint64_t fetched_max;
    };
    const std::string model = emu.url("test/llama-gqa", "llama-gqa.gguf");
    const std::string imatrix = emu.url("test/llama-gqa", "llama-gqa.imatrix.gguf");
    const test_support::reference_run& q4 = find_run("Q4_K_M");
    const test_support::reference_run& iq2 = find_run("IQ2_XXS+imatrix");
    // The source header's size: the reference records the output's; the input's is read by info.
    const test_support::shell_result info = test_support::run_shell(
        test_support::shell_quote(GGUF_SQUASH_CLI) + " info --json " +
        test_support::shell_quote(test_support::models_dir() + "/llama-gqa.gguf"));
    ASSERT_EQ(info.status, 0);
    const uint64_t header = nlohmann::json::parse(info.out)["data_offset"];
    const uint64_t bound = size + header + size / 50;
    for (const item& it :
         std::vector<item>{{model + " Q4_K_M 2", "ggml-model-Q4_K_M.gguf", q4.file_sha256, bound},
                           {"--imatrix " + imatrix + " " + model + " IQ2_XXS 1",
                            "ggml-model-IQ2_XXS.gguf", iq2.file_sha256, bound + imatrix_size}}) {
        SCOPED_TRACE(it.args);
        test_support::temp_dir dir;
        const nlohmann::json before = emu.stats();
        emu.faults(R"({"dropAfterBytes": 3000000, "status503Once": true})");
        const test_support::shell_result r = quantize(dir, it.args);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(dir.files(), std::vector<std::string>{it.out});
        EXPECT_EQ(file_sha(dir.path / it.out), it.ref);
        const uint64_t fetched =
            emu.stats()["bytes"].get<uint64_t>() - before["bytes"].get<uint64_t>();
        EXPECT_GE(fetched, size);
        EXPECT_LE(fetched, it.fetched_max);
        EXPECT_TRUE(emu.faults_cleared());
    }
}

TEST(CliUrl, ErrorsNameTheCauseAndLeaveNothing) {
    hub_emulator emu;
    ASSERT_GT(emu.pid, 0) << "the emulator did not start";
    const std::string model = emu.url("test/llama-gqa", "llama-gqa.gguf");
    const std::string gated = emu.url("test/gated", "llama-gqa.gguf");
    struct item {
        std::string faults, args, env, message;
    };
    for (const item& it : std::vector<item>{
             {"{}", emu.url("test/llama-gqa", "missing.gguf") + " Q4_K_M", "",
              emu.url("test/llama-gqa", "missing.gguf") + ": not found (HTTP 404)"},
             {R"({"notFound": true})", model + " Q4_K_M", "", "not found (HTTP 404)"},
             {"{}", gated + " Q4_K_M", "HF_TOKEN=", "the repository is gated or private"},
             {"{}", "--hf-token wrong " + gated + " Q4_K_M", "", "the token was refused"},
             {R"({"ignoreRange": true})", model + " Q4_K_M", "", "ignores Range requests"},
             {R"({"html": true})", model + " Q4_K_M", "", "the server sent an HTML page"},
             {R"({"changeEtagAfter": 4})", model + " Q4_K_M", "",
              "the file changed on the server while it was being read (ETag"},
             {"{}",
              "--imatrix " + emu.url("test/llama-gqa", "none.imatrix") + " " + model + " IQ2_XXS",
              "", "none.imatrix: not found (HTTP 404)"},
         }) {
        SCOPED_TRACE(it.faults + " " + it.args);
        test_support::temp_dir dir;
        emu.faults(it.faults);
        const test_support::shell_result r = quantize(dir, it.args, it.env);
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_NE(r.err.find(it.message), std::string::npos) << r.err;
        EXPECT_TRUE(dir.files().empty());
    }
    emu.faults("{}");
    // The token opens the gated repo, and is never sent to the CDN the Hub redirects to.
    test_support::temp_dir dir;
    const test_support::shell_result ok = quantize(dir, gated + " Q8_0", "HF_TOKEN=hf_test_token");
    ASSERT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(file_sha(dir.path / "ggml-model-Q8_0.gguf"), find_run("Q8_0").file_sha256);
    EXPECT_EQ(emu.stats()["authorizationSeenByCdn"], 0);
}

TEST(CliUrl, StallResumes) {
    hub_emulator emu;
    ASSERT_GT(emu.pid, 0) << "the emulator did not start";
    test_support::temp_dir dir;
    emu.faults(R"({"stallAfterBytes": 5000000, "stallMs": 20000})");
    const test_support::shell_result r =
        quantize(dir, emu.url("test/llama-gqa", "llama-gqa.gguf") + " Q4_K_M 2",
                 "GGUF_SQUASH_HTTP_STALL_SECONDS=1");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(file_sha(dir.path / "ggml-model-Q4_K_M.gguf"), find_run("Q4_K_M").file_sha256);
    EXPECT_TRUE(emu.faults_cleared());
}

}  // namespace
}  // namespace gguf_squash
