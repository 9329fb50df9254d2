// Measuring what quantization does to the weights: quantize source rows with the quantizer's own
// kernels (core/quant dispatch), dequantize them again and compare with the source, in double
// precision. One pass over the input measures every requested type of a tensor, so a tensor is
// read once however many types are measured.
//
// Figures, for one tensor at one type, with x the source values as F32, y the dequantized values,
// rows i and columns j (dimension 0), over the measured rows:
//   sse = Σ(x−y)²,  sxx = Σx²,  max_abs = max|x−y|,
//   weighted = Σ_i [ Σ_j w_ij (x_ij−y_ij)² / Σ_j w_ij ]
// where w_ij is the importance the kernels receive for row i (its own expert's slice in a 3D
// tensor), or 1 when the tensor has none. A row whose importances are all zero (an expert the
// calibration never reached) counts with w = 1 rather than as error-free.
// Sums are per row first, then added in row order: the figures do not depend on how the reads
// are chunked.
//
// Streaming, in the shape of quantize_job (core/pipeline): the job says which bytes it wants
// next (shard, absolute offset, size) and is fed them; memory is one slab of rows at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/ggml_types.h"
#include "status.h"
#include "stream.h"

namespace gguf_squash {

// Rows measured per matrix when the caller does not say (--rows): 16 evenly spaced rows give
// every ftype's table for an 8B model within a minute on one thread.
constexpr uint64_t kDefaultMeasuredRows = 16;

struct error_sums {
    uint64_t values = 0;  // N: measured values
    uint64_t rows = 0;    // measured rows (over all matrices of the tensor)
    double sse = 0;
    double sxx = 0;
    double max_abs = 0;
    double weighted = 0;  // sum over rows of each row's weighted mean squared error

    double mse() const { return values ? sse / double(values) : 0.0; }
    double rmse() const;
    double rel_rmse() const;  // 0 when x is all zero
    double weighted_mse() const { return rows ? weighted / double(rows) : 0.0; }
};

// `wanted` evenly spaced indices of [0, rows), first and last included, increasing and distinct:
// floor(k (rows−1) / (wanted−1)). All rows when wanted is 0 or at least `rows`.
std::vector<uint64_t> evenly_spaced_rows(uint64_t rows, uint64_t wanted);

// One source tensor and the types to measure it at.
struct measure_request {
    std::string name;  // for messages
    ggml_type source_type = ggml_type::f32;
    uint64_t ne[4] = {1, 1, 1, 1};
    uint32_t shard = 0;   // input shard holding the data
    uint64_t offset = 0;  // absolute offset of the data in that shard
    // Importances as the quantizer hands them to the kernels: ne[0] floats per matrix (ne[2]
    // matrices back to back), or null for none (the kernels get null, the weights are 1).
    const float* importance = nullptr;
    std::vector<ggml_type> types;  // distinct; every one must be quantizable
};

struct measure_options {
    uint64_t rows_per_matrix = kDefaultMeasuredRows;  // 0: every row
    uint64_t max_buffer_bytes = 0;                    // one slab's buffers; 0: 16 MiB
};

struct measure_progress {
    size_t tensor_index = 0;  // request being measured (== count when done)
    size_t tensor_count = 0;
    uint64_t bytes_read = 0;   // input bytes consumed
    uint64_t bytes_total = 0;  // input bytes the whole job reads
};

class measure_job {
  public:
    measure_job(std::vector<measure_request> requests, const measure_options& options = {});
    measure_job(const measure_job&) = delete;
    measure_job& operator=(const measure_job&) = delete;

    // A request that cannot be measured (a type the kernels lack, a row length that is not a
    // multiple of a type's block size) makes the job dead from the start.
    const status& error() const { return error_; }
    bool done() const;

    // The next bytes wanted: `input_wanted()` bytes at absolute `input_offset()` in shard
    // `input_shard()` (0 when done or dead).
    uint32_t input_shard() const;
    uint64_t input_offset() const;
    size_t input_wanted() const;

    // Consumes up to input_wanted() bytes from `in`; completing a slab measures it.
    status feed(input_span& in);
    // Zero-copy form: write a prefix of input_buffer(), then commit_input(n).
    output_span input_buffer();
    status commit_input(size_t n);

    // [request][type index, as in the request's types]; complete once done().
    const std::vector<std::vector<error_sums>>& results() const { return results_; }
    const measure_progress& progress() const { return progress_; }
    const std::vector<measure_request>& requests() const { return requests_; }

  private:
    struct row_run {
        uint64_t first = 0;  // row index over the whole tensor (matrix * ne[1] + row)
        uint64_t count = 0;
    };
    status fail(status s);
    void start_request();
    status measure_slab();

    std::vector<measure_request> requests_;
    measure_options options_;
    status error_;
    measure_progress progress_;
    std::vector<std::vector<error_sums>> results_;

    size_t request_ = 0;
    std::vector<row_run> runs_;  // the current request's reads
    size_t run_ = 0;
    uint64_t filled_ = 0;  // bytes of the current run received
    std::vector<uint8_t> in_buf_;
    std::vector<float> source_;
    std::vector<uint8_t> quantized_;
    std::vector<float> restored_;
};

// Reads up to `size` bytes at absolute `offset` of input shard `shard`; returns the count (0 at
// end of input).
using measure_read_fn =
    std::function<result<size_t>(uint32_t shard, uint64_t offset, uint8_t* buf, size_t size)>;
// Called after each read with the progress; returning false cancels (status_code::cancelled).
using measure_progress_fn = std::function<bool(const measure_progress&)>;

// Runs a job to the end, reading at most `chunk` bytes at a time. A short input is an error
// naming the tensor.
status run_measure_job(measure_job& job, const measure_read_fn& read,
                       const measure_progress_fn& progress = nullptr,
                       size_t chunk = size_t(4) << 20);

}  // namespace gguf_squash
