// The streaming quantize job: turns an input model into llama-quantize's output file, given the
// plan (core/plan/quant_plan.h), with bounded memory and no file I/O of its own (the native CLI
// and the wasm glue do the I/O), in the shape zstd made familiar:
//
//   quantize_job job(plan, imatrix, options);           // check job.error() / create()
//   while (!job.done()) {
//       if (size_t want = job.input_wanted()) {           // bytes wanted, starting at
//           input_span in = read(job.input_offset(), want);   // this absolute input offset
//           job.feed(in);
//       }
//       output_span out = {buf, size};
//       job.drain(out);                                   // write out.data[0, out.pos)
//   }
//   job.finish();
//
// Input: llama-quantize writes tensors in the model loader's order, which is not the input file's
// order, so the job asks for each tensor's bytes at their offset (`input_offset()`); within a
// tensor the bytes are read in order, in chunks of any size. Sources that can only stream (a
// pipe) are not supported; files, Blobs and HTTP ranges all can seek. A split model's tensors
// live in several files: `input_shard()` names the shard (tensor_plan::source_shard) that the
// offset belongs to.
//
// Several output files (--keep-split): one job per file, each given output_file_plan(plan, i).
//
// Output: strictly sequential, header first (its size is known from the plan), then each tensor
// and its padding; exactly plan.file_size bytes.
//
// Memory: one slab of whole rows at a time (input rows and output rows), kept under
// `max_buffer_bytes` (at least one row), like llama-quantize's --max-buffer-size, plus one F32
// scratch of about 64 KiB per thread (the rows being converted).
//
// Threads: with `threads` > 1 (native builds only), a slab's rows are converted and quantized in
// parallel in row ranges; each row's bytes never depend on the split, so the output is identical
// for every thread count.
//
// Errors: any error (bad input data, NaN/Inf in a weight row, a kernel failure) makes the job
// dead; every later call returns the same error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plan/imatrix.h"
#include "plan/quant_plan.h"
#include "status.h"
#include "stream.h"

namespace gguf_squash {

struct quantize_job_options {
    // Cap on one slab's buffers (input rows + F32 rows + output rows); 0 selects 32 MiB.
    uint64_t max_buffer_bytes = 0;
    // Worker threads for a slab (1: the calling thread only). Ignored in single-threaded builds.
    int threads = 1;
    // Quantize rows holding NaN or Inf instead of refusing them (llama-quantize refuses).
    bool allow_non_finite = false;
    // For a job over a row chunk of one matrix of a larger tensor (the wasm worker pool converts
    // chunks in parallel): where the chunk sits, so that messages name the row (and matrix)
    // exactly as a job over the whole tensor would.
    struct row_chunk_origin {
        uint64_t first_row = 0;         // the chunk's first row in the whole tensor
        uint64_t rows_per_matrix = 0;   // the whole tensor's ne[1]; 0: the job is not a chunk
        bool several_matrices = false;  // the whole tensor's ne[2] or ne[3] is above 1
    };
    row_chunk_origin chunk_origin;
};

struct quantize_job_progress {
    size_t tensor_index = 0;  // tensor being processed (== tensor count when done)
    size_t tensor_count = 0;
    std::string tensor_name;
    uint64_t tensor_rows_done = 0;  // rows of the current tensor written
    uint64_t tensor_rows = 0;
    uint64_t bytes_in = 0;   // input bytes consumed in total
    uint64_t bytes_out = 0;  // output bytes drained in total
    uint64_t total_out = 0;  // output file size
};

class quantize_job {
  public:
    // `plan` is copied; `imatrix` (may be null) must outlive the job.
    quantize_job(const quant_plan& plan, const imatrix_data* imatrix,
                 const quantize_job_options& options = {});
    ~quantize_job();
    quantize_job(const quantize_job&) = delete;
    quantize_job& operator=(const quantize_job&) = delete;

    // Construction errors (a header that cannot be encoded, an imatrix entry missing).
    const status& error() const { return error_; }

    // Absolute input offset of the next byte the job wants, in input shard input_shard().
    uint64_t input_offset() const;
    uint32_t input_shard() const;
    // Bytes the job wants next, starting at input_offset(); 0 while output is pending or when done.
    size_t input_wanted() const;

    // Consumes input starting at input_offset(), up to input_wanted() bytes. Completing a slab
    // converts it, which makes output pending.
    status feed(input_span& in);
    // Writes pending output into `out`.
    status drain(output_span& out);

