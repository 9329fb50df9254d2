// run_quantize_job: drives a job to the end over caller-supplied reads and writes, reading ahead
// on a thread of its own in native builds (read_ahead.h); run_quantize_job_in_place: the same
// over input the caller holds in memory.
#include <algorithm>
#include <exception>
#include <memory>
#include <vector>

#include "pipeline/quantize_job.h"
#ifndef __EMSCRIPTEN__
#include "pipeline/read_ahead.h"
#endif

namespace gguf_squash {

#ifndef __EMSCRIPTEN__
using pipeline_detail::read_ahead;
#endif

namespace {

// The end of each step of both drivers: the output ready now goes to `write` straight from the
// job's buffer, `chunk` bytes at a time; then a step that moved nothing is an internal error, and
// `progress` may cancel.
status write_output_and_report(quantize_job& job, const write_fn& write, size_t chunk,
                               uint64_t before_in, uint64_t before_out,
                               const progress_fn& progress) {
    for (;;) {
        const input_span view = job.output_view();
        GS_RETURN_IF_ERROR(job.error());
        if (view.size == 0) break;
        const size_t n = std::min(view.size, chunk);
        GS_RETURN_IF_ERROR(write(view.data, n));
        GS_RETURN_IF_ERROR(job.consume_output(n));
    }
    if (!job.done() && job.progress().bytes_in == before_in &&
        job.progress().bytes_out == before_out) {
        return make_error(status_code::internal, "quantize job made no progress");
    }
    if (progress && !progress(job.progress())) {
        return make_error(status_code::cancelled, "cancelled");
    }
    return {};
}

}  // namespace

status run_quantize_job(quantize_job& job, const read_at_fn& read, const write_fn& write,
                        size_t chunk, const progress_fn& progress) {
    const read_shard_at_fn read_shard = [&](uint32_t shard, uint64_t offset, uint8_t* buf,
                                            size_t size) -> result<size_t> {
        if (shard != 0) {
            return make_error(status_code::invalid_argument,
                              "the plan reads a split model; give a reader for every shard");
        }
        return read(offset, buf, size);
    };
    return run_quantize_job(job, read_shard, write, chunk, progress);
}

status run_quantize_job(quantize_job& job, const read_shard_at_fn& read, const write_fn& write,
                        size_t chunk, const progress_fn& progress) {
    if (!job.error().ok()) return job.error();
    if (chunk == 0) chunk = 1;
    std::vector<uint8_t> in_buf(chunk);
#ifndef __EMSCRIPTEN__
    // Read-ahead keeps at most about 16 MiB in flight (at least two blocks).
    const size_t depth = std::clamp<size_t>((size_t(16) << 20) / chunk, 2, 16);
    std::unique_ptr<read_ahead> ahead;
    try {
        ahead = std::make_unique<read_ahead>(job.plan(), read, chunk, depth);
    } catch (...) {
        ahead.reset();  // no thread or no memory: read in line
    }
    std::unique_ptr<read_ahead::block> block;
    size_t block_pos = 0;
#endif
    while (!job.done()) {
        const uint64_t before_in = job.progress().bytes_in, before_out = job.progress().bytes_out;
        if (job.input_wanted() > 0) {
            bool fed = false;
#ifndef __EMSCRIPTEN__
            if (ahead) {
                if (block && block_pos == block->size && block->error.ok() && !block->at_end &&
                    !block->thrown) {
                    ahead->recycle(std::move(block));
                    block_pos = 0;
                }
                if (!block) block = ahead->next();
                if (block && block->shard == job.input_shard() &&
                    block->offset + block_pos == job.input_offset()) {
                    if (block_pos == block->size) {
                        if (block->thrown) std::rethrow_exception(block->thrown);
                        if (!block->error.ok()) return block->error;
                        return job.finish();  // the input ended: says which tensor was cut short
                    }
                    input_span in{block->data.data() + block_pos, block->size - block_pos, 0};
                    GS_RETURN_IF_ERROR(job.feed(in));
                    block_pos += in.pos;
                    fed = true;
                } else {
                    // Not where the plan said the job would read (cannot happen with a consistent
                    // plan): stop reading ahead and read in line from here on.
                    ahead.reset();
                    block.reset();
                }
            }
#endif
            if (!fed) {
                const size_t n = std::min(job.input_wanted(), chunk);
                result<size_t> got = read(job.input_shard(), job.input_offset(), in_buf.data(), n);
                if (!got.ok()) return got.error();
                if (*got == 0) return job.finish();  // says which tensor was cut short
                input_span in{in_buf.data(), *got, 0};
                GS_RETURN_IF_ERROR(job.feed(in));
            }
        }
        GS_RETURN_IF_ERROR(
            write_output_and_report(job, write, chunk, before_in, before_out, progress));
    }
    return job.finish();
}

status run_quantize_job_in_place(quantize_job& job, const view_at_fn& view,
                                 const check_input_fn& check, const write_fn& write, size_t chunk,
                                 const progress_fn& progress) {
    if (!job.error().ok()) return job.error();
    if (chunk == 0) chunk = 1;
    while (!job.done()) {
        const uint64_t before_in = job.progress().bytes_in, before_out = job.progress().bytes_out;
        if (const size_t want = job.input_wanted()) {
            result<input_span> got = view(job.input_shard(), job.input_offset(), want);
            if (!got.ok()) return got.error();
            if (got->size == 0) return job.finish();  // says which tensor was cut short
            // A short view (the end of the input) is fed, to be reported as above once it ends.
            if (!job.borrow_input(got->data, got->size)) GS_RETURN_IF_ERROR(job.feed(*got));
            GS_RETURN_IF_ERROR(job.error());
            if (check) {
                status ok = check();
                if (!ok.ok()) {
                    const quantize_job_progress& p = job.progress();
                    const std::string name = p.tensor_index < job.plan().tensors.size()
                                                 ? job.plan().tensors[p.tensor_index].source_name
                                                 : p.tensor_name;
                    return make_error(ok.code(), "tensor '" + name + "': " + ok.message());
                }
            }
        }
        GS_RETURN_IF_ERROR(
            write_output_and_report(job, write, chunk, before_in, before_out, progress));
    }
    return job.finish();
}

}  // namespace gguf_squash
