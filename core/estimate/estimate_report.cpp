#include "estimate_report.h"

#include <cmath>
#include <cstdio>

#include "format/gguf_json.h"
#include "plan/quant_plan.h"

namespace gguf_squash {

namespace {

std::string trimmed(const char* s) {
    std::string out = s;
    while (!out.empty() && out.front() == ' ') out.erase(out.begin());
    return out;
}

// Quality ladder, best first: the usual guidance (Q4_K_M as the default, one step up when memory
// allows, Q8_0 for small models, 2-3 bit types only when needed). The F16/BF16/F32 rows are not
// on it: Q8_0 is within noise of them at half the size.
constexpr const char* kLadder[] = {"Q8_0",   "Q6_K",   "Q5_K_M",  "Q4_K_M",  "IQ4_XS",
                                   "Q3_K_L", "Q3_K_M", "IQ3_M",   "IQ3_XXS", "Q2_K",
                                   "IQ2_M",  "IQ2_XS", "IQ2_XXS", "IQ1_M",   "IQ1_S"};
constexpr uint64_t kSmallModelParams = 13'000'000'000ull;  // Q8_0 is offered below this

const ftype_estimate* find_row(const std::vector<ftype_estimate>& rows, const std::string& name) {
    for (const ftype_estimate& r : rows) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

std::string num(double v) {
    // Four decimals are plenty for bits per weight; the text is identical on every platform
    // because it is formatted from the rounded double.
    return format_float64(std::round(v * 1e4) / 1e4);
}

std::string gib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", double(bytes) / double(1ull << 30));
    return buf;
}

std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", double(bytes) / double(1ull << 20));
    return buf;
}

// A byte count in the unit that reads best (MiB below 1 GiB).
std::string human_bytes(uint64_t bytes) {
    return bytes >= (1ull << 30) ? gib(bytes) + " GiB" : mib(bytes) + " MiB";
}

void append_memory_json(std::string& out, const memory_breakdown& m) {
    out += "{\"ctx\":" + std::to_string(m.ctx);
    out += ",\"kv_type\":\"" + std::string(kv_cache_type_name(m.kv_type)) + "\"";
    out += ",\"flash_attn\":" + std::string(m.flash_attn ? "true" : "false");
    out += ",\"ubatch\":" + std::to_string(m.n_ubatch);
    out += ",\"parallel\":" + std::to_string(m.n_seq);
    if (m.error) {
        out += ",\"error\":";
        append_json_string(out, *m.error);
    }
    out += ",\"weights_bytes\":" + std::to_string(m.weights_bytes);
    out += ",\"kv_bytes\":" + std::to_string(m.kv_bytes);
    out += ",\"recurrent_bytes\":" + std::to_string(m.recurrent_bytes);
    out += ",\"output_bytes\":" + std::to_string(m.output_bytes);
    out += ",\"compute_bytes\":" + std::to_string(m.compute_bytes);
    out += ",\"other_bytes\":" + std::to_string(m.other_bytes);
    out += ",\"total_bytes\":" + std::to_string(m.total_bytes);
    out += ",\"max_ctx\":" + (m.max_ctx ? std::to_string(*m.max_ctx) : std::string("null"));
    out += "}";
}

// The planner copies the input's metadata into each plan's output header; for a 150k-token
// vocabulary that is ~40 plans x 300k string allocations. Sizes only depend on the encoded byte
// count, so large tokenizer string arrays are replaced by one string array item of the same
// encoded size (4 item type + 8 count + sum of (8 + length) bytes either way). The plan reads
// only architecture hyperparameters, never tokenizer.* keys.
gguf_header compact_for_planning(const gguf_header& header) {
    gguf_header out;
    out.version = header.version;
    out.alignment = header.alignment;
    out.data_offset = header.data_offset;
    out.tensors = header.tensors;
    out.kv.reserve(header.kv.size());
    for (const gguf_kv& kv : header.kv) {
        const gguf_value& v = kv.value;
        if (kv.key.rfind("tokenizer.", 0) != 0 || !v.is_array() ||
            v.item_type != gguf_value_type::string || v.strings.size() < 1024 ||
            v.count != v.strings.size()) {
            out.kv.push_back(kv);
            continue;
        }
        const uint64_t bytes = 8 * uint64_t(v.strings.size()) + v.strings.total_bytes();
        out.kv.push_back({kv.key, gguf_value::make_string_array({std::string(bytes - 8, 'x')})});
    }
    return out;
}

}  // namespace

