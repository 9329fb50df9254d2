// Split models: llama-gqa.gguf cut into gguf-split shards (written here with our writer), read
// back as one model with the same tensors, data and metadata; inconsistent shard sets refused.
#include "format/gguf_split.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "gguf_fixture_files.h"
#include "io/gguf_file.h"

namespace gguf_squash {
namespace {

struct source_model {
    std::vector<uint8_t> file;
    gguf_header header;
};

const source_model& llama_gqa() {
    static const source_model m = [] {
        source_model s;
        s.file = test_support::load_fixture("models/llama-gqa.gguf");
        result<gguf_header> h = read_gguf_header(s.file.data(), s.file.size());
        if (h.ok()) s.header = std::move(h.value());
        return s;
    }();
    return m;
}

// Writes each shard (header, then every tensor's bytes from the source, padded) and returns the
// paths.
std::vector<std::string> write_shards(const std::vector<gguf_header>& shards,
                                      const std::string& prefix) {
    const source_model& src = llama_gqa();
    std::vector<std::string> paths;
    for (uint32_t s = 0; s < shards.size(); ++s) {
        const std::string path = gguf_split_path(prefix, s, uint32_t(shards.size()));
        result<std::vector<uint8_t>> bytes = encode_gguf_header(shards[s]);
        EXPECT_TRUE(bytes.ok());
        std::vector<uint8_t> out = std::move(bytes.value());
        for (const gguf_tensor_info& t : shards[s].tensors) {
            const gguf_tensor_info& orig =
                src.header.tensors[size_t(src.header.find_tensor(t.name))];
            const uint8_t* data = src.file.data() + src.header.data_offset + orig.offset;
            out.insert(out.end(), data, data + t.nbytes());
            out.insert(out.end(), size_t(tensor_padding(t.nbytes(), shards[s].alignment)), 0);
        }
        EXPECT_EQ(out.size(), gguf_file_size(shards[s]));
        FILE* f = std::fopen(path.c_str(), "wb");
        EXPECT_NE(f, nullptr);
        if (f) {
            std::fwrite(out.data(), 1, out.size(), f);
            std::fclose(f);
        }
        paths.push_back(path);
    }
    return paths;
}

void remove_all(const std::vector<std::string>& paths) {
    for (const std::string& p : paths) std::remove(p.c_str());
}

TEST(GgufSplit, PathsLikeLlamaCpp) {
    EXPECT_EQ(gguf_split_path("/m/model", 0, 3), "/m/model-00001-of-00003.gguf");
    EXPECT_EQ(gguf_split_prefix("/m/model-00002-of-00003.gguf", 1, 3),
              std::optional<std::string>("/m/model"));
    EXPECT_FALSE(gguf_split_prefix("/m/model-00002-of-00003.gguf", 0, 3).has_value());
}

TEST(GgufSplit, ShardsReadBackAsOneModel) {
    const source_model& src = llama_gqa();
    ASSERT_EQ(src.header.tensors.size(), 75u);
    const std::vector<uint32_t> plan = shards_by_tensor_count(src.header, 32);
    EXPECT_EQ(plan.back(), 2u);
    result<std::vector<gguf_header>> shards = split_gguf_header(src.header, plan);
    ASSERT_TRUE(shards.ok()) << shards.error().message();
    ASSERT_EQ(shards->size(), 3u);
    EXPECT_EQ((*shards)[0].kv.size(), src.header.kv.size() + 3);  // metadata in the first only
    EXPECT_EQ((*shards)[1].kv.size(), 3u);
    EXPECT_EQ((*shards)[2].tensors.size(), 11u);

    const std::vector<std::string> paths =
        write_shards(*shards, ::testing::TempDir() + "gguf_split_test_gqa");
    for (const std::string& first : {paths[0], paths[2]}) {  // any shard finds the others
        SCOPED_TRACE(first);
        result<gguf_model> m = read_gguf_model_file(first);
        ASSERT_TRUE(m.ok()) << m.error().message();
        ASSERT_EQ(m->shards.size(), 3u);
        ASSERT_EQ(m->tensors.size(), 75u);
        for (size_t i = 0; i < src.header.kv.size(); ++i) {
            EXPECT_EQ(m->metadata().kv[i].key, src.header.kv[i].key);
            EXPECT_TRUE(m->metadata().kv[i].value == src.header.kv[i].value);
        }
        EXPECT_EQ(m->metadata().get_u64(kSplitCountKey), std::optional<uint64_t>(3));
        std::vector<std::vector<uint8_t>> shard_files;
        for (const std::string& p : paths) shard_files.push_back(test_support::load_file(p));
        for (size_t i = 0; i < 75; ++i) {
            const gguf_model_tensor& t = m->tensors[i];
            const gguf_tensor_info& o = src.header.tensors[i];
            EXPECT_EQ(t.info.name, o.name);
            EXPECT_EQ(t.info.type, o.type);
            EXPECT_EQ(t.info.n_elements(), o.n_elements());
            EXPECT_EQ(t.shard, plan[i]);
            // The data sits at its shard's data offset: compare with the source bytes.
            const std::vector<uint8_t>& shard_file = shard_files[t.shard];
            ASSERT_LE(m->data_offset(t) + t.info.nbytes(), shard_file.size());
            EXPECT_EQ(std::memcmp(shard_file.data() + m->data_offset(t),
                                  src.file.data() + src.header.data_offset + o.offset,
                                  size_t(o.nbytes())),
                      0)
                << o.name;
        }
    }
    remove_all(paths);
}

TEST(GgufSplit, MetadataOnlyFirstShardAndSizePlan) {
    const source_model& src = llama_gqa();
    std::vector<uint32_t> plan = shards_by_size(src.header, 4u << 20);
    uint64_t in_shard = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        if (i && plan[i] != plan[i - 1]) in_shard = 0;
        in_shard += align_up(src.header.tensors[i].nbytes(), 32);
        EXPECT_LE(in_shard, 4u << 20);
    }
    for (uint32_t& s : plan) ++s;  // gguf-split --no-tensor-first-split
    result<std::vector<gguf_header>> shards = split_gguf_header(src.header, plan);
    ASSERT_TRUE(shards.ok()) << shards.error().message();
    EXPECT_TRUE((*shards)[0].tensors.empty());
    std::vector<gguf_header> copy = *shards;
    result<gguf_model> m = merge_gguf_shards(std::move(copy));
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->tensors.size(), 75u);
    EXPECT_EQ(m->tensors.front().shard, 1u);
}

