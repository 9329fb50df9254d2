// The whole pipeline against llama-quantize: every successful run of llama-gqa.reference.json is
// replayed in process (plan + streaming job, input read by offset from memory) and the output's
// sha256 must equal the reference file's. On a mismatch the test names the tensors that differ
// and whether the header does. Portable: runs natively and in wasm.
#include "pipeline_reference.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "format/gguf_writer.h"
#include "kernel_isa_harness.h"
#include "pipeline/quantize_job.h"
#include "quant/quantize.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

using test_support::reference_run;

const std::vector<uint8_t>& input_bytes() {
    static const std::vector<uint8_t> b =
        test_support::read_all(test_support::models_dir() + "/llama-gqa.gguf");
    return b;
}

struct run_output {
    status st;
    std::vector<uint8_t> bytes;
};

run_output quantize_in_memory(const quant_plan& plan, const imatrix_data* imatrix,
                              const quantize_job_options& opts, size_t chunk) {
    run_output r;
    quantize_job job(plan, imatrix, opts);
    const std::vector<uint8_t>& in = input_bytes();
    auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (off >= in.size()) return size_t(0);
        const size_t k = std::min<uint64_t>(n, in.size() - off);
        std::memcpy(buf, in.data() + off, k);
        return k;
    };
    auto write = [&](const uint8_t* d, size_t n) -> status {
        r.bytes.insert(r.bytes.end(), d, d + n);
        return {};
    };
    r.st = run_quantize_job(job, read, write, chunk);
    return r;
}

// Compares with the reference; returns "" when identical, else a description.
std::string compare(const reference_run& run, const std::vector<uint8_t>& out) {
    if (gguf_squash::sha256_hex(out.data(), out.size()) == run.file_sha256) return "";
    std::string why;
    if (out.size() != run.file_size) {
        why += "size " + std::to_string(out.size()) + " != " + std::to_string(run.file_size) + "; ";
    }
    if (out.size() < run.header_size ||
        gguf_squash::sha256_hex(out.data(), run.header_size) != run.header_sha256) {
        why += "header differs; ";
    }
    int bad = 0;
    for (const auto& t : run.tensors) {
        const uint64_t at = run.header_size + t.offset;
        if (at + t.nbytes > out.size() ||
            gguf_squash::sha256_hex(out.data() + at, t.nbytes) != t.sha256) {
            if (bad < 6) why += t.name + " (" + t.type + ") ";
            ++bad;
        }
    }
    if (bad) why += "— " + std::to_string(bad) + " tensors differ";
    return why;
}

// Under wasm, and natively under the sanitizers (GGUF_SQUASH_TEST_LIGHT, scripts/test.sh: every
// run takes minutes there; the Release build checks all 78), a representative subset runs: plain,
// imatrix IQ types, the legacy imatrix, and the option mixes. GGUF_SQUASH_RUNS=name1,name2 limits
// the runs natively.
bool representative_run(const std::string& name) {
    static const char* const kRepresentativeRuns[] = {
        "Q4_0", "Q8_0", "Q4_K_M", "Q6_K", "IQ2_XXS+imatrix", "IQ3_XXS+imatrix", "IQ4_XS+imatrix",
        "Q4_K_M+imatrix-dat", "Q4_K_M+tensor-type", "Q4_K_M+prune", "Q4_K_M+override-kv",
        "Q4_K_M+output-q8_0+embd-q3_k", "IQ4_XS+imatrix+exclude", "COPY", "BF16",
        // refusals are cheap: all of them run
        "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M", "Q2_K_S", "IQ3_XXS", "IQ3_XS",
        "IQ3_XXS+imatrix+include"};
    for (const char* r : kRepresentativeRuns) {
        if (name == r) return true;
    }
    return false;
}

