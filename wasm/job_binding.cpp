// C ABI glue for the streaming quantize job (core/pipeline/quantize_job.h): llama-quantize's
// arguments and an optional imatrix in; the job then asks JS for input bytes at offsets and hands
// back output bytes in order. JS does all reading and writing (Blob slices, node files, OPFS).
#include <emscripten/emscripten.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
    std::unique_ptr<quantize_job> job;
    status error;
    std::string plan_json;
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

std::vector<std::string> split_nul(const char* data, size_t size) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i <= size; ++i) {
        if (i == size || data[i] == '\0') {
            if (i > start || i < size) out.emplace_back(data + start, i - start);
            start = i + 1;
        }
    }
    return out;
}

std::string describe_plan(const quantize_args& args, const quant_plan& plan) {
    std::string out = "{\"file_size\":" + std::to_string(plan.file_size) +
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
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace

extern "C" {

// Parses llama-quantize's arguments (NUL-separated: [options] IN [OUT] TYPE [NTHREADS]), plans
// the output for `model`'s header and creates the job. The imatrix bytes are the file named by
// --imatrix (JS reads it). Always returns a handle; check gs_job_status.
EMSCRIPTEN_KEEPALIVE job_handle* gs_job_new(model_handle* m, const char* args_data,
                                            size_t args_size, const uint8_t* imatrix_bytes,
                                            size_t imatrix_size, double max_buffer_bytes) {
    auto* h = new (std::nothrow) job_handle;
    if (!h) return nullptr;
    result<quantize_args> args =
        parse_quantize_args(split_nul(args_data, args_size), read_provided_file);
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
    result<quant_plan> plan = make_quant_plan(m->header, options);
    if (!plan.ok()) {
        h->error = plan.error();
        return h;
    }
    h->plan_json = describe_plan(h->args, *plan);
    quantize_job_options jo;
    jo.max_buffer_bytes =
        max_buffer_bytes > 0 ? uint64_t(max_buffer_bytes) : h->args.max_buffer_size;
    h->job = std::make_unique<quantize_job>(*plan, options.imatrix, jo);
    if (!h->job->error().ok()) h->error = h->job->error();
    return h;
}

// `quantize --help`: the usage and llama-quantize's list of types with their notes.
EMSCRIPTEN_KEEPALIVE char* gs_quantize_usage() {
    std::string out =
        "usage: gguf-squash quantize [--help] [--allow-requantize] [--leave-output-tensor] "
        "[--pure]\n"
        "       [--imatrix] [--include-weights] [--exclude-weights] [--output-tensor-type]\n"
        "       [--token-embedding-type] [--tensor-type] [--tensor-type-file] [--prune-layers]\n"
        "       [--keep-split] [--override-kv] [--dry-run] model-f32.gguf [model-quant.gguf] type "
        "[nthreads]\n\nAllowed quantization types:\n";
    for (const ftype_option& o : quantize_ftype_options()) {
        std::string line = "  " + std::string(o.name);
        if (!o.is_alias) line = "  " + std::to_string(uint32_t(o.ftype)) + "  or  " + o.name;
        while (line.size() < 24) line += ' ';
        out += line + ": " + o.note + "\n";
    }
    return to_c_string(out);
}

EMSCRIPTEN_KEEPALIVE void gs_provide_text_file(const char* path, const char* data, size_t size) {
    provided_files()[path] = std::string(data, size);
}

// Parses llama-quantize's arguments alone, so that JS knows which files to open before the job
// exists: {input, output, imatrix_file, ftype, nthreads, help, dry_run} or {error, code}.
EMSCRIPTEN_KEEPALIVE char* gs_parse_quantize_args_json(const char* args_data, size_t args_size) {
    result<quantize_args> args =
        parse_quantize_args(split_nul(args_data, args_size), read_provided_file);
    if (!args.ok()) {
        std::string out = "{\"error\":";
        append_json_string(out, args.error().message());
        out += ",\"code\":" + std::to_string(int(args.error().code())) + "}";
        return to_c_string(out);
    }
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

// The target type of tensor `index` in the plan (for progress display).
EMSCRIPTEN_KEEPALIVE const char* gs_job_tensor_type(job_handle* h, double index) {
    if (!h->job) return "";
    const auto& tensors = h->job->plan().tensors;
    const size_t i = size_t(index);
    return i < tensors.size() ? type_name(tensors[i].target_type) : "";
}

}  // extern "C"
