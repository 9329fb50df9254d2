// gguf-squash fit through the CLI: -o writes the type file, the printed command run with
// gguf-squash quantize in place of llama-quantize writes a file of exactly the predicted size,
// with the fitted types; impossible targets fail naming the smallest size and leave no file;
// usage errors exit 2. Native only (runs the binary).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "io/gguf_file.h"
#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

test_support::shell_result in_models(const std::string& cmd) {
    return test_support::run_shell("cd " + test_support::shell_quote(test_support::models_dir()) +
                                   " && " + cmd);
}

std::string cli() {
    return test_support::shell_quote(GGUF_SQUASH_CLI);
}

TEST(FitCli, ThePrintedCommandWritesThePredictedSize) {
    test_support::temp_dir dir;
    const std::string types = (dir.path / "types.txt").string();
    const test_support::shell_result r =
        in_models(cli() + " fit --target-size 4.6MiB --imatrix llama-gqa.imatrix.gguf --json " +
                  "llama-gqa.gguf -o " + test_support::shell_quote(types));
    ASSERT_EQ(r.status, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    const uint64_t predicted = j.at("file_size");
    EXPECT_LE(predicted, uint64_t(4.6 * 1048576));
    EXPECT_EQ(j.at("error_measure"), "weighted_mse");
    ASSERT_TRUE(std::filesystem::exists(types));
    const std::vector<uint8_t> text = test_support::read_all(types);
    const std::string s(text.begin(), text.end());
    EXPECT_NE(s.find("^blk\\.0\\.attn_q\\.weight$="), std::string::npos) << s;
    EXPECT_EQ(size_t(std::count(s.begin(), s.end(), '\n')), j.at("tensor_types").size());

    std::string command = j.at("command");
    ASSERT_EQ(command.rfind("llama-quantize --tensor-type-file ", 0), 0u) << command;
    EXPECT_NE(command.find("--imatrix llama-gqa.imatrix.gguf llama-gqa.gguf "), std::string::npos)
        << command;
    // Ours in place of llama-quantize, writing into the temporary folder.
    command.replace(0, std::string("llama-quantize").size(), cli() + " quantize");
    const std::string out = (dir.path / "fit.gguf").string();
    command.replace(command.find("llama-gqa-fit.gguf"), std::string("llama-gqa-fit.gguf").size(),
                    test_support::shell_quote(out));
    const test_support::shell_result q = in_models(command);
    ASSERT_EQ(q.status, 0) << command << "\n" << q.err;
    EXPECT_EQ(std::filesystem::file_size(out), predicted);
    result<gguf_header> h = read_gguf_header_file(out);
    ASSERT_TRUE(h.ok());
    for (const auto& t : j.at("tensor_types")) {
        const int64_t i = h->find_tensor(t.at("name").get<std::string>());
        ASSERT_GE(i, 0);
        EXPECT_EQ(type_info(h->tensors[size_t(i)].type).ggml_name, t.at("type").get<std::string>());
    }
}

TEST(FitCli, TextAndErrors) {
    test_support::temp_dir dir;
    const std::string types = (dir.path / "t.txt").string();
    const test_support::shell_result text = in_models(
        cli() + " fit --target-bpw 4.5 llama-gqa.gguf -o " + test_support::shell_quote(types));
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_NE(text.out.find("command:\n  llama-quantize --tensor-type-file "), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("16 rows per matrix measured"), std::string::npos) << text.out;

    const std::string none = (dir.path / "none.txt").string();
    const test_support::shell_result tiny = in_models(
        cli() + " fit --target-size 1000 llama-gqa.gguf -o " + test_support::shell_quote(none));
    EXPECT_EQ(tiny.status, 1);
    EXPECT_NE(tiny.err.find("the smallest file the plan allows is"), std::string::npos) << tiny.err;
    EXPECT_FALSE(std::filesystem::exists(none));

    const test_support::shell_result mem =
        in_models(cli() + " fit --memory 1MiB --ctx 4096 llama-gqa.gguf");
    EXPECT_EQ(mem.status, 1);
    EXPECT_NE(mem.err.find("smallest that works is"), std::string::npos) << mem.err;

    EXPECT_EQ(in_models(cli() + " fit llama-gqa.gguf").status, 2);  // no target
    EXPECT_EQ(in_models(cli() + " fit --target-size 5MB --target-bpw 4 llama-gqa.gguf").status, 2);
    EXPECT_EQ(in_models(cli() + " fit --target-size 5XB llama-gqa.gguf").status, 2);
    EXPECT_EQ(in_models(cli() + " fit --target-size 5MB --ctx 10 llama-gqa.gguf").status, 2);
    EXPECT_EQ(in_models(cli() + " fit --target-size 5MB --base F16 llama-gqa.gguf").status, 2);
    EXPECT_EQ(in_models(cli() + " fit --target-size 5MB missing.gguf").status, 1);
}

}  // namespace
}  // namespace gguf_squash
