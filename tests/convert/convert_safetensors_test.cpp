// The safetensors header reader and the JSON reader under it, on hand-made and hostile headers:
// every count and extent is checked against the file before it is used, and errors name the
// file and the field. Runs natively and in wasm (no files).
#include <gtest/gtest.h>

#include <string>

#include "convert/json_value.h"
#include "convert/safetensors.h"

namespace gguf_squash::convert {
namespace {

result<st_header> parse(const std::string& json, uint64_t data_bytes) {
    return parse_safetensors_header(json, 8 + json.size() + data_bytes, "model.safetensors");
}

std::string error_of(const result<st_header>& r) {
    return r.ok() ? "(ok)" : r.error().message();
}

TEST(ConvertSafetensors, ReadsTensorsSortedByNameWithAbsoluteExtents) {
    const std::string json =
        R"({"__metadata__":{"format":"pt"},"b.weight":{"dtype":"BF16","shape":[2,4],"data_offsets":[0,16]},)"
        R"("a.weight":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}})";
    auto h = parse(json, 28);
    ASSERT_TRUE(h.ok()) << error_of(h);
    ASSERT_EQ(h->tensors.size(), 2u);
    EXPECT_EQ(h->tensors[0].name, "a.weight");  // by name, as SafetensorsLocal lists them
    EXPECT_EQ(h->tensors[0].dtype, st_dtype::f32);
    EXPECT_EQ(h->tensors[0].data_begin, 8 + json.size() + 16);
    EXPECT_EQ(h->tensors[0].nbytes, 12u);
    EXPECT_EQ(h->tensors[1].name, "b.weight");
    EXPECT_EQ(h->tensors[1].shape, (std::vector<uint64_t>{2, 4}));
    EXPECT_EQ(h->tensors[1].data_begin, 8 + json.size());
}

TEST(ConvertSafetensors, LengthIsCheckedAgainstTheFileBeforeAnythingIsRead) {
    uint8_t first8[8] = {0x00, 0x10, 0, 0, 0, 0, 0, 0};  // 4096
    auto r = safetensors_header_length(first8, 8 + 100, "model-00002-of-00003.safetensors");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(
        r.error().message(),
        "model-00002-of-00003.safetensors: safetensors header: length: 4096 bytes, but the file "
        "has 100 after the length");
    uint8_t huge[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};  // 2^63: a hostile length must not allocate
    r = safetensors_header_length(huge, uint64_t(1) << 62, "x.safetensors");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("over 100 MiB"), std::string::npos);
    r = safetensors_header_length(first8, 7, "x.safetensors");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("shorter than 8 bytes"), std::string::npos);
}

TEST(ConvertSafetensors, ExtentsMustLieInTheDataSectionAndFitShapeAndDtype) {
    auto r = parse(R"({"t":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", 6);
    EXPECT_EQ(
        error_of(r),
        "model.safetensors: safetensors header: tensor 't'.data_offsets: ends at 8, past the data "
        "section's 6 bytes");
    r = parse(R"({"t":{"dtype":"F16","shape":[4],"data_offsets":[0,6]}})", 8);
    EXPECT_EQ(error_of(r),
              "model.safetensors: safetensors header: tensor 't'.data_offsets: 6 bytes for 4 F16 "
              "elements");
    r = parse(R"({"t":{"dtype":"F16","shape":[4],"data_offsets":[8,0]}})", 8);
    EXPECT_NE(error_of(r).find("not an increasing pair"), std::string::npos);
    // A shape whose element count overflows is refused before any multiplication wraps.
    r = parse(R"({"t":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})",
              4);
    EXPECT_NE(error_of(r).find("tensor 't'.shape: too large"), std::string::npos);
    r = parse(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4);
    EXPECT_NE(error_of(r).find("tensor 't'.shape: not a list of non-negative integers"),
              std::string::npos);
}

TEST(ConvertSafetensors, MalformedEntriesNameTheirField) {
    EXPECT_NE(
        error_of(parse(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4)).find("tensor 't'.dtype"),
        std::string::npos);
    EXPECT_NE(error_of(parse(R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4))
                  .find("tensor 't'.shape"),
              std::string::npos);
    EXPECT_NE(
        error_of(parse(R"({"t":{"dtype":"F32","shape":[1]}})", 4)).find("tensor 't'.data_offsets"),
        std::string::npos);
    EXPECT_NE(error_of(parse(R"([1,2])", 0)).find("not a JSON object"), std::string::npos);
    EXPECT_NE(error_of(parse(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                             4))
                  .find("tensor 't': listed twice"),
              std::string::npos);
    // An unknown dtype is kept by name (the planner refuses it, naming it); its size is not
    // checked.
    auto h = parse(R"({"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2);
    ASSERT_TRUE(h.ok()) << error_of(h);
    EXPECT_EQ(h->tensors[0].dtype, st_dtype::other);
    EXPECT_EQ(h->tensors[0].dtype_text, "F4");
}

TEST(ConvertJson, ReadsWhatPythonsJsonReads) {
    auto v = parse_json(
        R"({"a": [1, -2, 3.5e2, true, null, "x\u00e9\ud83d\ude80\n"], "a": 7, "n": NaN})",
        "config.json");
    ASSERT_TRUE(v.ok()) << v.error().message();
    EXPECT_EQ(v->find("a")->as_i64(), 7);  // the last duplicate wins, as in json.loads
    const auto& items = v->members()[0].second.items();
    EXPECT_EQ(items[0].as_u64(), 1u);
    EXPECT_EQ(items[1].as_i64(), -2);
    EXPECT_FALSE(items[1].as_u64().has_value());
    EXPECT_FALSE(items[2].is_integer());
    EXPECT_EQ(items[2].as_f64(), 350.0);
    EXPECT_TRUE(items[3].as_bool());
    EXPECT_TRUE(items[4].is_null());
    EXPECT_EQ(items[5].text(), "x\xc3\xa9\xf0\x9f\x9a\x80\n");
    EXPECT_TRUE(v->find("n")->is_number());
}

TEST(ConvertJson, ErrorsNameTheFileAndByte) {
    auto v = parse_json("{\"a\": [1, 2,]}", "tokenizer_config.json");
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().message(),
              "tokenizer_config.json: invalid JSON at byte 12: unexpected character ']'");
    EXPECT_FALSE(parse_json("{\"a\": 1} x", "f").ok());
    EXPECT_FALSE(parse_json("\"abc", "f").ok());
    EXPECT_FALSE(parse_json("01", "f").ok());
    std::string deep(300, '[');
    deep += std::string(300, ']');
    auto d = parse_json(deep, "deep.json");
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message().find("nesting deeper than 256"), std::string::npos);
}

}  // namespace
}  // namespace gguf_squash::convert
