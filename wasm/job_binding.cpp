// C ABI glue for the streaming quantize job (core/pipeline/quantize_job.h): llama-quantize's
// arguments and an optional imatrix in; the job then asks JS for input bytes at offsets and hands
// back output bytes in order. JS does all reading and writing (Blob slices, node files, OPFS).
//
// Split models: the job is made from every shard's header and asks for input by (shard, offset)
// (gs_job_input_shard). With --keep-split there are several output files: the job writes one at
// a time, chosen with gs_job_select_output (file 0 first).
#include <emscripten/emscripten.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf_split.h"
#include "format/gguf_writer.h"
#include "glue_args.h"
#include "glue_json.h"
#include "pipeline/quantize_job.h"
#include "plan/imatrix.h"
#include "plan/llama_ftype.h"
#include "plan/quant_plan.h"
#include "plan/quantize_args.h"

namespace {

using namespace gguf_squash;
using namespace gguf_squash::wasm_glue;

struct job_handle {
    quantize_args args;
    std::optional<imatrix_data> imatrix;  // must outlive the job
    quant_plan plan;                      // every output file's tensors
    uint32_t output = 0;                  // output file the job writes
    std::unique_ptr<quantize_job> job;
    status error;
    std::string plan_json;
    uint64_t max_buffer_bytes = 0;
};

// Text files named on the command line (--tensor-type-file), read by JS beforehand and handed in
// with gs_provide_text_file, since the core does no file I/O.
std::map<std::string, std::string>& provided_files() {
    static std::map<std::string, std::string> files;
    return files;
}

result<std::string> read_provided_file(const std::string& path) {
    auto it = provided_files().find(path);
    if (it == provided_files().end())
        return make_error(status_code::io_error, "No such file or directory");
    return it->second;
}

std::string describe_plan(const quantize_args& args, const quant_plan& plan) {
    // Output files: one, or one per input shard with --keep-split; file_size is their total.
    std::string files = "[";
    uint64_t total = 0;
    for (uint32_t f = 0; f < plan.output_file_count; ++f) {
        result<quant_plan> part = output_file_plan(plan, f);
        const uint64_t size = part.ok() ? part->file_size : 0;
        total += size;
        if (f) files += ',';
        files += "{\"name\":";
        append_json_string(files, output_file_name(args.output, plan, args.keep_split, f));
        files += ",\"file_size\":" + std::to_string(size) +
                 ",\"tensors\":" + std::to_string(part.ok() ? part->tensors.size() : 0) + "}";
    }
    files += "]";
    std::string out = "{\"file_size\":" + std::to_string(total) +
                      ",\"header_size\":" + std::to_string(plan.header_size) +
                      ",\"source_bytes\":" + std::to_string(plan.source_bytes) +
                      ",\"target_bytes\":" + std::to_string(plan.target_bytes) +
                      ",\"n_elements\":" + std::to_string(plan.n_elements) +
                      ",\"bpw\":" + json_number(plan_bits_per_weight(plan)) +
                      ",\"file_type\":" + std::to_string(plan.file_type) + ",\"ftype_name\":";
    append_json_string(out, args.ftype_name);
    out += ",\"output\":";
    append_json_string(out, args.output);
    out += ",\"input\":";
    append_json_string(out, args.input);
    out += ",\"nthreads\":" + std::to_string(args.nthreads);
    out += ",\"dry_run\":" + std::string(args.options.dry_run ? "true" : "false");
    out += ",\"keep_split\":" + std::string(args.keep_split ? "true" : "false");
    out += ",\"output_files\":" + files;
    out += ",\"tensors\":[";
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
        const tensor_plan& t = plan.tensors[i];
        if (i) out += ',';
        out += "{\"name\":";
        append_json_string(out, t.name);
        out += ",\"source_type\":";
        append_json_string(out, type_name(t.source_type));
        out += ",\"target_type\":";
        append_json_string(out, type_name(t.target_type));
        out += ",\"source_bytes\":" + std::to_string(t.source_bytes);
        out += ",\"target_bytes\":" + std::to_string(t.target_bytes);
        out += ",\"fallback\":" + std::string(t.fallback ? "true" : "false");
        out += ",\"shard\":" + std::to_string(t.source_shard);
        out += ",\"output_file\":" + std::to_string(t.output_file);
        out += '}';
    }
    out += "]}";
    return out;
}

