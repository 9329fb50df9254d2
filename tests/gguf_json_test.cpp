// The info JSON against nlohmann's parser: valid for every fixture (including invalid UTF-8),
// with the fields issue 2 specifies holding exactly what the reader read.
#include "format/gguf_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "estimate/gguf_info_text.h"
#include "format/gguf_reader.h"
#include "gguf_fixture_files.h"
#include "gguf_malformed_cases.h"

namespace gguf_squash {
namespace {

using ojson = nlohmann::ordered_json;

ojson parse(const std::string& s) {
    return ojson::parse(s);
}

TEST(GgufJson, EveryFixtureGivesTheSpecifiedObject) {
    for (const std::string& rel : test_support::fixture_gguf_files()) {
        SCOPED_TRACE(rel);
        const std::vector<uint8_t> file = test_support::load_fixture(rel);
        result<gguf_header> h = read_gguf_header(file.data(), file.size());
        ASSERT_TRUE(h.ok());
        const std::string text = gguf_header_to_json(*h);
        EXPECT_EQ(text.find('\n'), std::string::npos);
        ojson j;
        ASSERT_NO_THROW(j = parse(text));
        EXPECT_EQ(j.at("version"), h->version);
        EXPECT_EQ(j.at("alignment"), h->alignment);
        EXPECT_EQ(j.at("data_offset"), h->data_offset);
        const ojson& md = j.at("metadata");
        ASSERT_EQ(md.size(), h->kv.size());
        size_t i = 0;
        for (auto it = md.begin(); it != md.end(); ++it, ++i) {  // file order
            const gguf_kv& kv = h->kv[i];
            EXPECT_EQ(it.key(), valid_utf8(kv.key));
            const ojson& v = it.value();
            EXPECT_EQ(v.at("type"), gguf_value_type_name(kv.value.type));
            if (kv.value.is_array()) {
                EXPECT_EQ(v.at("item_type"), gguf_value_type_name(kv.value.item_type));
                EXPECT_EQ(v.at("len"), kv.value.count);
                ASSERT_EQ(v.at("value").size(), kv.value.count);
                if (kv.value.item_type == gguf_value_type::string) {
                    for (size_t k = 0; k < kv.value.count; ++k)
                        ASSERT_EQ(v.at("value")[k], valid_utf8(kv.value.strings[k])) << k;
                }
                if (kv.value.item_type == gguf_value_type::float32) {
                    for (size_t k = 0; k < kv.value.count; ++k) {
                        float want;
                        std::memcpy(&want, kv.value.raw_items.data() + 4 * k, 4);
                        ASSERT_EQ(float(v.at("value")[k].get<double>()), want) << k;
                    }
                }
            } else if (kv.value.type == gguf_value_type::string) {
                EXPECT_EQ(v.at("value"), valid_utf8(kv.value.str));
            } else if (kv.value.type == gguf_value_type::float32) {
                EXPECT_EQ(float(v.at("value").get<double>()), float(kv.value.as_f64()));
            } else if (kv.value.type == gguf_value_type::boolean) {
                EXPECT_EQ(v.at("value").get<bool>(), kv.value.as_bool());
            } else if (kv.value.is_integer()) {
                if (kv.value.as_i64() < 0)
                    EXPECT_EQ(v.at("value").get<int64_t>(), kv.value.as_i64());
                else
                    EXPECT_EQ(v.at("value").get<uint64_t>(), kv.value.as_u64());
            }
        }
        const ojson& ts = j.at("tensors");
        ASSERT_EQ(ts.size(), h->tensors.size());
        for (size_t k = 0; k < ts.size(); ++k) {
            const gguf_tensor_info& t = h->tensors[k];
            EXPECT_EQ(ts[k].at("name"), t.name);
            EXPECT_EQ(ts[k].at("type"), type_name(t.type));
            ASSERT_EQ(ts[k].at("shape").size(), t.n_dims);
            for (uint32_t d = 0; d < t.n_dims; ++d) EXPECT_EQ(ts[k].at("shape")[d], t.ne[d]);
            EXPECT_EQ(ts[k].at("offset"), t.offset);
            EXPECT_EQ(ts[k].at("nbytes"), t.nbytes());
        }
    }
}

TEST(GgufJson, LlamaGqaValues) {
    const std::vector<uint8_t> file = test_support::load_fixture("models/llama-gqa.gguf");
    result<gguf_header> h = read_gguf_header(file.data(), file.size());
    ASSERT_TRUE(h.ok());
    const ojson j = parse(gguf_header_to_json(*h));
    EXPECT_EQ(j["metadata"]["general.architecture"],
              ojson({{"type", "STRING"}, {"value", "llama"}}));
    EXPECT_EQ(j["metadata"]["llama.block_count"]["value"], 8);
    EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["len"], 4096);
    EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["item_type"], "STRING");
    EXPECT_EQ(j["tensors"].size(), 75u);
    EXPECT_EQ(j["tensors"][0]["offset"], 0);
}

