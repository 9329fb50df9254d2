// Faults while quantizing, through the real command line (native only: spawns the CLI, mounts a
// tmpfs when allowed). Every fault ends with a clear message, a non-zero exit status and no
// output file, and an output file that existed before the run is left exactly as it was:
//   - every malformed file (under `ulimit -v 2000000` and `timeout 10`): one line naming the
//     field and the byte offset;
//   - the input shrinking in the middle of a tensor while the run reads it;
//   - a full disk (a 1 MiB tmpfs: ENOSPC; ulimit -f is covered by cli_quantize_test);
//   - unwritable output paths;
//   - SIGINT and SIGTERM mid-way;
//   - NaN and Inf weights: refused naming tensor and row, unless --allow-non-finite.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "format/gguf_reader.h"
#include "gguf_malformed_cases.h"
#include "io/gguf_file.h"
#include "pipeline_reference.h"
#include "plan/quant_plan.h"
#include "quant/quant_common.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

namespace fs = std::filesystem;
using test_support::shell_quote;
using test_support::temp_dir;

using run_result = test_support::shell_result;

// Runs `PREFIX gguf-squash quantize ARGS` from the fixture folder, capturing stderr.
run_result run_cli(const std::vector<std::string>& args, const std::string& prefix = "") {
    std::string cmd = "cd " + shell_quote(test_support::models_dir()) + " && " + prefix +
                      shell_quote(GGUF_SQUASH_CLI) + " quantize";
    for (const auto& a : args) cmd += " " + shell_quote(a);
    return test_support::run_shell(cmd + " >/dev/null");
}

void write_file(const fs::path& p, const uint8_t* data, size_t size) {
    FILE* f = std::fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(data, 1, size, f), size);
    ASSERT_EQ(std::fclose(f), 0);
}

const std::vector<uint8_t>& model_bytes() {
    static const std::vector<uint8_t> b =
        test_support::read_all(test_support::models_dir() + "/llama-gqa.gguf");
    return b;
}

// An output file that exists before the run; a failed run must not touch it.
const std::string kOldOutput = "an older model that must survive a failed run\n";

void expect_old_output(const fs::path& out) {
    std::vector<uint8_t> now = test_support::read_all(out);
    EXPECT_EQ(std::string(now.begin(), now.end()), kOldOutput) << out;
}

TEST(FaultQuantize, EveryMalformedFileRefusedWithOneLineUnderLimits) {
#if defined(__SANITIZE_ADDRESS__)
    const std::string prefix = "timeout 10 ";  // ASan reserves more address space than 2 GB
#else
    const std::string prefix = "ulimit -v 2000000; timeout 10 ";
#endif
    temp_dir dir;
    int refused = 0;
    const auto cases = test_support::malformed_cases();
    for (const test_support::malformed_case& c : cases) {
        SCOPED_TRACE(c.name);
        const test_support::gguf_bytes g = c.build();
        const fs::path out = dir.path / "out.gguf";
        const run_result r =
            run_cli({std::string(GGUF_SQUASH_FIXTURES) + "/malformed/" + c.name + ".gguf",
                     out.string(), "Q4_K_M"},
                    prefix);
        EXPECT_EQ(r.status, 1) << r.err;
        ASSERT_FALSE(r.err.empty());
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
        EXPECT_NE(r.err.find(c.field), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("at byte offset " + std::to_string(g.mark) + ":"), std::string::npos)
            << r.err;
        EXPECT_TRUE(dir.files().empty());
        refused += r.status == 1 && dir.files().empty();
    }
    std::printf("[fault] %d of %zu malformed files refused by quantize with one line\n", refused,
                cases.size());
}

