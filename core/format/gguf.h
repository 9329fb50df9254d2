// The GGUF data model: what a header holds, independent of how it was read or will be written.
//
// File layout (GGUF v2/v3, little-endian; v1 and big-endian files are refused):
//  1. Magic "GGUF" (4 bytes).
//  2. Version (uint32).
//  3. Tensor count (uint64).
//  4. Metadata key-value count (uint64).
//  5. For each key-value pair:
//     1. Key: string (uint64 length, then the bytes, no terminator).
//     2. Value type (uint32, gguf_value_type).
//     3. If ARRAY: item type (uint32), item count (uint64), then the items back to back.
//        Otherwise the value itself (bool is one byte, strings as in 5.1).
//  6. For each tensor: name (string), n_dims (uint32, 1..4), n_dims extents (uint64 each, ne[0]
//     is the row length), ggml type (uint32), data offset (uint64, relative to the data section).
//  7. Zero padding up to a multiple of the alignment (`general.alignment`, uint32, default 32).
//  8. The data section: each tensor's bytes at its offset, each padded with zeros to the alignment.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ggml_types.h"

namespace gguf_squash {

enum class gguf_value_type : uint32_t {
    uint8 = 0,
    int8 = 1,
    uint16 = 2,
    int16 = 3,
    uint32 = 4,
    int32 = 5,
    float32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    uint64 = 10,
    int64 = 11,
    float64 = 12,
};
constexpr uint32_t kGgufValueTypeCount = 13;

// The GGUF spec's names: UINT8 ... FLOAT64, BOOL, STRING, ARRAY.
const char* gguf_value_type_name(gguf_value_type type);
// Bytes of one scalar of this type; 0 for STRING and ARRAY.
size_t gguf_value_type_size(gguf_value_type type);

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxTensorDims = 4;

// The items of a STRING array, packed: one buffer holding every item's bytes back to back and
// the end offset of each item. A 150k-token vocabulary then costs two allocations instead of one
// per token, which is most of the header parse time in wasm (issue 8).
class gguf_string_list {
  public:
    gguf_string_list() = default;
    gguf_string_list(std::initializer_list<std::string_view> items);
    explicit gguf_string_list(const std::vector<std::string>& items);

    size_t size() const { return ends_.size(); }
    bool empty() const { return ends_.empty(); }
    std::string_view operator[](size_t i) const {
        const uint64_t begin = i ? ends_[i - 1] : 0;
        return std::string_view(bytes_.data() + begin, size_t(ends_[i] - begin));
    }
    // Total bytes of all items (without their length prefixes).
    size_t total_bytes() const { return bytes_.size(); }

    void reserve(size_t items, size_t bytes = 0) {
        ends_.reserve(items);
        bytes_.reserve(bytes);
    }
    // Incremental form for a streaming reader: bytes of the item being read are appended with
    // append_partial(); end_item() closes it.
    void append_partial(const char* data, size_t n) { bytes_.insert(bytes_.end(), data, data + n); }
    void end_item() { ends_.push_back(bytes_.size()); }
    void push_back(std::string_view s) {
        append_partial(s.data(), s.size());
        end_item();
    }
    std::vector<std::string> to_vector() const;

    bool operator==(const gguf_string_list& o) const {
        return ends_ == o.ends_ && bytes_ == o.bytes_;
    }

    // Iteration over the items as string_views.
    class iterator {
      public:
        iterator(const gguf_string_list* list, size_t i) : list_(list), i_(i) {}
        std::string_view operator*() const { return (*list_)[i_]; }
        iterator& operator++() {
            ++i_;
            return *this;
        }
        bool operator!=(const iterator& o) const { return i_ != o.i_; }

      private:
        const gguf_string_list* list_;
        size_t i_;
    };
    iterator begin() const { return {this, 0}; }
    iterator end() const { return {this, size()}; }

  private:
    // A vector, not a std::string: Emscripten's prebuilt libc++ instantiates basic_string out of
    // line and unoptimised, which made appends most of a wasm header parse.
    std::vector<char> bytes_;
    std::vector<uint64_t> ends_;
};

// One metadata value. Scalars keep their little-endian bits so that a round trip is exact;
// arrays of scalars keep their raw little-endian bytes for the same reason and for speed.
struct gguf_value {
    gguf_value_type type = gguf_value_type::uint8;
    uint64_t scalar_bits = 0;  // scalar types: the value's bytes, zero-extended

    std::string str;  // STRING

    // ARRAY: exactly one of the three stores is used, by item_type.
    gguf_value_type item_type = gguf_value_type::uint8;
    uint64_t count = 0;
    std::vector<uint8_t> raw_items;  // fixed-size scalar items, count * size bytes
    gguf_string_list strings;        // STRING items
    std::vector<gguf_value> arrays;  // ARRAY items (nested arrays)

    bool is_array() const { return type == gguf_value_type::array; }
    bool is_integer() const;
    // Numeric views of a scalar (bool counts as 0/1). Callers check the type first.
    uint64_t as_u64() const;
    int64_t as_i64() const;
    double as_f64() const;
    bool as_bool() const { return scalar_bits != 0; }

    static gguf_value make_u32(uint32_t v);
    static gguf_value make_i32(int32_t v);
    static gguf_value make_u64(uint64_t v);
    static gguf_value make_i64(int64_t v);
    static gguf_value make_f32(float v);
    static gguf_value make_f64(double v);
    static gguf_value make_bool(bool v);
    static gguf_value make_string(std::string v);
    static gguf_value make_string_array(const std::vector<std::string>& v);
    // Array of fixed-size scalars; `raw` holds count * gguf_value_type_size(item_type) LE bytes.
    static gguf_value make_scalar_array(gguf_value_type item_type, uint64_t count,
                                        std::vector<uint8_t> raw);

    bool operator==(const gguf_value& other) const;
};

struct gguf_kv {
    std::string key;
    gguf_value value;
};

struct gguf_tensor_info {
    std::string name;
    ggml_type type = ggml_type::f32;
    uint32_t n_dims = 0;
    uint64_t ne[kMaxTensorDims] = {1, 1, 1, 1};  // unused dimensions are 1
    uint64_t offset = 0;                         // relative to the data section

    uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    uint64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
    // Bytes of the tensor's data (not counting alignment padding).
    uint64_t nbytes() const { return row_size(type, ne[0]) * n_rows(); }
};

struct gguf_header {
    uint32_t version = 3;
    uint64_t alignment = kDefaultAlignment;
    std::vector<gguf_kv> kv;
    std::vector<gguf_tensor_info> tensors;
    uint64_t data_offset = 0;  // absolute file offset of the data section (set by the reader)

    const gguf_value* find(std::string_view key) const;
    gguf_value* find(std::string_view key);
    // Index of a key or tensor, or -1.
    int64_t find_key(std::string_view key) const;
    int64_t find_tensor(std::string_view name) const;
    // Sets (replacing in place, keeping order) or appends a key.
    void set(std::string key, gguf_value value);
    bool erase(std::string_view key);

    // String / integer conveniences for metadata lookups (nullopt when absent or mistyped).
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<uint64_t> get_u64(std::string_view key) const;  // any integer type >= 0
};

// Offset of `x` rounded up to a multiple of `alignment` (a power of two).
inline uint64_t align_up(uint64_t x, uint64_t alignment) {
    return (x + alignment - 1) & ~(alignment - 1);
}

}  // namespace gguf_squash