result<estimate_report> make_estimate(const gguf_header& input, const estimate_options& options) {
    result<model_summary> summary = summarize_model(input);
    if (!summary.ok()) return summary.error();
    estimate_report report;
    report.model = std::move(*summary);
    result<memory_hparams> hparams = read_memory_hparams(input, report.model);
    if (!hparams.ok()) return hparams.error();
    report.memory_model = std::move(*hparams);
    report.ctx = options.ctx;
    report.kv_type = options.kv_type;
    memory_options& mo = report.memory_opts;
    mo.n_ctx = options.ctx;
    mo.cache_type = options.kv_type;
    mo.flash_attn = options.flash_attn;
    mo.n_ubatch = options.n_ubatch;
    mo.n_seq = options.n_parallel;
    report.memory_bytes = options.memory_bytes;
    report.imatrix_given = options.imatrix && !options.imatrix->empty();
    const gguf_header header = compact_for_planning(input);

    for (const ftype_option& opt : quantize_ftype_options()) {
        if (opt.is_alias && !options.include_aliases) continue;
        ftype_estimate row;
        row.name = opt.name;
        row.ftype = opt.ftype;
        row.note = trimmed(opt.note);

        quantize_options qo;
        qo.ftype = opt.ftype;
        qo.only_copy = row.name == "COPY";
        // Estimates hold for already-quantized inputs too (what --allow-requantize would give).
        qo.allow_requantize = true;

        // A dry run without an imatrix says whether a real run would need one.
        quantize_options dry = qo;
        dry.dry_run = true;
        result<quant_plan> plan = make_quant_plan(header, dry);
        row.requires_imatrix = plan.ok() && plan->will_require_imatrix;
        if (report.imatrix_given) {
            qo.imatrix = options.imatrix;
            qo.imatrix_file = options.imatrix_name;
            plan = make_quant_plan(header, qo);
        } else if (row.requires_imatrix) {
            qo.assume_imatrix = true;
            plan = make_quant_plan(header, qo);
        }
        if (!plan.ok()) {
            row.error = plan.error().message();
        } else {
            row.ok = true;
            row.file_size = plan->file_size;
            row.header_size = plan->header_size;
            row.weights_bytes = plan->target_bytes;
            row.bpw = plan_bits_per_weight(*plan);
            row.fallback_tensors = plan->n_fallback;
            for (const tensor_plan& tp : plan->tensors)
                ++row.tensor_types[type_name(tp.target_type)];
            row.memory =
                estimate_memory(report.memory_model, row.weights_bytes, mo, options.memory_bytes);
            if (options.memory_bytes && !row.memory.error)
                row.fits = row.memory.total_bytes <= *options.memory_bytes;
        }
        report.ftypes.push_back(std::move(row));
    }

    report.rec =
        recommend_ftype(report.model, report.ftypes, options.memory_bytes, report.imatrix_given);
    report.memory_ftype = report.rec.name.value_or("Q4_K_M");
    if (const ftype_estimate* r = find_row(report.ftypes, report.memory_ftype); r && r->ok) {
        report.memory = r->memory;
    } else {
        report.memory = estimate_memory(report.memory_model, report.model.tensor_bytes, mo,
                                        options.memory_bytes);
    }
    return report;
}

recommendation recommend_ftype(const model_summary& model, const std::vector<ftype_estimate>& rows,
                               std::optional<uint64_t> memory_bytes, bool imatrix_given) {
    recommendation rec;
    const bool small = model.n_params < kSmallModelParams;
    if (!memory_bytes) {
        rec.name = "Q4_K_M";
        rec.reason = "llama.cpp's recommended default balance of size and quality";
        rec.advice.push_back("with memory to spare, Q5_K_M or Q6_K are a step up");
        if (small)
            rec.advice.push_back("below 13B parameters, Q8_0 is near-lossless and affordable");
        rec.advice.push_back("Q2_K/Q3_K only when nothing larger fits");
        return rec;
    }
    bool skipped_imatrix = false;
    for (const char* name : kLadder) {
        const std::string n = name;
        if (n == "Q8_0" && !small) continue;
        const ftype_estimate* r = find_row(rows, n);
        if (!r || !r->ok || !r->fits.value_or(false)) continue;
        if (r->requires_imatrix && !imatrix_given) {
            skipped_imatrix = true;
            continue;
        }
        rec.name = n;
        break;
    }
    if (!rec.name) {
        rec.reason = "no type fits in " + human_bytes(*memory_bytes) +
                     " with this context: shorten the context, quantize the KV cache, or use a "
                     "smaller model";
        if (skipped_imatrix) rec.advice.push_back("a very-low-bit type would fit with an imatrix");
        return rec;
    }
    const std::string& n = *rec.name;
    if (n == "Q8_0" || n == "Q6_K" || n == "Q5_K_M") {
        rec.reason = "memory allows going up from the Q4_K_M default";
    } else if (n == "Q4_K_M") {
        rec.reason = "the recommended default fits";
    } else {
        rec.reason = "only a type below Q4_K_M fits";
        rec.advice.push_back(
            "if quality is critical, prefer a smaller model at Q4_K_M or higher over this one "
            "at 2-3 bits");
    }
    if (skipped_imatrix) {
        rec.advice.push_back("an imatrix would allow a better very-low-bit type to fit");
    }
    return rec;
}