// Starts `gguf-squash quantize ARGS` in the fixture folder, waits until its temporary output
// exists in `dir`, runs `act`, and returns the exit status (128 + signal if killed), or -1 if the
// run finished before it started writing.
template <class Act>
int run_and_interrupt(const std::vector<std::string>& args, const temp_dir& dir, Act act,
                      std::string* err_text) {
    const fs::path err_path = dir.path.parent_path() / (dir.path.filename().string() + ".err");
    const pid_t pid = ::fork();
    if (pid < 0) return -2;
    if (pid == 0) {
        if (::chdir(test_support::models_dir().c_str()) != 0) ::_exit(99);
        if (!std::freopen("/dev/null", "w", stdout)) ::_exit(99);
        if (!std::freopen(err_path.c_str(), "w", stderr)) ::_exit(99);
        std::vector<char*> argv;
        std::vector<std::string> all = {GGUF_SQUASH_CLI, "quantize"};
        all.insert(all.end(), args.begin(), args.end());
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(GGUF_SQUASH_CLI, argv.data());
        ::_exit(98);
    }
    bool started = false;
    for (int i = 0; i < 3000 && !started; ++i) {
        for (const auto& name : dir.files())
            started = started || name.find(".tmp.") != std::string::npos;
        if (!started) ::usleep(2000);
    }
    if (started) act(pid);
    int st = 0;
    ::waitpid(pid, &st, 0);
    std::vector<uint8_t> e = test_support::read_all(err_path);
    if (err_text) err_text->assign(e.begin(), e.end());
    fs::remove(err_path);
    if (!started) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// A slow run (IQ1_M with the imatrix) so that a signal lands mid-way.
std::vector<std::string> slow_run_args(const fs::path& out) {
    return {"--imatrix", "llama-gqa.imatrix.gguf", "llama-gqa.gguf", out.string(), "IQ1_M", "1"};
}

TEST(FaultQuantize, SigintAndSigtermMidwayLeaveTheOldOutput) {
    for (int sig : {SIGINT, SIGTERM}) {
        SCOPED_TRACE(sig);
        temp_dir dir;
        const fs::path out = dir.path / "out.gguf";
        write_file(out, reinterpret_cast<const uint8_t*>(kOldOutput.data()), kOldOutput.size());
        std::string err;
        const int rc = run_and_interrupt(
            slow_run_args(out), dir, [&](pid_t pid) { ::kill(pid, sig); }, &err);
        ASSERT_NE(rc, -1) << "the run never started writing";
        if (rc == 0) GTEST_SKIP() << "finished before the signal";
        EXPECT_EQ(rc, 128 + sig) << err;
        EXPECT_NE(err.find("interrupted by signal " + std::to_string(sig)), std::string::npos)
            << err;
        EXPECT_NE(err.find("no output written"), std::string::npos) << err;
        EXPECT_EQ(dir.files(), std::vector<std::string>{"out.gguf"});  // no temporary left
        expect_old_output(out);
    }
}

// The input file shrinks to the middle of a tensor after the header was read: the read comes up
// short and the run fails naming a tensor.
TEST(FaultQuantize, InputTruncatedMidTensorDuringTheRun) {
    temp_dir dir;
    const fs::path in = dir.path / "in.gguf";
    const std::vector<uint8_t>& model = model_bytes();
    ASSERT_FALSE(model.empty());
    write_file(in, model.data(), model.size());
    const gguf_header& h = test_support::reference_input_header();
    // Cut in the middle of the last tensor in file order: whatever the run's order, it reaches it.
    uint64_t last = 0;
    std::string last_name;
    for (const auto& t : h.tensors) {
        if (t.offset >= last) {
            last = t.offset;
            last_name = t.name;
        }
    }
    const uint64_t cut = h.data_offset + last + 1000;
    ASSERT_LT(cut, model.size());
    const fs::path out = dir.path / "out.gguf";
    std::string err;
    const int rc = run_and_interrupt(
        {"--imatrix", "llama-gqa.imatrix.gguf", in.string(), out.string(), "IQ1_M", "1"}, dir,
        [&](pid_t) { ASSERT_EQ(::truncate(in.c_str(), off_t(cut)), 0); }, &err);
    ASSERT_NE(rc, -1) << "the run never started writing";
    EXPECT_EQ(rc, 1) << err;
    EXPECT_NE(err.find("tensor '"), std::string::npos) << err;
    EXPECT_NE(err.find("no output written"), std::string::npos) << err;
    EXPECT_EQ(dir.files(), std::vector<std::string>{"in.gguf"});
}

// Truncated files given at the start: the header's tensor data claims are checked against the
// file size, so the refusal names the first tensor whose data lies past the end.
TEST(FaultQuantize, InputTruncatedMidTensorBeforeTheRun) {
    temp_dir dir;
    const gguf_header& h = test_support::reference_input_header();
    const std::vector<uint8_t>& model = model_bytes();
    ASSERT_FALSE(h.tensors.empty());
    int checked = 0;
    for (size_t i : {size_t(0), h.tensors.size() / 2, h.tensors.size() - 1}) {
        const gguf_tensor_info& t = h.tensors[i];
        SCOPED_TRACE(t.name);
        const uint64_t cut = h.data_offset + t.offset + t.nbytes() / 2;
        const fs::path in = dir.path / "in.gguf";
        write_file(in, model.data(), size_t(cut));
        const fs::path out = dir.path / "out.gguf";
        write_file(out, reinterpret_cast<const uint8_t*>(kOldOutput.data()), kOldOutput.size());
        const run_result r = run_cli({in.string(), out.string(), "Q4_K_M", "1"});
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
        EXPECT_NE(r.err.find("tensor '" + t.name + "'"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("byte offset"), std::string::npos) << r.err;
        expect_old_output(out);
        EXPECT_EQ(dir.files().size(), 2u);
        fs::remove(in);
        fs::remove(out);
        ++checked;
    }
    EXPECT_EQ(checked, 3);
}

struct tmpfs_mount {
    fs::path path;
    bool mounted = false;
    explicit tmpfs_mount(const fs::path& p, const char* size) : path(p) {
        fs::create_directories(p);
        mounted = ::mount("tmpfs", p.c_str(), "tmpfs", 0, size) == 0;
    }
    ~tmpfs_mount() {
        if (mounted) ::umount2(path.c_str(), MNT_DETACH);
    }
};

TEST(FaultQuantize, FullDiskOnASmallTmpfs) {
    temp_dir dir;
    tmpfs_mount disk(dir.path / "disk", "size=1m");
    if (!disk.mounted) GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    const fs::path out = disk.path / "out.gguf";
    write_file(out, reinterpret_cast<const uint8_t*>(kOldOutput.data()), kOldOutput.size());
    // Q8_0 of the model needs 8.7 MB; the disk holds 1 MiB.
    const run_result r = run_cli({"llama-gqa.gguf", out.string(), "Q8_0", "1"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no output written"), std::string::npos) << r.err;
    expect_old_output(out);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(disk.path)) left.push_back(e.path().filename());
    EXPECT_EQ(left, std::vector<std::string>{"out.gguf"});
}

TEST(FaultQuantize, UnwritableOutputPaths) {
    temp_dir dir;
    const fs::path file = dir.path / "plain-file";
    write_file(file, reinterpret_cast<const uint8_t*>(kOldOutput.data()), kOldOutput.size());
    const fs::path is_dir = dir.path / "a-directory";
    fs::create_directory(is_dir);
    struct path_case {
        std::string out, because;
    };
    for (const path_case& c : {
             path_case{(file / "out.gguf").string(), "Not a directory"},
             path_case{(dir.path / "missing" / "out.gguf").string(), "No such file or directory"},
             path_case{is_dir.string(), ""},  // renaming a file over a directory fails
             path_case{"/proc/gguf-squash-out.gguf", ""},
         }) {
        SCOPED_TRACE(c.out);
        const run_result r = run_cli({"llama-gqa.gguf", c.out, "Q8_0", "1"});
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_NE(r.err.find("gguf-squash quantize: "), std::string::npos) << r.err;
        if (!c.because.empty()) {
            EXPECT_NE(r.err.find(c.because), std::string::npos) << r.err;
        }
        EXPECT_TRUE(fs::is_directory(is_dir));
        EXPECT_TRUE(fs::is_empty(is_dir));
    }
    expect_old_output(file);
    std::vector<std::string> names = dir.files();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"a-directory", "plain-file"}));
}

