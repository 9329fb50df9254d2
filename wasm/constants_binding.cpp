// C ABI glue for the constants JS needs from the core, so that no JS file keeps its own copy:
// status names, the tensor type table, the recommendation ladder and the split-file names.
// wasm/gguf_squash.mjs reads them at load time (GgufSquash.constants()); the few copies that must
// work without WebAssembly (the <gguf-estimator> widget's estimate_params.mjs, the page's
// split-name grouping) are compared with these by tests/js/core_constants.test.mjs.
#include <emscripten/emscripten.h>

#include <optional>
#include <string>
#include <vector>

#include "estimate/estimate_report.h"
#include "format/ggml_types.h"
#include "format/gguf_split.h"
#include "glue_json.h"
#include "plan/llama_ftype.h"

using namespace gguf_squash;
using namespace gguf_squash::wasm_glue;

namespace {

// The enumerator's own name: the code JS puts on a GgufError. No default case, so a new status
// code fails the build (-Wswitch) until it has a name here.
const char* status_identifier(status_code c) {
    switch (c) {
        case status_code::ok:
            return "ok";
        case status_code::invalid_file:
            return "invalid_file";
        case status_code::unsupported:
            return "unsupported";
        case status_code::invalid_argument:
            return "invalid_argument";
        case status_code::refused:
            return "refused";
        case status_code::io_error:
            return "io_error";
        case status_code::cancelled:
            return "cancelled";
        case status_code::out_of_memory:
            return "out_of_memory";
        case status_code::internal:
            return "internal";
    }
    return nullptr;
}

// The ladder recommend_ftype walks, best first, read back from it: with every row fitting, it
// names the best; remove that row and ask again, until it names none.
std::vector<std::string> recommendation_ladder(uint64_t n_params) {
    std::vector<ftype_estimate> rows;
    for (const ftype_option& o : quantize_ftype_options()) {
        ftype_estimate r;
        r.name = o.name;
        r.ftype = o.ftype;
        r.ok = true;
        r.fits = true;
        rows.push_back(r);
    }
    model_summary model;
    model.n_params = n_params;
    std::vector<std::string> ladder;
    for (;;) {
        recommendation rec = recommend_ftype(model, rows, uint64_t(1) << 62, true);
        if (!rec.name) break;
        ladder.push_back(*rec.name);
        std::erase_if(rows, [&](const ftype_estimate& r) { return r.name == *rec.name; });
    }
    return ladder;
}

void append_string_array(std::string& out, const std::vector<std::string>& items) {
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, items[i]);
    }
    out += ']';
}

}  // namespace

extern "C" {

// {status: [identifier by code], types: [{id, name, ggml_name, block_size, type_size,
// quantized}] (valid ids only), ladder: [names] (a small model's: Q8_0 first), ladder_large:
// [names] (a large model's), default_ftype: the recommendation without a memory budget,
// (gs_split_path and gs_split_prefix give the split-file names).
EMSCRIPTEN_KEEPALIVE char* gs_constants_json() {
    std::string out = "{\"status\":[";
    for (int c = 0;; ++c) {
        const char* name = status_identifier(status_code(c));
        if (!name) break;
        if (c) out += ',';
        append_json_string(out, name);
    }
    out += "],\"types\":[";
    bool first = true;
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (!info || !info->valid) continue;
        out += first ? "" : ",";
        first = false;
        out += "{\"id\":" + std::to_string(id) + ",\"name\":";
        append_json_string(out, info->name);
        out += ",\"ggml_name\":";
        append_json_string(out, info->ggml_name);
        out += ",\"block_size\":" + std::to_string(info->block_size);
        out += ",\"type_size\":" + std::to_string(info->type_size);
        out += ",\"quantized\":" + std::string(info->is_quantized ? "true" : "false") + "}";
    }
    out += "],\"ladder\":";
    append_string_array(out, recommendation_ladder(0));
    out += ",\"ladder_large\":";
    append_string_array(out, recommendation_ladder(uint64_t(1) << 50));
    out += ",\"default_ftype\":";
    const recommendation rec = recommend_ftype(model_summary{}, {}, std::nullopt, false);
    append_json_string(out, rec.name.value_or(""));
    out += "}";
    return to_c_string(out);
}

// "PREFIX-00002-of-00005.gguf" for split_no 1 of 5 (llama_split_path).
EMSCRIPTEN_KEEPALIVE char* gs_split_path(const char* prefix, int split_no, int split_count) {
    return to_c_string(gguf_split_path(prefix, uint32_t(split_no), uint32_t(split_count)));
}

// The PREFIX of a shard's path when it ends with shard split_no of split_count's suffix, else
// null (llama_split_prefix).
EMSCRIPTEN_KEEPALIVE char* gs_split_prefix(const char* path, int split_no, int split_count) {
    std::optional<std::string> prefix =
        gguf_split_prefix(path, uint32_t(split_no), uint32_t(split_count));
    return prefix ? to_c_string(*prefix) : nullptr;
}

}  // extern "C"
