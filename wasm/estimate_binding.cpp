// C ABI glue for `estimate`: the whole report (every ftype's plan, memory, recommendation) is
// computed and rendered by core/estimate, so JS output is byte-identical to the native CLI's.
#include <emscripten/emscripten.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "estimate/estimate_report.h"
#include "format/gguf_split.h"
#include "glue_json.h"
#include "plan/imatrix.h"

using namespace gguf_squash;
using gguf_squash::wasm_glue::model_handle;

extern "C" {

// Merges the headers of a split model's shards (any order) into one model handle, as
// llama-quantize sees the model; a JSON error string is left in *error_out on failure.
EMSCRIPTEN_KEEPALIVE model_handle* gs_estimate_merge_shards(model_handle** parts, int n,
                                                            char** error_out) {
    std::vector<gguf_header> shards;
    for (int i = 0; i < n; ++i) shards.push_back(parts[i]->header);
    result<gguf_model> model = merge_gguf_shards(std::move(shards));
    if (!model.ok()) {
        *error_out = wasm_glue::error_c_string(model.error());
        return nullptr;
    }
    model_handle* m = new (std::nothrow) model_handle;
    if (m) m->header = merged_model_header(*model);
    return m;
}

// The estimate report: JSON (as `gguf-squash estimate --json`, with the newline) or the text
// table. kv_type: a ggml type id (1 f16, 8 q8_0, 2 q4_0); flash_attn, ubatch, parallel: as
// --flash-attn on|off, --ubatch N, --parallel N; memory_bytes < 0: no budget.
EMSCRIPTEN_KEEPALIVE char* gs_estimate_report(model_handle* m, const uint8_t* imatrix_bytes,
                                              size_t imatrix_size, const char* imatrix_name,
                                              double ctx, int kv_type, int flash_attn, int ubatch,
                                              int parallel, double memory_bytes, int aliases,
                                              int text) {
    estimate_options o;
    std::optional<imatrix_data> im;
    if (imatrix_bytes && imatrix_size) {
        result<imatrix_data> parsed = parse_imatrix(imatrix_bytes, imatrix_size);
        if (!parsed.ok()) return wasm_glue::error_c_string(parsed.error());
        im = std::move(*parsed);
        o.imatrix = &*im;
        o.imatrix_name = imatrix_name ? imatrix_name : "";
    }
    if (!(ctx >= 1 && ctx <= 4294967296.0)) {
        return wasm_glue::error_c_string(
            make_error(status_code::invalid_argument, "ctx must be a positive integer"));
    }
    o.ctx = uint64_t(ctx);
    std::optional<ggml_type> kv;
    if (kv_type == int(ggml_type::f16) || kv_type == int(ggml_type::q8_0) ||
        kv_type == int(ggml_type::q4_0)) {
        kv = ggml_type(kv_type);
    }
    if (!kv) {
        return wasm_glue::error_c_string(
            make_error(status_code::invalid_argument, "kv type must be f16, q8_0 or q4_0"));
    }
    o.kv_type = *kv;
    // The native CLI's ranges (core/cli/cli_estimate.cpp) and messages.
    if (ubatch < 1 || ubatch > 65536) {
        return wasm_glue::error_c_string(
            make_error(status_code::invalid_argument, "ubatch must be an integer from 1 to 65536"));
    }
    if (parallel < 1 || parallel > 256) {
        return wasm_glue::error_c_string(
            make_error(status_code::invalid_argument, "parallel must be an integer from 1 to 256"));
    }
    o.flash_attn = flash_attn != 0;
    o.n_ubatch = uint32_t(ubatch);
    o.n_parallel = uint32_t(parallel);
    if (memory_bytes >= 0 && std::isfinite(memory_bytes)) o.memory_bytes = uint64_t(memory_bytes);
    o.include_aliases = aliases != 0;
    result<estimate_report> r = make_estimate(m->header, o);
    if (!r.ok()) return wasm_glue::error_c_string(r.error());
    return wasm_glue::to_c_string(text ? estimate_to_text(*r) : estimate_to_json(*r) + "\n");
}

}  // extern "C"