bool selected(const std::string& name) {
#ifdef GGUF_SQUASH_WASM_TEST
    return representative_run(name);
#else
    if (std::getenv("GGUF_SQUASH_TEST_LIGHT")) return representative_run(name);
    const char* env = std::getenv("GGUF_SQUASH_RUNS");
    if (!env || !*env) return true;
    const std::string list = std::string(",") + env + ",";
    return list.find("," + name + ",") != std::string::npos;
#endif
}

TEST(PipelineReference, EveryRunIsByteIdentical) {
    const auto& runs = test_support::reference_runs();
    ASSERT_EQ(runs.size(), 78u);
    ASSERT_FALSE(input_bytes().empty());
    const gguf_header& input = test_support::reference_input_header();
    int identical = 0, tried = 0, refused_ok = 0, refusals = 0;
    std::vector<std::string> failures;
    for (const auto& run : runs) {
        if (!selected(run.name)) continue;
        SCOPED_TRACE(run.name);
        auto prep = test_support::prepare_run(run);
        ASSERT_TRUE(prep.ok()) << prep.error().message();
        auto plan = make_quant_plan(input, prep->args.options);
        if (run.refused()) {
            ++refusals;
            refused_ok += !plan.ok();
            EXPECT_FALSE(plan.ok());
            continue;
        }
        ++tried;
        ASSERT_TRUE(plan.ok()) << plan.error().message();
        run_output out = quantize_in_memory(*plan, prep->imatrix.get(), {}, 1 << 20);
        if (!out.st.ok()) {
            failures.push_back(run.name + ": " + out.st.message());
            ADD_FAILURE() << out.st.message();
            continue;
        }
        const std::string why = compare(run, out.bytes);
        if (why.empty()) {
            ++identical;
        } else {
            failures.push_back(run.name + ": " + why);
            ADD_FAILURE() << why;
        }
    }
    for (const auto& f : failures) std::printf("  [pipeline] FAIL %s\n", f.c_str());
    std::printf("[pipeline] %d of %d runs byte-identical; %d of %d refusals refused\n", identical,
                tried, refused_ok, refusals);
}

// A named reference run with its arguments parsed, imatrix loaded and output planned.
struct planned_run {
    const reference_run* run = nullptr;
    test_support::prepared_run prep;
    quant_plan plan;
};
planned_run plan_named_run(const std::string& name) {
    planned_run p;
    for (const auto& r : test_support::reference_runs()) {
        if (r.name == name) p.run = &r;
    }
    EXPECT_NE(p.run, nullptr) << name;
    if (!p.run) return p;
    auto prep = test_support::prepare_run(*p.run);
    EXPECT_TRUE(prep.ok()) << name;
    if (!prep.ok()) return p;
    p.prep = std::move(*prep);
    auto plan = make_quant_plan(test_support::reference_input_header(), p.prep.args.options);
    EXPECT_TRUE(plan.ok()) << name;
    if (plan.ok()) p.plan = std::move(*plan);
    return p;
}

// Chunk sizes and buffer caps change how the job slices its work, never the bytes.
TEST(PipelineReference, ChunkingAndSlabSizeDoNotChangeBytes) {
    for (const char* name : {"Q8_0", "Q4_0+imatrix"}) {
        SCOPED_TRACE(name);
        const planned_run p = plan_named_run(name);
        ASSERT_FALSE(HasFailure());
        for (auto [chunk, cap] :
             {std::pair<size_t, uint64_t>{1021, 4096}, {1 << 16, 100000}, {1 << 22, 0}}) {
            quantize_job_options o;
            o.max_buffer_bytes = cap;
            run_output out = quantize_in_memory(p.plan, p.prep.imatrix.get(), o, chunk);
            ASSERT_TRUE(out.st.ok()) << out.st.message();
            EXPECT_EQ(compare(*p.run, out.bytes), "") << "chunk " << chunk << " cap " << cap;
        }
    }
}

// test_support::kSimdFamilyRuns through the whole pipeline on every implementation: the job's
// slicing must not interact with the kernels (SIMD tails, row chunks).
class PipelineReferenceEveryIsa : public every_kernel_isa {};

