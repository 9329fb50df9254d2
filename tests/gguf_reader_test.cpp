// The push reader on llama.cpp's own files: the keys, array lengths and tensors listed in
// tests/fixtures/README.md, and the same result for every way of chunking the input.
#include "format/gguf_reader.h"

#include <gtest/gtest.h>

#include <random>

#include "gguf_fixture_files.h"
#include "io/gguf_file.h"

namespace gguf_squash {
namespace {

using test_support::fixture_gguf_files;
using test_support::load_fixture;

result<gguf_header> read_whole(const std::vector<uint8_t>& file) {
    return read_gguf_header(file.data(), file.size());
}

// Feeds `file` in chunks whose sizes come from `next_size`, as a network or Blob reader would.
template <typename Sizes>
result<gguf_header> read_chunked(const std::vector<uint8_t>& file, Sizes next_size,
                                 bool know_size = true) {
    gguf_reader_options opts;
    if (know_size) opts.file_size = file.size();
    gguf_reader reader(opts);
    size_t pos = 0;
    while (!reader.finished()) {
        if (pos >= file.size()) return reader.end_of_input();
        const size_t n = std::min(next_size(), file.size() - pos);
        input_span in{file.data() + pos, n, 0};
        result<size_t> r = reader.feed(in);
        if (!r.ok()) return r.error();
        if (!reader.finished()) {
            // An unfinished reader consumed the whole chunk and wants more.
            EXPECT_EQ(in.pos, n);
            EXPECT_GT(*r, 0u);
        } else {
            EXPECT_EQ(*r, 0u);
        }
        pos += in.pos;
    }
    EXPECT_EQ(pos, reader.header().data_offset);
    return reader.take_header();
}

void expect_same_header(const gguf_header& a, const gguf_header& b) {
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.alignment, b.alignment);
    EXPECT_EQ(a.data_offset, b.data_offset);
    ASSERT_EQ(a.kv.size(), b.kv.size());
    for (size_t i = 0; i < a.kv.size(); ++i) {
        EXPECT_EQ(a.kv[i].key, b.kv[i].key);
        EXPECT_TRUE(a.kv[i].value == b.kv[i].value) << a.kv[i].key;
    }
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
        const gguf_tensor_info& x = a.tensors[i];
        const gguf_tensor_info& y = b.tensors[i];
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.type, y.type);
        EXPECT_EQ(x.n_dims, y.n_dims);
        for (uint32_t d = 0; d < kMaxTensorDims; ++d) EXPECT_EQ(x.ne[d], y.ne[d]);
        EXPECT_EQ(x.offset, y.offset);
    }
}

uint64_t array_len(const gguf_header& h, const char* key) {
    const gguf_value* v = h.find(key);
    if (!v || !v->is_array()) return 0;
    return v->count;
}

struct vocab_expectation {
    const char* file;
    size_t keys;
    std::vector<std::pair<const char*, uint64_t>> arrays;
};

// From tests/fixtures/README.md.
TEST(GgufReader, VocabFilesMatchReadme) {
    const std::vector<vocab_expectation> cases = {
        {"vocab/ggml-vocab-llama-spm.gguf",
         22,
         {{"tokenizer.ggml.tokens", 32000},
          {"tokenizer.ggml.scores", 32000},
          {"tokenizer.ggml.token_type", 32000}}},
        {"vocab/ggml-vocab-gpt-2.gguf",
         16,
         {{"tokenizer.ggml.tokens", 50257},
          {"tokenizer.ggml.token_type", 50257},
          {"tokenizer.ggml.merges", 50000}}},
        {"vocab/ggml-vocab-qwen2.gguf",
         20,
         {{"tokenizer.ggml.tokens", 151936},
          {"tokenizer.ggml.token_type", 151936},
          {"tokenizer.ggml.merges", 151387}}},
    };
    for (const vocab_expectation& c : cases) {
        SCOPED_TRACE(c.file);
        const std::vector<uint8_t> file = load_fixture(c.file);
        result<gguf_header> h = read_whole(file);
        ASSERT_TRUE(h.ok()) << h.error().message();
        EXPECT_EQ(h->version, 3u);
        EXPECT_EQ(h->kv.size(), c.keys);
        EXPECT_EQ(h->tensors.size(), 0u);
        EXPECT_EQ(h->data_offset, file.size());  // no tensors: the header is the whole file
        size_t n_arrays = 0;
        for (const gguf_kv& kv : h->kv) n_arrays += kv.value.is_array();
        EXPECT_EQ(n_arrays, c.arrays.size());
        for (const auto& [key, len] : c.arrays) {
            EXPECT_EQ(array_len(*h, key), len) << key;
            const gguf_value* v = h->find(key);
            ASSERT_NE(v, nullptr);
            if (v->item_type == gguf_value_type::string) {
                EXPECT_EQ(v->strings.size(), len);
            } else {
                EXPECT_EQ(v->raw_items.size(), len * gguf_value_type_size(v->item_type));
            }
        }
    }
}

