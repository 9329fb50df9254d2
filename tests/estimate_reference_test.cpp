// The estimator against llama-quantize: for every successful plain run and every run with the
// imatrix (GGUF and legacy .dat) in llama-gqa.reference.json, the estimated file_size is the size
// llama-quantize wrote; every type it refused without an imatrix is marked requires_imatrix.
// Also the JSON shape and the recommendation logic.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "estimate/estimate_report.h"
#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

using test_support::reference_runs;

const ftype_estimate* row_named(const estimate_report& r, const std::string& name) {
    for (const ftype_estimate& f : r.ftypes)
        if (f.name == name) return &f;
    return nullptr;
}

TEST(EstimateReference, PlainRunsSizesAndImatrixRefusals) {
    result<estimate_report> r = make_estimate(test_support::reference_input_header(), {});
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->ftypes.size(), 36u);  // 35 types plus COPY, as llama-quantize lists them
    int sizes = 0, refusals = 0;
    for (const auto& run : reference_runs()) {
        if (!run.args.empty()) continue;
        SCOPED_TRACE(run.name);
        const ftype_estimate* f = row_named(*r, run.ftype);
        ASSERT_NE(f, nullptr);
        ASSERT_TRUE(f->ok) << f->error;
        if (run.refused()) {
            EXPECT_TRUE(f->requires_imatrix) << "llama-quantize refused it without an imatrix";
            ++refusals;
        } else {
            EXPECT_FALSE(f->requires_imatrix);
            EXPECT_EQ(f->file_size, run.file_size);
            ++sizes;
        }
    }
    std::printf("[estimate] %d plain sizes exact, %d imatrix refusals flagged\n", sizes, refusals);
    EXPECT_EQ(sizes + refusals, 36);
    EXPECT_EQ(refusals, 9);
}

void check_imatrix_runs(const std::string& file, int expected_runs) {
    std::vector<uint8_t> bytes = test_support::read_all(test_support::models_dir() + "/" + file);
    result<imatrix_data> im = parse_imatrix(bytes.data(), bytes.size());
    ASSERT_TRUE(im.ok()) << im.error().message();
    estimate_options o;
    o.imatrix = &*im;
    o.imatrix_name = file;
    result<estimate_report> r = make_estimate(test_support::reference_input_header(), o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    int sizes = 0;
    for (const auto& run : reference_runs()) {
        if (run.args != std::vector<std::string>{"--imatrix", file}) continue;
        SCOPED_TRACE(run.name);
        ASSERT_FALSE(run.refused());
        const ftype_estimate* f = row_named(*r, run.ftype);
        ASSERT_NE(f, nullptr);
        ASSERT_TRUE(f->ok) << f->error;
        EXPECT_EQ(f->file_size, run.file_size);
        ++sizes;
    }
    std::printf("[estimate] %d sizes with %s exact\n", sizes, file.c_str());
    EXPECT_EQ(sizes, expected_runs);
}

TEST(EstimateReference, ImatrixRunsSizes) {
    check_imatrix_runs("llama-gqa.imatrix.gguf", 32);
    check_imatrix_runs("llama-gqa.imatrix.dat", 2);
}

TEST(EstimateReference, JsonShape) {
    estimate_options o;
    o.ctx = 4096;
    o.kv_type = ggml_type::q8_0;
    o.memory_bytes = 64ull << 20;
    result<estimate_report> r = make_estimate(test_support::reference_input_header(), o);
    ASSERT_TRUE(r.ok());
    const nlohmann::json j = nlohmann::json::parse(estimate_to_json(*r));
    EXPECT_EQ(j["model"]["arch"], "llama");
    EXPECT_EQ(j["model"]["layers"], 8);
    EXPECT_EQ(j["model"]["head_count_kv"], 1);
    EXPECT_EQ(j["model"]["params"], r->model.n_params);
    ASSERT_EQ(j["ftypes"].size(), 36u);
    for (const auto& f : j["ftypes"]) {
        for (const char* k :
             {"name", "file_size", "bpw", "requires_imatrix", "fallback_tensors", "tensor_types"}) {
            EXPECT_TRUE(f.contains(k)) << k;
        }
        int n = 0;
        for (const auto& [type, count] : f["tensor_types"].items()) n += count.get<int>();
        EXPECT_EQ(n, 75);
    }
    const auto& m = j["memory"];
    EXPECT_EQ(m["ctx"], 4096);
    EXPECT_EQ(m["kv_type"], "q8_0");
    EXPECT_EQ(m["kv_bytes"], 4456448);  // 4.25 MiB, llama.cpp's figure
    EXPECT_EQ(m["total_bytes"].get<uint64_t>(), m["weights_bytes"].get<uint64_t>() +
                                                    m["kv_bytes"].get<uint64_t>() +
                                                    m["other_bytes"].get<uint64_t>());
    EXPECT_TRUE(m["max_ctx"].is_number());
    EXPECT_TRUE(j["recommendation"]["name"].is_string());
    // Native and wasm render from the same code; the text table names every type.
    const std::string text = estimate_to_text(*r);
    for (const auto& f : j["ftypes"])
        EXPECT_NE(text.find(f["name"].get<std::string>()), std::string::npos);
}

TEST(EstimateReference, Recommendation) {
    const gguf_header& h = test_support::reference_input_header();
    // No budget: the default.
    result<estimate_report> r = make_estimate(h, {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->rec.name.value_or(""), "Q4_K_M");
    // Plenty of memory, a small model: Q8_0.
    estimate_options o;
    o.memory_bytes = 1ull << 30;
    r = make_estimate(h, o);
    EXPECT_EQ(r->rec.name.value_or(""), "Q8_0");
    const ftype_estimate* q8 = row_named(*r, "Q8_0");
    // Just too little for Q8_0 and Q6_K but enough for Q5_K_M: one step down.
    const ftype_estimate* q6 = row_named(*r, "Q6_K");
    const ftype_estimate* q5 = row_named(*r, "Q5_K_M");
    ASSERT_TRUE(q8 && q6 && q5);
    o.memory_bytes = q6->memory.total_bytes - 1;
    ASSERT_GE(*o.memory_bytes, q5->memory.total_bytes);
    r = make_estimate(h, o);
    EXPECT_EQ(r->rec.name.value_or(""), "Q5_K_M");
    EXPECT_EQ(row_named(*r, "Q6_K")->fits, false);
    EXPECT_EQ(row_named(*r, "Q5_K_M")->fits, true);
    // Only 2-3 bit types fit: recommended with the advice to prefer a smaller model.
    const ftype_estimate* q2 = row_named(*r, "Q2_K");
    o.memory_bytes = q2->memory.total_bytes;
    r = make_estimate(h, o);
    EXPECT_EQ(r->rec.name.value_or(""), "Q2_K");
    EXPECT_FALSE(r->rec.advice.empty());
    // Nothing fits.
    o.memory_bytes = 1 << 20;
    r = make_estimate(h, o);
    EXPECT_FALSE(r->rec.name.has_value());
}

}  // namespace
}  // namespace gguf_squash
