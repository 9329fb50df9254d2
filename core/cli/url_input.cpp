#include "url_input.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace gguf_squash::cli {

url_stream::url_stream(url_shard_source source, std::vector<file_extent> schedule,
                       std::function<bool()> stopped)
    : src_(std::move(source)), stopped_(std::move(stopped)) {
    // Adjacent extents become one, so that ranges can span tensors.
    for (const file_extent& e : schedule) {
        if (e.size == 0) continue;
        if (!schedule_.empty() && schedule_.back().offset + schedule_.back().size == e.offset) {
            schedule_.back().size += e.size;
        } else {
            schedule_.push_back(e);
        }
    }
    uint64_t total = 0;
    for (const file_extent& e : schedule_) total += e.size;
    ring_.resize(size_t(std::max<uint64_t>(1, std::min(kStreamBuffer, total))));
    worker_ = std::thread([this] { download(); });
}

url_stream::~url_stream() {
    stop_worker();
}

uint64_t url_stream::bytes_received() const {
    std::lock_guard<std::mutex> lock(counters_.mutex);
    return counters_.bytes;
}

void url_stream::stop_worker() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        quit_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void url_stream::download() {
    auto push = [this](const uint8_t* d, size_t len) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (quit_) return false;
        size_t at = (head_ + filled_) % ring_.size();
        while (len > 0) {
            const size_t k = std::min(len, ring_.size() - at);
            std::memcpy(ring_.data() + at, d, k);
            d += k;
            len -= k;
            filled_ += k;
            at = (at + k) % ring_.size();
        }
        cv_.notify_all();
        return true;
    };
    const uint64_t tail_end = src_.tail_offset + src_.tail.size();
    for (const file_extent& e : schedule_) {
        uint64_t pos = e.offset;
        const uint64_t end = e.offset + e.size;
        while (pos < end) {
            uint64_t n = std::min<uint64_t>({kStreamRange, end - pos, ring_.size()});
            const bool in_tail = pos >= src_.tail_offset && pos < tail_end;
            if (in_tail) n = std::min(n, tail_end - pos);
            {
                // Only a range that fits the free space starts: the download never waits
                // mid-body (which a server or the stall timer could take for a dead connection).
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [&] { return quit_ || ring_.size() - filled_ >= n; });
                if (quit_) return;
            }
            if (in_tail) {
                // Already received with the header.
                if (!push(src_.tail.data() + (pos - src_.tail_offset), size_t(n))) return;
                pos += n;
                continue;
            }
            result<uint64_t> got = http_read_range(src_.resource, pos, n, push, &counters_);
            std::lock_guard<std::mutex> lock(mutex_);
            if (quit_) return;
            if (!got.ok() || *got < n) {
                error_ = got.ok() ? make_error(status_code::io_error,
                                               src_.resource.url + ": the file ended at byte " +
                                                   std::to_string(pos + *got) +
                                                   ", before the tensor data did")
                                  : got.error();
                cv_.notify_all();
                return;
            }
            pos += n;
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    cv_.notify_all();
}

result<size_t> url_stream::read_elsewhere(uint64_t offset, uint8_t* buf, size_t size) {
    size_t n = 0;
    result<uint64_t> got = http_read_range(
        src_.resource, offset, size,
        [&](const uint8_t* d, size_t len) {
            std::memcpy(buf + n, d, len);
            n += len;
            return true;
        },
        &counters_);
    if (!got.ok()) return got.error();
    return n;
}

result<size_t> url_stream::read(uint64_t offset, uint8_t* buf, size_t size) {
    std::unique_lock<std::mutex> lock(mutex_);
    // Extents finished with are passed; the job asks for the next one's start.
    while (read_extent_ < schedule_.size() && read_into_ == schedule_[read_extent_].size &&
           offset != schedule_[read_extent_].offset + read_into_) {
        ++read_extent_;
        read_into_ = 0;
    }
    if (read_extent_ >= schedule_.size() || offset != schedule_[read_extent_].offset + read_into_) {
        lock.unlock();
        return read_elsewhere(offset, buf, size);
    }
    const uint64_t left = schedule_[read_extent_].size - read_into_;
    size = size_t(std::min<uint64_t>(size, left));
    for (;;) {
        if (filled_ > 0) break;
        if (!error_.ok()) return error_;
        if (done_) return size_t(0);
        if (stopped_ && stopped_()) return make_error(status_code::cancelled, "interrupted");
        cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    const size_t n = std::min(size, filled_);
    size_t copied = 0;
    while (copied < n) {
        const size_t k = std::min(n - copied, ring_.size() - head_);
        std::memcpy(buf + copied, ring_.data() + head_, k);
        copied += k;
        head_ = (head_ + k) % ring_.size();
    }
    filled_ -= n;
    read_into_ += n;
    cv_.notify_all();
    return n;
}

std::vector<std::vector<file_extent>> url_read_schedule(const quant_plan& plan) {
    std::vector<std::vector<file_extent>> out;
    for (uint32_t f = 0; f < std::max<uint32_t>(1, plan.output_file_count); ++f) {
        for (const tensor_plan& t : plan.tensors) {
            if (t.output_file != f) continue;
            if (t.source_shard >= out.size()) out.resize(t.source_shard + 1);
            out[t.source_shard].push_back({t.source_offset, t.source_bytes});
        }
    }
    return out;
}

result<std::string> take_hf_token(std::vector<std::string>& args) {
    std::string flag;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--") break;
        if (args[i] == "--hf-token") {
            if (i + 1 >= args.size()) {
                return make_error(status_code::invalid_argument, "--hf-token needs a value");
            }
            flag = args[i + 1];
            args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
            --i;
        } else if (args[i].rfind("--hf-token=", 0) == 0) {
            flag = args[i].substr(11);
            args.erase(args.begin() + long(i));
            --i;
        }
    }
    return hf_token(flag);
}

result<std::vector<uint8_t>> read_url_file(const std::string& url, const std::string& token) {
    http_resource res;
    res.url = url;
    res.token = token;
    return http_read_all(res, nullptr);
}

url_model_input::url_model_input(std::vector<url_shard_source> shards,
                                 std::vector<std::vector<file_extent>> schedule,
                                 std::function<bool()> stopped)
    : shards_(std::move(shards)),
      schedule_(std::move(schedule)),
      streams_(shards_.size()),
      stopped_(std::move(stopped)) {
    schedule_.resize(shards_.size());
}

result<size_t> url_model_input::read(uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) {
    if (shard >= shards_.size())
        return make_error(status_code::internal, "no input shard " + std::to_string(shard));
    if (!streams_[shard]) {
        streams_[shard] = std::make_unique<url_stream>(std::move(shards_[shard]),
                                                       std::move(schedule_[shard]), stopped_);
    }
    return streams_[shard]->read(offset, buf, size);
}

uint64_t url_model_input::bytes_received() const {
    uint64_t n = 0;
    for (const auto& s : streams_) n += s ? s->bytes_received() : 0;
    return n;
}

}  // namespace gguf_squash::cli