TEST(GgufReader, LlamaGqaMatchesReadme) {
    const std::vector<uint8_t> file = load_fixture("models/llama-gqa.gguf");
    result<gguf_header> h = read_whole(file);
    ASSERT_TRUE(h.ok()) << h.error().message();
    EXPECT_EQ(h->kv.size(), 21u);
    ASSERT_EQ(h->tensors.size(), 75u);
    EXPECT_EQ(h->get_string("general.architecture"), std::optional<std::string>("llama"));
    EXPECT_EQ(h->get_u64("llama.block_count"), std::optional<uint64_t>(8));
    EXPECT_EQ(h->get_u64("llama.embedding_length"), std::optional<uint64_t>(256));
    EXPECT_EQ(h->get_u64("llama.attention.head_count"), std::optional<uint64_t>(4));
    EXPECT_EQ(h->get_u64("llama.attention.head_count_kv"), std::optional<uint64_t>(1));
    EXPECT_EQ(h->get_u64("llama.feed_forward_length"), std::optional<uint64_t>(768));
    EXPECT_EQ(array_len(*h, "tokenizer.ggml.tokens"), 4096u);
    // 2 global + 9 per layer (4 attention, 3 ffn, 2 norms) + output: untied, so output.weight.
    EXPECT_GE(h->find_tensor("output.weight"), 0);
    EXPECT_GE(h->find_tensor("token_embd.weight"), 0);
    size_t f16 = 0, f32 = 0;
    for (const gguf_tensor_info& t : h->tensors) {
        const bool norm = t.name.find("norm") != std::string::npos;
        EXPECT_EQ(t.type, norm ? ggml_type::f32 : ggml_type::f16) << t.name;
        (t.type == ggml_type::f16 ? f16 : f32) += 1;
    }
    EXPECT_EQ(f32, 8u * 2 + 1);
    EXPECT_EQ(f16, 75u - f32);
    const gguf_tensor_info& q = h->tensors[size_t(h->find_tensor("blk.0.attn_q.weight"))];
    EXPECT_EQ(q.n_dims, 2u);
    EXPECT_EQ(q.ne[0], 256u);
    EXPECT_EQ(q.ne[1], 256u);
    const gguf_tensor_info& k = h->tensors[size_t(h->find_tensor("blk.0.attn_k.weight"))];
    EXPECT_EQ(k.ne[1], 64u);  // 1 KV head of 256 / 4
    const gguf_tensor_info& last = h->tensors.back();
    EXPECT_EQ(h->data_offset + last.offset + align_up(last.nbytes(), h->alignment), file.size());
}

TEST(GgufReader, OneByteChunksGiveTheSameHeader) {
    for (const std::string& rel : fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const std::vector<uint8_t> file = load_fixture(rel);
        result<gguf_header> whole = read_whole(file);
        ASSERT_TRUE(whole.ok()) << whole.error().message();
        result<gguf_header> bytewise = read_chunked(file, [] { return size_t(1); });
        ASSERT_TRUE(bytewise.ok()) << bytewise.error().message();
        expect_same_header(*whole, *bytewise);
    }
}

TEST(GgufReader, RandomChunksGiveTheSameHeader) {
    for (const std::string& rel : fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const std::vector<uint8_t> file = load_fixture(rel);
        result<gguf_header> whole = read_whole(file);
        ASSERT_TRUE(whole.ok()) << whole.error().message();
        for (uint32_t seed = 1; seed <= 4; ++seed) {
            SCOPED_TRACE(seed);
            std::mt19937 rng(seed);
            // Mostly small chunks that split every field, sometimes large ones.
            auto sizes = [&rng] {
                const uint32_t r = rng();
                return size_t(r % 8 == 0 ? 1 + r % 70000 : 1 + (r >> 8) % 13);
            };
            result<gguf_header> chunked = read_chunked(file, sizes, seed % 2 == 0);
            ASSERT_TRUE(chunked.ok()) << chunked.error().message();
            expect_same_header(*whole, *chunked);
        }
    }
}

TEST(GgufReader, FileReaderMatchesBufferReader) {
    for (const std::string& rel : fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const std::vector<uint8_t> file = load_fixture(rel);
        result<gguf_header> whole = read_whole(file);
        result<gguf_header> from_disk = read_gguf_header_file(test_support::fixture_path(rel));
        ASSERT_TRUE(whole.ok() && from_disk.ok());
        expect_same_header(*whole, *from_disk);
    }
}

TEST(GgufReader, StopsAtTheDataSectionAndLeavesTheRest) {
    const std::vector<uint8_t> file = load_fixture("models/llama-gqa.gguf");
    gguf_reader reader(gguf_reader_options{file.size()});
    input_span in{file.data(), file.size(), 0};
    result<size_t> r = reader.feed(in);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0u);
    ASSERT_TRUE(reader.finished());
    EXPECT_EQ(in.pos, reader.header().data_offset);
    EXPECT_EQ(reader.header().data_offset % reader.header().alignment, 0u);
    // Further feeding consumes nothing.
    r = reader.feed(in);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(in.pos, reader.header().data_offset);
}

}  // namespace
}  // namespace gguf_squash
