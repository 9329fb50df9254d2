// The job itself: slabs of whole rows in, converted rows (or the copied ones) out. The drivers
// that run a job over caller-supplied I/O are in run_quantize_job.cpp; the row checks in
// row_validation.cpp.
#include "pipeline/quantize_job.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifndef __EMSCRIPTEN__
#include <atomic>
#include <thread>
#endif

#include "format/gguf_writer.h"
#include "pipeline/row_validation.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

constexpr uint64_t kDefaultMaxBuffer = 32ull << 20;
constexpr int64_t kMinChunkElements = 32 * 512;  // llama-quantize's work unit per thread
const uint8_t kZeros[256] = {};

}  // namespace

using namespace pipeline_detail;

quantize_job::quantize_job(const quant_plan& plan, const imatrix_data* imatrix,
                           const quantize_job_options& options)
    : plan_(plan), imatrix_(imatrix), options_(options) {
    if (options_.max_buffer_bytes == 0) options_.max_buffer_bytes = kDefaultMaxBuffer;
    if (options_.threads < 1) options_.threads = 1;
    progress_.tensor_count = plan_.tensors.size();
    progress_.total_out = plan_.file_size;
    result<std::vector<uint8_t>> h = encode_plan_header(plan_.output);
    if (!h.ok()) {
        error_ = h.error();
        return;
    }
    header_ = std::move(*h);
    if (header_.size() != plan_.header_size) {
        error_ = make_error(status_code::internal, "encoded header size differs from the plan");
        return;
    }
    for (const tensor_plan& tp : plan_.tensors) {
        if (!tp.imatrix_present) continue;
        if (!imatrix_ || !imatrix_->entries.count(tp.imatrix_name) ||
            imatrix_->entries.at(tp.imatrix_name).size() != tp.ne[0] * tp.ne[2]) {
            error_ = make_error(status_code::invalid_argument,
                                "the plan uses imatrix entry " + tp.imatrix_name +
                                    ", which the given imatrix does not hold");
            return;
        }
    }
    pending_ = header_.data();
    pending_size_ = header_.size();
    pending_pos_ = 0;
}

quantize_job::~quantize_job() = default;

status quantize_job::fail(status s) {
    if (error_.ok()) error_ = std::move(s);
    pending_ = nullptr;
    pending_size_ = pending_pos_ = 0;
    return error_;
}

bool quantize_job::done() const {
    return error_.ok() && finished_;
}

status quantize_job::finish() {
    if (!error_.ok()) return error_;
    if (finished_) return {};
    if (tensor_ < plan_.tensors.size() && input_wanted() > 0) {
        return make_error(status_code::invalid_file,
                          "input ended early: tensor '" + plan_.tensors[tensor_].source_name +
                              "' needs bytes from offset " + std::to_string(input_offset()));
    }
    return make_error(status_code::internal, "output not fully drained");
}

void quantize_job::start_tensor() {
    if (tensor_ >= plan_.tensors.size()) {
        finished_ = true;
        progress_.tensor_index = plan_.tensors.size();
        progress_.tensor_name.clear();
        return;
    }
    const tensor_plan& tp = plan_.tensors[tensor_];
    progress_.tensor_index = tensor_;
    progress_.tensor_name = tp.name;
    progress_.tensor_rows = tp.ne[1] * tp.ne[2] * tp.ne[3];
    progress_.tensor_rows_done = 0;
    const uint64_t src_row = row_size(tp.source_type, tp.ne[0]);
    const uint64_t dst_row = row_size(tp.target_type, tp.ne[0]);
    // The F32 form of the rows is not part of the slab: each work unit converts into a scratch
    // buffer of its own that stays in cache (see process_slab).
    uint64_t per_row = src_row;
    if (tp.converts()) per_row += dst_row;
    const uint64_t rows = progress_.tensor_rows;
    // One row always fits in a slab; a row this large only comes from a hostile header.
    if (per_row > (uint64_t(1) << 32)) {
        fail(make_error(status_code::invalid_file, "tensor '" + tp.source_name + "': a row of " +
                                                       std::to_string(tp.ne[0]) +
                                                       " elements is too large to process"));
        return;
    }
    rows_per_slab_ = std::max<uint64_t>(
        1, std::min<uint64_t>(rows, options_.max_buffer_bytes / std::max<uint64_t>(1, per_row)));
    slab_first_row_ = 0;
    if (rows == 0 || src_row == 0) {
        padding_left_ = tensor_padding(tp.target_bytes, plan_.output.alignment);
        slab_rows_ = 0;
        return;
    }
    start_slab();
}

