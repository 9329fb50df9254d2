// A push parser for GGUF headers (layout documented in gguf.h).
//
// The caller feeds bytes in chunks of any size, in order, through input spans; the reader consumes
// what it can, keeps partial fields internally and asks for more. It never needs the whole file,
// and its result is identical for every chunking. Once the header (including the padding before
// the data section) is complete, feed() returns 0 and leaves the rest of the input unconsumed.
//
// Hostile input: every count and length is checked against the bytes that remain (when the file
// size is known) and against fixed caps before anything is allocated in proportion to it; all
// size arithmetic is overflow-checked. Errors name the field and the absolute byte offset. After
// an error the reader is dead: every further call returns the same error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "gguf.h"
#include "status.h"
#include "stream.h"

namespace gguf_squash {

struct gguf_reader_options {
    // Total size of the file, when known. Enables the checks against the bytes that remain and
    // the check that tensor data lies inside the file.
    std::optional<uint64_t> file_size;
    uint32_t max_array_depth = 4;  // nested arrays deeper than this are refused
};

class gguf_reader {
  public:
    explicit gguf_reader(gguf_reader_options options = {});

    // Consumes header bytes from `in` (advancing in.pos). Returns the number of further bytes the
    // reader wants next (a hint, > 0) while the header is incomplete, 0 once it is complete.
    result<size_t> feed(input_span& in);

    bool finished() const { return stage_ == stage::done; }
    // The error to report when the input ends before the header is complete: names the field
    // being read and where it starts. OK once finished.
    status end_of_input() const;
    // Absolute number of bytes consumed so far.
    uint64_t position() const { return pos_; }
    const gguf_header& header() const { return header_; }
    gguf_header take_header() { return std::move(header_); }

  private:
    enum class stage {
        magic,
        version,
        tensor_count,
        kv_count,
        key_length,
        key_bytes,
        value_type,
        value,
        tensor_name_length,
        tensor_name_bytes,
        tensor_n_dims,
        tensor_dim,
        tensor_type,
        tensor_offset,
        padding,
        done,
        failed,
    };
    // One value being parsed; arrays push a frame per nesting level.
    struct value_frame {
        gguf_value* target;
        enum class step { type_known, array_item_type, array_count, array_items } at;
        uint64_t next_item = 0;
        bool reading_string_length = true;  // for string items / string values
    };

    status fail(status s);
    // Fixed-size field: true once `n` bytes are available in `out` (pointer valid until the next
    // call); partial bytes are kept in pending_.
    bool take(input_span& in, size_t n, const uint8_t*& out);
    // Bulk copy of a string or raw array payload; true once `bytes_left_` reaches 0.
    bool take_bulk(input_span& in, std::string* s, std::vector<uint8_t>* raw);
    // The part of a bulk payload available in `in` (consumed; valid until the next call).
    std::string_view take_bulk_part(input_span& in);
    uint64_t remaining_after(uint64_t pos) const;
    uint64_t reserve_cap(uint64_t cap) const;
    status step_value(input_span& in, bool& progressed);
    status begin_value(gguf_value* target, gguf_value_type type, uint64_t field_pos);
    status check_string_length(uint64_t len, uint64_t field_pos, const char* suffix, uint64_t cap,
                               int64_t item = -1);
    status finish_kv();
    status finish_tensor();
    status finish_header();
    std::string current_field() const;

    gguf_reader_options options_;
    gguf_header header_;
    stage stage_ = stage::magic;
    status error_;
    uint64_t pos_ = 0;          // absolute offset of the next byte to consume
    uint64_t field_start_ = 0;  // absolute offset of the field being read
    uint8_t pending_[8] = {};
    size_t pending_size_ = 0;
    uint64_t bytes_left_ = 0;  // bulk payload still expected
    uint64_t n_tensors_ = 0, n_kv_ = 0;
    gguf_kv current_kv_;
    gguf_tensor_info current_tensor_;
    uint32_t dim_index_ = 0;
    std::vector<value_frame> frames_;
    uint64_t padding_left_ = 0;
    uint64_t next_offset_ = 0;        // where the next tensor's data must start
    uint64_t last_offset_field_ = 0;  // absolute offset of the last tensor's offset field
    std::unordered_set<std::string> seen_keys_, seen_tensors_;  // duplicate detection
};

// Whole-buffer convenience: parses the header at the start of `data` (`size` bytes of a file of
// `file_size` bytes; pass size for a complete file).
result<gguf_header> read_gguf_header(const uint8_t* data, size_t size,
                                     std::optional<uint64_t> file_size = std::nullopt);

}  // namespace gguf_squash
