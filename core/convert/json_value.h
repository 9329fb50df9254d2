// A small JSON reader for the files of a Hugging Face checkpoint (config.json, the safetensors
// headers, model.safetensors.index.json, tokenizer*.json). Strict RFC 8259: no comments, no
// trailing commas; numbers keep their text, so an integer is read exactly and a float the way
// Python's json module reads it (correctly rounded). Objects keep their members in file order
// (duplicate keys: the last one wins for lookups, as in Python's json.loads).
// Bounded: nesting depth is limited and nothing is allocated beyond what the input holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.h"

namespace gguf_squash::convert {

class json_value {
  public:
    enum class kind : uint8_t { null, boolean, number, string, array, object };

    kind type() const { return kind_; }
    bool is_null() const { return kind_ == kind::null; }
    bool is_bool() const { return kind_ == kind::boolean; }
    bool is_number() const { return kind_ == kind::number; }
    bool is_string() const { return kind_ == kind::string; }
    bool is_array() const { return kind_ == kind::array; }
    bool is_object() const { return kind_ == kind::object; }

    bool as_bool() const { return bool_; }
    // The string value (decoded), or a number's text as written.
    const std::string& text() const { return text_; }
    // A number without fraction or exponent (Python's int).
    bool is_integer() const;
    std::optional<int64_t> as_i64() const;
    std::optional<uint64_t> as_u64() const;
    // Any number, as Python's float() would read its text (correctly rounded).
    double as_f64() const;

    const std::vector<json_value>& items() const { return items_; }
    const std::vector<std::pair<std::string, json_value>>& members() const { return members_; }
    // Member lookup (last duplicate wins); nullptr when absent or not an object.
    const json_value* find(std::string_view key) const;

    static json_value make_null() { return json_value(); }

  private:
    friend class json_parser;
    kind kind_ = kind::null;
    bool bool_ = false;
    std::string text_;
    std::vector<json_value> items_;
    std::vector<std::pair<std::string, json_value>> members_;
};

// Parses one JSON document. `what` names the input in errors ("config.json").
result<json_value> parse_json(std::string_view text, const std::string& what);

}  // namespace gguf_squash::convert
