// `gguf-squash quantize` on split models, end to end (native only: spawns the CLI). llama-gqa.gguf
// is cut into 3 gguf-split shards in a temporary folder, then:
//  - naming the first shard quantizes the whole model to llama-quantize's bytes for llama-gqa.gguf;
//  - --keep-split writes OUT-0000K-of-00003.gguf (llama_split_path), each a GGUF with the split
//    keys llama-quantize writes, merged equal to the single output's tensors;
//  - naming another shard, a missing shard, a truncated shard or a NaN weight in the last shard
//    fails with no file left, also when earlier output shards were already complete.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "format/gguf_reader.h"
#include "format/gguf_split.h"
#include "pipeline_reference.h"
#include "sha256.h"
#include "split_shards.h"

namespace gguf_squash {
namespace {

namespace fs = std::filesystem;
using test_support::reference_run;
using test_support::shell_quote;
using test_support::temp_dir;

// Runs `gguf-squash quantize ARGS` in the fixture folder (imatrix paths as recorded there).
int run_cli(const std::vector<std::string>& args, std::string* stderr_text = nullptr) {
    std::string cmd = "cd " + shell_quote(test_support::models_dir()) + " && " +
                      shell_quote(GGUF_SQUASH_CLI) + " quantize";
    for (const auto& a : args) cmd += " " + shell_quote(a);
    const std::string err = "/tmp/gs-cli-split-stderr-" + std::to_string(::getpid());
    cmd += " >/dev/null 2>" + shell_quote(err);
    const int rc = std::system(cmd.c_str());
    if (stderr_text) {
        std::vector<uint8_t> b = test_support::read_all(err);
        stderr_text->assign(b.begin(), b.end());
    }
    std::remove(err.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

const reference_run& find_run(const std::string& name) {
    for (const auto& r : test_support::reference_runs())
        if (r.name == name) return r;
    static reference_run none;
    return none;
}

std::string file_sha(const fs::path& p) {
    std::vector<uint8_t> b = test_support::read_all(p);
    return gguf_squash::sha256_hex(b.data(), b.size());
}

std::map<std::string, std::string> tensor_data(const std::vector<uint8_t>& file) {
    std::map<std::string, std::string> out;
    result<gguf_header> h = read_gguf_header(file.data(), file.size());
    if (!h.ok()) return out;
    for (const gguf_tensor_info& t : h->tensors) {
        const uint8_t* d = file.data() + h->data_offset + t.offset;
        out[t.name] = std::string(reinterpret_cast<const char*>(d), size_t(t.nbytes()));
    }
    return out;
}

// 3 shards of 25 tensors in `dir`, named m-0000K-of-00003.gguf.
std::vector<std::string> make_shards(const temp_dir& dir) {
    const gguf_header& input = test_support::reference_input_header();
    return test_support::write_llama_gqa_shards(shards_by_tensor_count(input, 25),
                                                (dir.path / "m").string());
}

TEST(CliSplit, FirstShardQuantizesTheWholeModel) {
    temp_dir dir;
    const std::vector<std::string> shards = make_shards(dir);
    ASSERT_EQ(shards.size(), 3u);
    int identical = 0, total = 0;
    for (const char* name : {"Q4_K_M", "IQ3_XXS+imatrix"}) {
        SCOPED_TRACE(name);
        const reference_run& run = find_run(name);
        ASSERT_FALSE(run.name.empty());
        const fs::path out = dir.path / "out.gguf";
        std::vector<std::string> args = run.args;
        args.push_back(shards[0]);
        args.push_back(out.string());
        args.push_back(run.ftype);
        args.push_back("2");
        ++total;
        ASSERT_EQ(run_cli(args), 0);
        const bool same = file_sha(out) == run.file_sha256;
        EXPECT_TRUE(same);
        identical += same;
        fs::remove(out);
    }
    std::printf(
        "[cli-split] %d of %d runs from 3 shards byte-identical to llama-quantize's file "
        "for the whole model\n",
        identical, total);
}

TEST(CliSplit, KeepSplitWritesOneFilePerShard) {
    temp_dir dir;
    const std::vector<std::string> shards = make_shards(dir);
    ASSERT_EQ(shards.size(), 3u);
    const reference_run& run = find_run("IQ3_XXS+imatrix");
    ASSERT_FALSE(run.name.empty());

    // The single output, as the reference.
    const fs::path single = dir.path / "single.gguf";
    std::vector<std::string> args = run.args;
    args.insert(args.end(), {shards[0], single.string(), run.ftype, "2"});
    ASSERT_EQ(run_cli(args), 0);
    ASSERT_EQ(file_sha(single), run.file_sha256);
    const std::vector<uint8_t> single_bytes = test_support::read_all(single);
    result<gguf_header> single_header = read_gguf_header(single_bytes.data(), single_bytes.size());
    ASSERT_TRUE(single_header.ok());
    const std::map<std::string, std::string> expected = tensor_data(single_bytes);

    // OUT given with .gguf: llama-quantize strips it and adds -0000K-of-00003.gguf.
    args = run.args;
    args.insert(args.begin(), "--keep-split");
    args.insert(args.end(), {shards[0], (dir.path / "q.gguf").string(), run.ftype, "2"});
    ASSERT_EQ(run_cli(args), 0);
    EXPECT_FALSE(fs::exists(dir.path / "q.gguf"));
    std::map<std::string, std::string> merged;
    std::vector<gguf_header> headers;
    for (uint32_t f = 0; f < 3; ++f) {
        SCOPED_TRACE(f);
        const std::string path = gguf_split_path((dir.path / "q").string(), f, 3);
        ASSERT_TRUE(fs::exists(path)) << path;
        const std::vector<uint8_t> bytes = test_support::read_all(path);
        result<gguf_header> h = read_gguf_header(bytes.data(), bytes.size());
        ASSERT_TRUE(h.ok()) << h.error().message();
        ASSERT_GE(h->kv.size(), 3u);
        const size_t k = h->kv.size() - 3;
        EXPECT_EQ(h->kv[k].key, "split.no");
        EXPECT_EQ(h->kv[k].value.type, gguf_value_type::uint16);
        EXPECT_EQ(h->kv[k].value.as_u64(), f);
        EXPECT_EQ(h->kv[k + 1].key, "split.count");
        EXPECT_EQ(h->kv[k + 1].value.type, gguf_value_type::uint16);
        EXPECT_EQ(h->kv[k + 1].value.as_u64(), 3u);
        EXPECT_EQ(h->kv[k + 2].key, "split.tensors.count");
        EXPECT_EQ(h->kv[k + 2].value.type, gguf_value_type::int32);
        EXPECT_EQ(h->kv[k + 2].value.as_i64(), 75);
        EXPECT_EQ(k, f == 0 ? single_header->kv.size() : 0u);
        for (auto& [name, data] : tensor_data(bytes)) merged.emplace(name, data);
        headers.push_back(std::move(h.value()));
    }
    EXPECT_TRUE(merge_gguf_shards(std::move(headers)).ok());
    EXPECT_EQ(merged, expected);
    std::printf(
        "[cli-split] --keep-split: 3 shards written, %zu tensors merged equal to the single "
        "output\n",
        merged.size());

    // Default output name: the input's folder + ggml-model-TYPE, then the shard suffix.
    ASSERT_EQ(run_cli({"--keep-split", shards[0], "Q8_0"}), 0);
    for (uint32_t f = 0; f < 3; ++f) {
        EXPECT_TRUE(fs::exists(gguf_split_path((dir.path / "ggml-model-Q8_0").string(), f, 3)));
    }
    // No temporary file anywhere.
    for (const std::string& name : dir.files()) {
        EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
    }
}

TEST(CliSplit, BadShardSetsLeaveNoFile) {
    temp_dir dir;
    std::vector<std::string> shards = make_shards(dir);
    ASSERT_EQ(shards.size(), 3u);
    const std::vector<std::string> before = dir.files();
    auto no_new_files = [&] { return dir.files() == before; };
    std::string err;

    // Another shard than the first, as llama.cpp's loader refuses it.
    EXPECT_NE(run_cli({shards[1], (dir.path / "o.gguf").string(), "Q8_0"}, &err), 0);
    EXPECT_NE(err.find("first split"), std::string::npos) << err;
    EXPECT_TRUE(no_new_files());

    // A NaN weight in the last shard: with --keep-split, output shards 1 and 2 are complete
    // before shard 3 fails, and still nothing is left.
    {
        std::vector<uint8_t> last = test_support::read_all(shards[2]);
        result<gguf_header> h = read_gguf_header(last.data(), last.size());
        ASSERT_TRUE(h.ok());
        const gguf_tensor_info* weight = nullptr;
        for (const gguf_tensor_info& t : h->tensors)
            if (t.type == ggml_type::f16) weight = &t;
        ASSERT_NE(weight, nullptr);
        const uint64_t at = h->data_offset + weight->offset + 2 * 100;
        last[at] = 0x00;
        last[at + 1] = 0x7e;  // F16 NaN
        FILE* f = std::fopen(shards[2].c_str(), "wb");
        std::fwrite(last.data(), 1, last.size(), f);
        std::fclose(f);
        EXPECT_NE(run_cli({"--keep-split", shards[0], (dir.path / "o").string(), "Q8_0"}, &err), 0);
        EXPECT_NE(err.find("'" + weight->name + "' has NaN"), std::string::npos) << err;
        EXPECT_NE(err.find("writing shard 3 of 3"), std::string::npos) << err;
        EXPECT_TRUE(no_new_files());
        EXPECT_NE(run_cli({shards[0], (dir.path / "o.gguf").string(), "Q8_0"}), 0);
        EXPECT_TRUE(no_new_files());
    }

    // The last shard cut short: refused when the shards are read.
    std::vector<uint8_t> last = test_support::read_all(shards[2]);
    {
        FILE* f = std::fopen(shards[2].c_str(), "wb");
        std::fwrite(last.data(), 1, last.size() - 1000, f);
        std::fclose(f);
    }
    EXPECT_NE(run_cli({"--keep-split", shards[0], (dir.path / "o").string(), "Q8_0"}, &err), 0);
    EXPECT_NE(err.find("m-00003-of-00003.gguf"), std::string::npos) << err;
    EXPECT_TRUE(no_new_files());

    // A missing shard.
    fs::remove(shards[2]);
    const std::vector<std::string> two = dir.files();
    EXPECT_NE(run_cli({shards[0], (dir.path / "o.gguf").string(), "Q8_0"}, &err), 0);
    EXPECT_EQ(dir.files(), two);
}

}  // namespace
}  // namespace gguf_squash