void quantize_job::start_slab() {
    slab_rows_ = std::min(rows_per_slab_, progress_.tensor_rows - slab_first_row_);
    slab_filled_ = 0;
    in_data_ = nullptr;  // the input buffer is sized when first written (borrowed input needs none)
}

status quantize_job::reserve_input_buffer() {
    const tensor_plan& tp = plan_.tensors[tensor_];
    const uint64_t need = slab_rows_ * row_size(tp.source_type, tp.ne[0]);
    try {
        if (in_buf_.size() < need) in_buf_.resize(need);
    } catch (...) {
        return fail(make_error(status_code::out_of_memory,
                               "cannot allocate the input buffer for '" + tp.source_name + "'"));
    }
    in_data_ = in_buf_.data();
    return {};
}

uint64_t quantize_job::input_offset() const {
    if (tensor_ >= plan_.tensors.size()) return 0;
    const tensor_plan& tp = plan_.tensors[tensor_];
    return tp.source_offset + slab_first_row_ * row_size(tp.source_type, tp.ne[0]) + slab_filled_;
}

uint32_t quantize_job::input_shard() const {
    if (tensor_ >= plan_.tensors.size()) return 0;
    return plan_.tensors[tensor_].source_shard;
}

size_t quantize_job::input_wanted() const {
    if (!error_.ok() || finished_ || !header_done_ || pending_ || padding_left_ > 0) return 0;
    if (tensor_ >= plan_.tensors.size() || slab_rows_ == 0) return 0;
    const tensor_plan& tp = plan_.tensors[tensor_];
    return size_t(slab_rows_ * row_size(tp.source_type, tp.ne[0]) - slab_filled_);
}

output_span quantize_job::input_buffer() {
    const size_t want = input_wanted();
    if (want == 0) return {};
    if (!in_data_ && !reserve_input_buffer().ok()) return {};
    return {in_buf_.data() + slab_filled_, want, 0};
}

status quantize_job::commit_input(size_t n) {
    if (!error_.ok()) return error_;
    const size_t want = input_wanted();
    if (n > want)
        return fail(make_error(status_code::invalid_argument,
                               "commit_input: " + std::to_string(n) + " bytes committed, " +
                                   std::to_string(want) + " wanted"));
    if (n == 0) return {};
    if (!in_data_) GS_RETURN_IF_ERROR(reserve_input_buffer());
    slab_filled_ += n;
    progress_.bytes_in += n;
    if (n == want) return process_slab();
    return {};
}

bool quantize_job::borrow_input(const uint8_t* data, size_t size) {
    if (!error_.ok() || slab_filled_ != 0) return false;
    const size_t want = input_wanted();
    if (want == 0 || size < want) return false;
    in_data_ = data;
    slab_filled_ = want;
    progress_.bytes_in += want;
    process_slab();
    return true;
}

status quantize_job::feed(input_span& in) {
    if (!error_.ok()) return error_;
    const output_span buf = input_buffer();
    const size_t take = std::min(buf.size, in.remaining());
    if (take == 0) return {};
    std::memcpy(buf.data, in.data + in.pos, take);
    in.pos += take;
    return commit_input(take);
}