// Copies the model with one weight replaced; returns the path.
fs::path model_with_weight(const temp_dir& dir, const std::string& tensor, uint64_t row,
                           uint64_t col, uint16_t f16_bits) {
    const gguf_header& h = test_support::reference_input_header();
    std::vector<uint8_t> bytes = model_bytes();
    const int64_t ti = h.find_tensor(tensor);
    if (ti < 0) return {};
    const gguf_tensor_info& t = h.tensors[size_t(ti)];
    if (t.type != ggml_type::f16) return {};
    const uint64_t at = h.data_offset + t.offset + (row * t.ne[0] + col) * 2;
    bytes[at] = uint8_t(f16_bits);
    bytes[at + 1] = uint8_t(f16_bits >> 8);
    const fs::path p = dir.path / "nonfinite.gguf";
    FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) return {};
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return p;
}

TEST(FaultQuantize, NonFiniteWeightsRefusedNamingTensorAndRow) {
    struct weight_case {
        const char* tensor;
        uint64_t row, col;
        uint16_t bits;
        const char* what;
    };
    for (const weight_case& w : {weight_case{"blk.1.attn_q.weight", 3, 17, 0x7e00, "NaN"},
                                 weight_case{"blk.0.ffn_down.weight", 40, 0, 0x7c00, "+Inf"},
                                 weight_case{"output.weight", 7, 63, 0xfc00, "-Inf"}}) {
        SCOPED_TRACE(std::string(w.tensor) + " " + w.what);
        temp_dir dir;
        const fs::path in = model_with_weight(dir, w.tensor, w.row, w.col, w.bits);
        ASSERT_FALSE(in.empty());
        const fs::path out = dir.path / "out.gguf";
        const run_result r = run_cli({in.string(), out.string(), "Q4_K_M", "2"});
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_NE(r.err.find(std::string("'") + w.tensor + "'"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("row " + std::to_string(w.row)), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(out));
        // The documented flag lets it through (llama-quantize has no such flag; it refuses).
        const run_result allowed =
            run_cli({"--allow-non-finite", in.string(), out.string(), "Q4_K_M", "2"});
        EXPECT_EQ(allowed.status, 0) << allowed.err;
        EXPECT_TRUE(fs::exists(out));
        EXPECT_TRUE(read_gguf_header_file(out.string()).ok());
    }
}

}  // namespace
}  // namespace gguf_squash
