#include "pipeline/read_ahead.h"

#ifndef __EMSCRIPTEN__
#include <algorithm>

namespace gguf_squash::pipeline_detail {

read_ahead::read_ahead(const quant_plan& plan, const read_shard_at_fn& read, size_t chunk,
                       size_t depth)
    : read_(read), chunk_(chunk), depth_(depth) {
    for (const tensor_plan& tp : plan.tensors) {
        const uint64_t rows = tp.ne[1] * tp.ne[2] * tp.ne[3];
        const uint64_t bytes = rows * row_size(tp.source_type, tp.ne[0]);
        if (bytes > 0) extents_.push_back({tp.source_shard, tp.source_offset, bytes});
    }
    thread_ = std::thread([this] { run(); });
}

read_ahead::~read_ahead() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

std::unique_ptr<read_ahead::block> read_ahead::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || finished_; });
    if (ready_.empty()) return nullptr;
    std::unique_ptr<block> b = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return b;
}

void read_ahead::recycle(std::unique_ptr<block> b) {
    std::lock_guard<std::mutex> lock(mutex_);
    spare_.push_back(std::move(b));
}

void read_ahead::run() {
    bool ended = false;
    for (const extent& e : extents_) {
        for (uint64_t done = 0; done < e.bytes && !ended;) {
            std::unique_ptr<block> b;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                changed_.wait(lock, [&] { return stop_ || ready_.size() < depth_; });
                if (stop_) {
                    ended = true;
                    break;
                }
                if (!spare_.empty()) {
                    b = std::move(spare_.back());
                    spare_.pop_back();
                }
            }
            if (!b) {
                try {
                    b = std::make_unique<block>();
                } catch (...) {
                    ended = true;  // the caller reads in line from here on
                    break;
                }
            }
            const size_t want = size_t(std::min<uint64_t>(chunk_, e.bytes - done));
            b->shard = e.shard;
            b->offset = e.offset + done;
            b->size = 0;
            b->error = {};
            b->at_end = false;
            b->thrown = nullptr;
            try {
                if (b->data.size() < want) b->data.resize(want);
            } catch (...) {
                ended = true;  // the caller reads in line from here on
                break;
            }
            // An exception from the caller's reader reaches the caller where reading in line
            // would have thrown it.
            try {
                while (b->error.ok() && b->size < want) {
                    result<size_t> got = read_(b->shard, b->offset + b->size,
                                               b->data.data() + b->size, want - b->size);
                    if (!got.ok()) {
                        b->error = got.error();
                    } else if (*got == 0) {
                        b->at_end = true;
                        break;
                    } else {
                        b->size += std::min(*got, want - b->size);
                    }
                }
            } catch (...) {
                b->thrown = std::current_exception();
            }
            ended = !b->error.ok() || b->at_end || b->thrown;
            done += b->size;
            std::lock_guard<std::mutex> lock(mutex_);
            ready_.push_back(std::move(b));
            changed_.notify_all();
        }
        if (ended) break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    changed_.notify_all();
}

}  // namespace gguf_squash::pipeline_detail
#endif
