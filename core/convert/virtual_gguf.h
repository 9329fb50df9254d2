// The GGUF a conversion would write, served by byte range without being written: the header
// bytes, then every planned tensor converted from its shard on demand (Llama's Q/K permutation
// and the dtype conversion of convert_rows), then the padding zeros. A reader that asks for the
// file's bytes in order (`convert` copying it to disk) or tensor by tensor at their offsets (the
// quantize pipeline: `quantize MODEL_DIR`, one pass) gets exactly the bytes of the file
// `convert` writes. Memory: one chunk of converted rows (about `chunk_bytes` of source) and its
// source rows.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "convert/hf_convert.h"
#include "status.h"

namespace gguf_squash::convert {

// Reads exactly `size` bytes of shard `shard` (an index into hf_inputs::shards) at `offset`.
using shard_read_fn = std::function<status(int shard, uint64_t offset, uint8_t* buf, size_t size)>;

// Source bytes a chunk needs: `size` bytes of shard `shard` at `offset` (size 0: none).
struct source_need {
    int shard = -1;
    uint64_t offset = 0;
    uint64_t size = 0;
};

class virtual_gguf {
  public:
    // `header` is encode_gguf_header(assemble_header(plan, ...), gguf_py_layout()).
    virtual_gguf(hf_plan plan, std::vector<uint8_t> header, shard_read_fn read,
                 uint64_t chunk_bytes = uint64_t(4) << 20);

    uint64_t size() const { return header_.size() + plan_.data_size; }
    const std::vector<uint8_t>& header() const { return header_; }
    const hf_plan& plan() const { return plan_; }

    // Fills buf with the bytes at [offset, offset + size) clipped to the file; returns the count
    // (0 at or past the end). Reads the shards through the shard_read_fn.
    result<size_t> read(uint64_t offset, uint8_t* buf, size_t size);

    // The same for a face whose reads are asynchronous (the wasm glue): serves what needs no
    // shard bytes, and stops where a chunk is missing with `need` naming the source bytes to
    // pass to provide(); then call again. need.size == 0 when it stopped for no chunk.
    result<size_t> read_held(uint64_t offset, uint8_t* buf, size_t size, source_need& need);
    status provide(const uint8_t* src, size_t size);

  private:
    // The chunk that holds `row` of tensor `tensor`: its first row and row count.
    void chunk_of(size_t tensor, uint64_t row, uint64_t& first, uint64_t& count) const;
    status convert_chunk(size_t tensor, uint64_t first, uint64_t count, const uint8_t* src);

    hf_plan plan_;
    std::vector<uint8_t> header_;
    shard_read_fn read_;
    uint64_t chunk_bytes_;
    // The converted rows held: tensor chunk_tensor_, rows [chunk_row_, chunk_row_ + chunk_rows_).
    size_t chunk_tensor_ = SIZE_MAX;
    uint64_t chunk_row_ = 0, chunk_rows_ = 0;
    std::vector<uint8_t> src_, ordered_, dst_;
    // The chunk read_held asked for and provide() converts.
    size_t want_tensor_ = SIZE_MAX;
    uint64_t want_row_ = 0, want_rows_ = 0;
    source_need want_;
};

}  // namespace gguf_squash::convert