TEST_P(PipelineReferenceEveryIsa, SimdFamilyRunsAreByteIdentical) {
    int identical = 0, total = 0;
    for (const char* name : test_support::kSimdFamilyRuns) {
        SCOPED_TRACE(name);
        const planned_run p = plan_named_run(name);
        ASSERT_FALSE(HasFailure());
        quantize_job_options o;
        o.max_buffer_bytes = 100000;  // several slabs per tensor
        run_output out = quantize_in_memory(p.plan, p.prep.imatrix.get(), o, 65521);
        ASSERT_TRUE(out.st.ok()) << out.st.message();
        const std::string why = compare(*p.run, out.bytes);
        EXPECT_EQ(why, "");
        identical += why.empty();
        ++total;
    }
    std::printf("[PipelineReferenceEveryIsa %s] %d of %d runs byte-identical\n",
                kernel_isa_name(GetParam()), identical, total);
}

GS_INSTANTIATE_EVERY_KERNEL_ISA(PipelineReferenceEveryIsa);

// The zero-copy calls (input_buffer/commit_input, output_view/consume_output) write the same
// bytes as feed/drain, in odd-sized steps, and refuse counts beyond what the job offers.
TEST(PipelineReference, ZeroCopyCallsWriteTheSameBytes) {
    const std::vector<uint8_t>& in = input_bytes();
    for (const char* name : {"Q4_K_M", "Q4_0+imatrix"}) {
        SCOPED_TRACE(name);
        const planned_run p = plan_named_run(name);
        ASSERT_FALSE(HasFailure());
        quantize_job_options o;
        o.max_buffer_bytes = 100000;  // many slabs
        quantize_job job(p.plan, p.prep.imatrix.get(), o);
        ASSERT_TRUE(job.error().ok());
        std::vector<uint8_t> out;
        size_t steps = 0;
        while (!job.done()) {
            ASSERT_LT(++steps, 10000000u);
            const output_span buf = job.input_buffer();
            ASSERT_EQ(buf.size, job.input_wanted());
            if (buf.size > 0) {
                const size_t n =
                    std::min<size_t>({buf.size, 777, size_t(in.size() - job.input_offset())});
                std::memcpy(buf.data, in.data() + job.input_offset(), n);
                ASSERT_TRUE(job.commit_input(n).ok());
            }
            for (;;) {
                const input_span view = job.output_view();
                ASSERT_TRUE(job.error().ok()) << job.error().message();
                if (view.size == 0) break;
                const size_t n = std::min<size_t>(view.size, 1000);
                out.insert(out.end(), view.data, view.data + n);
                ASSERT_TRUE(job.consume_output(n).ok());
            }
        }
        ASSERT_TRUE(job.finish().ok());
        EXPECT_EQ(compare(*p.run, out), "");
        // Beyond the end: nothing is offered, and consuming more than offered is refused.
        EXPECT_EQ(job.output_view().size, 0u);
        EXPECT_EQ(job.input_buffer().size, 0u);
        EXPECT_EQ(job.consume_output(1).code(), status_code::invalid_argument);
    }
    // Committing more than the buffer holds kills the job with a clear error.
    const planned_run p = plan_named_run("Q8_0");
    ASSERT_FALSE(HasFailure());
    quantize_job job(p.plan, nullptr);
    while (job.input_wanted() == 0) {
        const input_span view = job.output_view();
        ASSERT_GT(view.size, 0u);
        ASSERT_TRUE(job.consume_output(view.size).ok());
    }
    const status s = job.commit_input(job.input_wanted() + 1);
    EXPECT_EQ(s.code(), status_code::invalid_argument);
    EXPECT_NE(s.message().find("commit_input"), std::string::npos) << s.message();
    input_span more{nullptr, 0, 0};
    EXPECT_EQ(job.feed(more).code(), status_code::invalid_argument);  // the job is dead
}

