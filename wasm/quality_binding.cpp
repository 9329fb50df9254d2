// C ABI glue for `quality` and `fit` (core/quality): the plans and the measurement are the core's,
// JS only reads the measured rows. A handle owns the setup and a streaming measure_job that asks
// for input by (shard, offset), like the quantize job (job_binding.cpp):
//
//   h = gs_quality_new(parts, n, imatrix, size, name, types, rows)   // or gs_fit_new(...)
//   while (!gs_measure_done(h)) {
//       want = gs_measure_input_wanted(h)        // bytes at gs_measure_input_offset(h)
//       p = gs_measure_input_buffer(h)           // of shard gs_measure_input_shard(h)
//       ...read up to `want` bytes into p...; gs_measure_commit(h, n)
//   }
//   gs_quality_report(h, text) / gs_fit_report(h, ...)    // malloc'd JSON (or text); free it
//   gs_measure_free(h)
//
// Every call that can fail leaves the handle's status (gs_measure_status, gs_measure_error);
// the report calls return the error document {"error","code"} instead.
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "estimate/memory_model.h"
#include "format/gguf_split.h"
#include "glue_json.h"
#include "plan/imatrix.h"
#include "quality/error_measure.h"
#include "quality/fit_report.h"
#include "quality/quality_report.h"

namespace {

using namespace gguf_squash;
using namespace gguf_squash::wasm_glue;

struct measure_handle {
    std::optional<imatrix_data> imatrix;  // the setups point into it
    std::optional<quality_setup> quality;
    std::optional<fit_setup> fit;
    std::unique_ptr<measure_job> job;
    status error;
};

// The model made of `parts` (one header, or every shard's in any order).
result<gguf_model> model_of(model_handle** parts, int n) {
    if (n < 1) return make_error(status_code::invalid_argument, "no model");
    std::vector<gguf_header> shards;
    for (int i = 0; i < n; ++i) shards.push_back(parts[i]->header);
    return merge_gguf_shards(std::move(shards));
}

status load_imatrix(measure_handle* h, const uint8_t* bytes, size_t size) {
    if (!bytes || !size) return {};
    result<imatrix_data> im = parse_imatrix(bytes, size);
    if (!im.ok()) return im.error();
    h->imatrix = std::move(*im);
    return {};
}

void start_job(measure_handle* h, const measure_set& measures, uint64_t rows) {
    measure_options mo;
    mo.rows_per_matrix = rows;
    h->job = std::make_unique<measure_job>(measures.requests, mo);
    if (!h->job->error().ok()) h->error = h->job->error();
}

// What quality and fit share once their own options are read: the imatrix (into o.imatrix),
// the model, the plan (plan(model, o) -> result<Setup>, kept in `slot`) and the measuring job.
template <typename Options, typename Setup, typename Plan>
void plan_and_start(measure_handle* h, Options& o, const uint8_t* imatrix_bytes,
                    size_t imatrix_size, const char* imatrix_name, model_handle** parts,
                    int n_parts, Plan plan, std::optional<Setup>& slot) {
    h->error = load_imatrix(h, imatrix_bytes, imatrix_size);
    if (!h->error.ok()) return;
    if (h->imatrix) {
        o.imatrix = &*h->imatrix;
        o.imatrix_name = imatrix_name ? imatrix_name : "";
    }
    result<gguf_model> model = model_of(parts, n_parts);
    if (!model.ok()) {
        h->error = model.error();
        return;
    }
    result<Setup> setup = plan(*model, o);
    if (!setup.ok()) {
        h->error = setup.error();
        return;
    }
    slot = std::move(*setup);
    start_job(h, slot->measures, o.rows_per_matrix);
}

// rows: 0 for every row, else the count per matrix (JS passes kDefaultMeasuredRows by default).
result<uint64_t> rows_of(double rows) {
    if (!(rows >= 0) || rows > 1e15 || rows != std::floor(rows)) {
        return make_error(status_code::invalid_argument, "rows must be 0 (all) or a count");
    }
    return uint64_t(rows);
}

}  // namespace

