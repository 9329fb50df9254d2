#include "quantize_job.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifndef __EMSCRIPTEN__
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#endif

#include "format/gguf_writer.h"
#include "quant/quant_common.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

constexpr uint64_t kDefaultMaxBuffer = 32ull << 20;
constexpr int64_t kMinChunkElements = 32 * 512;  // llama-quantize's work unit per thread
const uint8_t kZeros[256] = {};

// Index of the first non-finite value in a row of a float-like type, or -1.
int64_t first_non_finite(ggml_type type, const uint8_t* row, int64_t n) {
    switch (type) {
        case ggml_type::f32:
            for (int64_t i = 0; i < n; ++i) {
                uint32_t u;
                std::memcpy(&u, row + 4 * i, 4);
                if ((u & 0x7f800000u) == 0x7f800000u) return i;
            }
            return -1;
        case ggml_type::f16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, row + 2 * i, 2);
                if ((h & 0x7c00u) == 0x7c00u) return i;
            }
            return -1;
        case ggml_type::bf16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, row + 2 * i, 2);
                if ((h & 0x7f80u) == 0x7f80u) return i;
            }
            return -1;
        case ggml_type::f64:
            for (int64_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, row + 8 * i, 8);
                if (!std::isfinite(d)) return i;
            }
            return -1;
        default:
            return -1;
    }
}

// Four lanes of 32 bits (SSE2 natively, simd128 or scalar code in wasm): the finiteness scan
// below runs over every weight of the model, so it is kept branch-free per 16 values.
typedef uint32_t u32x4 __attribute__((vector_size(16)));

int64_t first_non_finite(const float* v, int64_t n) {
    int64_t i = 0;
    // An exponent of all ones (Inf or NaN) becomes bit 31 after adding one to the exponent field;
    // every finite value stays below it.
    for (; i + 16 <= n; i += 16) {
        u32x4 a, b, c, d;
        std::memcpy(&a, v + i, 16);
        std::memcpy(&b, v + i + 4, 16);
        std::memcpy(&c, v + i + 8, 16);
        std::memcpy(&d, v + i + 12, 16);
        const u32x4 flags = ((a & 0x7f800000u) + 0x00800000u) | ((b & 0x7f800000u) + 0x00800000u) |
                            ((c & 0x7f800000u) + 0x00800000u) | ((d & 0x7f800000u) + 0x00800000u);
        if (((flags[0] | flags[1] | flags[2] | flags[3]) & 0x80000000u) != 0) break;
    }
    for (; i < n; ++i) {
        if (!std::isfinite(v[i])) return i;
    }
    return -1;
}

typedef uint16_t u16x8 __attribute__((vector_size(16)));

// The same for a row of 16-bit floats whose exponent field is `exponent` (F16 0x7c00, BF16
// 0x7f80): all ones in it carries into bit 15 when its lowest bit is added.
int64_t first_non_finite_16(const uint8_t* row, int64_t n, uint16_t exponent) {
    const uint16_t carry = uint16_t(exponent & -exponent);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        u16x8 a, b, c, d;
        std::memcpy(&a, row + 2 * i, 16);
        std::memcpy(&b, row + 2 * i + 16, 16);
        std::memcpy(&c, row + 2 * i + 32, 16);
        std::memcpy(&d, row + 2 * i + 48, 16);
        const u16x8 flags = ((a & exponent) + carry) | ((b & exponent) + carry) |
                            ((c & exponent) + carry) | ((d & exponent) + carry);
        uint16_t any = 0;
        for (int k = 0; k < 8; ++k) any |= flags[k];
        if (any & 0x8000u) break;
    }
    for (; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, row + 2 * i, 2);
        if ((h & exponent) == exponent) return i;
    }
    return -1;
}

// The F16 scale fields of one block, for the types whose every dequantized value is a product of
// such a scale and small integers (plus a second scale times small integers): a block's values
// are all finite exactly when its scales are (a non-finite scale makes every product Inf or NaN;
// finite scales stay far below FLT_MAX). These are the fields ggml_validate_row_data checks.
struct f16_scale_layout {
    uint32_t count = 0;
    uint32_t offsets[2] = {};
};

f16_scale_layout f16_scales_of(ggml_type t) {
    switch (t) {
        case ggml_type::q4_0:
        case ggml_type::q5_0:
        case ggml_type::q8_0:
        case ggml_type::iq4_nl:
        case ggml_type::iq4_xs:
            return {1, {0, 0}};
        case ggml_type::q4_1:
        case ggml_type::q5_1:
        case ggml_type::q4_k:
        case ggml_type::q5_k:
            return {2, {0, 2}};
        case ggml_type::q2_k:
            return {2, {80, 82}};
        case ggml_type::q3_k:
            return {1, {108, 0}};
        case ggml_type::q6_k:
            return {1, {208, 0}};
        default:
            return {};
    }
}

// First of `nrows` quantized rows holding a block with a non-finite scale, or -1.
int64_t first_row_with_non_finite_scale(const f16_scale_layout& layout, uint32_t block_bytes,
                                        const uint8_t* rows, uint64_t row_bytes, int64_t nrows) {
    const uint64_t blocks = row_bytes / block_bytes;
    for (int64_t r = 0; r < nrows; ++r) {
        const uint8_t* block = rows + uint64_t(r) * row_bytes;
        uint32_t all_ones = 0;
        for (uint64_t b = 0; b < blocks; ++b, block += block_bytes) {
            for (uint32_t k = 0; k < layout.count; ++k) {
                uint16_t h;
                std::memcpy(&h, block + layout.offsets[k], 2);
                all_ones |= uint32_t((h & 0x7c00u) == 0x7c00u);
            }
        }
        if (all_ones) return r;
    }
    return -1;
}