// The in-place driver (the native CLI's, over a mapped file) writes the same bytes with slabs
// converted where the caller holds them, copied tensors (COPY, BF16's norms) output straight from
// that memory; a short input and a failed check both name the tensor.
TEST(PipelineReference, InPlaceViewsWriteTheSameBytes) {
    const std::vector<uint8_t>& in = input_bytes();
    int compared = 0;
    for (const char* name : {"Q4_K_M", "Q4_0+imatrix", "COPY", "BF16"}) {
        for (uint64_t buffer : {uint64_t(0), uint64_t(100000)}) {
            SCOPED_TRACE(std::string(name) + " buffer " + std::to_string(buffer));
            const planned_run p = plan_named_run(name);
            ASSERT_FALSE(HasFailure());
            quantize_job_options o;
            o.max_buffer_bytes = buffer;
            quantize_job job(p.plan, p.prep.imatrix.get(), o);
            size_t views = 0, checks = 0;
            auto view = [&](uint32_t shard, uint64_t off, size_t n) -> result<input_span> {
                EXPECT_EQ(shard, 0u);
                ++views;
                if (off >= in.size()) return input_span{};
                return input_span{in.data() + off, size_t(std::min<uint64_t>(n, in.size() - off)),
                                  0};
            };
            auto check = [&] {
                ++checks;
                return status{};
            };
            std::vector<uint8_t> out;
            auto write = [&](const uint8_t* d, size_t n) -> status {
                out.insert(out.end(), d, d + n);
                return {};
            };
            ASSERT_TRUE(run_quantize_job_in_place(job, view, check, write).ok());
            EXPECT_EQ(compare(*p.run, out), "");
            EXPECT_GT(views, 0u);
            EXPECT_EQ(checks, views);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 8);

    const planned_run p = plan_named_run("Q8_0");
    ASSERT_FALSE(HasFailure());
    auto write = [](const uint8_t*, size_t) { return status{}; };
    const uint64_t cut = in.size() / 2;
    quantize_job short_job(p.plan, nullptr);
    auto short_view = [&](uint32_t, uint64_t off, size_t n) -> result<input_span> {
        if (off >= cut) return input_span{};
        return input_span{in.data() + off, size_t(std::min<uint64_t>(n, cut - off)), 0};
    };
    status s = run_quantize_job_in_place(short_job, short_view, nullptr, write);
    EXPECT_EQ(s.code(), status_code::invalid_file);
    EXPECT_NE(s.message().find("input ended early: tensor '"), std::string::npos) << s.message();

    quantize_job checked_job(p.plan, nullptr);
    auto view = [&](uint32_t, uint64_t off, size_t n) -> result<input_span> {
        return input_span{in.data() + off, n, 0};
    };
    int slabs = 0;
    auto failing_check = [&]() -> status {
        if (++slabs < 3) return {};
        return make_error(status_code::invalid_file, "the memory changed");
    };
    s = run_quantize_job_in_place(checked_job, view, failing_check, write);
    EXPECT_EQ(s.code(), status_code::invalid_file);
    EXPECT_EQ(s.message().rfind("tensor '", 0), 0u) << s.message();
    EXPECT_NE(s.message().find("': the memory changed"), std::string::npos) << s.message();
}

TEST(PipelineReference, TruncatedInputNamesTheTensor) {
    const gguf_header& input = test_support::reference_input_header();
    quantize_options o;
    o.ftype = llama_ftype::mostly_q8_0;
    auto plan = make_quant_plan(input, o);
    ASSERT_TRUE(plan.ok());
    quantize_job job(*plan, nullptr);
    const std::vector<uint8_t>& in = input_bytes();
    const uint64_t cut = in.size() / 2;
    auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (off >= cut) return size_t(0);
        const size_t k = std::min<uint64_t>(n, cut - off);
        std::memcpy(buf, in.data() + off, k);
        return k;
    };
    auto write = [](const uint8_t*, size_t) { return status{}; };
    status s = run_quantize_job(job, read, write, 1 << 16);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), status_code::invalid_file);
    EXPECT_NE(s.message().find("tensor '"), std::string::npos) << s.message();
}