TEST(GgufSplit, InconsistentShardSetsRefused) {
    const source_model& src = llama_gqa();
    result<std::vector<gguf_header>> shards =
        split_gguf_header(src.header, shards_by_tensor_count(src.header, 30));
    ASSERT_TRUE(shards.ok());
    ASSERT_EQ(shards->size(), 3u);
    {  // a missing shard
        std::vector<gguf_header> s = {(*shards)[0], (*shards)[2]};
        result<gguf_model> m = merge_gguf_shards(std::move(s));
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("split.count"), std::string::npos)
            << m.error().message();
    }
    {  // a shard given twice
        std::vector<gguf_header> s = {(*shards)[0], (*shards)[1], (*shards)[1]};
        result<gguf_model> m = merge_gguf_shards(std::move(s));
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("split.no"), std::string::npos) << m.error().message();
    }
    {  // a wrong total
        std::vector<gguf_header> s = *shards;
        s[0].set(kSplitTensorsCountKey, gguf_value::make_i32(74));
        result<gguf_model> m = merge_gguf_shards(std::move(s));
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("split.tensors.count"), std::string::npos);
    }
    {  // a tensor in two shards
        std::vector<gguf_header> s = *shards;
        s[2].tensors.push_back(s[1].tensors[0]);
        s[0].set(kSplitTensorsCountKey, gguf_value::make_i32(76));
        result<gguf_model> m = merge_gguf_shards(std::move(s));
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("more than one shard"), std::string::npos);
    }
    {  // a split.no past the count
        std::vector<gguf_header> s = *shards;
        s[1].set(kSplitNoKey, gguf_value::make_u32(3));
        result<gguf_model> m = merge_gguf_shards(std::move(s));
        ASSERT_FALSE(m.ok());
    }
    {  // a plan that goes back
        std::vector<uint32_t> plan = shards_by_tensor_count(src.header, 30);
        plan[40] = 0;
        EXPECT_FALSE(split_gguf_header(src.header, plan).ok());
    }
    {  // the other shards are missing on disk
        const std::vector<std::string> paths =
            write_shards(*shards, ::testing::TempDir() + "gguf_split_test_missing");
        std::remove(paths[1].c_str());
        result<gguf_model> m = read_gguf_model_file(paths[0]);
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("00002-of-00003"), std::string::npos)
            << m.error().message();
        remove_all(paths);
    }
}

TEST(GgufSplit, PlainFileIsOneShard) {
    result<gguf_model> m =
        read_gguf_model_file(test_support::fixture_path("models/llama-gqa.gguf"));
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->shards.size(), 1u);
    EXPECT_EQ(m->tensors.size(), 75u);
    EXPECT_EQ(m->data_offset(m->tensors[1]),
              llama_gqa().header.data_offset + llama_gqa().header.tensors[1].offset);
}

}  // namespace
}  // namespace gguf_squash
