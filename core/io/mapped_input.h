// Input files seen through memory mappings, one window at a time (native builds only): the
// quantize job converts each slab where the page cache holds it (run_quantize_job_in_place),
// with no copy into a buffer of ours, as llama-quantize reads its mmapped input.
//
// Memory: only the current window is mapped, so the pages it touched leave the resident set when
// the next one is mapped; peak memory stays one slab whatever the model's size.
//
// A file that shrinks while mapped: touching a page past its new end raises SIGBUS. While a window
// is mapped, a handler maps zero pages over the rest of the window and records the fault, so the
// conversion finishes on zeros; check() then reports the file as cut short before any of that
// slab's output is written, and the run fails as a short read would.
//
// Where a file cannot be mapped, view() reads it into a buffer instead (pread), with the same
// contract.
#pragma once

#ifndef __EMSCRIPTEN__
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"
#include "stream.h"

namespace gguf_squash {

class mapped_input {
  public:
    // `fds` are open for reading and stay owned by the caller; `paths` name them in messages.
    mapped_input(std::vector<int> fds, std::vector<std::string> paths);
    ~mapped_input();
    mapped_input(const mapped_input&) = delete;
    mapped_input& operator=(const mapped_input&) = delete;

    // The bytes [offset, offset + size) of file `shard`, or fewer at its end (none past it);
    // valid until the next call.
    result<input_span> view(uint32_t shard, uint64_t offset, size_t size);
    // Whether the last view still holds the file's bytes: an error when the file has shrunk
    // under it.
    status check();

  private:
    void unmap();

    std::vector<int> fds_;
    std::vector<std::string> paths_;
    uint8_t* map_ = nullptr;  // the current window's mapping (page aligned)
    size_t map_size_ = 0;
    uint32_t shard_ = 0;
    uint64_t end_ = 0;  // file offset just past the last view
    bool mapping_failed_ = false;
    std::vector<uint8_t> buffer_;  // the pread fallback
};

}  // namespace gguf_squash
#endif
