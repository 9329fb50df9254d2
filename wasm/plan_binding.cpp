// C ABI glue for the quantization plan: a parsed model header (a "model" handle taken from a
// finished reader), an importance matrix parsed from bytes, and the estimate of every ftype, all
// computed by core/plan. Results go back to JS as small JSON documents.
#include <emscripten/emscripten.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "glue_args.h"
#include "glue_json.h"
#include "plan/imatrix.h"
#include "plan/llama_ftype.h"
#include "plan/quant_plan.h"
#include "plan/quantize_args.h"
#include "quant/quantize.h"

using namespace gguf_squash;
using namespace gguf_squash::wasm_glue;

extern "C" {

EMSCRIPTEN_KEEPALIVE void gs_model_free(model_handle* m) {
    delete m;
}

// Parses an importance matrix (GGUF or legacy .dat) and returns a JSON summary, or an error.
EMSCRIPTEN_KEEPALIVE char* gs_imatrix_summary_json(const uint8_t* data, size_t size) {
    result<imatrix_data> im = parse_imatrix(data, size);
    if (!im.ok()) return error_c_string(im.error());
    std::string out = "{\"entries\":" + std::to_string(im->entries.size());
    out += ",\"chunk_count\":" + std::to_string(im->chunk_count);
    out += ",\"chunk_size\":" + std::to_string(im->chunk_size);
    out += ",\"legacy\":" + std::string(im->is_legacy ? "true" : "false");
    out += ",\"datasets\":[";
    for (size_t i = 0; i < im->datasets.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, im->datasets[i]);
    }
    // Each entry's name and length (ne[0] x experts floats), so the page can check the matrix
    // against a model's tensors when it is loaded rather than when a type refuses it.
    out += "],\"tensors\":[";
    bool first = true;
    for (const auto& [name, values] : im->entries) {
        if (!first) out += ',';
        first = false;
        out += '[';
        append_json_string(out, name);
        out += ',' + std::to_string(values.size()) + ']';
    }
    out += "]}";
    return to_c_string(out);
}

// The estimate of every ftype llama-quantize offers (aliases left out), for `args` (llama-quantize
// options, NUL-separated) and an optional imatrix, as a JSON array. Each row comes from
// make_quant_plan, the same plan the quantizer writes from.
EMSCRIPTEN_KEEPALIVE char* gs_estimate_json(model_handle* m, const char* args_data,
                                            size_t args_size, const uint8_t* imatrix_bytes,
                                            size_t imatrix_size, const char* imatrix_name) {
    std::vector<std::string> options = split_nul_args(args_data, args_size);
    std::optional<imatrix_data> im;
    if (imatrix_bytes && imatrix_size) {
        result<imatrix_data> parsed = parse_imatrix(imatrix_bytes, imatrix_size);
        if (!parsed.ok()) return error_c_string(parsed.error());
        im = std::move(parsed.value());
    }
    std::string out = "[";
    bool first = true;
    bool filtered = false;
    for (const ftype_option& opt : quantize_ftype_options()) {
        if (opt.is_alias) continue;
        std::vector<std::string> argv = options;
        if (im) {
            argv.insert(argv.begin(), imatrix_name);
            argv.insert(argv.begin(), "--imatrix");
        }
        argv.push_back("model.gguf");
        argv.push_back(opt.name);
        result<quantize_args> parsed = parse_quantize_args(argv, nullptr);
        if (!parsed.ok()) return error_c_string(parsed.error());
        if (im && !filtered) {
            status s = filter_imatrix(*im, parsed->include_weights, parsed->exclude_weights);
            if (!s.ok()) return error_c_string(s);
            filtered = true;
        }
        quantize_options qo = parsed->options;

        // Without an imatrix: would a real run need one? (a dry run says so instead of refusing)
        quantize_options dry = qo;
        dry.imatrix = nullptr;
        dry.imatrix_file.clear();
        dry.dry_run = true;
        result<quant_plan> plain = make_quant_plan(m->header, dry);
        const bool needs_imatrix = plain.ok() && plain->will_require_imatrix;

        // The plan a real run makes, with its refusals (requantizing, a missing imatrix entry).
        // Types blocked only for want of an imatrix show the dry run's size.
        if (im) qo.imatrix = &*im;
        result<quant_plan> plan = (needs_imatrix && !im) ? plain : make_quant_plan(m->header, qo);

        out += first ? "" : ",";
        first = false;
        out += "{\"name\":";
        append_json_string(out, opt.name);
        out += ",\"ftype\":" + std::to_string(uint32_t(opt.ftype));
        out += ",\"note\":";
        std::string note = opt.note;
        while (!note.empty() && note.front() == ' ') note.erase(note.begin());
        append_json_string(out, note);
        out += ",\"description\":";
        append_json_string(out, std::string(opt.name) == "COPY" ? "copy tensors unchanged"
                                                                : ftype_display_name(opt.ftype));
        out += ",\"needs_imatrix\":" + std::string(needs_imatrix ? "true" : "false");
        // A refused row still shows what the plan would have been (the dry run's sizes).
        const result<quant_plan>& sized = plan.ok() ? plan : plain;
        if (sized.ok()) {
            out += ",\"file_size\":" + std::to_string(sized->file_size);
            out += ",\"bpw\":" + json_number(plan_bits_per_weight(sized.value()));
            out += ",\"fallbacks\":" + std::to_string(sized->n_fallback);
            out += ",\"tensor_bytes\":" + std::to_string(sized->target_bytes);
            // Weights converted per target type, for time estimates (copies cost no kernel time).
            std::map<std::string, uint64_t> converted;
            for (const tensor_plan& t : sized->tensors)
                if (t.converts()) converted[type_name(t.target_type)] += t.n_elements();
            out += ",\"converted\":{";
            bool first_type = true;
            for (const auto& [name, n] : converted) {
                out += first_type ? "" : ",";
                first_type = false;
                append_json_string(out, name);
                out += ":" + std::to_string(n);
            }
            out += "}";
        } else {
            out += ",\"file_size\":0,\"bpw\":0,\"fallbacks\":0";
        }
        if (!plan.ok()) {
            out += ",\"error\":";
            append_json_string(out, plan.error().message());
        }
        out += "}";
    }
    out += "]";
    return to_c_string(out);
}

