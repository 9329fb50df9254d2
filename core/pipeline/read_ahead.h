// Reads a quantize job's input ahead on a thread of its own (native builds only).
#pragma once

#ifndef __EMSCRIPTEN__
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/quantize_job.h"
#include "status.h"

namespace gguf_squash::pipeline_detail {

// Reads the job's input ahead on a thread of its own, so that reading (a copy out of the page
// cache, or a disk or network wait) overlaps the conversion instead of taking turns with it. The
// job reads each tensor's bytes in order, tensor after tensor in plan order, so the whole sequence
// of reads is known from the plan: this thread reads it in `chunk`-sized blocks, at most `depth`
// blocks ahead. The caller takes blocks in order; a read error or the end of the input travels
// in the block where it happened, so it is reported at the same point as reading in line would.
class read_ahead {
  public:
    struct block {
        uint32_t shard = 0;
        uint64_t offset = 0;
        std::vector<uint8_t> data;
        size_t size = 0;            // bytes read into data
        status error;               // a read failed after `size` bytes
        std::exception_ptr thrown;  // the reader threw after `size` bytes
        bool at_end = false;        // the input ended after `size` bytes
    };

    // Starts the thread; throws when it cannot (the caller then reads in line).
    read_ahead(const quant_plan& plan, const read_shard_at_fn& read, size_t chunk, size_t depth);
    ~read_ahead();
    read_ahead(const read_ahead&) = delete;
    read_ahead& operator=(const read_ahead&) = delete;

    // The next block, or null once every planned byte has been handed out.
    std::unique_ptr<block> next();
    // Returns a consumed block's buffer for reuse.
    void recycle(std::unique_ptr<block> b);

  private:
    struct extent {
        uint32_t shard;
        uint64_t offset, bytes;
    };

    void run();

    const read_shard_at_fn& read_;
    const size_t chunk_, depth_;
    std::vector<extent> extents_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::unique_ptr<block>> ready_;
    std::vector<std::unique_ptr<block>> spare_;
    bool stop_ = false, finished_ = false;
    std::thread thread_;
};

}  // namespace gguf_squash::pipeline_detail
#endif
