// The info JSON's preview (gguf_json_options::max_array_items) and array slices
// (gguf_array_items_json), checked against the complete JSON; and the complete JSON checked
// byte for byte against what the emitter wrote before it learned previews.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "format/gguf_json.h"
#include "format/gguf_reader.h"
#include "gguf_fixture_files.h"
#include "gguf_json_sample.h"
#include "io/gguf_file.h"

namespace gguf_squash {
namespace {

using ojson = nlohmann::ordered_json;
constexpr uint64_t kAll = std::numeric_limits<uint64_t>::max();

// gguf_header_to_json(json_sample_header()) as written by the emitter of commit 14810b0, before
// previews and the json_buffer: the default output must not change by one byte.
const char kSampleJson[] =
    "{\"version\":3,\"alignment\":32,\"data_offset\":1024,\"metadata\":{\"general.architectur"
    "e\":{\"type\":\"STRING\",\"value\":\"llama\"},\"s.escapes\":{\"type\":\"STRING\",\"value"
    "\":\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f nul\\u0000 x1f\\u001f del\\u007f / \xc3\xa9\"}"
    ",\"s.bad\xef\xbf\xbd\xef\xbf\xbdkey\":{\"type\":\"STRING\",\"value\":\"\xef\xbf\xbd\xef"
    "\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef"
    "\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80 ok\"},\"n.u8\":{\"type\":\"UINT8\",\""
    "value\":255},\"n.i8\":{\"type\":\"INT8\",\"value\":-128},\"n.u16\":{\"type\":\"UINT16\","
    "\"value\":65535},\"n.i16\":{\"type\":\"INT16\",\"value\":-32768},\"n.u32\":{\"type\":\"U"
    "INT32\",\"value\":4294967295},\"n.i32\":{\"type\":\"INT32\",\"value\":-2147483648},\"n.u"
    "64\":{\"type\":\"UINT64\",\"value\":18446744073709551615},\"n.i64\":{\"type\":\"INT64\","
    "\"value\":-9223372036854775808},\"n.bool\":{\"type\":\"BOOL\",\"value\":true},\"n.f32\":"
    "{\"type\":\"FLOAT32\",\"value\":1e-05},\"n.f64\":{\"type\":\"FLOAT64\",\"value\":0.1},\""
    "a.f32\":{\"type\":\"ARRAY\",\"item_type\":\"FLOAT32\",\"len\":12,\"value\":[\"NaN\",\"In"
    "finity\",\"-Infinity\",-0,0.1,1e-05,10000,3.4028235e+38,1e-45,123456.79,1e+16,9999999869"
    "91104]},\"a.f64\":{\"type\":\"ARRAY\",\"item_type\":\"FLOAT64\",\"len\":8,\"value\":[\"N"
    "aN\",\"-Infinity\",0.1,1e-300,5e-324,1.7976931348623157e+308,1e+16,1.2345678901234568e+1"
    "7]},\"a.i8\":{\"type\":\"ARRAY\",\"item_type\":\"INT8\",\"len\":3,\"value\":[-128,0,127]"
    "},\"a.u16\":{\"type\":\"ARRAY\",\"item_type\":\"UINT16\",\"len\":2,\"value\":[0,65535]},"
    "\"a.u64\":{\"type\":\"ARRAY\",\"item_type\":\"UINT64\",\"len\":2,\"value\":[0,1844674407"
    "3709551615]},\"a.i64\":{\"type\":\"ARRAY\",\"item_type\":\"INT64\",\"len\":2,\"value\":["
    "-9223372036854775808,1]},\"a.bool\":{\"type\":\"ARRAY\",\"item_type\":\"BOOL\",\"len\":3"
    ",\"value\":[true,false,true]},\"a.empty\":{\"type\":\"ARRAY\",\"item_type\":\"INT32\",\""
    "len\":0,\"value\":[]},\"a.str\":{\"type\":\"ARRAY\",\"item_type\":\"STRING\",\"len\":8,"
    "\"value\":[\"plain\",\"q\\\"uote\",\"back\\\\slash\",\"\\u0000\\u0001\\u001f\\u007f\",\""
    "\xef\xbf\xbd\xef\xbf\xbd\",\"\xc4\xa0hello\",\"\xef\xbf\xbd\xef\xbf\xbd\",\"\"]},\"a.nes"
    "ted\":{\"type\":\"ARRAY\",\"item_type\":\"ARRAY\",\"len\":4,\"value\":[{\"type\":\"ARRAY"
    "\",\"item_type\":\"INT16\",\"len\":2,\"value\":[-1,2]},{\"type\":\"ARRAY\",\"item_type\""
    ":\"STRING\",\"len\":2,\"value\":[\"z\",\"\xef\xbf\xbd\"]},{\"type\":\"ARRAY\",\"item_typ"
    "e\":\"ARRAY\",\"len\":1,\"value\":[{\"type\":\"ARRAY\",\"item_type\":\"FLOAT32\",\"len\""
    ":1,\"value\":[0.5]}]},{\"type\":\"ARRAY\",\"item_type\":\"UINT8\",\"len\":0,\"value\":[]"
    "}]},\"a.many\":{\"type\":\"ARRAY\",\"item_type\":\"STRING\",\"len\":20,\"value\":[\"tok0"
    "\\t\\\"\",\"tok1\\t\\\"\",\"tok2\\t\\\"\",\"tok3\\t\\\"\",\"tok4\\t\\\"\",\"tok5\\t\\\""
    "\",\"tok6\\t\\\"\",\"tok7\\t\\\"\",\"tok8\\t\\\"\",\"tok9\\t\\\"\",\"tok10\\t\\\"\",\"to"
    "k11\\t\\\"\",\"tok12\\t\\\"\",\"tok13\\t\\\"\",\"tok14\\t\\\"\",\"tok15\\t\\\"\",\"tok16"
    "\\t\\\"\",\"tok17\\t\\\"\",\"tok18\\t\\\"\",\"tok19\\t\\\"\"]}},\"tensors\":[{\"name\":"
    "\"bad\xef\xbf\xbdname\",\"type\":\"F16\",\"shape\":[4,2],\"offset\":0,\"nbytes\":16},{\""
    "name\":\"w\",\"type\":\"Q4_0\",\"shape\":[64],\"offset\":32,\"nbytes\":36}]}";

std::vector<std::pair<std::string, gguf_header>> headers() {
    std::vector<std::pair<std::string, gguf_header>> out;
    out.emplace_back("sample", test_support::json_sample_header());
    for (const std::string& rel : test_support::fixture_gguf_files()) {
        result<gguf_header> h = read_gguf_header_file(test_support::fixture_path(rel));
        EXPECT_TRUE(h.ok()) << rel;
        if (h.ok()) out.emplace_back(rel, std::move(*h));
    }
    return out;
}

// `preview` is `full` with every array cut to `limit` items and marked when cut.
void expect_preview_of(const ojson& preview, const ojson& full, uint64_t limit) {
    if (!full.is_object() || full.value("type", "") != "ARRAY") {
        EXPECT_EQ(preview, full);
        return;
    }
    const uint64_t len = full.at("len");
    EXPECT_EQ(preview.at("len"), len);
    const bool cut = len > limit;
    std::vector<std::string> keys;
    for (auto it = preview.begin(); it != preview.end(); ++it) keys.push_back(it.key());
    if (cut) {
        EXPECT_EQ(keys,
                  (std::vector<std::string>{"type", "item_type", "len", "truncated", "value"}));
        EXPECT_EQ(preview.at("truncated"), true);
    } else {
        EXPECT_EQ(keys, (std::vector<std::string>{"type", "item_type", "len", "value"}));
    }
    const ojson& items = preview.at("value");
    ASSERT_EQ(items.size(), std::min(len, limit));
    for (size_t i = 0; i < items.size(); ++i)
        expect_preview_of(items[i], full.at("value")[i], limit);
}

TEST(GgufJsonPreview, DefaultOutputIsUnchanged) {
    EXPECT_EQ(gguf_header_to_json(test_support::json_sample_header()), std::string(kSampleJson));
    gguf_json_options all;
    all.max_array_items = kAll;
    EXPECT_EQ(gguf_header_to_json(test_support::json_sample_header(), all),
              std::string(kSampleJson));
}

TEST(GgufJsonPreview, ArraysKeepTheirLengthAndSayTheyWereCut) {
    for (const auto& [name, h] : headers()) {
        SCOPED_TRACE(name);
        const ojson full = ojson::parse(gguf_header_to_json(h));
        for (uint64_t limit : {uint64_t(0), uint64_t(1), uint64_t(3), uint64_t(64), kAll}) {
            SCOPED_TRACE(limit);
            gguf_json_options options;
            options.max_array_items = limit;
            const ojson preview = ojson::parse(gguf_header_to_json(h, options));
            EXPECT_EQ(preview.at("version"), full.at("version"));
            EXPECT_EQ(preview.at("tensors"), full.at("tensors"));
            ASSERT_EQ(preview.at("metadata").size(), full.at("metadata").size());
            auto p = preview.at("metadata").begin();
            for (auto f = full.at("metadata").begin(); f != full.at("metadata").end(); ++f, ++p) {
                SCOPED_TRACE(f.key());
                EXPECT_EQ(p.key(), f.key());
                expect_preview_of(p.value(), f.value(), limit);
            }
        }
    }
}

TEST(GgufJsonPreview, NestedArraysAreCutAtEveryLevel) {
    gguf_json_options options;
    options.max_array_items = 1;
    const ojson j = ojson::parse(gguf_header_to_json(test_support::json_sample_header(), options));
    EXPECT_EQ(
        j["metadata"]["a.nested"],
        ojson::parse(
            R"({"type":"ARRAY","item_type":"ARRAY","len":4,"truncated":true,"value":[)"
            R"({"type":"ARRAY","item_type":"INT16","len":2,"truncated":true,"value":[-1]}]})"));
    EXPECT_EQ(j["metadata"]["a.empty"],
              ojson::parse(R"({"type":"ARRAY","item_type":"INT32","len":0,"value":[]})"));
}

// Every slice of every array is the matching part of the complete "value", as text and parsed.
TEST(GgufJsonSlice, SlicesAreTheCompleteValuesParts) {
    for (const auto& [name, h] : headers()) {
        SCOPED_TRACE(name);
        const std::string full_text = gguf_header_to_json(h);
        const ojson full = ojson::parse(full_text);
        for (auto it = full.at("metadata").begin(); it != full.at("metadata").end(); ++it) {
            if (it.value().at("type") != "ARRAY") continue;
            SCOPED_TRACE(it.key());
            const ojson& value = it.value().at("value");
            const uint64_t len = it.value().at("len");
            // The whole array, byte for byte as in the complete JSON.
            result<std::string> whole = gguf_array_items_json(h, it.key(), 0, kAll);
            ASSERT_TRUE(whole.ok()) << whole.error().message();
            std::string quoted_key;
            append_json_string(quoted_key, it.key());
            EXPECT_NE(full_text.find(quoted_key + ":{\"type\":\"ARRAY\",\"item_type\":\"" +
                                     it.value().at("item_type").get<std::string>() + "\",\"len\":" +
                                     std::to_string(len) + ",\"value\":" + *whole + "}"),
                      std::string::npos);
            // Ranges inside, at and past the end (clamped, never an error).
            const uint64_t mid = len / 2;
            for (const auto& [start, count] :
                 std::vector<std::pair<uint64_t, uint64_t>>{{0, 0},
                                                            {0, 1},
                                                            {0, len},
                                                            {mid, 7},
                                                            {mid, kAll},
                                                            {len ? len - 1 : 0, 5},
                                                            {len, 1},
                                                            {len + 10, 5},
                                                            {kAll, kAll},
                                                            {1, kAll - 1}}) {
                SCOPED_TRACE(std::to_string(start) + "+" + std::to_string(count));
                result<std::string> part = gguf_array_items_json(h, it.key(), start, count);
                ASSERT_TRUE(part.ok()) << part.error().message();
                const uint64_t b = std::min(start, len), e = b + std::min(count, len - b);
                EXPECT_EQ(ojson::parse(*part), ojson(value.begin() + b, value.begin() + e));
            }
            // Read in steps as the page does, the pieces add up to the array.
            ojson pieces = ojson::array();
            for (uint64_t start = 0; start < len; start += 500) {
                for (const ojson& item :
                     ojson::parse(*gguf_array_items_json(h, it.key(), start, 500)))
                    pieces.push_back(item);
            }
            EXPECT_EQ(pieces, value);
        }
    }
}

TEST(GgufJsonSlice, StringsWithEscapesAndInvalidUtf8) {
    const gguf_header h = test_support::json_sample_header();
    result<std::string> s = gguf_array_items_json(h, "a.str", 1, 5);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s,
              "[\"q\\\"uote\",\"back\\\\slash\",\"\\u0000\\u0001\\u001f\\u007f\","
              "\"\xef\xbf\xbd\xef\xbf\xbd\",\"\xc4\xa0hello\"]");
    // Nested arrays inside a slice are written whole.
    result<std::string> n = gguf_array_items_json(h, "a.nested", 1, 2);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n,
              "[{\"type\":\"ARRAY\",\"item_type\":\"STRING\",\"len\":2,\"value\":[\"z\","
              "\"\xef\xbf\xbd\"]},{\"type\":\"ARRAY\",\"item_type\":\"ARRAY\",\"len\":1,"
              "\"value\":[{\"type\":\"ARRAY\",\"item_type\":\"FLOAT32\",\"len\":1,"
              "\"value\":[0.5]}]}]");
    result<std::string> f = gguf_array_items_json(h, "a.f32", 0, 4);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, "[\"NaN\",\"Infinity\",\"-Infinity\",-0]");
}

TEST(GgufJsonSlice, KeysAsTheJsonShowsThem) {
    gguf_header h = test_support::json_sample_header();
    h.set("arr.\xff", gguf_value::make_string_array({"a", "b"}));
    for (const char* key : {"arr.\xff", "arr.\xef\xbf\xbd"}) {
        result<std::string> s = gguf_array_items_json(h, key, 1, 1);
        ASSERT_TRUE(s.ok()) << key;
        EXPECT_EQ(*s, "[\"b\"]");
    }
}

TEST(GgufJsonSlice, UnknownKeysAndScalarsAreErrorsNamingTheKey) {
    const gguf_header h = test_support::json_sample_header();
    result<std::string> missing = gguf_array_items_json(h, "no.such\"key", 0, 1);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code(), status_code::invalid_argument);
    EXPECT_EQ(missing.error().message(), "no metadata key \"no.such\\\"key\"");
    result<std::string> scalar = gguf_array_items_json(h, "general.architecture", 0, 1);
    ASSERT_FALSE(scalar.ok());
    EXPECT_EQ(scalar.error().code(), status_code::invalid_argument);
    EXPECT_EQ(scalar.error().message(), "metadata key \"general.architecture\" is not an array");
}

}  // namespace
}  // namespace gguf_squash