// llama.cpp's display name of a general.file_type value ("Q4_K - Medium").
EMSCRIPTEN_KEEPALIVE char* gs_ftype_name(uint32_t ftype) {
    return to_c_string(ftype_display_name(llama_ftype(ftype)));
}

// A tensor type's id from its name ("Q4_K", "q4_K"), or -1.
EMSCRIPTEN_KEEPALIVE int gs_type_id(const char* name) {
    std::optional<ggml_type> t = ggml_type_from_name(name);
    return t ? int(*t) : -1;
}

// Calibration for time estimates: quantizes `nrows` synthetic rows of `n_per_row` weights to
// tensor type `type`. JS times the call. with_imatrix: with a flat importance matrix (which
// every type accepts), as a run with --imatrix quantizes, or with none, as a plain run does: the
// weighted searches of the K and legacy types are several times slower than the plain ones.
EMSCRIPTEN_KEEPALIVE int gs_quantize_synthetic(uint32_t type, int nrows, int n_per_row,
                                               int with_imatrix) {
    if (!is_valid_type_id(type) || !can_quantize_to(ggml_type(type)) || nrows <= 0 ||
        n_per_row <= 0)
        return int(status_code::invalid_argument);
    std::vector<float> src(size_t(nrows) * size_t(n_per_row)), imatrix(size_t(n_per_row), 1.0f);
    uint32_t state = 12345;
    for (float& v : src) {
        state = state * 1664525u + 1013904223u;
        v = (float(state >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    std::vector<uint8_t> dst(row_size(ggml_type(type), uint64_t(n_per_row)) * size_t(nrows));
    return int(quantize_rows(ggml_type(type), src.data(), dst.data(), nrows, n_per_row,
                             with_imatrix || quantize_requires_imatrix(ggml_type(type))
                                 ? imatrix.data()
                                 : nullptr)
                   .code());
}

// Calibration on the model's own weights: dequantizes `nrows` rows of `n_per_row` elements of
// `src_type` at `src` (a slice of one of its tensors) and quantizes them to `type`, as a run does
// (with a flat imatrix under the same rule as gs_quantize_synthetic). Some kernels' speed depends
// on the data (the IQ grid searches), which synthetic rows do not show. JS times the call.
EMSCRIPTEN_KEEPALIVE int gs_quantize_sample(uint32_t type, uint32_t src_type, const void* src,
                                            int nrows, int n_per_row, int with_imatrix) {
    if (!is_valid_type_id(type) || !can_quantize_to(ggml_type(type)) ||
        !is_valid_type_id(src_type) || !can_dequantize(ggml_type(src_type)) || !src || nrows <= 0 ||
        n_per_row <= 0)
        return int(status_code::invalid_argument);
    std::vector<float> rows(size_t(nrows) * size_t(n_per_row)), imatrix(size_t(n_per_row), 1.0f);
    status st = dequantize_rows(ggml_type(src_type), src, rows.data(), nrows, n_per_row);
    if (!st.ok()) return int(st.code());
    std::vector<uint8_t> dst(row_size(ggml_type(type), uint64_t(n_per_row)) * size_t(nrows));
    return int(quantize_rows(ggml_type(type), rows.data(), dst.data(), nrows, n_per_row,
                             with_imatrix || quantize_requires_imatrix(ggml_type(type))
                                 ? imatrix.data()
                                 : nullptr)
                   .code());
}

// Tensor types this build can write, NUL-separated upper-case names (for the options panel).
EMSCRIPTEN_KEEPALIVE char* gs_writable_types() {
    std::string out;
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (!info || !info->valid || !can_quantize_to(ggml_type(id))) continue;
        out += info->name;
        out += '\n';
    }
    return to_c_string(out);
}

}  // extern "C"