bool is_float_like(ggml_type t) {
    return t == ggml_type::f32 || t == ggml_type::f16 || t == ggml_type::bf16 ||
           t == ggml_type::f64;
}

}  // namespace

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
    uint64_t per_row = src_row;
    if (tp.converts()) per_row += dst_row + 4 * tp.ne[0];
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
    const tensor_plan& tp = plan_.tensors[tensor_];
    slab_rows_ = std::min(rows_per_slab_, progress_.tensor_rows - slab_first_row_);
    slab_filled_ = 0;
    const uint64_t need = slab_rows_ * row_size(tp.source_type, tp.ne[0]);
    try {
        if (in_buf_.size() < need) in_buf_.resize(need);
    } catch (...) {
        fail(make_error(status_code::out_of_memory,
                        "cannot allocate the input buffer for '" + tp.source_name + "'"));
    }
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
    slab_filled_ += n;
    progress_.bytes_in += n;
    if (n == want) return process_slab();
    return {};
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
                        first_non_finite(tp.source_type, in_buf_.data() + r * src_row, n_per_row);
                    if (c >= 0) return fail(non_finite_error(r, c));
                }
            } else if (type_info(tp.source_type).is_quantized && can_dequantize(tp.source_type)) {
                std::vector<float> row(static_cast<size_t>(n_per_row), 0.0f);
                for (int64_t r = 0; r < nrows; ++r) {
                    status s = dequantize_rows(tp.source_type, in_buf_.data() + r * src_row,
                                               row.data(), 1, n_per_row);
                    if (!s.ok()) return fail(s);
                    const int64_t c = first_non_finite(row.data(), n_per_row);
                    if (c >= 0) return fail(non_finite_error(r, c));
                }
            }
        }
        pending_ = in_buf_.data();
        pending_size_ = uint64_t(nrows) * src_row;
        pending_pos_ = 0;
        return {};
    }

    const uint64_t dst_row = row_size(tp.target_type, tp.ne[0]);
    try {
        if (f32_buf_.size() < uint64_t(nrows * n_per_row))
            f32_buf_.resize(size_t(nrows * n_per_row));
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

    auto run_unit = [&](size_t u) {
        const unit& w = units[u];
        const uint8_t* src = in_buf_.data() + uint64_t(w.first) * src_row;
        float* f32 = f32_buf_.data() + w.first * n_per_row;
        status s;
        if (tp.source_type == ggml_type::f32) {
            std::memcpy(f32, src, size_t(w.count * n_per_row) * 4);
        } else {
            s = dequantize_rows(tp.source_type, src, f32, w.count, n_per_row);
        }
        if (s.ok() && !options_.allow_non_finite) {
            // 16-bit sources are scanned as read (half the bytes): their Inf/NaN are exactly the
            // converted rows' Inf/NaN, at the same columns.
            const uint16_t exponent = tp.source_type == ggml_type::f16    ? 0x7c00
                                      : tp.source_type == ggml_type::bf16 ? 0x7f80
                                                                          : 0;
            for (int64_t r = 0; r < w.count; ++r) {
                const int64_t c =
                    exponent ? first_non_finite_16(src + uint64_t(r) * src_row, n_per_row, exponent)
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
                s = dequantize_rows(tp.target_type, rows, f32, w.count, n_per_row);
                for (int64_t r = 0; s.ok() && r < w.count; ++r) {
                    if (first_non_finite(f32 + r * n_per_row, n_per_row) >= 0) {
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

    int threads = 1;
#ifndef __EMSCRIPTEN__
    threads = int(std::min<size_t>(size_t(options_.threads), units.size()));
#endif
    if (threads <= 1) {
        for (size_t u = 0; u < units.size(); ++u) {
            run_unit(u);
            if (!unit_status[u].ok()) break;
        }
    } else {
#ifndef __EMSCRIPTEN__
        std::atomic<size_t> next{0};
        auto worker = [&]() {
            for (size_t u = next++; u < units.size(); u = next++) run_unit(u);
        };
        std::vector<std::thread> pool;
        pool.reserve(size_t(threads - 1));
        for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
        worker();
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

namespace gguf_squash {

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

#ifndef __EMSCRIPTEN__
namespace {

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

    read_ahead(const quant_plan& plan, const read_shard_at_fn& read, size_t chunk, size_t depth)
        : read_(read), chunk_(chunk), depth_(depth) {
        for (const tensor_plan& tp : plan.tensors) {
            const uint64_t rows = tp.ne[1] * tp.ne[2] * tp.ne[3];
            const uint64_t bytes = rows * row_size(tp.source_type, tp.ne[0]);
            if (bytes > 0) extents_.push_back({tp.source_shard, tp.source_offset, bytes});
        }
        thread_ = std::thread([this] { run(); });
    }
    ~read_ahead() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }

    // The next block, or null once every planned byte has been handed out.
    std::unique_ptr<block> next() {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !ready_.empty() || finished_; });
        if (ready_.empty()) return nullptr;
        std::unique_ptr<block> b = std::move(ready_.front());
        ready_.pop_front();
        changed_.notify_all();
        return b;
    }
    // Returns a consumed block's buffer for reuse.
    void recycle(std::unique_ptr<block> b) {
        std::lock_guard<std::mutex> lock(mutex_);
        spare_.push_back(std::move(b));
    }

  private:
    struct extent {
        uint32_t shard;
        uint64_t offset, bytes;
    };

    void run() {
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

}  // namespace
#endif

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
        // Output goes to `write` straight from the job's buffer, `chunk` bytes at a time.
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
    }
    return job.finish();
}

}  // namespace gguf_squash
