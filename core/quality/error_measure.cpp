#include "error_measure.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "quant/quantize.h"

namespace gguf_squash {
namespace {

constexpr uint64_t kDefaultSlabBytes = uint64_t(16) << 20;

// One row's sums. x−y is formed in double, where the difference of two floats is exact, and
// each sum runs in column order.
struct row_sums {
    double sse = 0, sxx = 0, max_abs = 0, weighted_se = 0, weight = 0;
};

row_sums sum_row(const float* x, const float* y, const float* w, int64_t n) {
    row_sums s;
    for (int64_t j = 0; j < n; ++j) {
        const double d = double(x[j]) - double(y[j]);
        const double d2 = d * d;
        s.sse += d2;
        s.sxx += double(x[j]) * double(x[j]);
        s.max_abs = std::max(s.max_abs, std::fabs(d));
        if (w) {
            s.weighted_se += double(w[j]) * d2;
            s.weight += double(w[j]);
        }
    }
    return s;
}

void add_row(error_sums& e, const row_sums& s, int64_t n) {
    e.values += uint64_t(n);
    e.rows += 1;
    e.sse += s.sse;
    e.sxx += s.sxx;
    e.max_abs = std::max(e.max_abs, s.max_abs);
    e.weighted += s.weight > 0 ? s.weighted_se / s.weight : s.sse / double(n);
}

}  // namespace

double error_sums::rmse() const {
    return std::sqrt(mse());
}

double error_sums::rel_rmse() const {
    return sxx > 0 ? std::sqrt(sse / sxx) : 0.0;
}

std::vector<uint64_t> evenly_spaced_rows(uint64_t rows, uint64_t wanted) {
    std::vector<uint64_t> out;
    if (rows == 0) return out;
    if (wanted == 0 || wanted >= rows) {
        out.resize(size_t(rows));
        for (uint64_t i = 0; i < rows; ++i) out[size_t(i)] = i;
        return out;
    }
    if (wanted == 1) return {0};
    out.reserve(size_t(wanted));
    // (rows−1)/(wanted−1) >= 1, so the indices are distinct; the product fits in 128 bits only
    // in general, so it is formed as quotient and remainder.
    const uint64_t span = rows - 1, steps = wanted - 1;
    const uint64_t q = span / steps, r = span % steps;
    for (uint64_t k = 0; k < wanted; ++k) out.push_back(k * q + (k * r) / steps);
    return out;
}

measure_job::measure_job(std::vector<measure_request> requests, const measure_options& options)
    : requests_(std::move(requests)), options_(options) {
    if (options_.max_buffer_bytes == 0) options_.max_buffer_bytes = kDefaultSlabBytes;
    progress_.tensor_count = requests_.size();
    results_.resize(requests_.size());
    for (size_t i = 0; i < requests_.size(); ++i) {
        const measure_request& r = requests_[i];
        results_[i].resize(r.types.size());
        const ggml_type_info* src = ggml_type_lookup(uint32_t(r.source_type));
        if (!src || !src->valid || !can_dequantize(r.source_type) ||
            r.ne[0] % src->block_size != 0) {
            error_ = make_error(
                status_code::unsupported,
                "tensor '" + r.name + "': cannot read its type " + (src ? src->ggml_name : "?"));
            return;
        }
        for (ggml_type t : r.types) {
            const ggml_type_info* info = ggml_type_lookup(uint32_t(t));
            if (!info || !info->valid || !can_quantize_to(t) || !can_dequantize(t)) {
                error_ = make_error(status_code::unsupported, "tensor '" + r.name +
                                                                  "': cannot measure type " +
                                                                  (info ? info->ggml_name : "?"));
                return;
            }
            if (r.ne[0] % info->block_size != 0) {
                error_ =
                    make_error(status_code::invalid_argument,
                               "tensor '" + r.name + "': row length " + std::to_string(r.ne[0]) +
                                   " is not a multiple of " + std::to_string(info->block_size) +
                                   " (block size of " + info->ggml_name + ")");
                return;
            }
            if (quantize_requires_imatrix(t) && !r.importance) {
                error_ = make_error(status_code::refused,
                                    "tensor '" + r.name + "': " + info->ggml_name +
                                        " cannot be made without an importance matrix");
                return;
            }
        }
    }
    // Bytes the whole job reads, for progress.
    for (const measure_request& r : requests_) {
        if (r.types.empty()) continue;
        const uint64_t per_matrix =
            options_.rows_per_matrix == 0 ? r.ne[1] : std::min(r.ne[1], options_.rows_per_matrix);
        progress_.bytes_total += per_matrix * r.ne[2] * r.ne[3] * row_size(r.source_type, r.ne[0]);
    }
    start_request();
}

status measure_job::fail(status s) {
    if (error_.ok()) error_ = std::move(s);
    return error_;
}

// Plans the reads of the next request with something to measure: runs of consecutive measured
// rows, each at most one slab.
void measure_job::start_request() {
    for (;; ++request_) {
        runs_.clear();
        run_ = 0;
        filled_ = 0;
        progress_.tensor_index = request_;
        if (request_ >= requests_.size()) return;
        const measure_request& r = requests_[request_];
        if (r.types.empty()) continue;
        const uint64_t row_bytes = row_size(r.source_type, r.ne[0]);
        // Source bytes, source and restored F32, and the widest quantized row (at most F32).
        const uint64_t per_row_buffers = row_bytes + r.ne[0] * 12;
        const uint64_t slab_rows =
            std::max<uint64_t>(1, options_.max_buffer_bytes / per_row_buffers);
        const std::vector<uint64_t> rows = evenly_spaced_rows(r.ne[1], options_.rows_per_matrix);
        const uint64_t matrices = r.ne[2] * r.ne[3];
        for (uint64_t m = 0; m < matrices; ++m) {
            for (uint64_t row : rows) {
                const uint64_t global = m * r.ne[1] + row;
                if (!runs_.empty() && runs_.back().first + runs_.back().count == global &&
                    runs_.back().count < slab_rows) {
                    ++runs_.back().count;
                } else {
                    runs_.push_back({global, 1});
                }
            }
        }
        if (!runs_.empty()) return;
    }
}

bool measure_job::done() const {
    return error_.ok() && request_ >= requests_.size();
}

uint32_t measure_job::input_shard() const {
    return request_ < requests_.size() ? requests_[request_].shard : 0;
}

uint64_t measure_job::input_offset() const {
    if (!error_.ok() || request_ >= requests_.size() || run_ >= runs_.size()) return 0;
    const measure_request& r = requests_[request_];
    return r.offset + runs_[run_].first * row_size(r.source_type, r.ne[0]) + filled_;
}

size_t measure_job::input_wanted() const {
    if (!error_.ok() || request_ >= requests_.size() || run_ >= runs_.size()) return 0;
    const measure_request& r = requests_[request_];
    return size_t(runs_[run_].count * row_size(r.source_type, r.ne[0]) - filled_);
}

output_span measure_job::input_buffer() {
    const size_t want = input_wanted();
    if (want == 0) return {};
    const measure_request& r = requests_[request_];
    const uint64_t bytes = runs_[run_].count * row_size(r.source_type, r.ne[0]);
    try {
        if (in_buf_.size() < bytes) in_buf_.resize(size_t(bytes));
    } catch (...) {
        fail(make_error(status_code::out_of_memory,
                        "cannot allocate the read buffer for '" + r.name + "'"));
        return {};
    }
    return {in_buf_.data() + filled_, want, 0};
}

status measure_job::commit_input(size_t n) {
    if (!error_.ok()) return error_;
    if (n > input_wanted()) {
        return fail(make_error(status_code::internal, "committed more input than wanted"));
    }
    filled_ += n;
    progress_.bytes_read += n;
    if (input_wanted() > 0) return {};
    GS_RETURN_IF_ERROR(measure_slab());
    filled_ = 0;
    ++run_;
    if (run_ >= runs_.size()) {
        ++request_;
        start_request();
    }
    return {};
}

status measure_job::feed(input_span& in) {
    if (!error_.ok()) return error_;
    const size_t take = std::min(in.remaining(), input_wanted());
    if (take == 0) return {};
    output_span buf = input_buffer();
    if (!error_.ok()) return error_;
    std::memcpy(buf.data, in.data + in.pos, take);
    in.pos += take;
    return commit_input(take);
}

status measure_job::measure_slab() {
    const measure_request& r = requests_[request_];
    const row_run& run = runs_[run_];
    const int64_t n = int64_t(r.ne[0]);
    const int64_t rows = int64_t(run.count);
    try {
        if (source_.size() < uint64_t(rows * n)) source_.resize(size_t(rows * n));
        if (restored_.size() < uint64_t(rows * n)) restored_.resize(size_t(rows * n));
        uint64_t widest = 0;
        for (ggml_type t : r.types) widest = std::max(widest, row_size(t, r.ne[0]));
        if (quantized_.size() < widest * uint64_t(rows))
            quantized_.resize(size_t(widest * uint64_t(rows)));
    } catch (...) {
        return fail(make_error(status_code::out_of_memory,
                               "cannot allocate the buffers for '" + r.name + "'"));
    }
    status s = dequantize_rows(r.source_type, in_buf_.data(), source_.data(), rows, n);
    if (!s.ok()) return fail(s);
    const uint64_t rows_per_matrix = std::max<uint64_t>(1, r.ne[1]);
    for (int64_t i = 0; i < rows; ++i) {
        const float* x = source_.data() + i * n;
        for (int64_t j = 0; j < n; ++j) {
            if (!std::isfinite(x[j])) {
                const uint64_t global = run.first + uint64_t(i);
                std::string where = "row " + std::to_string(global % rows_per_matrix);
                if (r.ne[2] * r.ne[3] > 1)
                    where += " of matrix " + std::to_string(global / rows_per_matrix);
                return fail(make_error(status_code::invalid_file,
                                       "tensor '" + r.name + "' has NaN or Inf at " + where +
                                           ", column " + std::to_string(j)));
            }
        }
    }
    for (size_t k = 0; k < r.types.size(); ++k) {
        const ggml_type t = r.types[k];
        const uint64_t dst_row = row_size(t, r.ne[0]);
        // Rows of one matrix share its importances, so kernel calls never cross a matrix.
        for (int64_t i = 0; i < rows;) {
            const uint64_t global = run.first + uint64_t(i);
            const uint64_t matrix = global / rows_per_matrix;
            const int64_t count =
                std::min<int64_t>(rows - i, int64_t(rows_per_matrix - global % rows_per_matrix));
            // ne[2] matrices carry importances; ne[3] repeats them (never seen in models).
            const float* w =
                r.importance ? r.importance + (matrix % std::max<uint64_t>(1, r.ne[2])) * r.ne[0]
                             : nullptr;
            uint8_t* q = quantized_.data() + uint64_t(i) * dst_row;
            s = quantize_rows(t, source_.data() + i * n, q, count, n, w);
            if (s.ok()) s = dequantize_rows(t, q, restored_.data() + i * n, count, n);
            if (!s.ok()) {
                return fail(make_error(s.code(), "tensor '" + r.name + "' at " +
                                                     type_info(t).ggml_name + ": " + s.message()));
            }
            for (int64_t k2 = 0; k2 < count; ++k2) {
                const int64_t row = i + k2;
                add_row(results_[request_][k],
                        sum_row(source_.data() + row * n, restored_.data() + row * n, w, n), n);
            }
            i += count;
        }
    }
    return {};
}

status run_measure_job(measure_job& job, const measure_read_fn& read,
                       const measure_progress_fn& progress, size_t chunk) {
    if (!job.error().ok()) return job.error();
    chunk = std::max<size_t>(chunk, 1);
    while (!job.done()) {
        const size_t want = std::min(job.input_wanted(), chunk);
        if (want == 0) return make_error(status_code::internal, "measure job stalled");
        output_span buf = job.input_buffer();
        if (!job.error().ok()) return job.error();
        const uint32_t shard = job.input_shard();
        const uint64_t offset = job.input_offset();
        const size_t name_index = job.progress().tensor_index;
        result<size_t> got = read(shard, offset, buf.data, want);
        if (!got.ok()) return got.error();
        if (*got == 0) {
            return make_error(status_code::invalid_file,
                              "input ended early in tensor '" + job.requests()[name_index].name +
                                  "' (offset " + std::to_string(offset) + ")");
        }
        GS_RETURN_IF_ERROR(job.commit_input(std::min(*got, want)));
        if (progress && !progress(job.progress())) {
            return make_error(status_code::cancelled, "cancelled");
        }
    }
    return job.error();
}

}  // namespace gguf_squash