// Makes the job for output file `file` of h->plan.
status start_output(job_handle* h, uint32_t file, uint64_t max_buffer_bytes) {
    result<quant_plan> part = output_file_plan(h->plan, file);
    if (!part.ok()) return part.error();
    quantize_job_options jo;
    jo.max_buffer_bytes = max_buffer_bytes;
    jo.allow_non_finite = h->args.allow_non_finite;
    h->job = std::make_unique<quantize_job>(*part, h->imatrix ? &*h->imatrix : nullptr, jo);
    h->output = file;
    return h->job->error();
}

}  // namespace

extern "C" {

// Parses llama-quantize's arguments (NUL-separated: [options] IN [OUT] TYPE [NTHREADS]), plans
// the output for the model made of `parts` (one header, or every shard's in any order) and
// creates the job for output file 0. The imatrix bytes are the file named by --imatrix (JS reads
// it). Always returns a handle; check gs_job_status.
EMSCRIPTEN_KEEPALIVE job_handle* gs_job_new(model_handle** parts, int n_parts,
                                            const char* args_data, size_t args_size,
                                            const uint8_t* imatrix_bytes, size_t imatrix_size,
                                            double max_buffer_bytes) {
    auto* h = new (std::nothrow) job_handle;
    if (!h) return nullptr;
    result<quantize_args> args =
        parse_quantize_args(split_nul_args(args_data, args_size), read_provided_file);
    if (!args.ok()) {
        h->error = args.error();
        return h;
    }
    h->args = std::move(args.value());
    quantize_options options = h->args.options;
    if (!h->args.imatrix_file.empty()) {
        result<imatrix_data> im = parse_imatrix(imatrix_bytes, imatrix_bytes ? imatrix_size : 0);
        if (!im.ok()) {
            h->error = im.error();
            return h;
        }
        h->imatrix = std::move(im.value());
        status s = filter_imatrix(*h->imatrix, h->args.include_weights, h->args.exclude_weights);
        if (!s.ok()) {
            h->error = s;
            return h;
        }
        options.imatrix = &*h->imatrix;
    }
    result<quant_plan> plan = make_error(status_code::invalid_argument, "no model");
    if (n_parts == 1) {
        // One shard of a split model alone is not the model.
        result<std::optional<gguf_split_info>> info = read_split_info(parts[0]->header);
        if (!info.ok()) {
            plan = info.error();
        } else if (*info && (*info)->count > 1) {
            plan = make_error(status_code::invalid_file,
                              "split model: this is shard " + std::to_string((*info)->no + 1) +
                                  " of " + std::to_string((*info)->count) + "; give every shard");
        } else {
            plan = make_quant_plan(parts[0]->header, options);
        }
    } else if (n_parts > 1) {
        std::vector<gguf_header> shards;
        for (int i = 0; i < n_parts; ++i) shards.push_back(parts[i]->header);
        result<gguf_model> model = merge_gguf_shards(std::move(shards));
        plan = model.ok() ? make_quant_plan(*model, options) : result<quant_plan>(model.error());
    }
    if (!plan.ok()) {
        h->error = plan.error();
        return h;
    }
    h->plan = std::move(plan.value());
    h->plan_json = describe_plan(h->args, h->plan);
    h->max_buffer_bytes =
        max_buffer_bytes > 0 ? uint64_t(max_buffer_bytes) : h->args.max_buffer_size;
    status s = start_output(h, 0, h->max_buffer_bytes);
    if (!s.ok()) h->error = s;
    return h;
}

// Switches the job to output file `file` (see plan_json's output_files); returns the status code.
EMSCRIPTEN_KEEPALIVE int gs_job_select_output(job_handle* h, int file) {
    if (!h->error.ok()) return int(h->error.code());
    if (file < 0 || uint32_t(file) >= h->plan.output_file_count) {
        h->error = make_error(status_code::invalid_argument, "no such output file");
        return int(h->error.code());
    }
    status s = start_output(h, uint32_t(file), h->max_buffer_bytes);
    if (!s.ok()) h->error = s;
    return int(h->error.code());
}

// `quantize --help`: the same text as the native `gguf-squash quantize --help`
// (quantize_usage_text in core/plan/quantize_args.cpp); tests/js/cli_quantize.test.mjs compares
// the two byte for byte.
EMSCRIPTEN_KEEPALIVE char* gs_quantize_usage() {
    return to_c_string(quantize_usage_text("gguf-squash"));
}

EMSCRIPTEN_KEEPALIVE void gs_provide_text_file(const char* path, const char* data, size_t size) {
    provided_files()[path] = std::string(data, size);
}

// Parses llama-quantize's arguments alone, so that JS knows which files to open before the job
// exists: {input, output, imatrix_file, ftype, nthreads, help, dry_run} or {error, code}.
EMSCRIPTEN_KEEPALIVE char* gs_parse_quantize_args_json(const char* args_data, size_t args_size) {
    result<quantize_args> args =
        parse_quantize_args(split_nul_args(args_data, args_size), read_provided_file);
    if (!args.ok()) return error_c_string(args.error());
    std::string out = "{\"input\":";
    append_json_string(out, args->input);
    out += ",\"output\":";
    append_json_string(out, args->output);
    out += ",\"imatrix_file\":";
    append_json_string(out, args->imatrix_file);
    out += ",\"ftype\":";
    append_json_string(out, args->ftype_name);
    out += ",\"nthreads\":" + std::to_string(args->nthreads);
    out += ",\"help\":" + std::string(args->help ? "true" : "false");
    out += ",\"keep_split\":" + std::string(args->keep_split ? "true" : "false");
    out += ",\"dry_run\":" + std::string(args->options.dry_run ? "true" : "false") + "}";
    return to_c_string(out);
}

EMSCRIPTEN_KEEPALIVE void gs_job_free(job_handle* h) {
    delete h;
}
EMSCRIPTEN_KEEPALIVE int gs_job_status(job_handle* h) {
    return int(h->error.code());
}
EMSCRIPTEN_KEEPALIVE const char* gs_job_error(job_handle* h) {
    return h->error.message().c_str();
}
// The plan as JSON (sizes, output name, per-tensor types), valid once the job exists.
EMSCRIPTEN_KEEPALIVE const char* gs_job_plan_json(job_handle* h) {
    return h->plan_json.c_str();
}

EMSCRIPTEN_KEEPALIVE double gs_job_input_offset(job_handle* h) {
    return h->job ? double(h->job->input_offset()) : 0;
}
// The input shard (split.no) that gs_job_input_offset refers to.
EMSCRIPTEN_KEEPALIVE int gs_job_input_shard(job_handle* h) {
    return h->job ? int(h->job->input_shard()) : 0;
}
EMSCRIPTEN_KEEPALIVE double gs_job_input_wanted(job_handle* h) {
    return h->job && h->error.ok() ? double(h->job->input_wanted()) : 0;
}

// Feeds input bytes (starting at gs_job_input_offset). Returns the status code.
EMSCRIPTEN_KEEPALIVE int gs_job_feed(job_handle* h, const uint8_t* data, size_t size) {
    if (!h->error.ok()) return int(h->error.code());
    input_span in{data, size, 0};
    status s = h->job->feed(in);
    if (!s.ok()) h->error = s;
    return int(h->error.code());
}

// Drains output into `out`; returns the bytes written, or -1 on error.
EMSCRIPTEN_KEEPALIVE double gs_job_drain(job_handle* h, uint8_t* out, size_t size) {
    if (!h->error.ok()) return -1;
    output_span span{out, size, 0};
    status s = h->job->drain(span);
    if (!s.ok()) {
        h->error = s;
        return -1;
    }
    return double(span.pos);
}

// Zero-copy input: where the next gs_job_input_wanted() bytes go (JS reads a file straight into
// wasm memory there), then gs_job_commit_input with the count written. Returns the status code.
EMSCRIPTEN_KEEPALIVE uint8_t* gs_job_input_buffer(job_handle* h) {
    return h->error.ok() ? h->job->input_buffer().data : nullptr;
}
EMSCRIPTEN_KEEPALIVE int gs_job_commit_input(job_handle* h, size_t n) {
    if (!h->error.ok()) return int(h->error.code());
    status s = h->job->commit_input(n);
    if (!s.ok()) h->error = s;
    return int(h->error.code());
}

// Zero-copy output: the size of the output ready now (0 while input is needed or when done, -1
// on error), its address in *ptr; JS writes it from wasm memory, then gs_job_consume_output.
EMSCRIPTEN_KEEPALIVE double gs_job_output_view(job_handle* h, uint32_t* ptr) {
    if (!h->error.ok()) return -1;
    const input_span view = h->job->output_view();
    if (!h->job->error().ok()) {
        h->error = h->job->error();
        return -1;
    }
    *ptr = uint32_t(reinterpret_cast<uintptr_t>(view.data));
    return double(view.size);
}
EMSCRIPTEN_KEEPALIVE int gs_job_consume_output(job_handle* h, size_t n) {
    if (!h->error.ok()) return int(h->error.code());
    status s = h->job->consume_output(n);
    if (!s.ok()) h->error = s;
    return int(h->error.code());
}

EMSCRIPTEN_KEEPALIVE int gs_job_done(job_handle* h) {
    return h->job && h->job->done();
}

// Checks the end: 0 when every output byte was drained, else the status code (with the reason).
EMSCRIPTEN_KEEPALIVE int gs_job_finish(job_handle* h) {
    if (!h->error.ok()) return int(h->error.code());
    status s = h->job->finish();
    if (!s.ok()) h->error = s;
    return int(h->error.code());
}

// Progress into out[0..7]: tensor index, tensor count, rows done, rows, bytes in, bytes out,
// total out. The current tensor's name is gs_job_tensor_name.
EMSCRIPTEN_KEEPALIVE void gs_job_progress(job_handle* h, double* out) {
    if (!h->job) return;
    const quantize_job_progress& p = h->job->progress();
    out[0] = double(p.tensor_index);
    out[1] = double(p.tensor_count);
    out[2] = double(p.tensor_rows_done);
    out[3] = double(p.tensor_rows);
    out[4] = double(p.bytes_in);
    out[5] = double(p.bytes_out);
    out[6] = double(p.total_out);
}

EMSCRIPTEN_KEEPALIVE const char* gs_job_tensor_name(job_handle* h) {
    return h->job ? h->job->progress().tensor_name.c_str() : "";
}

// The output layout for a coordinator that spreads row chunks over a pool of workers: per tensor
// (in output order) its output and input names, the input shard and absolute offset in it, rows,
// bytes per input and output row, rows per matrix (imatrix slices never cross one), and the zero
// padding after it.
EMSCRIPTEN_KEEPALIVE char* gs_job_layout_json(job_handle* h) {
    if (!h->job) return to_c_string("[]");
    const quant_plan& plan = h->job->plan();
    std::string out = "{\"header_size\":" + std::to_string(plan.header_size) +
                      ",\"file_size\":" + std::to_string(plan.file_size) + ",\"tensors\":[";
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
        const tensor_plan& t = plan.tensors[i];
        if (i) out += ',';
        out += "{\"name\":";
        append_json_string(out, t.name);
        out += ",\"source_name\":";
        append_json_string(out, t.source_name);
        out += ",\"type\":";
        append_json_string(out, type_name(t.target_type));
        out += ",\"shard\":" + std::to_string(t.source_shard);
        out += ",\"offset\":" + std::to_string(t.source_offset);
        out += ",\"rows\":" + std::to_string(t.ne[1] * t.ne[2] * t.ne[3]);
        out += ",\"rows_per_matrix\":" + std::to_string(t.ne[1] ? t.ne[1] : 1);
        out += ",\"src_row\":" + std::to_string(row_size(t.source_type, t.ne[0]));
        out += ",\"dst_row\":" + std::to_string(row_size(t.target_type, t.ne[0]));
        out +=
            ",\"padding\":" + std::to_string(tensor_padding(t.target_bytes, plan.output.alignment));
        out += '}';
    }
    out += "]}";
    return to_c_string(out);
}