std::string estimate_to_json(const estimate_report& r) {
    const model_summary& m = r.model;
    std::string out = "{\"model\":{\"arch\":";
    append_json_string(out, m.arch);
    out += ",\"name\":";
    append_json_string(out, m.name);
    out += ",\"params\":" + std::to_string(m.n_params);
    out += ",\"tensors\":" + std::to_string(m.n_tensors);
    out += ",\"tensor_bytes\":" + std::to_string(m.tensor_bytes);
    out += ",\"file_type\":" + (m.file_type ? std::to_string(*m.file_type) : std::string("null"));
    out += ",\"layers\":" + std::to_string(m.n_layer);
    out += ",\"context_length\":" + std::to_string(m.n_ctx_train);
    out += ",\"embedding_length\":" + std::to_string(m.n_embd);
    out += ",\"feed_forward_length\":" + std::to_string(m.n_ff);
    out += ",\"head_count\":" + std::to_string(m.n_head);
    out += ",\"head_count_kv\":" + std::to_string(m.max_head_kv());
    out += ",\"key_length\":" + std::to_string(m.head_dim_k.empty() ? 0 : m.head_dim_k[0]);
    out += ",\"value_length\":" + std::to_string(m.head_dim_v.empty() ? 0 : m.head_dim_v[0]);
    out += ",\"experts\":" + std::to_string(m.n_expert);
    out += ",\"experts_used\":" + std::to_string(m.n_expert_used);
    out += ",\"vocab_size\":" + std::to_string(m.n_vocab);
    out += ",\"sliding_window\":" + std::to_string(m.n_swa);
    out += ",\"swa_layers\":" + std::to_string(m.n_swa_layers());
    out += "},\"ftypes\":[";
    for (size_t i = 0; i < r.ftypes.size(); ++i) {
        const ftype_estimate& f = r.ftypes[i];
        if (i) out += ',';
        out += "{\"name\":";
        append_json_string(out, f.name);
        out += ",\"ftype\":" + std::to_string(uint32_t(f.ftype));
        out += ",\"file_size\":" + std::to_string(f.file_size);
        out += ",\"bpw\":" + num(f.bpw);
        out += ",\"requires_imatrix\":" + std::string(f.requires_imatrix ? "true" : "false");
        out += ",\"fallback_tensors\":" + std::to_string(f.fallback_tensors);
        out += ",\"tensor_types\":{";
        bool first = true;
        for (const auto& [type, count] : f.tensor_types) {
            if (!first) out += ',';
            first = false;
            append_json_string(out, type);
            out += ":" + std::to_string(count);
        }
        out += "},\"note\":";
        append_json_string(out, f.note);
        if (f.ok && f.memory.error) {
            out += ",\"memory_bytes\":null,\"max_ctx\":null,\"fits\":null";
        } else if (f.ok) {
            out += ",\"memory_bytes\":" + std::to_string(f.memory.total_bytes);
            out += ",\"max_ctx\":" +
                   (f.memory.max_ctx ? std::to_string(*f.memory.max_ctx) : std::string("null"));
            out += ",\"fits\":" + (f.fits ? std::string(*f.fits ? "true" : "false") : "null");
        } else {
            out += ",\"error\":";
            append_json_string(out, f.error);
        }
        out += "}";
    }
    out += "],\"memory\":";
    append_memory_json(out, r.memory);
    out.pop_back();
    out += ",\"ftype\":";
    append_json_string(out, r.memory_ftype);
    out += ",\"budget_bytes\":" + (r.memory_bytes ? std::to_string(*r.memory_bytes) : "null");
    out += "},\"recommendation\":{\"name\":";
    if (r.rec.name) {
        append_json_string(out, *r.rec.name);
    } else {
        out += "null";
    }
    out += ",\"reason\":";
    append_json_string(out, r.rec.reason);
    out += ",\"advice\":[";
    for (size_t i = 0; i < r.rec.advice.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, r.rec.advice[i]);
    }
    out += "]}}";
    return out;
}

