// The model card's front matter (core/convert/model_card.h) and the general.* keys it gives
// (hf_metadata.h). The whole-file checks against the real converter are the card runs of
// tests/fixtures/convert/reference.json (qwen3-card, llama3-card, qwen3-nocard) in
// convert_native_test.cpp; these tests pin the reader's pieces and its refusals.
#include <gtest/gtest.h>

#include <string>

#include "convert/hf_metadata.h"
#include "convert/model_card.h"

namespace gguf_squash::convert {
namespace {

using kind = card_value::kind;

TEST(ConvertModelCard, NoFrontMatterIsAnEmptyCard) {
    for (const char* text : {"", "# Title\n---\nlicense: mit\n---\n", " ---\nlicense: mit\n",
                             "\xEF\xBB\xBF---\nlicense: mit\n---\n"}) {
        auto c = parse_model_card(text);
        ASSERT_TRUE(c.ok()) << c.error().message();
        EXPECT_FALSE(c->present) << text;
        EXPECT_TRUE(c->keys.empty());
    }
}

TEST(ConvertModelCard, ScalarsListsAndTheConvertersTextFixes) {
    auto c = parse_model_card(
        "---\r\n"
        "license: apache-2.0 # comment\r\n"
        "language:\n"
        "- en\n"
        "- no\n"
        "tags: [a, 'b''c', \"d\\u00e9\"]\n"
        "pipeline_tag:\n"
        "base_model:\n"
        "\t- x/y\n"
        "version: 1.0\n"
        "flag: yes\n"
        "date: 2024-01-02\n"
        "empty: ''\n"
        "nested:\n"
        "  a: b\n"
        "block: >-\n"
        "  text\n"
        "multi: \"one\n"
        "  two\"\n"
        "license: mit\n"
        "---\n"
        "name: after the front matter\n");
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_TRUE(c->present);
    EXPECT_EQ(c->find("name"), nullptr);
    ASSERT_NE(c->find("license"), nullptr);
    EXPECT_EQ(c->find("license")->text, "mit");  // the last duplicate wins
    const card_value* lang = c->find("language");
    ASSERT_TRUE(lang && lang->type == kind::list);
    ASSERT_EQ(lang->items.size(), 2u);
    EXPECT_EQ(lang->items[1].type, kind::string);  // "- no" is quoted first, so not false
    EXPECT_EQ(lang->items[1].text, "no");
    const card_value* tags = c->find("tags");
    ASSERT_TRUE(tags && tags->items.size() == 3);
    EXPECT_EQ(tags->items[1].text, "b'c");
    EXPECT_EQ(tags->items[2].text, "d\xC3\xA9");
    EXPECT_EQ(c->find("pipeline_tag")->type, kind::null);
    const card_value* base = c->find("base_model");  // the tab is two spaces
    ASSERT_TRUE(base && base->type == kind::list && base->items.size() == 1);
    EXPECT_EQ(base->items[0].text, "x/y");
    for (const char* k : {"version", "flag", "date", "nested", "block", "multi"})
        EXPECT_EQ(c->find(k)->type, kind::other) << k;
    EXPECT_EQ(c->find("empty")->type, kind::string);
    EXPECT_EQ(c->find("empty")->text, "");
}

TEST(ConvertModelCard, BrokenLinesNameTheFileAndLine) {
    struct bad {
        const char* text;
        const char* message;
    };
    const bad cases[] = {
        {"---\nlicense: mit\nno colon here\n---\n",
         "README.md: front matter line 3: not a 'key: value' line"},
        {"---\n  indented: x\n---\n", "README.md: front matter line 2: an indented line"},
        {"---\n- a\n---\n", "README.md: front matter line 2: the front matter is not a plain"},
        {"---\ntags: [a, b\n---\n",
         "README.md: front matter line 2 (tags): a flow sequence that does not end on its line"},
        {"---\nname: \"open\n---\n",
         "README.md: front matter line 2 (name): a quoted scalar that does not end"},
        {"---\nname: \"x\\q\"\n---\n",
         "README.md: front matter line 2 (name): the escape \\q is not read here"},
        {"---\nname: \xff\n---\n", "README.md: not UTF-8"},
    };
    for (const auto& b : cases) {
        auto c = parse_model_card(b.text);
        ASSERT_FALSE(c.ok()) << b.text;
        EXPECT_EQ(c.error().message().rfind(b.message, 0), 0u) << c.error().message();
    }
}

hf_general_inputs inputs(const std::string& card, const std::string& arch = "llama") {
    hf_general_inputs in;
    in.folder_name = "tiny";
    in.config_json = "{}";
    in.has_model_card = true;
    in.model_card = card;
    in.gguf_architecture = arch;
    in.total_params = 16000000;
    return in;
}

// A key the converter reads whose value is not what it would write as is: refused, naming it.
TEST(ConvertModelCard, ValuesTheConverterWouldNotWriteAsIsAreRefused) {
    struct bad {
        const char* card;
        const char* message;
    };
    const bad cases[] = {
        {"---\nversion: 1.0\n---\n", "README.md: front matter: version: '1.0' may be read by YAML"},
        {"---\nname: [a, b]\n---\n",
         "README.md: front matter: name: a list where the converter reads one string"},
        {"---\nmodel_name: ''\n---\n",
         "README.md: front matter: model_name: an empty or non-ASCII name part"},
        {"---\ntags: [a, 2]\n---\n", "README.md: front matter: tags: an item that is not a string"},
        {"---\nlicense:\n  a: b\n---\n", "README.md: front matter: license: a nested mapping"},
        {"---\nbase_model:\n- name: x\n---\n", "README.md: front matter: base_model: a nested"},
        {"---\ndescription: |\n  text\n---\n",
         "README.md: front matter: description: a block scalar"},
    };
    for (const auto& b : cases) {
        auto g = plan_general_metadata(inputs(b.card));
        ASSERT_FALSE(g.ok()) << b.card;
        EXPECT_EQ(g.error().message().rfind(b.message, 0), 0u) << g.error().message();
    }
    // Keys the converter does not read may hold anything the reader can skip.
    auto g =
        plan_general_metadata(inputs("---\nwidget:\n- text: x: y\n  more: z\nother: 1.5\n---\n"));
    EXPECT_TRUE(g.ok()) << g.error().message();
}

// Qwen3Model._is_qwen3_reranker would convert these as rerankers.
TEST(ConvertModelCard, Qwen3RerankersAreRefused) {
    auto g = plan_general_metadata(
        inputs("---\nlicense: apache-2.0\n---\n# Qwen3-Reranker-0.6B\n", "qwen3"));
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.error().message().find("a Qwen3 reranker"), std::string::npos);
    auto named = inputs("", "qwen3");
    named.folder_name = "Qwen3-Reranker-4B";
    EXPECT_FALSE(plan_general_metadata(named).ok());
    // The same card on a Llama is just a card.
    EXPECT_TRUE(plan_general_metadata(inputs("# Qwen3-Reranker-0.6B\n")).ok());
}

}  // namespace
}  // namespace gguf_squash::convert