// The selected output file's header size in bytes (its job's plan; the whole plan's header_size
// differs with --keep-split).
EMSCRIPTEN_KEEPALIVE double gs_job_header_size(job_handle* h) {
    return h->job ? double(h->job->plan().header_size) : 0;
}

// The output header bytes (what the job writes first), copied to `out` (header_size bytes).
EMSCRIPTEN_KEEPALIVE int gs_job_header(job_handle* h, uint8_t* out) {
    if (!h->job) return int(status_code::internal);
    result<std::vector<uint8_t>> bytes = encode_plan_header(h->job->plan().output);
    if (!bytes.ok()) {
        h->error = bytes.error();
        return int(h->error.code());
    }
    std::memcpy(out, bytes->data(), bytes->size());
    return 0;
}

// Converts rows [first_row, first_row + nrows) of tensor `index` (all inside one matrix) from
// their input bytes `src` into `dst`: exactly what the job writes for those rows. It runs the
// core's own quantize_job over a one-tensor plan holding just these rows (and their matrix's
// imatrix slice), so a pool of workers reproduces the streaming job's bytes and checks without
// a second copy of the conversion. Returns the status code (message in gs_job_error).
EMSCRIPTEN_KEEPALIVE int gs_job_convert_rows(job_handle* h, double index, double first_row,
                                             double nrows, const uint8_t* src, uint8_t* dst) {
    if (!h->job) return int(h->error.code());
    const quant_plan& plan = h->job->plan();
    if (index < 0 || size_t(index) >= plan.tensors.size()) {
        h->error = make_error(status_code::invalid_argument, "no such tensor");
        return int(h->error.code());
    }
    const tensor_plan& full = plan.tensors[size_t(index)];
    const uint64_t rows_per_matrix = full.ne[1] ? full.ne[1] : 1;
    const uint64_t first = uint64_t(first_row), n = uint64_t(nrows);
    if (n == 0 || first / rows_per_matrix != (first + n - 1) / rows_per_matrix) {
        h->error = make_error(status_code::invalid_argument, "a row chunk must stay in one matrix");
        return int(h->error.code());
    }
    tensor_plan tp = full;
    tp.ne[1] = n;
    tp.ne[2] = tp.ne[3] = 1;
    tp.source_offset = 0;
    tp.source_bytes = n * row_size(tp.source_type, tp.ne[0]);
    tp.target_offset = 0;
    tp.target_bytes = n * row_size(tp.target_type, tp.ne[0]);

    quant_plan sub;
    sub.output.alignment = plan.output.alignment;
    gguf_tensor_info info;
    info.name = tp.name;
    info.type = tp.target_type;
    info.n_dims = 2;
    info.ne[0] = tp.ne[0];
    info.ne[1] = n;
    sub.output.tensors.push_back(info);
    sub.header_size = encoded_header_size(sub.output);
    sub.file_size =
        sub.header_size + tp.target_bytes + tensor_padding(tp.target_bytes, sub.output.alignment);

    imatrix_data slice;
    if (tp.imatrix_present) {
        const std::vector<float>& all = h->imatrix->entries.at(full.imatrix_name);
        const uint64_t matrix = first / rows_per_matrix;
        slice.entries[tp.imatrix_name].assign(all.begin() + matrix * tp.ne[0],
                                              all.begin() + (matrix + 1) * tp.ne[0]);
    }
    sub.tensors.push_back(tp);
    // The streaming job's options, and the chunk's place in its tensor for the messages.
    quantize_job_options jo;
    jo.allow_non_finite = h->args.allow_non_finite;
    jo.chunk_origin.first_row = first;
    jo.chunk_origin.rows_per_matrix = rows_per_matrix;
    jo.chunk_origin.several_matrices = full.ne[2] > 1 || full.ne[3] > 1;
    quantize_job job(sub, tp.imatrix_present ? &slice : nullptr, jo);
    if (!job.error().ok()) {
        h->error = job.error();
        return int(h->error.code());
    }
    // Header first, then the rows, then padding; keep only the rows.
    uint64_t skip = sub.header_size, kept = 0;
    input_span in{src, size_t(tp.source_bytes), 0};
    uint8_t scratch[4096];
    while (kept < tp.target_bytes) {
        status s = job.feed(in);
        if (s.ok()) {
            output_span out{scratch, sizeof scratch, 0};
            if (skip == 0)
                out = output_span{dst + kept, size_t(tp.target_bytes - kept), 0};
            else
                out.size = size_t(std::min<uint64_t>(skip, sizeof scratch));
            s = job.drain(out);
            if (skip)
                skip -= out.pos;
            else
                kept += out.pos;
            if (s.ok() && out.pos == 0 && in.remaining() == 0 && job.input_wanted() == 0)
                s = make_error(status_code::internal, "row conversion made no progress");
        }
        if (!s.ok()) {
            h->error = s;
            return int(h->error.code());
        }
    }
    return 0;
}

// The target type of tensor `index` in the plan (for progress display).
EMSCRIPTEN_KEEPALIVE const char* gs_job_tensor_type(job_handle* h, double index) {
    if (!h->job) return "";
    const auto& tensors = h->job->plan().tensors;
    const size_t i = size_t(index);
    return i < tensors.size() ? type_name(tensors[i].target_type) : "";
}

}  // extern "C"