TEST(GgufJson, InvalidUtf8AndControlCharactersStayValidJson) {
    const test_support::gguf_bytes g = test_support::valid_small_file();
    result<gguf_header> h = read_gguf_header(g.b.data(), g.b.size());
    ASSERT_TRUE(h.ok());
    h->set("x.\xff\x80key",
           gguf_value::make_string("quote\" back\\ nl\n tab\t nul" + std::string(1, '\0') +
                                   " \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82"));
    h->tensors[0].name = "bad\xc0\xafname";
    ojson j;
    ASSERT_NO_THROW(j = parse(gguf_header_to_json(*h)));
    EXPECT_EQ(j["tensors"][0]["name"], "bad\xef\xbf\xbd\xef\xbf\xbdname");
    EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["value"][1],
              "\xef\xbf\xbd\xef\xbf\xbd invalid utf-8 \xef\xbf\xbd");
    const std::string v = j["metadata"]["x.\xef\xbf\xbd\xef\xbf\xbdkey"]["value"];
    EXPECT_EQ(v.substr(0, 30),
              std::string("quote\" back\\ nl\n tab\t nul") + '\0' + " \xef\xbf\xbd");
    // The text summary copes too, one line per key.
    const std::string text = gguf_header_to_text(*h);
    EXPECT_NE(text.find("quote\\\" back"), std::string::npos);
}

TEST(GgufJson, FloatsAreShortestAndExact) {
    EXPECT_EQ(format_float32(1e-5f), "1e-05");
    EXPECT_EQ(format_float32(0.1f), "0.1");
    EXPECT_EQ(format_float32(10000.0f), "10000");
    EXPECT_EQ(format_float64(0.1), "0.1");
    EXPECT_EQ(format_float32(-0.0f), "-0");
    EXPECT_EQ(format_float32(NAN), "NaN");
    EXPECT_EQ(format_float64(-INFINITY), "-Infinity");
    for (float f : {3.14159274f, 1.17549435e-38f, 3.40282347e+38f, 1e-45f, 123456.789f})
        EXPECT_EQ(std::strtof(format_float32(f).c_str(), nullptr), f);
    gguf_header h;
    h.set("a", gguf_value::make_f32(NAN));
    h.set("b", gguf_value::make_f64(INFINITY));
    const ojson j = parse(gguf_header_to_json(h));
    EXPECT_EQ(j["metadata"]["a"]["value"], "NaN");
    EXPECT_EQ(j["metadata"]["b"]["value"], "Infinity");
}

TEST(GgufJson, NestedArrays) {
    gguf_header h;
    gguf_value nested;
    nested.type = gguf_value_type::array;
    nested.item_type = gguf_value_type::array;
    nested.count = 2;
    nested.arrays.push_back(
        gguf_value::make_scalar_array(gguf_value_type::int16, 2, {0xff, 0xff, 2, 0}));
    nested.arrays.push_back(gguf_value::make_string_array({"z"}));
    h.set("n", nested);
    const ojson j = parse(gguf_header_to_json(h));
    const ojson want =
        ojson::parse(R"({"type":"ARRAY","item_type":"ARRAY","len":2,"value":[)"
                     R"({"type":"ARRAY","item_type":"INT16","len":2,"value":[-1,2]},)"
                     R"({"type":"ARRAY","item_type":"STRING","len":1,"value":["z"]}]})");
    EXPECT_EQ(j["metadata"]["n"], want);
}

TEST(GgufInfoText, LlamaGqaSummary) {
    const std::vector<uint8_t> file = test_support::load_fixture("models/llama-gqa.gguf");
    result<gguf_header> h = read_gguf_header(file.data(), file.size());
    ASSERT_TRUE(h.ok());
    const std::string text = gguf_header_to_text(*h);
    EXPECT_NE(text.find("GGUF version 3, alignment 32"), std::string::npos) << text;
    EXPECT_NE(text.find("21 metadata keys, 75 tensors"), std::string::npos);
    EXPECT_NE(text.find("architecture:"), std::string::npos);
    EXPECT_NE(text.find("layers:               8\n"), std::string::npos);
    EXPECT_NE(text.find("STRING[4096]"), std::string::npos);  // arrays summarised by length
    EXPECT_NE(text.find("blk.7.ffn_down.weight"), std::string::npos);
    // One line per key and per tensor, plus the fixed lines.
    size_t lines = 0;
    for (char c : text) lines += c == '\n';
    size_t shown = 0;
    for (const char* label :
         {"architecture:", "name:", "context length:", "embedding length:", "layers:",
          "feed forward length:", "heads:", "KV heads:", "vocabulary size:", "file type:"})
        shown += text.find(std::string("  ") + label) != std::string::npos;
    EXPECT_EQ(lines, 2 + shown + 1 + 21 + 2 + 75);
}

}  // namespace
}  // namespace gguf_squash