extern "C" {

// The default of --rows, for JS.
EMSCRIPTEN_KEEPALIVE double gs_quality_default_rows() {
    return double(kDefaultMeasuredRows);
}

// The command-line arguments of `quality` and `fit`, parsed as the native CLI parses them
// (core/cli/cli_quality.cpp, cli_fit.cpp), so that node's CLI accepts and refuses the same text.
// Each returns {"value": ...} or the error document; `what` says which argument:
//   "types" (--types: the list of option names), "rows" (--rows: 0 for all), "size"
//   (--target-size / --memory: bytes), "bpw" (--target-bpw), "ctx" (--ctx), "kv" (--kv-type: the
//   ggml type id). bpw, ctx and kv give {"error":"","code":...} for text the native CLI refuses:
//   the caller words the usage error as the native CLI does.
EMSCRIPTEN_KEEPALIVE char* gs_quality_parse_arg(const char* what_c, const char* text_c) {
    const std::string what = what_c ? what_c : "", text = text_c ? text_c : "";
    const status refused = make_error(status_code::invalid_argument, "");
    if (what == "types") {
        result<std::vector<std::string>> list = parse_quality_ftypes(text);
        if (!list.ok()) return error_c_string(list.error());
        std::string out = "{\"value\":[";
        for (size_t i = 0; i < list->size(); ++i) {
            if (i) out += ',';
            append_json_string(out, (*list)[i]);
        }
        return to_c_string(out + "]}");
    }
    if (what == "rows" || what == "size") {
        result<uint64_t> n = what == "rows" ? parse_quality_rows(text) : parse_size(text);
        if (!n.ok()) return error_c_string(n.error());
        return to_c_string("{\"value\":" + std::to_string(*n) + "}");
    }
    if (what == "bpw") {
        char* end = nullptr;
        const double bpw = std::strtod(text.c_str(), &end);
        if (*end != '\0' || !(bpw > 0) || !std::isfinite(bpw) || bpw > 64) {
            return error_c_string(refused);
        }
        return to_c_string("{\"value\":" + json_number(bpw) + "}");
    }
    if (what == "ctx") {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
        if (*end != '\0' || text[0] == '-' || n == 0 || n > (1ull << 32)) {
            return error_c_string(refused);
        }
        return to_c_string("{\"value\":" + std::to_string(n) + "}");
    }
    if (what == "kv") {
        std::optional<ggml_type> t = parse_kv_cache_type(text);
        if (!t) return error_c_string(refused);
        return to_c_string("{\"value\":" + std::to_string(int(*t)) + "}");
    }
    return error_c_string(make_error(status_code::invalid_argument, "unknown argument " + what));
}

// `quality`: types is "Q4_K_M,Q8_0", "all" or empty (all). Always returns a handle (null only
// when out of memory); check gs_measure_status.
EMSCRIPTEN_KEEPALIVE measure_handle* gs_quality_new(model_handle** parts, int n_parts,
                                                    const uint8_t* imatrix_bytes,
                                                    size_t imatrix_size, const char* imatrix_name,
                                                    const char* types, double rows) {
    auto* h = new (std::nothrow) measure_handle;
    if (!h) return nullptr;
    quality_options o;
    result<uint64_t> r = rows_of(rows);
    if (!r.ok()) {
        h->error = r.error();
        return h;
    }
    o.rows_per_matrix = *r;
    if (types && *types) {
        result<std::vector<std::string>> list = parse_quality_ftypes(types);
        if (!list.ok()) {
            h->error = list.error();
            return h;
        }
        o.ftypes = std::move(*list);
    }
    plan_and_start(
        h, o, imatrix_bytes, imatrix_size, imatrix_name, parts, n_parts,
        [](const gguf_model& m, const quality_options& q) { return plan_quality(m, q); },
        h->quality);
    return h;
}

// `fit`: kind 0 file size (value: bytes), 1 bits per weight (value), 2 memory (value: bytes, at
// ctx tokens with the KV cache type kv_type, a ggml type id: 1 f16, 8 q8_0, 2 q4_0). base: an
// ftype name or empty.
EMSCRIPTEN_KEEPALIVE measure_handle* gs_fit_new(model_handle** parts, int n_parts,
                                                const uint8_t* imatrix_bytes, size_t imatrix_size,
                                                const char* imatrix_name, int kind, double value,
                                                double ctx, int kv_type, const char* base,
                                                double rows) {
    auto* h = new (std::nothrow) measure_handle;
    if (!h) return nullptr;
    fit_options o;
    result<uint64_t> r = rows_of(rows);
    if (!r.ok()) {
        h->error = r.error();
        return h;
    }
    o.rows_per_matrix = *r;
    if (!(value > 0) || !std::isfinite(value) || kind < 0 || kind > 2) {
        h->error = make_error(status_code::invalid_argument, "the target must be positive");
        return h;
    }
    o.target.kind = fit_target_kind(kind);
    if (o.target.kind == fit_target_kind::bpw) {
        o.target.bpw = value;
    } else {
        o.target.bytes = uint64_t(value);
    }
    if (o.target.kind == fit_target_kind::memory) {
        if (!(ctx >= 1 && ctx <= 4294967296.0)) {
            h->error = make_error(status_code::invalid_argument, "ctx must be a positive integer");
            return h;
        }
        if (kv_type != int(ggml_type::f16) && kv_type != int(ggml_type::q8_0) &&
            kv_type != int(ggml_type::q4_0)) {
            h->error =
                make_error(status_code::invalid_argument, "kv type must be f16, q8_0 or q4_0");
            return h;
        }
        o.target.ctx = uint64_t(ctx);
        o.target.kv_type = ggml_type(kv_type);
    }
    o.base = base ? base : "";
    plan_and_start(
        h, o, imatrix_bytes, imatrix_size, imatrix_name, parts, n_parts,
        [](const gguf_model& m, const fit_options& f) { return plan_fit(m, f); }, h->fit);
    return h;
}

EMSCRIPTEN_KEEPALIVE void gs_measure_free(measure_handle* h) {
    delete h;
}
EMSCRIPTEN_KEEPALIVE int gs_measure_status(measure_handle* h) {
    return int(h->error.code());
}
EMSCRIPTEN_KEEPALIVE const char* gs_measure_error(measure_handle* h) {
    return h->error.message().c_str();
}
EMSCRIPTEN_KEEPALIVE int gs_measure_done(measure_handle* h) {
    return h->error.ok() && h->job && h->job->done() ? 1 : 0;
}
EMSCRIPTEN_KEEPALIVE int gs_measure_input_shard(measure_handle* h) {
    return h->job ? int(h->job->input_shard()) : 0;
}
EMSCRIPTEN_KEEPALIVE double gs_measure_input_offset(measure_handle* h) {
    return h->job ? double(h->job->input_offset()) : 0;
}
EMSCRIPTEN_KEEPALIVE double gs_measure_input_wanted(measure_handle* h) {
    return h->job && h->error.ok() ? double(h->job->input_wanted()) : 0;
}
// Where the next gs_measure_input_wanted bytes go (null when none are wanted).
EMSCRIPTEN_KEEPALIVE uint8_t* gs_measure_input_buffer(measure_handle* h) {
    if (!h->job || !h->error.ok()) return nullptr;
    output_span buf = h->job->input_buffer();
    if (!h->job->error().ok()) h->error = h->job->error();
    return buf.data;
}
// n bytes were written to gs_measure_input_buffer; returns the status code.
EMSCRIPTEN_KEEPALIVE int gs_measure_commit(measure_handle* h, size_t n) {
    if (!h->job || !h->error.ok()) return int(h->error.code());
    status s = h->job->commit_input(n);
    if (!s.ok()) h->error = s;
    return int(h->error.code());
}
// {"tensor_index","tensor_count","bytes_read","bytes_total"}
EMSCRIPTEN_KEEPALIVE char* gs_measure_progress_json(measure_handle* h) {
    measure_progress p;
    if (h->job) p = h->job->progress();
    return to_c_string("{\"tensor_index\":" + std::to_string(p.tensor_index) +
                       ",\"tensor_count\":" + std::to_string(p.tensor_count) +
                       ",\"bytes_read\":" + std::to_string(p.bytes_read) +
                       ",\"bytes_total\":" + std::to_string(p.bytes_total) + "}");
}

// The quality report once done: as `gguf-squash quality --json` (with the newline) or its text.
EMSCRIPTEN_KEEPALIVE char* gs_quality_report(measure_handle* h, int text) {
    if (!h->error.ok()) return error_c_string(h->error);
    if (!h->quality || !h->job || !h->job->done()) {
        return error_c_string(make_error(status_code::invalid_argument, "not measured yet"));
    }
    const quality_report r = make_quality_report(*h->quality, h->job->results());
    return to_c_string(text ? quality_to_text(r) : quality_to_json(r) + "\n");
}

// The fit once done: as `gguf-squash fit --json` (with the newline) or its text, the command
// naming types_file, imatrix_file, model and out as given.
EMSCRIPTEN_KEEPALIVE char* gs_fit_report(measure_handle* h, const char* types_file,
                                         const char* imatrix_file, const char* model,
                                         const char* out, int text) {
    if (!h->error.ok()) return error_c_string(h->error);
    if (!h->fit || !h->job || !h->job->done()) {
        return error_c_string(make_error(status_code::invalid_argument, "not measured yet"));
    }
    result<fit_result> fit = solve_fit_setup(*h->fit, h->job->results());
    if (!fit.ok()) return error_c_string(fit.error());
    const std::string types = types_file && *types_file ? types_file : "TYPES.txt";
    const std::string command = fit_command(*fit, types, imatrix_file ? imatrix_file : "",
                                            model ? model : "", out ? out : "");
    const std::string written = types_file ? types_file : "";
    return to_c_string(text ? fit_to_text(*fit, command, written)
                            : fit_to_json(*fit, command, written) + "\n");
}

// The --tensor-type-file contents of the fit (one ^name$=type per line), or the error document.
EMSCRIPTEN_KEEPALIVE char* gs_fit_type_file(measure_handle* h) {
    if (!h->error.ok()) return error_c_string(h->error);
    if (!h->fit || !h->job || !h->job->done()) {
        return error_c_string(make_error(status_code::invalid_argument, "not measured yet"));
    }
    result<fit_result> fit = solve_fit_setup(*h->fit, h->job->results());
    if (!fit.ok()) return error_c_string(fit.error());
    return to_c_string(fit_type_file(*fit));
}

}  // extern "C"
