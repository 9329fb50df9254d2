// The plan against llama-quantize itself: for every run in llama-gqa.reference.json, the planned
// tensor order, names, types, offsets and sizes and the file size equal what llama-quantize
// wrote, the planned header hashes to the reference header, and every refusal is refused.
#include <gtest/gtest.h>

#include <regex>

#include "format/gguf_writer.h"
#include "kernel_isa_harness.h"
#include "pipeline_reference.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

using test_support::reference_runs;

// Run once per kernel implementation: the plan asks the kernel table what it can write, and the
// answer (so the plan) must not depend on which implementation is active.
class PlanReferenceEveryIsa : public every_kernel_isa {};

TEST_P(PlanReferenceEveryIsa, EveryRunMatchesLlamaQuantize) {
    const auto& runs = reference_runs();
    ASSERT_EQ(runs.size(), 78u);
    const gguf_header& input = test_support::reference_input_header();
    ASSERT_EQ(input.tensors.size(), 75u);
    int matched = 0, refused_ok = 0, header_ok = 0;
    for (const auto& run : runs) {
        SCOPED_TRACE(run.name);
        result<test_support::prepared_run> prep = test_support::prepare_run(run);
        ASSERT_TRUE(prep.ok()) << prep.error().message();
        result<quant_plan> plan = make_quant_plan(input, prep->args.options);
        if (run.refused()) {
            EXPECT_FALSE(plan.ok()) << "llama-quantize refused this run";
            if (!plan.ok()) {
                EXPECT_EQ(plan.error().code(), status_code::refused) << plan.error().message();
                ++refused_ok;
            }
            continue;
        }
        ASSERT_TRUE(plan.ok()) << plan.error().message();
        EXPECT_EQ(plan->file_size, run.file_size);
        EXPECT_EQ(plan->header_size, run.header_size);
        ASSERT_EQ(plan->tensors.size(), run.tensors.size());
        bool all = plan->file_size == run.file_size;
        for (size_t i = 0; i < run.tensors.size(); ++i) {
            const tensor_plan& tp = plan->tensors[i];
            const auto& ref = run.tensors[i];
            const bool same = tp.name == ref.name && type_name(tp.target_type) == ref.type &&
                              tp.target_offset == ref.offset && tp.target_bytes == ref.nbytes;
            EXPECT_TRUE(same) << "tensor " << i << ": planned " << tp.name << " "
                              << type_name(tp.target_type) << " @" << tp.target_offset << " +"
                              << tp.target_bytes << ", reference " << ref.name << " " << ref.type
                              << " @" << ref.offset << " +" << ref.nbytes;
            all = all && same;
        }
        result<std::vector<uint8_t>> header = encode_gguf_header(plan->output);
        ASSERT_TRUE(header.ok()) << header.error().message();
        const bool hdr =
            gguf_squash::sha256_hex(header->data(), header->size()) == run.header_sha256;
        EXPECT_TRUE(hdr) << "planned header differs from the reference header";
        header_ok += hdr;
        matched += all;
    }
    int successes = 0;
    for (const auto& r : runs) successes += !r.refused();
    std::printf(
        "[plan] %d of %d successful runs planned exactly (types, offsets, sizes), "
        "%d headers identical; %d of %d refusals refused\n",
        matched, successes, header_ok, refused_ok, int(runs.size()) - successes);
}

GS_INSTANTIATE_EVERY_KERNEL_ISA(PlanReferenceEveryIsa);

TEST(PlanReference, FtypeNamesAliasesAndNumbers) {
    ASSERT_TRUE(parse_ftype("q4_k_m").has_value());
    EXPECT_EQ(parse_ftype("q4_k_m")->ftype, llama_ftype::mostly_q4_k_m);
    EXPECT_EQ(parse_ftype("Q4_K")->ftype, llama_ftype::mostly_q4_k_m);
    EXPECT_EQ(parse_ftype("q3_k")->ftype, llama_ftype::mostly_q3_k_m);
    EXPECT_EQ(parse_ftype("Q5_K")->ftype, llama_ftype::mostly_q5_k_m);
    EXPECT_EQ(parse_ftype("15")->name, "Q4_K");  // first option with id 15, as llama-quantize
    EXPECT_EQ(parse_ftype("0")->name, "F32");
    EXPECT_TRUE(parse_ftype("copy")->only_copy);
    EXPECT_FALSE(parse_ftype("Q4_2").has_value());
    EXPECT_FALSE(parse_ftype("39").has_value());  // NVFP4 is not offered
    EXPECT_FALSE(parse_ftype("out.gguf").has_value());
    for (const ftype_option& o : quantize_ftype_options()) {
        auto p = parse_ftype(o.name);
        ASSERT_TRUE(p.has_value()) << o.name;
        EXPECT_EQ(p->ftype, o.ftype);
        EXPECT_TRUE(ftype_default_type(o.ftype).has_value()) << o.name;
    }
}

TEST(PlanReference, DefaultOutputNameAndPositionals) {
    auto a = parse_quantize_args({"dir/model.gguf", "q4_k_m", "4"}, nullptr);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->output, "dir/ggml-model-Q4_K_M.gguf");
    EXPECT_EQ(a->nthreads, 4);
    auto b = parse_quantize_args({"m.gguf", "out.gguf", "Q8_0"}, nullptr);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->output, "out.gguf");
    EXPECT_FALSE(parse_quantize_args({"m.gguf", "out.gguf", "Q9"}, nullptr).ok());
    EXPECT_FALSE(
        parse_quantize_args({"--include-weights", "a", "--exclude-weights", "b", "m.gguf", "Q4_0"},
                            nullptr)
            .ok());
}

}  // namespace
}  // namespace gguf_squash

namespace gguf_squash {
namespace {

// The wasm-side regex check must never pass a pattern std::regex rejects (that would abort
// there), and must pass the patterns people write.
TEST(PlanReference, RegexPrecheckIsSafe) {
    const char* accepted[] = {
        "attn_v",        "\\.([0-3])\\.ffn_up", "blk\\.[0-9]+\\.ffn_(up|gate)", "^output\\.weight$",
        "ffn_down_exps", "(?:attn|ffn)_.*",     "blk\\.(1[0-9]|2[0-3])\\.",     "a{2,3}",
        "x\\d+?"};
    const char* refused[] = {"(",  ")", "[a-", "a**",     "*a",    "a{3,2}",
                             "\\", "{", "a|*", "(?<x>a)", "[z-a]", "\\2(a)"};
    for (const char* p : accepted) {
        EXPECT_TRUE(plausible_regex_pattern(p)) << p;
    }
    for (const char* p : refused) {
        EXPECT_FALSE(plausible_regex_pattern(p)) << p;
    }
#ifndef GGUF_SQUASH_WASM_TEST
    for (const char* p : accepted) {
        EXPECT_NO_THROW(std::regex r(p)) << p;
    }
#endif
}

}  // namespace
}  // namespace gguf_squash