TEST(PipelineReference, NonFiniteWeightsAreRefusedWithTensorAndRow) {
    const gguf_header& input = test_support::reference_input_header();
    quantize_options o;
    o.ftype = llama_ftype::mostly_q8_0;
    auto plan = make_quant_plan(input, o);
    ASSERT_TRUE(plan.ok());
    std::vector<uint8_t> in = input_bytes();
    const int64_t ti = input.find_tensor("blk.3.ffn_up.weight");
    ASSERT_GE(ti, 0);
    const gguf_tensor_info& t = input.tensors[size_t(ti)];
    ASSERT_EQ(t.type, ggml_type::f16);
    const uint64_t row = 5, col = 7;
    const uint64_t at = input.data_offset + t.offset + (row * t.ne[0] + col) * 2;
    in[at] = 0x00;
    in[at + 1] = 0x7e;  // F16 NaN
    for (bool allow : {false, true}) {
        quantize_job_options jo;
        jo.allow_non_finite = allow;
        quantize_job job(*plan, nullptr, jo);
        auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
            const size_t k = std::min<uint64_t>(n, in.size() - off);
            std::memcpy(buf, in.data() + off, k);
            return k;
        };
        auto write = [](const uint8_t*, size_t) { return status{}; };
        status s = run_quantize_job(job, read, write);
        if (allow) {
            EXPECT_TRUE(s.ok()) << s.message();
        } else {
            ASSERT_FALSE(s.ok());
            EXPECT_NE(s.message().find("blk.3.ffn_up.weight"), std::string::npos) << s.message();
            EXPECT_NE(s.message().find("row 5"), std::string::npos) << s.message();
        }
    }
}

}  // namespace
}  // namespace gguf_squash

namespace gguf_squash {
namespace {

// Weights too large for a type's F16 scale give Inf scales; llama-quantize's validation of its
// own output refuses that, and so do we (naming the tensor). The input is a tiny F32 model built
// here.
TEST(PipelineReference, OverflowingWeightsFailValidation) {
    gguf_header in;
    in.kv.push_back({"general.architecture", gguf_value::make_string("llama")});
    in.kv.push_back({"llama.block_count", gguf_value::make_u32(1)});
    gguf_tensor_info t;
    t.name = "blk.0.attn_q.weight";
    t.type = ggml_type::f32;
    t.n_dims = 2;
    t.ne[0] = 256;
    t.ne[1] = 2;
    in.tensors.push_back(t);
    assign_tensor_offsets(in);
    auto header = encode_gguf_header(in);
    ASSERT_TRUE(header.ok()) << header.error().message();
    in.data_offset = header->size();
    std::vector<uint8_t> file = *header;
    std::vector<float> w(512, 0.01f);
    w[256 + 3] = 1e7f;  // row 1 overflows Q8_0's F16 scale
    const uint8_t* wb = reinterpret_cast<const uint8_t*>(w.data());
    file.insert(file.end(), wb, wb + w.size() * 4);

    quantize_options o;
    o.ftype = llama_ftype::mostly_q8_0;
    auto plan = make_quant_plan(in, o);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    ASSERT_EQ(plan->tensors[0].target_type, ggml_type::q8_0);
    quantize_job job(*plan, nullptr);
    auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (off >= file.size()) return size_t(0);
        const size_t k = std::min<uint64_t>(n, file.size() - off);
        std::memcpy(buf, file.data() + off, k);
        return k;
    };
    auto write = [](const uint8_t*, size_t) { return status{}; };
    status s = run_quantize_job(job, read, write);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("blk.0.attn_q.weight"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("row 1"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace gguf_squash
