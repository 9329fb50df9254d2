// Importance matrices: both formats of the fixture load to the same normalised values with the
// metadata llama-quantize records, include/exclude filter as llama-quantize does, and truncated
// or corrupted files are refused without crashing.
#include <gtest/gtest.h>

#include <cmath>

#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

TEST(PlanImatrix, GgufAndLegacyFormatsAgree) {
    const auto g = test_support::read_all(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
    const auto d = test_support::read_all(test_support::models_dir() + "/llama-gqa.imatrix.dat");
    ASSERT_FALSE(g.empty());
    ASSERT_FALSE(d.empty());
    auto gi = parse_imatrix(g.data(), g.size());
    auto di = parse_imatrix(d.data(), d.size());
    ASSERT_TRUE(gi.ok()) << gi.error().message();
    ASSERT_TRUE(di.ok()) << di.error().message();
    EXPECT_FALSE(gi->is_legacy);
    EXPECT_TRUE(di->is_legacy);
    // The values the reference headers record (quantize.imatrix.*).
    EXPECT_EQ(gi->entries.size(), 56u);
    EXPECT_EQ(di->entries.size(), 56u);
    EXPECT_EQ(gi->chunk_count, 40);
    EXPECT_EQ(di->chunk_count, 40);
    ASSERT_FALSE(gi->datasets.empty());
    EXPECT_EQ(gi->datasets[0], "calib.txt");
    ASSERT_FALSE(di->datasets.empty());
    EXPECT_EQ(di->datasets[0], "calib.txt");
    // llama-quantize wrote identical tensors from either file, so the values agree closely.
    for (const auto& [name, values] : gi->entries) {
        auto it = di->entries.find(name);
        ASSERT_NE(it, di->entries.end()) << name;
        ASSERT_EQ(it->second.size(), values.size()) << name;
        for (size_t i = 0; i < values.size(); ++i) {
            ASSERT_NEAR(values[i], it->second[i], 1e-5f * std::fabs(values[i]) + 1e-30f) << name;
        }
    }
}

TEST(PlanImatrix, IncludeAndExcludeFilterBySubstring) {
    const auto g = test_support::read_all(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
    auto base = parse_imatrix(g.data(), g.size());
    ASSERT_TRUE(base.ok());
    imatrix_data inc = *base;
    ASSERT_TRUE(filter_imatrix(inc, {"attn_v", "ffn_down"}, {}).ok());
    EXPECT_EQ(inc.entries.size(), 16u);  // 8 layers x 2
    imatrix_data exc = *base;
    ASSERT_TRUE(filter_imatrix(exc, {}, {"ffn_up"}).ok());
    EXPECT_EQ(exc.entries.size(), 48u);
    imatrix_data both = *base;
    EXPECT_FALSE(filter_imatrix(both, {"a"}, {"b"}).ok());
}

TEST(PlanImatrix, TruncatedAndCorruptFilesAreRefused) {
    for (const char* file : {"/llama-gqa.imatrix.gguf", "/llama-gqa.imatrix.dat"}) {
        SCOPED_TRACE(file);
        const auto bytes = test_support::read_all(test_support::models_dir() + file);
        ASSERT_FALSE(bytes.empty());
        int refused = 0, cuts = 0;
        for (size_t cut : {size_t(0), size_t(3), size_t(4), size_t(11), size_t(100),
                           bytes.size() / 3, bytes.size() / 2, bytes.size() - 700}) {
            ++cuts;
            auto r = parse_imatrix(bytes.data(), cut);
            refused += !r.ok();
        }
        EXPECT_EQ(refused, cuts);
        // A huge value count in the legacy format must not allocate or read past the end.
        std::vector<uint8_t> hostile = {1, 0, 0, 0, 1,    0,    0,    0,   'x',
                                        1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
        EXPECT_FALSE(parse_imatrix(hostile.data(), hostile.size()).ok());
    }
}

}  // namespace
}  // namespace gguf_squash
