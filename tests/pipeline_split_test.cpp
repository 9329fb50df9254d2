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

#include <algorithm>
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

using test_support::reference_run;

// A split model in memory: each shard's file bytes and header as read back.
struct shard_set {
    std::vector<std::vector<uint8_t>> files;
    gguf_model model;
};

// Writes llama-gqa.gguf as gguf-split would with this tensor-to-shard plan (file order kept),
// and reads the shards back as one model.
shard_set make_shards(const std::vector<uint32_t>& shard_of_tensor) {
    shard_set set;
    set.files = test_support::llama_gqa_shard_files(shard_of_tensor);
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
    for (const auto& r : test_support::reference_runs())
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
    const gguf_header& input = test_support::reference_input_header();
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
        auto prep = test_support::prepare_run(*run);
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
            gguf_squash::sha256_hex(out.bytes.data(), out.bytes.size()) == run->file_sha256;
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
    auto prep = test_support::prepare_run(*run);
    ASSERT_TRUE(prep.ok()) << prep.error().message();

    // The single output (checked against the reference) to compare the shards with.
    result<quant_plan> single = make_quant_plan(shards.model, prep->args.options);
    ASSERT_TRUE(single.ok()) << single.error().message();
    run_output whole = quantize_shards(*single, shards, prep->imatrix.get());
    ASSERT_TRUE(whole.st.ok()) << whole.st.message();
    ASSERT_EQ(gguf_squash::sha256_hex(whole.bytes.data(), whole.bytes.size()), run->file_sha256);
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
        if (!h->tensors.empty()) {
            EXPECT_EQ(h->data_offset, part->header_size);
        }

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
    const gguf_header& input = test_support::reference_input_header();
    const shard_set shards = make_shards(shards_by_tensor_count(input, 25));
    ASSERT_EQ(shards.files.size(), 3u);
    const auto names = shard_names(shards);
    check_keep_split("Q4_K_M", shards, names);
    check_keep_split("IQ3_XXS+imatrix", shards, names);
#ifndef GGUF_SQUASH_WASM_TEST
    // Pruned layers 2 and 5 leave their shards, and the others are renumbered.
    auto prep = test_support::prepare_run(*find_run("Q4_K_M+prune"));
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
    const gguf_header& input = test_support::reference_input_header();
    const reference_run* run = find_run("Q4_K_M");
    ASSERT_NE(run, nullptr);
    auto prep = test_support::prepare_run(*run);
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
    const gguf_header& input = test_support::reference_input_header();
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
    const gguf_header& input = test_support::reference_input_header();
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

namespace gguf_squash {
namespace {

// An input whose general.alignment is 64: llama-quantize copies the key (gguf_set_kv) but its
// output context keeps GGUF_DEFAULT_ALIGNMENT, so the file is laid out with 32 and still says 64.
// Expected, from that: the reference Q4_K_M file's data section unchanged, and its header with
// the key added after the input's keys (before the two keys llama-quantize sets last).
TEST(PipelineAlignment, InputAlignmentKeyIsCopiedAndTheLayoutStays32) {
    const reference_run* run = find_run("Q4_K_M");
    ASSERT_NE(run, nullptr);
    const gguf_header& base = test_support::reference_input_header();
    const std::vector<uint8_t>& base_bytes = test_support::llama_gqa_bytes();

    // The model re-laid out with alignment 64.
    gguf_header h = base;
    h.set("general.alignment", gguf_value::make_u32(64));
    h.alignment = 64;
    assign_tensor_offsets(h);
    result<std::vector<uint8_t>> enc = encode_gguf_header(h);
    ASSERT_TRUE(enc.ok()) << enc.error().message();
    std::vector<uint8_t> file = std::move(enc.value());
    for (const gguf_tensor_info& t : h.tensors) {
        const gguf_tensor_info& orig = base.tensors[size_t(base.find_tensor(t.name))];
        const uint8_t* d = base_bytes.data() + base.data_offset + orig.offset;
        file.insert(file.end(), d, d + t.nbytes());
        file.insert(file.end(), size_t(tensor_padding(t.nbytes(), 64)), 0);
    }
    result<gguf_header> input = read_gguf_header(file.data(), file.size());
    ASSERT_TRUE(input.ok()) << input.error().message();
    ASSERT_EQ(input->alignment, 64u);

    auto prep = test_support::prepare_run(*run);
    ASSERT_TRUE(prep.ok());
    result<quant_plan> plan = make_quant_plan(*input, prep->args.options);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->output.alignment, 32u);
    run_output out;
    {
        quantize_job job(*plan, nullptr);
        auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
            if (off >= file.size()) return size_t(0);
            const size_t k = size_t(std::min<uint64_t>(n, file.size() - off));
            std::memcpy(buf, file.data() + off, k);
            return k;
        };
        auto write = [&](const uint8_t* d, size_t n) -> status {
            out.bytes.insert(out.bytes.end(), d, d + n);
            return {};
        };
        out.st = run_quantize_job(job, read, write, 1 << 20);
    }
    ASSERT_TRUE(out.st.ok()) << out.st.message();
    ASSERT_EQ(out.bytes.size(), plan->file_size);
    ASSERT_EQ(plan->header_size % 32, 0u);

    // The data section: the reference file's, byte for byte.
    const uint64_t data_size = run->file_size - run->header_size;
    ASSERT_EQ(out.bytes.size() - plan->header_size, data_size);
    int same = 0;
    for (const auto& t : run->tensors) {
        const uint64_t at = plan->header_size + t.offset;
        same += gguf_squash::sha256_hex(out.bytes.data() + at, t.nbytes) == t.sha256;
    }
    EXPECT_EQ(same, int(run->tensors.size()));

    // The header: the key, UINT32 64, where gguf_set_kv put it. Read back with the value set to
    // 32 (a reader honouring 64 would look for the data elsewhere, as llama.cpp's would).
    std::vector<uint8_t> header(out.bytes.begin(), out.bytes.begin() + plan->header_size);
    const std::string key = "general.alignment";
    auto it = std::search(header.begin(), header.end(), key.begin(), key.end());
    ASSERT_NE(it, header.end());
    const size_t at = size_t(it - header.begin()) + key.size();
    uint32_t type = 0, value = 0;
    std::memcpy(&type, header.data() + at, 4);
    std::memcpy(&value, header.data() + at + 4, 4);
    EXPECT_EQ(type, uint32_t(gguf_value_type::uint32));
    EXPECT_EQ(value, 64u);
    value = 32;
    std::memcpy(header.data() + at + 4, &value, 4);
    std::vector<uint8_t> patched = header;
    patched.insert(patched.end(), out.bytes.begin() + plan->header_size, out.bytes.end());
    result<gguf_header> back = read_gguf_header(patched.data(), patched.size());
    ASSERT_TRUE(back.ok()) << back.error().message();
    // The reference output's key order (its header bytes are the plan's for the plain input,
    // which the 68 reference runs check).
    result<quant_plan> plain = make_quant_plan(base, prep->args.options);
    ASSERT_TRUE(plain.ok());
    std::vector<std::string> expected;
    for (const gguf_kv& kv : plain->output.kv) expected.push_back(kv.key);
    ASSERT_GE(expected.size(), 2u);
    EXPECT_EQ(expected[expected.size() - 2], "general.quantization_version");
    EXPECT_EQ(expected.back(), "general.file_type");
    expected.insert(expected.end() - 2, key);
    std::vector<std::string> got;
    for (const gguf_kv& kv : back->kv) got.push_back(kv.key);
    EXPECT_EQ(got, expected);
    for (const gguf_kv& kv : back->kv) {
        if (kv.key == key) continue;
        const gguf_value* v = plain->output.find(kv.key);
        ASSERT_NE(v, nullptr) << kv.key;
        EXPECT_TRUE(*v == kv.value) << kv.key;
    }
    std::printf(
        "[split] input general.alignment 64: key copied, layout 32, %d of %zu tensors equal "
        "to the reference\n",
        same, run->tensors.size());
}

TEST(PipelineAlignment, OverridingTheAlignmentKey) {
    const gguf_header& base = test_support::reference_input_header();
    quantize_options o;
    o.ftype = llama_ftype::mostly_q8_0;
    result<kv_override> ok = parse_kv_override("general.alignment=int:64");
    ASSERT_TRUE(ok.ok());
    o.kv_overrides = {*ok};
    result<quant_plan> p = make_quant_plan(base, o);
    ASSERT_TRUE(p.ok()) << p.error().message();
    EXPECT_EQ(p->output.alignment, 32u);
    // gguf_set_val_u32 asserts a power of two (llama-quantize aborts); refused here.
    o.kv_overrides = {*parse_kv_override("general.alignment=int:48")};
    EXPECT_FALSE(make_quant_plan(base, o).ok());
}

}  // namespace
}  // namespace gguf_squash