std::string estimate_to_text(const estimate_report& r) {
    const model_summary& m = r.model;
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "model: %s%s%s, %.3fB parameters, %u layers, ctx %llu\n",
                  m.arch.empty() ? "?" : m.arch.c_str(), m.name.empty() ? "" : " ",
                  valid_utf8(m.name).c_str(), double(m.n_params) / 1e9, m.n_layer,
                  (unsigned long long)m.n_ctx_train);
    out += line;
    std::snprintf(line, sizeof line,
                  "       n_embd %llu, heads %u, kv heads %u, head dim %u/%u, experts %u/%u, "
                  "vocab %llu, sliding window %u (%u layers)\n",
                  (unsigned long long)m.n_embd, m.n_head, m.max_head_kv(),
                  m.head_dim_k.empty() ? 0 : m.head_dim_k[0],
                  m.head_dim_v.empty() ? 0 : m.head_dim_v[0], m.n_expert_used, m.n_expert,
                  (unsigned long long)m.n_vocab, m.n_swa, m.n_swa_layers());
    out += line;
    std::snprintf(
        line, sizeof line,
        "memory at ctx %llu, %s KV cache, flash attention %s, ubatch %u, %u sequence%s%s\n\n",
        (unsigned long long)r.ctx, kv_cache_type_name(r.kv_type),
        r.memory_opts.flash_attn ? "on" : "off", r.memory_opts.n_ubatch, r.memory_opts.n_seq,
        r.memory_opts.n_seq == 1 ? "" : "s",
        r.memory_bytes ? (", budget " + human_bytes(*r.memory_bytes)).c_str() : "");
    out += line;
    std::snprintf(line, sizeof line, "%-10s %14s %9s %7s %8s %6s %12s %9s %5s  %s\n", "TYPE",
                  "BYTES", "GiB", "BPW", "IMATRIX", "FALLBK", "MEMORY", "MAX CTX", "FITS", "NOTE");
    out += line;
    for (const ftype_estimate& f : r.ftypes) {
        const bool rec = r.rec.name && *r.rec.name == f.name;
        if (!f.ok) {
            std::snprintf(line, sizeof line, "%-10s %s\n", f.name.c_str(),
                          ("refused: " + f.error).c_str());
            out += line;
            continue;
        }
        char bpw[32];
        std::snprintf(bpw, sizeof bpw, "%.3f", f.bpw);
        std::snprintf(line, sizeof line, "%-10s %14llu %9s %7s %8s %6d %12s %9s %5s  %s%s\n",
                      f.name.c_str(), (unsigned long long)f.file_size, gib(f.file_size).c_str(),
                      bpw, f.requires_imatrix ? "required" : "-", f.fallback_tensors,
                      f.memory.error ? "refused" : human_bytes(f.memory.total_bytes).c_str(),
                      f.memory.max_ctx ? std::to_string(*f.memory.max_ctx).c_str() : "-",
                      f.fits ? (*f.fits ? "yes" : "no") : "-", rec ? "<- recommended; " : "",
                      f.note.c_str());
        out += line;
    }
    out += "\n";
    const memory_breakdown& mm = r.memory;
    if (mm.error) {
        out += "memory (" + r.memory_ftype +
               "): llama.cpp would refuse this context: " + *mm.error + "\n";
    } else {
        out += "memory (" + r.memory_ftype + "): weights " + human_bytes(mm.weights_bytes) +
               " + KV cache " + human_bytes(mm.kv_bytes) + " + recurrent state " +
               human_bytes(mm.recurrent_bytes) + " + output " + human_bytes(mm.output_bytes) +
               " + compute " + human_bytes(mm.compute_bytes) + " = " + human_bytes(mm.total_bytes);
        if (mm.max_ctx) out += "; largest context that fits: " + std::to_string(*mm.max_ctx);
        out += "\n";
    }
    out += "recommendation: " + (r.rec.name ? *r.rec.name : std::string("none")) + " (" +
           r.rec.reason + ")\n";
    for (const std::string& a : r.rec.advice) out += "  - " + a + "\n";
    return out;
}

}  // namespace gguf_squash
