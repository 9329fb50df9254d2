// The writer against llama.cpp's own files: read a fixture's header, encode it, append the data
// section as is, and get the original bytes back. Sizes and offsets follow gguf.cpp's rules.
#include "format/gguf_writer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "format/gguf_reader.h"
#include "gguf_fixture_files.h"

#ifndef GGUF_SQUASH_WASM_TEST
#include <filesystem>
#endif

namespace gguf_squash {
namespace {

using test_support::fixture_gguf_files;
using test_support::load_fixture;

// The vocab files were written by gguf-py, which does not pad a header without tensors.
gguf_encode_options options_for(const gguf_header& h) {
    gguf_encode_options o;
    if (h.tensors.empty()) o.pad_without_tensors = false;
    return o;
}

TEST(GgufWriter, RoundTripEveryFixtureByteIdentical) {
    for (const std::string& rel : fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const std::vector<uint8_t> file = load_fixture(rel);
        ASSERT_FALSE(file.empty());
        result<gguf_header> h = read_gguf_header(file.data(), file.size());
        ASSERT_TRUE(h.ok()) << h.error().message();
        const gguf_encode_options opts = options_for(*h);
        result<std::vector<uint8_t>> enc = encode_gguf_header(*h, opts);
        ASSERT_TRUE(enc.ok()) << enc.error().message();
        ASSERT_EQ(enc->size(), h->data_offset);
        EXPECT_EQ(encoded_header_size(*h, opts), h->data_offset);
        std::vector<uint8_t> out = std::move(enc.value());
        out.insert(out.end(), file.begin() + long(h->data_offset), file.end());
        ASSERT_EQ(out.size(), file.size());
        EXPECT_TRUE(out == file);
        EXPECT_EQ(gguf_file_size(*h, opts), file.size());
    }
}

TEST(GgufWriter, AssignedOffsetsMatchLlamaCppFiles) {
    for (const std::string& rel : fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const std::vector<uint8_t> file = load_fixture(rel);
        result<gguf_header> h = read_gguf_header(file.data(), file.size());
        ASSERT_TRUE(h.ok()) << h.error().message();
        gguf_header copy = *h;
        for (gguf_tensor_info& t : copy.tensors) t.offset = 12345;
        assign_tensor_offsets(copy);
        for (size_t i = 0; i < h->tensors.size(); ++i)
            EXPECT_EQ(copy.tensors[i].offset, h->tensors[i].offset) << h->tensors[i].name;
        // The data section ends with the last tensor's padding (files with tensors).
        if (!h->tensors.empty()) {
            const gguf_tensor_info& last = h->tensors.back();
            EXPECT_EQ(h->data_offset + last.offset + last.nbytes() +
                          tensor_padding(last.nbytes(), h->alignment),
                      file.size());
        }
    }
}

TEST(GgufWriter, LlamaCppPadsHeaderEvenWithoutTensors) {
    const std::vector<uint8_t> file = load_fixture("vocab/ggml-vocab-gpt-2.gguf");
    result<gguf_header> h = read_gguf_header(file.data(), file.size());
    ASSERT_TRUE(h.ok()) << h.error().message();
    result<std::vector<uint8_t>> enc = encode_gguf_header(*h);
    ASSERT_TRUE(enc.ok());
    EXPECT_EQ(enc->size(), align_up(file.size(), 32));
    EXPECT_EQ(enc->size() % 32, 0u);
    EXPECT_TRUE(std::equal(file.begin(), file.end(), enc->begin()));
    for (size_t i = file.size(); i < enc->size(); ++i) EXPECT_EQ((*enc)[i], 0);
    EXPECT_EQ(gguf_file_size(*h), enc->size());
}

TEST(GgufWriter, NDimsDropTrailingOnesLikeGgml) {
    gguf_tensor_info t;
    t.ne[0] = 256;
    EXPECT_EQ(written_n_dims(t), 1u);
    t.ne[2] = 3;
    EXPECT_EQ(written_n_dims(t), 3u);
    t.ne[2] = 1;
    t.ne[3] = 2;
    EXPECT_EQ(written_n_dims(t), 4u);
}

TEST(GgufWriter, TensorPadding) {
    EXPECT_EQ(tensor_padding(0, 32), 0u);
    EXPECT_EQ(tensor_padding(1, 32), 31u);
    EXPECT_EQ(tensor_padding(32, 32), 0u);
    EXPECT_EQ(tensor_padding(33, 64), 31u);
}

TEST(GgufWriter, RefusesInconsistentAlignment) {
    gguf_header h;
    h.alignment = 64;
    EXPECT_FALSE(encode_gguf_header(h).ok());  // no general.alignment: readers would assume 32
    h.set("general.alignment", gguf_value::make_u32(64));
    EXPECT_TRUE(encode_gguf_header(h).ok());
    h.alignment = 48;
    h.set("general.alignment", gguf_value::make_u32(48));
    EXPECT_FALSE(encode_gguf_header(h).ok());
    h.alignment = 64;
    h.set("general.alignment", gguf_value::make_u64(64));
    EXPECT_FALSE(encode_gguf_header(h).ok());
}

TEST(GgufWriter, EncodedHeaderReadsBack) {
    gguf_header h;
    h.set("general.alignment", gguf_value::make_u32(64));
    h.alignment = 64;
    h.set("a.str", gguf_value::make_string("x\xff\xfe"));
    h.set("a.strs", gguf_value::make_string_array({"", "b", "cc"}));
    h.set("a.f32", gguf_value::make_f32(1.5f));
    gguf_value nested;
    nested.type = gguf_value_type::array;
    nested.item_type = gguf_value_type::array;
    nested.count = 2;
    nested.arrays.push_back(
        gguf_value::make_scalar_array(gguf_value_type::uint16, 2, {1, 0, 2, 0}));
    nested.arrays.push_back(gguf_value::make_string_array({"z"}));
    h.set("a.nested", nested);
    gguf_tensor_info t;
    t.name = "w";
    t.type = ggml_type::q4_0;
    t.n_dims = 2;
    t.ne[0] = 64;
    t.ne[1] = 3;
    h.tensors.push_back(t);
    t.name = "v";
    t.type = ggml_type::f32;
    t.ne[1] = 1;
    h.tensors.push_back(t);
    assign_tensor_offsets(h);
    EXPECT_EQ(h.tensors[1].offset, 128u);  // 3 rows * 2 blocks * 18 bytes = 108, padded to 64
    result<std::vector<uint8_t>> enc = encode_gguf_header(h);
    ASSERT_TRUE(enc.ok()) << enc.error().message();
    std::vector<uint8_t> file = *enc;
    file.resize(size_t(gguf_file_size(h)), 0);
    EXPECT_EQ(file.size(), enc->size() + 128 + 256);
    result<gguf_header> back = read_gguf_header(file.data(), file.size());
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->data_offset, enc->size());
    EXPECT_EQ(back->alignment, 64u);
    ASSERT_EQ(back->kv.size(), h.kv.size());
    for (size_t i = 0; i < h.kv.size(); ++i) {
        EXPECT_EQ(back->kv[i].key, h.kv[i].key);
        EXPECT_TRUE(back->kv[i].value == h.kv[i].value) << h.kv[i].key;
    }
    ASSERT_EQ(back->tensors.size(), 2u);
    EXPECT_EQ(back->tensors[1].n_dims, 1u);  // trailing 1 dropped, as ggml_n_dims does
    EXPECT_EQ(back->tensors[1].offset, 128u);
}

#ifndef GGUF_SQUASH_WASM_TEST
TEST(GgufWriter, FixtureListIsComplete) {
    namespace fs = std::filesystem;
    size_t found = 0;
    for (const auto& e : fs::recursive_directory_iterator(GGUF_SQUASH_FIXTURES)) {
        if (e.path().extension() != ".gguf") continue;
        const std::string rel = fs::relative(e.path(), GGUF_SQUASH_FIXTURES).string();
        if (rel.rfind("malformed/", 0) == 0) continue;
        ++found;
        bool listed = false;
        for (const std::string& f : fixture_gguf_files()) listed |= f == rel;
        EXPECT_TRUE(listed) << rel;
    }
    EXPECT_EQ(found, fixture_gguf_files().size());
}
#endif

}  // namespace
}  // namespace gguf_squash
