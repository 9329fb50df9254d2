// gguf-squash quality through the CLI: the JSON contract, the text saying how many rows were
// measured, the usage errors (exit 2) and unreadable inputs (exit 1). Native only (runs the
// binary).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

test_support::shell_result quality(const std::string& args) {
    return test_support::run_shell(test_support::shell_quote(GGUF_SQUASH_CLI) + " quality " + args);
}

// Run in the fixture folder, so that the imatrix name is recorded as llama-quantize's runs typed
// it.
test_support::shell_result quality_in_models(const std::string& args) {
    return test_support::run_shell("cd " + test_support::shell_quote(test_support::models_dir()) +
                                   " && " + test_support::shell_quote(GGUF_SQUASH_CLI) +
                                   " quality " + args);
}

std::string model() {
    return test_support::shell_quote(test_support::models_dir() + "/llama-gqa.gguf");
}

TEST(QualityCli, JsonForTheRequestedTypes) {
    const test_support::shell_result r = quality_in_models(
        "--types Q4_K_M,Q8_0 --rows 8 --json --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf");
    ASSERT_EQ(r.status, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j.at("ftypes").size(), 2u);
    EXPECT_EQ(j.at("ftypes")[0].at("name"), "Q4_K_M");
    EXPECT_EQ(j.at("ftypes")[1].at("name"), "Q8_0");
    for (const auto& f : j.at("ftypes")) {
        EXPECT_EQ(f.at("rows"), 8);
        EXPECT_GT(f.at("rmse").get<double>(), 0.0);
        EXPECT_GT(f.at("weighted_mse").get<double>(), 0.0);
        EXPECT_EQ(f.at("tensors").size(), 75u);
    }
    // Q8_0 keeps more of the weights than Q4_K_M.
    EXPECT_LT(j.at("ftypes")[1].at("rmse").get<double>(),
              j.at("ftypes")[0].at("rmse").get<double>());
    // The sizes are the plan's, which are llama-quantize's.
    for (const auto& run : test_support::reference_runs()) {
        if (run.name == "Q4_K_M+imatrix") {
            EXPECT_EQ(j.at("ftypes")[0].at("file_size"), run.file_size);
        }
    }
}

TEST(QualityCli, TextSaysHowManyRowsWereMeasured) {
    const test_support::shell_result r = quality("--types Q4_0 " + model());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("measured 16 evenly spaced rows per matrix"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Q4_0"), std::string::npos);
    const test_support::shell_result all = quality("--types Q4_0 --rows all " + model());
    ASSERT_EQ(all.status, 0) << all.err;
    EXPECT_NE(all.out.find("every row of every matrix measured"), std::string::npos) << all.out;
}

TEST(QualityCli, UsageAndInputErrors) {
    EXPECT_EQ(quality("--rows 0 " + model()).status, 2);
    EXPECT_EQ(quality("--types Q9_K " + model()).status, 2);
    EXPECT_EQ(quality("--bogus " + model()).status, 2);
    EXPECT_EQ(quality("").status, 2);
    const test_support::shell_result missing = quality("/nonexistent/model.gguf");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("/nonexistent/model.gguf"), std::string::npos) << missing.err;
    const test_support::shell_result bad_im = quality("--imatrix /nonexistent.dat " + model());
    EXPECT_EQ(bad_im.status, 1);
    EXPECT_NE(bad_im.err.find("/nonexistent.dat"), std::string::npos) << bad_im.err;
    const test_support::shell_result help = quality("--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("--rows N|all"), std::string::npos);
}

}  // namespace
}  // namespace gguf_squash
