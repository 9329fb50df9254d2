// The safetensors header: what a shard holds, read before any weight.
//
// File layout:
//  1. Header length N (uint64, little-endian).
//  2. N bytes of UTF-8 JSON: {"__metadata__": {...}, "NAME": {"dtype": "BF16", "shape": [rows,
//     cols], "data_offsets": [begin, end]}, ...}; offsets are relative to the data section.
//  3. The data section (from byte 8 + N to the end of the file).
//
// Everything is checked against the file size before it is used: N against the bytes that
// follow, each tensor's extent against the data section and against its shape and dtype, so a
// hostile header cannot make the caller allocate or read out of bounds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace gguf_squash::convert {

enum class st_dtype : uint8_t {
    f64,
    f32,
    f16,
    bf16,
    i64,
    i32,
    i16,
    i8,
    u8,
    boolean,
    f8_e4m3,
    f8_e5m2,
    other
};

// "F32", "BF16", ... as safetensors spells it.
const char* st_dtype_name(st_dtype dtype);
// Bytes per element (0 for `other`).
uint32_t st_dtype_size(st_dtype dtype);

struct st_tensor {
    std::string name;
    st_dtype dtype = st_dtype::other;
    std::string dtype_text;       // as written, for messages about dtypes we do not read
    std::vector<uint64_t> shape;  // as written: outermost first (rows, then columns)
    uint64_t data_begin = 0;      // absolute file offset of the first byte
    uint64_t nbytes = 0;
    uint64_t n_elements() const;
};

struct st_header {
    uint64_t header_length = 0;  // N
    uint64_t data_offset = 0;    // 8 + N
    // By name, as gguf-py's SafetensorsLocal and the safetensors library list them.
    std::vector<st_tensor> tensors;
};

// Bytes the header occupies at the start of the file, given its first 8 bytes; refuses a length
// the file cannot hold. `file` names the shard in errors.
result<uint64_t> safetensors_header_length(const uint8_t* first8, uint64_t file_size,
                                           const std::string& file);

// Parses the JSON header (the N bytes after the length) of a shard of `file_size` bytes.
result<st_header> parse_safetensors_header(std::string_view json, uint64_t file_size,
                                           const std::string& file);

}  // namespace gguf_squash::convert
