// The memory model on small models of the families llama.cpp sizes specially (MLA, recurrent,
// hybrid, SWA, MoE, a head size the quantized caches refuse) and on the llama-gqa fixture,
// against llama.cpp's own allocation log (tests/estimate_llama_memory_figures.h, the same data as
// tests/fixtures/memory/llama_cpp_memory.json, recorded by tools/record_llama_memory.mjs with the
// command beside each figure). KV cache and recurrent state must match llama.cpp's 2-decimal MiB
// exactly, the compute buffer within 10% and the whole allocation within 5%; refusals must give
// llama.cpp's reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "estimate/memory_model.h"
#include "estimate_arch_models.h"
#include "estimate_llama_memory_archs.h"
#include "estimate_llama_memory_figures.h"
#include "gguf_fixture_files.h"
#include "pipeline_reference.h"

namespace gguf_squash {
namespace {

using test_support::kLlamaArchMemoryRecords;
using test_support::kLlamaMemoryRecords;
using test_support::llama_memory_record;

constexpr double kMiB = 1024.0 * 1024.0;

// llama.cpp prints sizes with "%.2f" of bytes / 2^20.
std::string mib2(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", double(bytes) / kMiB);
    return buf;
}
std::string mib2(double mib) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", mib);
    return buf;
}

struct test_model {
    gguf_header header;
    memory_hparams hp;
    uint64_t weights = 0;
};

void add_model(std::map<std::string, test_model>& out, const std::string& name,
               const gguf_header& h) {
    result<model_summary> s = summarize_model(h);
    EXPECT_TRUE(s.ok()) << name;
    if (!s.ok()) return;
    result<memory_hparams> hp = read_memory_hparams(h, *s);
    EXPECT_TRUE(hp.ok()) << name << ": " << (hp.ok() ? "" : hp.error().message());
    if (!hp.ok()) return;
    out[name] = {h, *hp, s->tensor_bytes};
}

// The headers of llama.cpp's own test models (tests/fixtures/memory/llama-archs/NAME.header: the
// bytes before the data section of what test-llama-archs -o writes).
const std::map<std::string, test_model>& llama_arch_models() {
    static const std::map<std::string, test_model> models = [] {
        std::map<std::string, test_model> out;
        for (const llama_memory_record& r : kLlamaArchMemoryRecords) {
            if (out.count(r.model)) continue;
            const std::vector<uint8_t> bytes = test_support::load_fixture(
                std::string("memory/llama-archs/") + r.model + ".header");
            EXPECT_FALSE(bytes.empty()) << r.model;
            gguf_reader reader;
            input_span in{bytes.data(), bytes.size(), 0};
            result<size_t> fed = reader.feed(in);
            EXPECT_TRUE(fed.ok() && reader.finished()) << r.model;
            if (!reader.finished()) continue;
            add_model(out, r.model, reader.take_header());
        }
        return out;
    }();
    return models;
}

const std::map<std::string, test_model>& test_models() {
    static const std::map<std::string, test_model> models = [] {
        std::map<std::string, test_model> out;
        auto add = [&](const std::string& name, const gguf_header& h) { add_model(out, name, h); };
        for (const test_support::arch_test_model& m : test_support::arch_test_models())
            add(m.name, m.header);
        add("llama-gqa", test_support::reference_input_header());
        return out;
    }();
    return models;
}

memory_options options_of(const llama_memory_record& r) {
    memory_options o;
    o.n_ctx = r.ctx;
    o.cache_type = *parse_kv_cache_type(r.cache);
    o.flash_attn = r.flash_attn;
    o.n_seq = r.parallel;
    return o;
}

// GGUF_SQUASH_WRITE_MEMORY_MODELS=DIR writes the test models as whole files for the recorder.
TEST(EstimateArch, WriteModelsWhenAsked) {
    const char* dir = std::getenv("GGUF_SQUASH_WRITE_MEMORY_MODELS");
    if (!dir || !*dir) GTEST_SKIP() << "GGUF_SQUASH_WRITE_MEMORY_MODELS not set";
    for (const test_support::arch_test_model& m : test_support::arch_test_models()) {
        ASSERT_FALSE(m.header.tensors.empty()) << m.name;
        const std::string path = std::string(dir) + "/" + m.name + ".gguf";
        EXPECT_TRUE(test_support::write_arch_model_file(m.header, path)) << path;
    }
}

TEST(EstimateArch, HparamsOfTheTestModels) {
    const auto& models = test_models();
    ASSERT_EQ(models.size(), 7u);
    const memory_hparams& mla = models.at("deepseek2-mla").hp;
    EXPECT_TRUE(mla.is_mla);
    EXPECT_EQ(mla.n_embd_k_gqa(0), 288u);  // kv_lora_rank 256 + rope 32, one head
    const memory_hparams& mamba = models.at("mamba2").hp;
    EXPECT_EQ(mamba.kind, memory_kind::recurrent);
    EXPECT_EQ(mamba.n_embd_r, 3u * (1024 + 2 * 128));  // (d_conv - 1)(d_inner + 2 n_group d_state)
    EXPECT_EQ(mamba.n_embd_s, 128u * 1024);            // d_state * d_inner
    const memory_hparams& hybrid = models.at("granitehybrid").hp;
    EXPECT_EQ(hybrid.kind, memory_kind::hybrid);
    int kv_layers = 0, recr_layers = 0;
    for (uint32_t il = 0; il < hybrid.n_layer; ++il) {
        kv_layers += hybrid.kv_layer[il];
        recr_layers += hybrid.recr_layer[il];
    }
    EXPECT_EQ(kv_layers, 2);
    EXPECT_EQ(recr_layers, 4);
    const memory_hparams& gemma = models.at("gemma3").hp;
    EXPECT_TRUE(gemma.any_swa_kv());
    EXPECT_FALSE(gemma.swa[5]);
    EXPECT_TRUE(gemma.swa[4]);
}

// Every record llama.cpp logged, against the estimate.
template <size_t N>
void check_records(const llama_memory_record (&records)[N],
                   const std::map<std::string, test_model>& models, int min_compared) {
    int compared = 0, refusals = 0;
    double worst_total = 0, worst_compute = 0;
    for (const llama_memory_record& r : records) {
        SCOPED_TRACE(std::string(r.model) + ": " + r.command);
        auto it = models.find(r.model);
        ASSERT_NE(it, models.end()) << "no test model named " << r.model;
        const test_model& m = it->second;
        const memory_options o = options_of(r);
        const std::optional<std::string> refusal = cache_refusal(m.hp, o);
        if (r.error) {
            ASSERT_TRUE(refusal.has_value()) << "llama.cpp refused: " << r.error;
            EXPECT_EQ(*refusal, r.error);
            ++refusals;
            continue;
        }
        ASSERT_FALSE(refusal.has_value()) << *refusal;

        const kv_cache_size kv = kv_cache_size_of(m.hp, o);
        EXPECT_EQ(mib2(kv.k_bytes - kv.k_swa_bytes), mib2(std::max(r.k_mib, 0.0))) << "K";
        EXPECT_EQ(mib2(kv.v_bytes - kv.v_swa_bytes), mib2(std::max(r.v_mib, 0.0))) << "V";
        if (r.cells >= 0) {
            EXPECT_EQ(double(kv.cells), r.cells);
        }
        EXPECT_EQ(mib2(kv.k_swa_bytes), mib2(std::max(r.k_swa_mib, 0.0))) << "SWA K";
        EXPECT_EQ(mib2(kv.v_swa_bytes), mib2(std::max(r.v_swa_mib, 0.0))) << "SWA V";
        if (r.swa_cells >= 0) {
            EXPECT_EQ(double(kv.swa_cells), r.swa_cells);
        }
        const recurrent_size rs = recurrent_state_of(m.hp, o);
        EXPECT_EQ(mib2(rs.r_bytes), mib2(std::max(r.r_mib, 0.0))) << "R";
        EXPECT_EQ(mib2(rs.s_bytes), mib2(std::max(r.s_mib, 0.0))) << "S";
        const uint64_t out = output_bytes_of(m.hp, o);
        EXPECT_EQ(mib2(out), mib2(r.output_mib)) << "output";

        const double compute = double(compute_bytes_of(m.hp, o)) / kMiB;
        const double compute_err = compute / r.compute_mib - 1;
        EXPECT_LE(std::fabs(compute_err), 0.10)
            << "compute " << compute << " MiB vs llama.cpp " << r.compute_mib;

        const memory_breakdown b = estimate_memory(m.hp, m.weights, o, std::nullopt);
        const double theirs = r.model_mib + std::max(r.k_mib, 0.0) + std::max(r.v_mib, 0.0) +
                              std::max(r.k_swa_mib, 0.0) + std::max(r.v_swa_mib, 0.0) +
                              std::max(r.r_mib, 0.0) + std::max(r.s_mib, 0.0) + r.output_mib +
                              r.compute_mib;
        const double total_err = double(b.total_bytes) / kMiB / theirs - 1;
        EXPECT_LE(std::fabs(total_err), 0.05)
            << "total " << double(b.total_bytes) / kMiB << " MiB vs llama.cpp " << theirs;
        EXPECT_EQ(b.other_bytes, b.output_bytes + b.compute_bytes);
        EXPECT_EQ(b.total_bytes, b.weights_bytes + b.kv_bytes + b.recurrent_bytes + b.output_bytes +
                                     b.compute_bytes);
        worst_total = std::max(worst_total, std::fabs(total_err));
        worst_compute = std::max(worst_compute, std::fabs(compute_err));
        std::printf(
            "%-14s ctx %5u %-4s fa %-3s np %u: compute %7.2f vs %7.2f MiB (%+5.1f%%), "
            "total %+5.2f%%\n",
            r.model, r.ctx, r.cache, r.flash_attn ? "on" : "off", r.parallel, compute,
            r.compute_mib, compute_err * 100, total_err * 100);
        ++compared;
    }
    std::printf("compared %d records (%d refusals); worst compute %.1f%%, worst total %.2f%%\n",
                compared, refusals, worst_compute * 100, worst_total * 100);
    EXPECT_GE(compared, min_compared);
    EXPECT_GE(refusals, 1);
}

TEST(EstimateArch, MatchesLlamaCppAllocationLog) {
    check_records(kLlamaMemoryRecords, test_models(), 40);
}

// llama.cpp's own small test models of 31 architectures (dense, MoE, SWA, fused QKV, no-RoPE,
// compressed KV, mamba, mamba2, jamba, falcon-h1, lfm2, nemotron-h, qwen3next, granitehybrid).
TEST(EstimateArch, MatchesLlamaCppOnItsTestModels) {
    ASSERT_EQ(llama_arch_models().size(), 31u);
    check_records(kLlamaArchMemoryRecords, llama_arch_models(), 200);
}

}  // namespace
}  // namespace gguf_squash