status quantize_job::process_slab() {
    const tensor_plan& tp = plan_.tensors[tensor_];
    const int64_t n_per_row = int64_t(tp.ne[0]);
    const uint64_t src_row = row_size(tp.source_type, tp.ne[0]);
    const int64_t nrows = int64_t(slab_rows_);
    const uint64_t rows_per_expert = std::max<uint64_t>(1, tp.ne[1]);
    // Rows as messages name them: those of the whole tensor when this job converts a chunk.
    const quantize_job_options::row_chunk_origin& origin = options_.chunk_origin;
    const bool chunk = origin.rows_per_matrix > 0;
    const uint64_t message_first_row = origin.first_row + slab_first_row_;
    const uint64_t message_rows_per_matrix = chunk ? origin.rows_per_matrix : rows_per_expert;
    const bool message_matrices = chunk ? origin.several_matrices : (tp.ne[2] > 1 || tp.ne[3] > 1);

    auto non_finite_error = [&](int64_t row, int64_t col) {
        const uint64_t global = message_first_row + uint64_t(row);
        std::string where = "row " + std::to_string(global % message_rows_per_matrix);
        if (message_matrices)
            where += " of matrix " + std::to_string(global / message_rows_per_matrix);
        return make_error(status_code::invalid_file,
                          "tensor '" + tp.source_name + "' has NaN or Inf at " + where +
                              ", column " + std::to_string(col) +
                              " (use --allow-non-finite to quantize it anyway)");
    };

    if (!tp.converts()) {
        // Copied unchanged; the rows are still checked as llama.cpp's loader checks them.
        if (!options_.allow_non_finite) {
            if (is_float_like(tp.source_type)) {
                for (int64_t r = 0; r < nrows; ++r) {
                    const int64_t c =
                        first_non_finite_row(tp.source_type, in_data_ + r * src_row, n_per_row);
                    if (c >= 0) return fail(non_finite_error(r, c));
                }
            } else if (type_info(tp.source_type).is_quantized && can_dequantize(tp.source_type)) {
                std::vector<float> row(static_cast<size_t>(n_per_row), 0.0f);
                for (int64_t r = 0; r < nrows; ++r) {
                    status s = dequantize_rows(tp.source_type, in_data_ + r * src_row, row.data(),
                                               1, n_per_row);
                    if (!s.ok()) return fail(s);
                    const int64_t c = first_non_finite(row.data(), n_per_row);
                    if (c >= 0) return fail(non_finite_error(r, c));
                }
            }
        }
        pending_ = in_data_;
        pending_size_ = uint64_t(nrows) * src_row;
        pending_pos_ = 0;
        return {};
    }

    const uint64_t dst_row = row_size(tp.target_type, tp.ne[0]);
    try {
        if (out_buf_.size() < uint64_t(nrows) * dst_row) out_buf_.resize(size_t(nrows * dst_row));
    } catch (...) {
        return fail(make_error(status_code::out_of_memory,
                               "cannot allocate the buffers for '" + tp.source_name + "'"));
    }
    const float* imatrix = nullptr;
    if (tp.imatrix_present) imatrix = imatrix_->entries.at(tp.imatrix_name).data();

    // Work units: row ranges of about kMinChunkElements weights that never cross a matrix
    // boundary (each expert matrix has its own imatrix slice).
    struct unit {
        int64_t first, count;
    };
    std::vector<unit> units;
    const int64_t chunk_rows =
        std::max<int64_t>(1, kMinChunkElements / std::max<int64_t>(1, n_per_row));
    for (int64_t r = 0; r < nrows;) {
        const uint64_t global = slab_first_row_ + uint64_t(r);
        const int64_t to_boundary = int64_t(rows_per_expert - global % rows_per_expert);
        const int64_t count = std::min({chunk_rows, nrows - r, to_boundary});
        units.push_back({r, count});
        r += count;
    }
    // Per-unit results, so that the reported error is the same for every thread count.
    std::vector<status> unit_status(units.size());

    int threads = 1;
#ifndef __EMSCRIPTEN__
    threads = int(std::min<size_t>(size_t(options_.threads), units.size()));
#endif
    // One F32 scratch per thread, the size of a unit (about 64 KiB): the unit's rows are converted
    // into it, quantized from it and checked back in it while it stays in cache, instead of
    // passing through memory in a slab-sized buffer. Rows F32 already are used in place.
    const bool f32_in_place =
        tp.source_type == ggml_type::f32 && reinterpret_cast<uintptr_t>(in_data_) % 4 == 0;
    const size_t scratch_floats = size_t(chunk_rows * n_per_row);
    try {
        if (scratch_.size() < size_t(threads)) scratch_.resize(size_t(threads));
        for (int t = 0; t < threads; ++t) {
            if (scratch_[size_t(t)].size() < scratch_floats)
                scratch_[size_t(t)].resize(scratch_floats);
        }
    } catch (...) {
        return fail(make_error(status_code::out_of_memory,
                               "cannot allocate the buffers for '" + tp.source_name + "'"));
    }

    auto run_unit = [&](size_t u, float* scratch) {
        const unit& w = units[u];
        const uint8_t* src = in_data_ + uint64_t(w.first) * src_row;
        const float* f32 = scratch;
        status s;
        if (f32_in_place) {
            f32 = reinterpret_cast<const float*>(src);
        } else if (tp.source_type == ggml_type::f32) {
            std::memcpy(scratch, src, size_t(w.count * n_per_row) * 4);
        } else {
            s = dequantize_rows(tp.source_type, src, scratch, w.count, n_per_row);
        }
        if (s.ok() && !options_.allow_non_finite) {
            // Float sources are scanned as read (16-bit ones in half the bytes): their Inf/NaN
            // are exactly the converted rows' Inf/NaN, at the same columns.
            const bool as_read = is_float_like(tp.source_type);
            for (int64_t r = 0; r < w.count; ++r) {
                const int64_t c = as_read
                                      ? first_non_finite_row(tp.source_type,
                                                             src + uint64_t(r) * src_row, n_per_row)
                                      : first_non_finite(f32 + r * n_per_row, n_per_row);
                if (c >= 0) {
                    s = non_finite_error(w.first + r, c);
                    break;
                }
            }
        }
        if (s.ok()) {
            const uint64_t global = slab_first_row_ + uint64_t(w.first);
            const float* im = imatrix ? imatrix + (global / rows_per_expert) * tp.ne[0] : nullptr;
            s = quantize_rows(tp.target_type, f32, out_buf_.data() + uint64_t(w.first) * dst_row,
                              w.count, n_per_row, im);
        }
        // llama-quantize validates what it wrote (ggml_validate_row_data: no NaN/Inf scales or
        // values, as when weights overflow a type's F16 scale) and fails if it is not. Reading
        // the rows back to F32 and checking them finds the same rows.
        // Types with F16 block scales are checked on the scales alone, which finds the same rows
        // without dequantizing.
        if (s.ok() && !options_.allow_non_finite && tp.target_type != ggml_type::f32) {
            const uint8_t* rows = out_buf_.data() + uint64_t(w.first) * dst_row;
            const f16_scale_layout scales = f16_scales_of(tp.target_type);
            int64_t bad = -1;
            if (scales.count > 0) {
                bad = first_row_with_non_finite_scale(scales, type_info(tp.target_type).type_size,
                                                      rows, dst_row, w.count);
            } else {
                s = dequantize_rows(tp.target_type, rows, scratch, w.count, n_per_row);
                for (int64_t r = 0; s.ok() && r < w.count; ++r) {
                    if (first_non_finite(scratch + r * n_per_row, n_per_row) >= 0) {
                        bad = r;
                        break;
                    }
                }
            }
            if (s.ok() && bad >= 0) {
                const uint64_t global = message_first_row + uint64_t(w.first + bad);
                s = make_error(status_code::refused, "tensor '" + tp.name +
                                                         "': quantized data validation failed at "
                                                         "row " +
                                                         std::to_string(global) +
                                                         " (the weights overflow " +
                                                         type_info(tp.target_type).ggml_name + ")");
            }
        }
        unit_status[u] = std::move(s);
    };

    if (threads <= 1) {
        for (size_t u = 0; u < units.size(); ++u) {
            run_unit(u, scratch_[0].data());
            if (!unit_status[u].ok()) break;
        }
    } else {
#ifndef __EMSCRIPTEN__
        std::atomic<size_t> next{0};
        auto worker = [&](float* scratch) {
            for (size_t u = next++; u < units.size(); u = next++) run_unit(u, scratch);
        };
        std::vector<std::thread> pool;
        pool.reserve(size_t(threads - 1));
        for (int t = 1; t < threads; ++t) pool.emplace_back(worker, scratch_[size_t(t)].data());
        worker(scratch_[0].data());
        for (std::thread& t : pool) t.join();
#endif
    }
    for (status& s : unit_status) {
        if (!s.ok()) return fail(std::move(s));
    }
    pending_ = out_buf_.data();
    pending_size_ = uint64_t(nrows) * dst_row;
    pending_pos_ = 0;
    return {};
}

