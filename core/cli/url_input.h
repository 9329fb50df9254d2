// Streaming a model's tensor data from its URL(s) into the quantize job.
//
// One background thread per shard downloads the data in the order the job reads it (the plan's
// tensor order, which is not the file's: llama-quantize writes tensors sorted by name), in
// ranges of at most kStreamRange bytes,
// one connection at a time (the Hub refuses parallel range downloaders), into a buffer of at most
// kStreamBuffer bytes; the job's reads take from it while the next ranges download, so the
// download overlaps the quantize threads' compute and memory stays bounded. The header read's last
// range is reused where it runs into the data, so each byte of the file is fetched once.
// Faults are handled below, in http_read_range: resume from the last byte, 5 tries per range.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "http_range_reader.h"
#include "plan/quant_plan.h"
#include "status.h"

namespace gguf_squash::cli {

constexpr uint64_t kStreamRange = 16ull << 20;
constexpr uint64_t kStreamBuffer = 48ull << 20;

// A byte range of the input file, [offset, offset + size).
struct file_extent {
    uint64_t offset = 0;
    uint64_t size = 0;
};

class url_stream {
  public:
    // `schedule`: the extents the job will read, in its order. `stopped` is polled while
    // waiting (Ctrl-C).
    url_stream(url_shard_source source, std::vector<file_extent> schedule,
               std::function<bool()> stopped);
    ~url_stream();
    url_stream(const url_stream&) = delete;
    url_stream& operator=(const url_stream&) = delete;

    // Copies up to `size` bytes at `offset`; reads that follow the schedule are served from the
    // download, any other read is fetched on its own. Returns 0 at the end of the file.
    result<size_t> read(uint64_t offset, uint8_t* buf, size_t size);

    uint64_t bytes_received() const;

  private:
    void stop_worker();
    void download();
    result<size_t> read_elsewhere(uint64_t offset, uint8_t* buf, size_t size);

    url_shard_source src_;
    std::vector<file_extent> schedule_;
    std::function<bool()> stopped_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<uint8_t> ring_;
    size_t head_ = 0;         // ring index of the next byte the job gets
    size_t filled_ = 0;       // bytes buffered
    size_t read_extent_ = 0;  // the job's place in the schedule: extent, bytes into it
    uint64_t read_into_ = 0;
    bool quit_ = false;
    bool done_ = false;  // the whole schedule is downloaded
    status error_;
    std::thread worker_;
    mutable http_counters counters_;
};

// Removes --hf-token TOKEN (or --hf-token=TOKEN) from args; returns it, else HF_TOKEN's value.
result<std::string> take_hf_token(std::vector<std::string>& args);

// A whole small file (an imatrix) from its URL.
result<std::vector<uint8_t>> read_url_file(const std::string& url, const std::string& token);

// Each shard's extents in the order the quantize job reads them (output file by output file).
std::vector<std::vector<file_extent>> url_read_schedule(const quant_plan& plan);

// The model's shards as streams, opened at their first read (so that shards download one after
// another, as the job reads them).
class url_model_input {
  public:
    // `schedule[k]`: shard k's extents in the job's read order.
    url_model_input(std::vector<url_shard_source> shards,
                    std::vector<std::vector<file_extent>> schedule, std::function<bool()> stopped);
    result<size_t> read(uint32_t shard, uint64_t offset, uint8_t* buf, size_t size);
    uint64_t bytes_received() const;

  private:
    std::vector<url_shard_source> shards_;
    std::vector<std::vector<file_extent>> schedule_;
    std::vector<std::unique_ptr<url_stream>> streams_;
    std::function<bool()> stopped_;
};

}  // namespace gguf_squash::cli
