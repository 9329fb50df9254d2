// The parameter-count model's table (wasm/estimate_params.mjs, between the RECIPE markers) is what
// core/estimate/params_recipe computes from make_quant_plan today. Run with
// GGUF_SQUASH_WRITE_RECIPE=1 to rewrite the table after a recipe change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "estimate/params_recipe.h"

namespace gguf_squash {
namespace {

const std::string kBegin = "/* RECIPE BEGIN */";
const std::string kEnd = "/* RECIPE END */";

TEST(EstimateParamsNative, JsTableMatchesThePlan) {
    result<std::string> table = params_recipe_json();
    ASSERT_TRUE(table.ok()) << table.error().message();
    const std::string path = std::string(GGUF_SQUASH_FIXTURES) + "/../../wasm/estimate_params.mjs";
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << path;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string js = ss.str();
    const size_t b = js.find(kBegin), e = js.find(kEnd);
    ASSERT_NE(b, std::string::npos);
    ASSERT_NE(e, std::string::npos);
    const std::string current = js.substr(b + kBegin.size(), e - b - kBegin.size());
    if (std::getenv("GGUF_SQUASH_WRITE_RECIPE")) {
        js.replace(b + kBegin.size(), e - b - kBegin.size(), *table);
        std::ofstream(path) << js;
        GTEST_SKIP() << "table rewritten";
    }
    const nlohmann::json want = nlohmann::json::parse(*table);
    const nlohmann::json have = nlohmann::json::parse(current);
    EXPECT_EQ(have, want) << "regenerate with GGUF_SQUASH_WRITE_RECIPE=1";
    // The anchors span 0.5B to 405B and are ordered by size.
    uint64_t prev = 0;
    for (const auto& a : want["anchors"]) {
        EXPECT_GT(a["params"].get<uint64_t>(), prev);
        prev = a["params"];
    }
    // The Llama-3.1-8B anchor has Llama-3.1-8B's published size.
    EXPECT_EQ(want["anchors"][3]["params"].get<uint64_t>() / 10'000'000, 803u);
}

}  // namespace
}  // namespace gguf_squash