    // Zero-copy forms of feed() and drain(), for callers that read straight into the job's
    // buffer or write straight from it (the wasm glue reads a file into wasm memory this way).
    // input_buffer(): where the next input_wanted() bytes go (empty when none are wanted);
    // write a prefix of it, then commit_input(n). Committing more than it holds is an error.
    output_span input_buffer();
    status commit_input(size_t n);
    // output_view(): the output bytes ready now, valid until the next call that changes the job
    // (empty while input is needed, or when done); write a prefix, then consume_output(n).
    input_span output_view();
    status consume_output(size_t n);
    // Zero-copy input for callers that hold the input in memory (the native CLI maps the file):
    // when the job wants a slab and `data` holds all of its input_wanted() bytes, and none of the
    // slab has been fed yet, the slab is converted where it lies and true is returned (check
    // error() then, as after commit_input). `data` must stay valid and unchanged until the slab's
    // output has been consumed: rows copied unchanged are output straight from it. Otherwise
    // nothing happens and false is returned: feed the bytes instead.
    bool borrow_input(const uint8_t* data, size_t size);

    bool done() const;
    // Succeeds once every byte of the output has been drained; otherwise says what is missing.
    status finish();

    const quantize_job_progress& progress() const { return progress_; }
    const quant_plan& plan() const { return plan_; }

  private:
    status fail(status s);
    void start_tensor();
    void start_slab();
    status reserve_input_buffer();
    status process_slab();
    void skip_empty_tensors();

    quant_plan plan_;
    const imatrix_data* imatrix_;
    quantize_job_options options_;
    status error_;
    quantize_job_progress progress_;

    std::vector<uint8_t> header_;
    size_t tensor_ = 0;  // index into plan_.tensors
    uint64_t rows_per_slab_ = 1;
    uint64_t slab_first_row_ = 0;  // first row of the current slab within the tensor
    uint64_t slab_rows_ = 0;
    uint64_t slab_filled_ = 0;  // input bytes of the slab received
    std::vector<uint8_t> in_buf_;
    const uint8_t* in_data_ = nullptr;  // the slab's input: in_buf_, or borrowed (borrow_input)
    std::vector<std::vector<float>> scratch_;  // one F32 unit per thread (process_slab)
    std::vector<uint8_t> out_buf_;
    const uint8_t* pending_ = nullptr;  // output not yet drained
    uint64_t pending_size_ = 0;
    uint64_t pending_pos_ = 0;
    uint64_t padding_left_ = 0;  // zero bytes after the current tensor
    bool header_done_ = false;
    bool finished_ = false;
};

// Reads up to `size` bytes at absolute `offset` into `buf`; returns the count (0 at end of input).
using read_at_fn = std::function<result<size_t>(uint64_t offset, uint8_t* buf, size_t size)>;
// The same for a split model: reads from input shard `shard`.
using read_shard_at_fn =
    std::function<result<size_t>(uint32_t shard, uint64_t offset, uint8_t* buf, size_t size)>;
// Writes all of `size` bytes.
using write_fn = std::function<status(const uint8_t* data, size_t size)>;
// Called after each step with the job's progress; returning false cancels the run.
using progress_fn = std::function<bool(const quantize_job_progress&)>;

// Runs a job to the end with caller-supplied I/O, `chunk` bytes at a time. A short input is an
// error naming the tensor; a cancelled run returns status_code::cancelled.
status run_quantize_job(quantize_job& job, const read_at_fn& read, const write_fn& write,
                        size_t chunk = size_t(1) << 20, const progress_fn& progress = nullptr);
status run_quantize_job(quantize_job& job, const read_shard_at_fn& read, const write_fn& write,
                        size_t chunk = size_t(1) << 20, const progress_fn& progress = nullptr);

// Input the caller holds in memory (the native CLI maps the input files): the bytes
// [offset, offset + size) of shard `shard`, or fewer at the end of the input, valid until the next
// call. Slabs are converted where they lie (quantize_job::borrow_input), without a copy.
using view_at_fn = std::function<result<input_span>(uint32_t shard, uint64_t offset, size_t size)>;
// Called after each slab is converted and before its output is written: says whether the memory
// under the last view still held the input (a mapped file can shrink under its mapping).
using check_input_fn = std::function<status()>;

// run_quantize_job over views instead of reads; `chunk` bounds each write. A failed check is
// reported naming the tensor being converted.
status run_quantize_job_in_place(quantize_job& job, const view_at_fn& view,
                                 const check_input_fn& check, const write_fn& write,
                                 size_t chunk = size_t(8) << 20,
                                 const progress_fn& progress = nullptr);

}  // namespace gguf_squash