// Empty tensors (no rows, no padding) need neither input nor output: step over them.
void quantize_job::skip_empty_tensors() {
    while (error_.ok() && !finished_ && header_done_ && !pending_ && padding_left_ == 0 &&
           slab_rows_ == 0 && tensor_ < plan_.tensors.size()) {
        ++tensor_;
        start_tensor();
    }
}

input_span quantize_job::output_view() {
    if (!error_.ok() || finished_) return {};
    skip_empty_tensors();
    if (!error_.ok() || finished_) return {};
    if (pending_) return {pending_ + pending_pos_, size_t(pending_size_ - pending_pos_), 0};
    if (padding_left_ > 0)
        return {kZeros, size_t(std::min<uint64_t>(padding_left_, sizeof kZeros)), 0};
    return {};  // waiting for input
}

status quantize_job::consume_output(size_t n) {
    if (!error_.ok()) return error_;
    const input_span view = output_view();
    if (n > view.size)
        return fail(make_error(status_code::invalid_argument,
                               "consume_output: " + std::to_string(n) + " bytes consumed, " +
                                   std::to_string(view.size) + " ready"));
    if (n == 0) return error_;
    progress_.bytes_out += n;
    if (pending_) {
        pending_pos_ += n;
        if (pending_pos_ < pending_size_) return {};
        pending_ = nullptr;
        pending_size_ = pending_pos_ = 0;
        if (!header_done_) {
            header_done_ = true;
            start_tensor();
            return error_;
        }
        // A slab is out: next slab (which needs input), or the tensor's padding.
        slab_first_row_ += slab_rows_;
        progress_.tensor_rows_done = slab_first_row_;
        if (slab_first_row_ < progress_.tensor_rows) {
            start_slab();
            return error_;
        }
        const tensor_plan& tp = plan_.tensors[tensor_];
        padding_left_ = tensor_padding(tp.target_bytes, plan_.output.alignment);
        slab_rows_ = 0;
    } else {
        padding_left_ -= n;
    }
    if (padding_left_ == 0) {
        ++tensor_;
        start_tensor();
    }
    return error_;
}

status quantize_job::drain(output_span& out) {
    if (!error_.ok()) return error_;
    while (out.remaining() > 0) {
        const input_span view = output_view();
        if (view.size == 0) break;
        const size_t n = std::min(out.remaining(), view.size);
        std::memcpy(out.data + out.pos, view.data, n);
        out.pos += n;
        GS_RETURN_IF_ERROR(consume_output(n));
    }
    return error_;
}

}  // namespace gguf_squash
