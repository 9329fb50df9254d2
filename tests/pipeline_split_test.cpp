// Split models through the whole pipeline, in process. llama-gqa.gguf is cut into gguf-split
// shards here (the format layer's split writer, in memory), then:
//  - quantizing the shards as one model gives exactly llama-quantize's file for llama-gqa.gguf
//    (the reference sha256): llama-quantize drops the input's split.* keys, so nothing differs;
//  - with --keep-split, each output shard re-reads as GGUF, carries the split.* keys as
//    llama-quantize writes them (appended to shard 0's metadata, alone in the others), keeps its
//    input shard's tensors in input order, and merged the shards hold exactly the single output's
//    tensors.
// Portable: runs natively and in wasm (a smaller set of runs there).
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <map>

#include "format/gguf_reader.h"
#include "format/gguf_split.h"
#include "format/gguf_writer.h"
#include "pipeline/quantize_job.h"
#include "pipeline_reference.h"
#include "sha256.h"
#include "split_shards.h"

namespace gguf_squash {
namespace {

using testing::reference_run;

// A split model in memory: each shard's file bytes and header as read back.
struct shard_set {
    std::vector<std::vector<uint8_t>> files;
    gguf_model model;
};

// Writes llama-gqa.gguf as gguf-split would with this tensor-to-shard plan (file order kept),
// and reads the shards back as one model.
shard_set make_shards(const std::vector<uint32_t>& shard_of_tensor) {
    shard_set set;
    set.files = testing::llama_gqa_shard_files(shard_of_tensor);
    EXPECT_FALSE(set.files.empty());
    std::vector<gguf_header> read_back;
    for (const std::vector<uint8_t>& file : set.files) {
        result<gguf_header> back = read_gguf_header(file.data(), file.size());
        EXPECT_TRUE(back.ok()) << back.error().message();
        if (back.ok()) read_back.push_back(std::move(back.value()));
    }
    // Merged from the shards in reverse order: the shard numbers decide, not the order given.
    std::vector<gguf_header> reversed(read_back.rbegin(), read_back.rend());
    result<gguf_model> model = merge_gguf_shards(std::move(reversed));
    EXPECT_TRUE(model.ok()) << model.error().message();
    if (model.ok()) set.model = std::move(model.value());
    return set;
}

struct run_output {
    status st;
    std::vector<uint8_t> bytes;
};

// Runs one output file's plan, reading every shard by (shard, offset) in `chunk`-byte pieces.
run_output quantize_shards(const quant_plan& plan, const shard_set& shards,
                           const imatrix_data* imatrix, size_t chunk = 1 << 20) {
    run_output r;
    quantize_job job(plan, imatrix);
    auto read = [&](uint32_t shard, uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (shard >= shards.files.size())
            return make_error(status_code::invalid_argument, "no such shard");
        const std::vector<uint8_t>& f = shards.files[shard];
        if (off >= f.size()) return size_t(0);
        const size_t k = size_t(std::min<uint64_t>(n, f.size() - off));
        std::memcpy(buf, f.data() + off, k);
        return k;
    };
    auto write = [&](const uint8_t* d, size_t n) -> status {
        r.bytes.insert(r.bytes.end(), d, d + n);
        return {};
    };
    r.st = run_quantize_job(job, read, write, chunk);
    return r;
}

const reference_run* find_run(const std::string& name) {
    for (const auto& r : testing::reference_runs())
        if (r.name == name) return &r;
    return nullptr;
}

std::vector<std::string> split_runs() {
#ifdef GGUF_SQUASH_WASM_TEST
    return {"Q4_K_M", "IQ3_XXS+imatrix", "IQ2_XXS"};
#else
    return {"Q4_K_M",       "IQ3_XXS+imatrix",        "IQ2_XXS+imatrix-dat",
            "Q4_K_M+prune", "Q4_K_M+override-kv",     "COPY",
            "IQ2_XXS",      "IQ3_XXS+imatrix+include"};
#endif
}

// Tensor name -> bytes of a GGUF file's tensor data.
std::map<std::string, std::string> tensor_data(const std::vector<uint8_t>& file) {
    std::map<std::string, std::string> out;
    result<gguf_header> h = read_gguf_header(file.data(), file.size());
    EXPECT_TRUE(h.ok()) << h.error().message();
    if (!h.ok()) return out;
    for (const gguf_tensor_info& t : h->tensors) {
        const uint8_t* d = file.data() + h->data_offset + t.offset;
        out[t.name] = std::string(reinterpret_cast<const char*>(d), size_t(t.nbytes()));
    }
    return out;
}

TEST(PipelineSplit, ShardsQuantizeToTheSameBytesAsTheWholeModel) {
    const gguf_header& input = testing::reference_input_header();
    ASSERT_EQ(input.tensors.size(), 75u);
    // 3 shards of 25 tensors, as gguf-split --split-max-tensors 25 cuts them.
    const shard_set shards = make_shards(shards_by_tensor_count(input, 25));
    ASSERT_EQ(shards.files.size(), 3u);
    ASSERT_EQ(shards.model.tensors.size(), 75u);
    int identical = 0, tried = 0, refused = 0, refusals = 0;
    for (const std::string& name : split_runs()) {
        SCOPED_TRACE(name);
        const reference_run* run = find_run(name);
        ASSERT_NE(run, nullptr);
        auto prep = testing::prepare_run(*run);
        ASSERT_TRUE(prep.ok()) << prep.error().message();
        result<quant_plan> plan = make_quant_plan(shards.model, prep->args.options);
        if (run->refused()) {
            ++refusals;
            refused += !plan.ok();
            EXPECT_FALSE(plan.ok());
            continue;
        }
        ++tried;
        ASSERT_TRUE(plan.ok()) << plan.error().message();
        EXPECT_EQ(plan->output_file_count, 1u);
        // Tensors come from every shard.
        std::vector<bool> used(3, false);
        for (const tensor_plan& tp : plan->tensors) used[tp.source_shard] = true;
        EXPECT_TRUE(used[0] && used[1] && used[2]);
        run_output out = quantize_shards(*plan, shards, prep->imatrix.get(), 100000);
        ASSERT_TRUE(out.st.ok()) << out.st.message();
        EXPECT_EQ(out.bytes.size(), run->file_size);
        const bool same =
            testing::sha256_hex(out.bytes.data(), out.bytes.size()) == run->file_sha256;
        EXPECT_TRUE(same);
        identical += same;
    }
    std::printf(
        "[split] 3 shards: %d of %d runs byte-identical to llama-quantize's file for the "
        "whole model; %d of %d refusals refused\n",
        identical, tried, refused, refusals);
}

// Checks --keep-split outputs against the single output of the same run.
void check_keep_split(const std::string& name, const shard_set& shards,
                      const std::vector<std::vector<std::string>>& input_names) {
    SCOPED_TRACE(name);
    const reference_run* run = find_run(name);
    ASSERT_NE(run, nullptr);
    auto prep = testing::prepare_run(*run);
    ASSERT_TRUE(prep.ok()) << prep.error().message();

    // The single output (checked against the reference) to compare the shards with.
    result<quant_plan> single = make_quant_plan(shards.model, prep->args.options);
    ASSERT_TRUE(single.ok()) << single.error().message();
    run_output whole = quantize_shards(*single, shards, prep->imatrix.get());
    ASSERT_TRUE(whole.st.ok()) << whole.st.message();
    ASSERT_EQ(testing::sha256_hex(whole.bytes.data(), whole.bytes.size()), run->file_sha256);
    result<gguf_header> whole_header = read_gguf_header(whole.bytes.data(), whole.bytes.size());
    ASSERT_TRUE(whole_header.ok());
    const std::map<std::string, std::string> expected = tensor_data(whole.bytes);

    quantize_options o = prep->args.options;
    o.keep_split = true;
    result<quant_plan> plan = make_quant_plan(shards.model, o);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    const uint32_t n = uint32_t(shards.files.size());
    ASSERT_EQ(plan->output_file_count, n);
    EXPECT_EQ(output_file_name("dir/out", *plan, true, 1),
              "dir/out-00002-of-0000" + std::to_string(n) + ".gguf");

    std::vector<gguf_header> read_back;
    std::map<std::string, std::string> merged;
    for (uint32_t f = 0; f < n; ++f) {
        SCOPED_TRACE("output shard " + std::to_string(f));
        result<quant_plan> part = output_file_plan(*plan, f);
        ASSERT_TRUE(part.ok()) << part.error().message();
        run_output out = quantize_shards(*part, shards, prep->imatrix.get(), 65537);
        ASSERT_TRUE(out.st.ok()) << out.st.message();
        EXPECT_EQ(out.bytes.size(), part->file_size);
        result<gguf_header> h = read_gguf_header(out.bytes.data(), out.bytes.size());
        ASSERT_TRUE(h.ok()) << h.error().message();
        // (gguf.cpp puts the data section right after the infos when there are no tensors.)
        if (!h->tensors.empty()) EXPECT_EQ(h->data_offset, part->header_size);

        // The split keys, as llama-quantize sets them (gguf_set_val_*: appended, in this order).
        ASSERT_GE(h->kv.size(), 3u);
        const size_t k = h->kv.size() - 3;
        EXPECT_EQ(h->kv[k].key, "split.no");
        EXPECT_EQ(h->kv[k].value.type, gguf_value_type::uint16);
        EXPECT_EQ(h->kv[k].value.as_u64(), f);
        EXPECT_EQ(h->kv[k + 1].key, "split.count");
        EXPECT_EQ(h->kv[k + 1].value.type, gguf_value_type::uint16);
        EXPECT_EQ(h->kv[k + 1].value.as_u64(), n);
        EXPECT_EQ(h->kv[k + 2].key, "split.tensors.count");
        EXPECT_EQ(h->kv[k + 2].value.type, gguf_value_type::int32);
        EXPECT_EQ(uint64_t(h->kv[k + 2].value.as_i64()), whole_header->tensors.size());
        if (f == 0) {
            // Shard 0: the single output's metadata, key for key, then the split keys.
            ASSERT_EQ(k, whole_header->kv.size());
            for (size_t i = 0; i < k; ++i) {
                EXPECT_EQ(h->kv[i].key, whole_header->kv[i].key);
                EXPECT_TRUE(h->kv[i].value == whole_header->kv[i].value) << h->kv[i].key;
            }
        } else {
            EXPECT_EQ(k, 0u);  // only the split keys
        }

        // The input shard's tensors, in its order (pruned ones left out).
        std::vector<std::string> names;
        for (const gguf_tensor_info& t : h->tensors) names.push_back(t.name);
        EXPECT_EQ(names, input_names[f]);

        for (auto& [tname, bytes] : tensor_data(out.bytes)) {
            EXPECT_TRUE(merged.emplace(tname, bytes).second) << tname << " twice";
        }
        read_back.push_back(std::move(h.value()));
    }
    result<gguf_model> model = merge_gguf_shards(std::move(read_back));
    ASSERT_TRUE(model.ok()) << model.error().message();
    EXPECT_EQ(model->tensors.size(), whole_header->tensors.size());
    EXPECT_EQ(merged.size(), expected.size());
    int same = 0;
    for (const auto& [tname, bytes] : expected) {
        auto it = merged.find(tname);
        const bool ok = it != merged.end() && it->second == bytes;
        EXPECT_TRUE(ok) << tname;
        same += ok;
    }
    std::printf(
        "[split] --keep-split %s: %u shards re-read, %d of %zu tensors identical to the "
        "single output\n",
        name.c_str(), n, same, expected.size());
}

std::vector<std::vector<std::string>> shard_names(const shard_set& s) {
    std::vector<std::vector<std::string>> out;
    for (const gguf_header& h : s.model.shards) {
        out.emplace_back();
        for (const gguf_tensor_info& t : h.tensors) out.back().push_back(t.name);
    }
    return out;
}

TEST(PipelineSplit, KeepSplitWritesTheInputShards) {
    const gguf_header& input = testing::reference_input_header();
    const shard_set shards = make_shards(shards_by_tensor_count(input, 25));
    ASSERT_EQ(shards.files.size(), 3u);
    const auto names = shard_names(shards);
    check_keep_split("Q4_K_M", shards, names);
    check_keep_split("IQ3_XXS+imatrix", shards, names);
#ifndef GGUF_SQUASH_WASM_TEST
    // Pruned layers 2 and 5 leave their shards, and the others are renumbered.
    auto prep = testing::prepare_run(*find_run("Q4_K_M+prune"));
    ASSERT_TRUE(prep.ok());
    result<quant_plan> single = make_quant_plan(shards.model, prep->args.options);
    ASSERT_TRUE(single.ok());
    std::vector<std::vector<std::string>> pruned(3);
    // Expected names per shard: each input shard's tensors in order, renamed as the plan renames
    // them, pruned ones dropped.
    std::map<std::string, std::string> renamed;
    for (const tensor_plan& tp : single->tensors) renamed[tp.source_name] = tp.name;
    for (size_t s = 0; s < names.size(); ++s) {
        for (const std::string& n : names[s]) {
            if (renamed.count(n)) pruned[s].push_back(renamed[n]);
        }
    }
    check_keep_split("Q4_K_M+prune", shards, pruned);
    // Shard 0 without tensors (gguf-split --no-tensor-first-split): output shard 0 holds only the
    // metadata, as llama-quantize writes it.
    std::vector<uint32_t> plan_first_empty = shards_by_tensor_count(input, 40);
    for (uint32_t& s : plan_first_empty) ++s;
    const shard_set first_empty = make_shards(plan_first_empty);
    ASSERT_EQ(first_empty.files.size(), 3u);
    ASSERT_TRUE(first_empty.model.shards[0].tensors.empty());
    check_keep_split("Q4_K_M", first_empty, shard_names(first_empty));
#endif
}

// --keep-split on an unsplit model: llama-quantize still sorts by offset (file order) and writes
// one file, without split keys.
TEST(PipelineSplit, KeepSplitOnOneFileKeepsFileOrder) {
    const gguf_header& input = testing::reference_input_header();
    const reference_run* run = find_run("Q4_K_M");
    ASSERT_NE(run, nullptr);
    auto prep = testing::prepare_run(*run);
    ASSERT_TRUE(prep.ok());
    quantize_options o = prep->args.options;
    o.keep_split = true;
    result<quant_plan> plan = make_quant_plan(input, o);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->output_file_count, 1u);
    EXPECT_EQ(output_file_name("out", *plan, true, 0), "out-00001-of-00001.gguf");
    EXPECT_EQ(output_file_name("out.gguf", *plan, false, 0), "out.gguf");
    ASSERT_EQ(plan->tensors.size(), input.tensors.size());
    for (size_t i = 0; i < input.tensors.size(); ++i) {
        EXPECT_EQ(plan->tensors[i].name, input.tensors[i].name);
    }
    EXPECT_EQ(plan->output.find("split.no"), nullptr);
    // Same types as the reference run (the layer counters follow layer order either way here).
    std::map<std::string, std::string> ref_types;
    for (const auto& t : run->tensors) ref_types[t.name] = t.type;
    for (const tensor_plan& tp : plan->tensors) {
        std::string type = type_info(tp.target_type).ggml_name;
        for (char& c : type) c = char(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(type, ref_types[tp.name]) << tp.name;
    }
}

TEST(PipelineSplit, KeepSplitRefusesAShardLeftEmptyByPruning) {
    const gguf_header& input = testing::reference_input_header();
    // Shard 1 holds exactly layer 2's tensors (contiguous in the file).
    std::vector<uint32_t> plan(input.tensors.size(), 0);
    size_t first = input.tensors.size(), last = 0;
    for (size_t i = 0; i < input.tensors.size(); ++i) {
        if (input.tensors[i].name.rfind("blk.2.", 0) == 0) {
            first = std::min(first, i);
            last = i;
        }
    }
    ASSERT_LT(first, last);
    for (size_t i = first; i <= last; ++i) {
        ASSERT_EQ(input.tensors[i].name.rfind("blk.2.", 0), 0u);
    }
    for (size_t i = first; i < plan.size(); ++i) plan[i] = i <= last ? 1 : 2;
    const shard_set shards = make_shards(plan);
    ASSERT_EQ(shards.files.size(), 3u);
    quantize_options o;
    o.ftype = llama_ftype::mostly_q8_0;
    o.prune_layers = {2};
    EXPECT_TRUE(make_quant_plan(shards.model, o).ok());  // one output: fine
    o.keep_split = true;
    result<quant_plan> p = make_quant_plan(shards.model, o);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code(), status_code::refused);
}

TEST(PipelineSplit, AJobWithoutAShardReaderRefusesSplitPlans) {
    const gguf_header& input = testing::reference_input_header();
    const shard_set shards = make_shards(shards_by_tensor_count(input, 25));
    quantize_options o;
    o.ftype = llama_ftype::mostly_q8_0;
    result<quant_plan> plan = make_quant_plan(shards.model, o);
    ASSERT_TRUE(plan.ok());
    quantize_job job(*plan, nullptr);
    // A plain reader sees shard 0 only; the job must not mistake it for the other shards.
    const std::vector<uint8_t>& first = shards.files[0];
    auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (off >= first.size()) return size_t(0);
        const size_t k = size_t(std::min<uint64_t>(n, first.size() - off));
        std::memcpy(buf, first.data() + off, k);
        return k;
    };
    auto write = [](const uint8_t*, size_t) { return status{}; };
    status s = run_quantize_job(job, read, write, 1 << 16);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), status_code::invalid_argument) << s.message();
}

}  // namespace
}  // namespace gguf_squash
