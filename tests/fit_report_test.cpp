// gguf-squash fit on the reference model: never worse than Q3_K_M, Q4_K_M or Q5_K_M at their own
// size (error measured by `quality` for the standard type), the types llama-quantize would be
// given plan to exactly the predicted size, impossible targets name the smallest that works, and
// the candidates follow the plan's imatrix rules. Portable: runs natively and in wasm.
#include "quality/fit_report.h"

#include <gtest/gtest.h>

#include <regex>

#include "plan/quantize_args.h"
#include "quality_support.h"

namespace gguf_squash {
namespace {

struct measured_fit {
    fit_setup setup;
    std::vector<std::vector<error_sums>> results;
    std::unique_ptr<imatrix_data> imatrix;
};

// One measurement per configuration, shared by the targets (the setup does not depend on them).
const measured_fit& measured(bool with_imatrix) {
    static std::map<bool, std::unique_ptr<measured_fit>> cache;
    auto& slot = cache[with_imatrix];
    if (slot) return *slot;
    slot = std::make_unique<measured_fit>();
    fit_options o;
    if (with_imatrix) {
        const std::vector<uint8_t> b =
            test_support::read_all(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
        result<imatrix_data> im = parse_imatrix(b.data(), b.size());
        EXPECT_TRUE(im.ok());
        slot->imatrix = std::make_unique<imatrix_data>(std::move(*im));
        o.imatrix = slot->imatrix.get();
        o.imatrix_name = "llama-gqa.imatrix.gguf";
    }
    result<fit_setup> setup = plan_fit(test_support::reference_model(), o);
    EXPECT_TRUE(setup.ok()) << setup.error().message();
    if (!setup.ok()) return *slot;
    slot->setup = std::move(*setup);
    measure_job job(slot->setup.measures.requests);
    EXPECT_TRUE(
        run_measure_job(job, test_support::memory_reader(test_support::reference_model_bytes()))
            .ok());
    slot->results = job.results();
    return *slot;
}

result<fit_result> fit_to(bool with_imatrix, const fit_target& target) {
    const measured_fit& m = measured(with_imatrix);
    fit_setup setup = m.setup;
    setup.options.target = target;
    return solve_fit_setup(setup, m.results);
}

fit_target size_target(uint64_t bytes) {
    fit_target t;
    t.kind = fit_target_kind::file_size;
    t.bytes = bytes;
    return t;
}

TEST(FitReport, NeverWorseThanTheStandardTypeAtItsSize) {
    int compared = 0;
    for (const bool with_imatrix : {false, true}) {
        for (const std::string name : {"Q3_K_M", "Q4_K_M", "Q5_K_M"}) {
            SCOPED_TRACE(name + (with_imatrix ? "+imatrix" : ""));
            // The standard type as `quality` measures it.
            quality_options q;
            q.ftypes = {name};
            if (with_imatrix) {
                q.imatrix = measured(true).imatrix.get();
                q.imatrix_name = "llama-gqa.imatrix.gguf";
            }
            const quality_report report = test_support::measure_reference(q);
            ASSERT_EQ(report.ftypes.size(), 1u);
            const ftype_quality& standard = report.ftypes[0];
            ASSERT_GT(standard.total_error, 0.0);

            result<fit_result> fit = fit_to(with_imatrix, size_target(standard.file_size));
            ASSERT_TRUE(fit.ok()) << fit.error().message();
            EXPECT_LE(fit->file_size, standard.file_size);
            EXPECT_LE(fit->total_error, standard.total_error);
            // The optimiser itself, before any comparison with the standard mixes.
            EXPECT_LE(fit->optimiser_error, standard.total_error);
            EXPECT_TRUE(fit->from_standard.empty()) << fit->from_standard;
            // The fit's own view of that standard mix is the same measurement.
            bool listed = false;
            for (const fit_comparison& c : fit->standards) {
                if (c.name != name) continue;
                listed = true;
                EXPECT_EQ(c.file_size, standard.file_size);
                EXPECT_NEAR(c.total_error, standard.total_error, 1e-9 * standard.total_error);
                EXPECT_TRUE(c.fits);
            }
            EXPECT_TRUE(listed);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 6);
}

TEST(FitReport, TheTypeFilePlansToThePredictedSize) {
    for (const bool with_imatrix : {false, true}) {
        for (const uint64_t target : {4200000ull, 5000000ull, 6000000ull}) {
            SCOPED_TRACE(std::to_string(target) + (with_imatrix ? "+imatrix" : ""));
            result<fit_result> fit = fit_to(with_imatrix, size_target(target));
            ASSERT_TRUE(fit.ok()) << fit.error().message();
            EXPECT_LE(fit->file_size, target);
            EXPECT_GT(fit->file_size, target * 97 / 100);  // the budget is used
            const std::string file = fit_type_file(*fit);
            // The command llama-quantize is given, parsed as our quantize parses it.
            std::vector<std::string> argv = {"--tensor-type-file", "TYPES.txt"};
            if (with_imatrix) {
                argv.push_back("--imatrix");
                argv.push_back("llama-gqa.imatrix.gguf");
            }
            argv.insert(argv.end(), {"llama-gqa.gguf", "out.gguf", fit->base});
            result<quantize_args> a =
                parse_quantize_args(argv, [&](const std::string& path) -> result<std::string> {
                    EXPECT_EQ(path, "TYPES.txt");
                    return file;
                });
            ASSERT_TRUE(a.ok()) << a.error().message();
            ASSERT_EQ(a->options.tensor_types.size(), fit->types.size());
            if (with_imatrix) a->options.imatrix = measured(true).imatrix.get();
            a->options.imatrix_file = a->imatrix_file;
            result<quant_plan> plan =
                make_quant_plan(test_support::reference_input_header(), a->options);
            ASSERT_TRUE(plan.ok()) << plan.error().message();
            EXPECT_EQ(plan->file_size, fit->file_size);
            size_t k = 0;
            for (const tensor_plan& tp : plan->tensors) {
                if (!tp.allows_quantization) continue;
                ASSERT_LT(k, fit->types.size());
                EXPECT_EQ(tp.name, fit->types[k].first);
                EXPECT_EQ(tp.target_type, fit->types[k].second) << tp.name;
                ++k;
            }
            EXPECT_EQ(k, fit->types.size());
        }
    }
}

TEST(FitReport, ImpossibleTargetsNameTheSmallestThatWorks) {
    result<fit_result> tiny = fit_to(false, size_target(1000));
    ASSERT_FALSE(tiny.ok());
    EXPECT_EQ(tiny.error().code(), status_code::refused);
    const std::regex smallest("smallest file the plan allows is ([0-9]+) bytes");
    std::smatch m;
    const std::string msg = tiny.error().message();
    ASSERT_TRUE(std::regex_search(msg, m, smallest)) << msg;
    const uint64_t n = std::stoull(m[1].str());
    const result<fit_result> at_smallest = fit_to(false, size_target(n));
    ASSERT_TRUE(at_smallest.ok()) << at_smallest.error().message();
    EXPECT_EQ(at_smallest->file_size, n);
    EXPECT_FALSE(fit_to(false, size_target(n - 1)).ok());
    // No standard type is smaller.
    ASSERT_FALSE(at_smallest->standards.empty());
    for (const fit_comparison& c : at_smallest->standards) EXPECT_LE(n, c.file_size) << c.name;

    fit_target bpw;
    bpw.kind = fit_target_kind::bpw;
    bpw.bpw = 0.5;
    result<fit_result> low = fit_to(false, bpw);
    ASSERT_FALSE(low.ok());
    EXPECT_NE(low.error().message().find("the smallest is"), std::string::npos)
        << low.error().message();
    bpw.bpw = 4.5;
    result<fit_result> at = fit_to(false, bpw);
    ASSERT_TRUE(at.ok()) << at.error().message();
    EXPECT_LE(at->bpw, 4.5);
    EXPECT_GT(at->bpw, 4.3);

    fit_target mem;
    mem.kind = fit_target_kind::memory;
    mem.bytes = 8ull << 20;
    mem.ctx = 4096;
    result<fit_result> small = fit_to(false, mem);
    ASSERT_FALSE(small.ok());
    const std::regex works("smallest that works is ([0-9]+) bytes");
    const std::string mm = small.error().message();
    ASSERT_TRUE(std::regex_search(mm, m, works)) << mm;
    mem.bytes = std::stoull(m[1].str());
    result<fit_result> fits = fit_to(false, mem);
    ASSERT_TRUE(fits.ok()) << fits.error().message();
    ASSERT_TRUE(fits->memory.has_value());
    EXPECT_LE(fits->memory->total_bytes, mem.bytes);
    mem.bytes -= 1;
    EXPECT_FALSE(fit_to(false, mem).ok());
}

TEST(FitReport, CandidatesFollowThePlansImatrixRules) {
    const std::vector<ggml_type> needs_imatrix = {ggml_type::iq2_xxs, ggml_type::iq2_xs,
                                                  ggml_type::iq2_s,   ggml_type::iq1_s,
                                                  ggml_type::iq1_m,   ggml_type::iq3_xxs};
    auto has = [](const fit_tensor& t, ggml_type type) {
        for (const fit_candidate& c : t.candidates)
            if (c.type == type) return true;
        return false;
    };
    int blocks = 0;
    for (const bool with_imatrix : {false, true}) {
        for (const fit_tensor& t : measured(with_imatrix).setup.tensors) {
            EXPECT_TRUE(has(t, ggml_type::q4_k)) << t.name;
            EXPECT_TRUE(has(t, ggml_type::f16)) << t.name;
            if (t.name.rfind("blk.", 0) == 0) {
                ++blocks;
                for (ggml_type type : needs_imatrix)
                    EXPECT_EQ(has(t, type), with_imatrix) << t.name << " " << type_name(type);
            } else if (t.name == "token_embd.weight") {
                // Exempt from the rule, but IQ2_XXS/IQ2_XS/IQ1_S cannot be made without one.
                EXPECT_TRUE(has(t, ggml_type::iq3_xxs));
                EXPECT_FALSE(has(t, ggml_type::iq2_xxs));
            }
        }
    }
    EXPECT_EQ(blocks, 2 * 56);
}

TEST(FitReport, SizesAndPatternsParse) {
    EXPECT_EQ(*parse_size("5170528"), 5170528u);
    EXPECT_EQ(*parse_size("4.5GiB"), uint64_t(4.5 * 1073741824.0));
    EXPECT_EQ(*parse_size("4800MB"), 4800000000u);
    EXPECT_EQ(*parse_size("512M"), 512u << 20);
    EXPECT_EQ(*parse_size("2kib"), 2048u);
    EXPECT_FALSE(parse_size("").ok());
    EXPECT_FALSE(parse_size("GiB").ok());
    EXPECT_FALSE(parse_size("4.5.1GB").ok());
    EXPECT_FALSE(parse_size("4 GB").ok());
    EXPECT_FALSE(parse_size("-1").ok());
    EXPECT_FALSE(parse_size("3PB").ok());
    EXPECT_EQ(exact_name_pattern("blk.0.attn_q.weight"), "^blk\\.0\\.attn_q\\.weight$");
    const std::regex re(exact_name_pattern("a.b+c"));
    EXPECT_TRUE(std::regex_search(std::string("a.b+c"), re));
    EXPECT_FALSE(std::regex_search(std::string("axb+c"), re));
    EXPECT_FALSE(std::regex_search(std::string("xa.b+c"), re));
}

}  // namespace
}  // namespace gguf_squash
