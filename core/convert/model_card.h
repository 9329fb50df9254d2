// The YAML front matter of a model card (README.md), as gguf-py's Metadata.load_model_card reads
// it (tree de3ff81): the lines between a first line "---" and the next "---", with the two text
// fixes it applies (a list item "- no" quoted, tabs as two spaces), then yaml.safe_load.
//
// Only the subset of YAML that Hub model cards use is read: a block mapping of top-level keys
// whose values are plain or quoted scalars, flow sequences [a, b] or block sequences of scalars.
// Scalars are resolved as PyYAML's YAML 1.1 resolver would, conservatively: null is null; text
// that PyYAML could read as a bool, number or date is kept as `other`, never as a string.
// Any other construct (nested mappings, block scalars, anchors, multi-line scalars, ...) is kept
// as `other` with a reason, and its lines are skipped by indentation; the converter's metadata
// code refuses an `other` value only when it reads that key, so cards with large unrelated
// sections (model-index, widget, extra_gated_*) still work. Syntax that breaks the line
// structure (an unclosed quote or bracket, a line that is not `key: value`) is an error naming
// README.md and the line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace gguf_squash::convert {

struct card_value {
    enum class kind : uint8_t { null, string, list, other };
    kind type = kind::null;
    std::string text;               // string: the value; other: why it is not read
    std::vector<card_value> items;  // list
};

struct model_card {
    bool present = false;                                  // README.md has front matter
    std::vector<std::pair<std::string, card_value>> keys;  // top-level keys in file order
    // The value of `key` (the last duplicate wins, as in yaml.safe_load), or nullptr.
    const card_value* find(const std::string& key) const;
};

// `readme` is README.md's bytes. A file without front matter gives a card with present = false.
result<model_card> parse_model_card(const std::string& readme);

}  // namespace gguf_squash::convert
