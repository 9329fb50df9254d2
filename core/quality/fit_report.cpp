#include "fit_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

#include "fit_solver.h"
#include "format/gguf_json.h"
#include "plan/llama_ftype.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

// The base that decides the candidates when none is given: any quantized ftype whose imatrix
// rules are the general ones (only Q2_K_S changes them, for q2_K).
constexpr const char* kNeutralBase = "Q8_0";

std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.12g", v);
    return buf;
}

// Bytes for people: GiB from 1 GiB, MiB below.
std::string gib(uint64_t bytes) {
    char buf[40];
    if (bytes >= (1ull << 30)) {
        std::snprintf(buf, sizeof buf, "%.3f GiB", double(bytes) / double(1ull << 30));
    } else {
        std::snprintf(buf, sizeof buf, "%.3f MiB", double(bytes) / double(1ull << 20));
    }
    return buf;
}

bool has_importance(const tensor_plan& tp, const imatrix_data* im) {
    if (!im) return false;
    auto it = im->entries.find(tp.imatrix_name);
    return it != im->entries.end() && it->second.size() == tp.ne[0] * tp.ne[2];
}

// Types a tensor may be given: everything the kernels can write and read back.
std::vector<ggml_type> candidate_types() {
    std::vector<ggml_type> out;
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (!info || !info->valid) continue;
        const ggml_type t = ggml_type(id);
        if (t == ggml_type::q8_1 || t == ggml_type::q8_k) continue;  // not file types
        if (can_quantize_to(t) && can_dequantize(t)) out.push_back(t);
    }
    return out;
}

quantize_options base_options(const fit_options& o, llama_ftype ftype) {
    quantize_options qo;
    qo.ftype = ftype;
    qo.imatrix = o.imatrix && !o.imatrix->empty() ? o.imatrix : nullptr;
    qo.imatrix_file = o.imatrix_name;
    return qo;
}

// The run estimate's memory model sizes: the target's context and cache type, llama.cpp's
// defaults otherwise (flash attention on, micro-batch 512, one sequence).
memory_options memory_run(const fit_target& t) {
    memory_options mo;
    mo.n_ctx = t.ctx;
    mo.cache_type = t.kv_type;
    return mo;
}

bool shell_safe(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' ||
              c == '-' || c == '+' || c == ':' || c == '=' || c == ',')) {
            return false;
        }
    }
    return true;
}

std::string shell_word(const std::string& s) {
    if (shell_safe(s)) return s;
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') {
            q += "'\\''";
        } else {
            q += c;
        }
    }
    return q + "'";
}

}  // namespace

result<uint64_t> parse_size(const std::string& text) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        ++i;
    const std::string num = text.substr(0, i);
    std::string unit = text.substr(i);
    for (char& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
    auto bad = [&] {
        return make_error(status_code::invalid_argument,
                          "cannot read the size '" + text +
                              "' (bytes, or a number with a unit such as 4.5GiB or 4800MB)");
    };
    if (num.empty() || std::count(num.begin(), num.end(), '.') > 1 || num == ".") return bad();
    static const std::map<std::string, double> units = {{"", 1},
                                                        {"b", 1},
                                                        {"k", 1024.0},
                                                        {"kib", 1024.0},
                                                        {"kb", 1e3},
                                                        {"m", 1048576.0},
                                                        {"mib", 1048576.0},
                                                        {"mb", 1e6},
                                                        {"g", 1073741824.0},
                                                        {"gib", 1073741824.0},
                                                        {"gb", 1e9},
                                                        {"t", 1099511627776.0},
                                                        {"tib", 1099511627776.0},
                                                        {"tb", 1e12}};
    auto it = units.find(unit);
    if (it == units.end()) return bad();
    const double v = std::strtod(num.c_str(), nullptr) * it->second;
    if (!(v >= 1) || v > 1.8e19) return bad();
    return uint64_t(std::floor(v));
}

std::string exact_name_pattern(const std::string& name) {
    std::string out = "^";
    for (char c : name) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out + "$";
}

result<fit_setup> plan_fit(const gguf_model& model, const fit_options& options) {
    fit_setup setup;
    setup.options = options;
    setup.model = compact_model_for_planning(model);
    const imatrix_data* im =
        options.imatrix && !options.imatrix->empty() ? options.imatrix : nullptr;
    setup.base = options.base.empty() ? kNeutralBase : options.base;
    const std::optional<parsed_ftype> base = parse_ftype(setup.base);
    if (!base || base->only_copy || !ftype_default_type(base->ftype) ||
        !type_info(*ftype_default_type(base->ftype)).is_quantized) {
        return make_error(status_code::invalid_argument,
                          "--base must be a quantized ftype (such as Q4_K_M), not '" + setup.base +
                              "': llama-quantize ignores --tensor-type otherwise");
    }
    const gguf_header merged = merged_model_header(model);
    result<model_summary> summary = summarize_model(merged);
    if (!summary.ok()) return summary.error();
    setup.summary = std::move(*summary);
    result<memory_hparams> hparams = read_memory_hparams(merged, setup.summary);
    if (!hparams.ok()) return hparams.error();
    setup.memory = std::move(*hparams);

    // The fixed part: a real plan with every quantizable tensor at a type that fits any row.
    quantize_options fixed = base_options(options, base->ftype);
    fixed.tensor_types = {{".*", ggml_type::f16}};
    result<quant_plan> fixed_plan = make_quant_plan(setup.model, fixed);
    if (!fixed_plan.ok()) return fixed_plan.error();
    setup.alignment = fixed_plan->output.alignment;
    setup.fixed_file_bytes = fixed_plan->file_size;
    setup.n_elements = fixed_plan->n_elements;
    for (const tensor_plan& tp : fixed_plan->tensors) {
        if (!tp.allows_quantization) {
            setup.fixed_raw_bytes += tp.target_bytes;
            continue;
        }
        setup.fixed_file_bytes -= align_up(tp.target_bytes, setup.alignment);
        fit_tensor t;
        t.name = tp.name;
        t.source_index = tp.source_index;
        t.source_type = tp.source_type;
        t.n_elements = tp.n_elements();
        t.importance = has_importance(tp, im) ? im->entries.at(tp.imatrix_name).data() : nullptr;
        setup.tensors.push_back(std::move(t));
    }

    // Candidates: what the plan makes of --tensor-type .*=T for each T (dry run: a missing
    // imatrix is reported per tensor instead of refusing the plan).
    for (ggml_type type : candidate_types()) {
        quantize_options probe = base_options(options, base->ftype);
        probe.dry_run = true;
        probe.tensor_types = {{".*", type}};
        result<quant_plan> plan = make_quant_plan(setup.model, probe);
        if (!plan.ok()) continue;  // no fallback defined for some tensor's row length
        size_t k = 0;
        for (const tensor_plan& tp : plan->tensors) {
            if (!tp.allows_quantization) continue;
            fit_tensor& t = setup.tensors[k++];
            const bool importance = t.importance != nullptr;
            if (tp.target_type != type) continue;  // fell back: that type is its own candidate
            if (tp.imatrix_required && !importance) continue;
            if (quantize_requires_imatrix(type) && !importance) continue;
            const uint64_t raw = row_size(type, tp.ne[0]) * (tp.ne[1] * tp.ne[2] * tp.ne[3]);
            t.candidates.push_back({type, align_up(raw, setup.alignment), raw});
            if (type != t.source_type) setup.measures.add(tp, type, t.importance);
        }
    }
    for (const fit_tensor& t : setup.tensors) {
        if (t.candidates.empty()) {
            return make_error(status_code::refused,
                              "tensor " + t.name + ": the plan allows no type for it");
        }
    }

    // The standard mixes, for the comparison.
    for (const std::string& name : default_quality_ftypes()) {
        const std::optional<parsed_ftype> ft = parse_ftype(name);
        if (!ft) continue;
        result<quant_plan> plan = make_quant_plan(setup.model, base_options(options, ft->ftype));
        if (!plan.ok()) continue;
        fit_standard_mix mix;
        mix.name = name;
        mix.file_size = plan->file_size;
        mix.weights_bytes = plan->target_bytes;
        size_t k = 0;
        bool usable = true;
        for (const tensor_plan& tp : plan->tensors) {
            if (!tp.allows_quantization) continue;
            if (k >= setup.tensors.size() || setup.tensors[k].name != tp.name) {
                usable = false;
                break;
            }
            mix.types.push_back(tp.target_type);
            ++k;
        }
        if (usable && k == setup.tensors.size()) setup.standards.push_back(std::move(mix));
    }
    setup.measures.order_by_input();
    return setup;
}

result<fit_result> solve_fit_setup(const fit_setup& setup,
                                   const std::vector<std::vector<error_sums>>& results) {
    const fit_options& o = setup.options;
    const bool weighted = o.imatrix && !o.imatrix->empty();
    fit_result fit;
    fit.weighted = weighted;
    fit.rows_per_matrix = o.rows_per_matrix;
    fit.target = o.target;

    // Each candidate's error.
    auto candidate_error = [&](const fit_tensor& t, ggml_type type) -> result<double> {
        if (type == t.source_type) return 0.0;
        const error_sums* e = setup.measures.find(results, t.source_index, type, t.importance);
        if (!e) {
            return make_error(status_code::internal,
                              "no measurement of " + t.name + " at " + type_info(type).ggml_name);
        }
        return double(t.n_elements) * (weighted ? e->weighted_mse() : e->mse());
    };

    // The budget for the quantizable tensors, in the target's measure.
    const bool by_file = o.target.kind == fit_target_kind::file_size;
    const uint64_t fixed = by_file ? setup.fixed_file_bytes : setup.fixed_raw_bytes;
    uint64_t limit = 0;  // the bound on fixed + the tensors' costs
    uint64_t other_memory = 0;
    switch (o.target.kind) {
        case fit_target_kind::file_size:
            limit = o.target.bytes;
            break;
        case fit_target_kind::bpw:
            limit = uint64_t(std::floor(o.target.bpw * double(setup.n_elements) / 8.0));
            break;
        case fit_target_kind::memory: {
            const memory_breakdown m =
                estimate_memory(setup.memory, 0, memory_run(o.target), std::nullopt);
            if (m.error) return make_error(status_code::refused, *m.error);
            other_memory = m.total_bytes;
            limit = o.target.bytes > other_memory ? o.target.bytes - other_memory : 0;
            break;
        }
    }
    fit.limit = limit;
    std::vector<std::vector<fit_option>> items(setup.tensors.size());
    uint64_t min_cost = 0;
    for (size_t i = 0; i < setup.tensors.size(); ++i) {
        const fit_tensor& t = setup.tensors[i];
        uint64_t cheapest = UINT64_MAX;
        for (const fit_candidate& c : t.candidates) {
            result<double> e = candidate_error(t, c.type);
            if (!e.ok()) return e.error();
            const uint64_t cost = by_file ? c.file_bytes : c.raw_bytes;
            items[i].push_back({cost, *e});
            cheapest = std::min(cheapest, cost);
        }
        min_cost += cheapest;
    }
    const uint64_t smallest = fixed + min_cost;
    if (limit < smallest) {
        std::string msg;
        switch (o.target.kind) {
            case fit_target_kind::file_size:
                msg = "no mix fits in " + std::to_string(o.target.bytes) +
                      " bytes: the smallest file the plan allows is " + std::to_string(smallest) +
                      " bytes (" + gib(smallest) + ")";
                break;
            case fit_target_kind::bpw: {
                char buf[160];
                std::snprintf(buf, sizeof buf,
                              "no mix fits in %.4g bits per weight: the smallest is %.4f bpw "
                              "(%llu bytes of tensor data)",
                              o.target.bpw, double(smallest) * 8.0 / double(setup.n_elements),
                              (unsigned long long)smallest);
                msg = buf;
                break;
            }
            case fit_target_kind::memory:
                msg = "no mix fits in " + std::to_string(o.target.bytes) + " bytes of memory at " +
                      std::to_string(o.target.ctx) + " tokens of context: the smallest that " +
                      "works is " + std::to_string(smallest + other_memory) + " bytes (" +
                      gib(smallest + other_memory) + ": weights " + std::to_string(smallest) +
                      ", KV cache and buffers " + std::to_string(other_memory) + ")";
                break;
        }
        return make_error(status_code::refused, msg);
    }
    result<fit_solution> solved =
        solve_fit(items, limit - fixed, by_file ? setup.alignment : 1, nullptr);
    if (!solved.ok()) return solved.error();
    std::vector<size_t> choice = solved->choice;
    fit.optimiser_error = solved->error;
    double best_error = solved->error;

    // The standard mixes under the same measurement; one that fits with less error wins.
    for (const fit_standard_mix& mix : setup.standards) {
        fit_comparison c;
        c.name = mix.name;
        c.file_size = mix.file_size;
        std::vector<size_t> mix_choice(setup.tensors.size());
        uint64_t cost = fixed;
        bool found = true;
        for (size_t i = 0; i < setup.tensors.size() && found; ++i) {
            const std::vector<fit_candidate>& cands = setup.tensors[i].candidates;
            auto it = std::find_if(cands.begin(), cands.end(),
                                   [&](const fit_candidate& k) { return k.type == mix.types[i]; });
            if (it == cands.end()) {
                found = false;
                break;
            }
            mix_choice[i] = size_t(it - cands.begin());
            c.total_error += items[i][mix_choice[i]].error;
            cost += items[i][mix_choice[i]].cost;
        }
        if (!found) continue;
        c.fits = cost <= limit;
        if (c.fits && c.total_error < best_error) {
            best_error = c.total_error;
            choice = mix_choice;
            fit.from_standard = mix.name;
        }
        fit.standards.push_back(std::move(c));
    }

    // The base named in the command: the one given, else the largest standard type within the
    // fit's size (the file type llama.cpp shows), else the neutral one.
    uint64_t chosen_file = setup.fixed_file_bytes;
    for (size_t i = 0; i < setup.tensors.size(); ++i)
        chosen_file += setup.tensors[i].candidates[choice[i]].file_bytes;
    fit.base = setup.base;
    if (o.base.empty()) {
        uint64_t best_size = 0;
        for (const fit_standard_mix& mix : setup.standards) {
            const std::optional<parsed_ftype> ft = parse_ftype(mix.name);
            // Types named for what they are not here (MoE, ternary) or with their own imatrix
            // rule (Q2_K_S) would mislead as the file type.
            if (!ft || mix.name == "Q2_K_S" || mix.name == "MXFP4_MOE" || mix.name == "TQ1_0" ||
                mix.name == "TQ2_0") {
                continue;
            }
            const std::optional<ggml_type> dt = ftype_default_type(ft->ftype);
            if (!dt || !type_info(*dt).is_quantized) continue;
            if (mix.file_size <= chosen_file && mix.file_size > best_size) {
                best_size = mix.file_size;
                fit.base = mix.name;
            }
        }
    }

    // The plan llama-quantize will follow, which must agree with the prediction.
    const std::optional<parsed_ftype> base = parse_ftype(fit.base);
    if (!base) return make_error(status_code::internal, "unknown base " + fit.base);
    quantize_options final_opts = base_options(o, base->ftype);
    for (size_t i = 0; i < setup.tensors.size(); ++i) {
        const ggml_type t = setup.tensors[i].candidates[choice[i]].type;
        fit.types.push_back({setup.tensors[i].name, t});
        final_opts.tensor_types.push_back({exact_name_pattern(setup.tensors[i].name), t});
    }
    result<quant_plan> final_plan = make_quant_plan(setup.model, final_opts);
    if (!final_plan.ok()) {
        return make_error(final_plan.error().code(),
                          "the fitted types do not plan: " + final_plan.error().message());
    }
    size_t k = 0;
    for (const tensor_plan& tp : final_plan->tensors) {
        if (!tp.allows_quantization) continue;
        if (k >= fit.types.size() || tp.name != fit.types[k].first ||
            tp.target_type != fit.types[k].second) {
            return make_error(status_code::internal,
                              "the plan does not give " + tp.name + " its fitted type");
        }
        ++k;
    }
    if (k != fit.types.size() || final_plan->file_size != chosen_file) {
        return make_error(status_code::internal,
                          "the plan's size " + std::to_string(final_plan->file_size) +
                              " differs from the fit's " + std::to_string(chosen_file));
    }
    fit.file_size = final_plan->file_size;
    fit.weights_bytes = final_plan->target_bytes;
    fit.bpw = plan_bits_per_weight(*final_plan);
    fit.total_error = best_error;
    if (o.target.kind == fit_target_kind::memory) {
        fit.memory =
            estimate_memory(setup.memory, fit.weights_bytes, memory_run(o.target), o.target.bytes);
    }
    const uint64_t measured = by_file ? fit.file_size : fit.weights_bytes;
    if (measured > limit) {
        return make_error(status_code::internal, "the fit exceeds its target");
    }
    return fit;
}

std::string fit_type_file(const fit_result& fit) {
    std::string out;
    for (const auto& [name, type] : fit.types) {
        out += exact_name_pattern(name) + "=" + type_info(type).ggml_name + "\n";
    }
    return out;
}

std::string fit_command(const fit_result& fit, const std::string& types_file,
                        const std::string& imatrix_file, const std::string& model,
                        const std::string& out) {
    std::string cmd = "llama-quantize --tensor-type-file " + shell_word(types_file);
    if (!imatrix_file.empty()) cmd += " --imatrix " + shell_word(imatrix_file);
    cmd += " " + shell_word(model) + " " + shell_word(out) + " " + fit.base;
    return cmd;
}

namespace {

std::string target_json(const fit_result& f) {
    std::string out = "{\"kind\":";
    switch (f.target.kind) {
        case fit_target_kind::file_size:
            out += "\"file_size\",\"bytes\":" + std::to_string(f.target.bytes);
            break;
        case fit_target_kind::bpw:
            out += "\"bpw\",\"bpw\":" + number(f.target.bpw);
            break;
        case fit_target_kind::memory:
            out += "\"memory\",\"bytes\":" + std::to_string(f.target.bytes) +
                   ",\"ctx\":" + std::to_string(f.target.ctx) + ",\"kv_type\":";
            append_json_string(out, kv_cache_type_name(f.target.kv_type));
            break;
    }
    return out + "}";
}

std::string type_counts(const fit_result& f) {
    std::map<std::string, int> counts;
    for (const auto& [name, type] : f.types) ++counts[type_info(type).ggml_name];
    std::string out;
    for (const auto& [name, n] : counts) {
        if (!out.empty()) out += ", ";
        out += name + " x" + std::to_string(n);
    }
    return out;
}

}  // namespace

std::string fit_to_json(const fit_result& f, const std::string& command,
                        const std::string& types_file) {
    std::string out = "{\"target\":" + target_json(f);
    out += ",\"base\":";
    append_json_string(out, f.base);
    out += ",\"file_size\":" + std::to_string(f.file_size);
    out += ",\"weights_bytes\":" + std::to_string(f.weights_bytes);
    out += ",\"bpw\":" + number(f.bpw);
    out += ",\"total_error\":" + number(f.total_error);
    out += ",\"error_measure\":\"";
    out += f.weighted ? "weighted_mse" : "mse";
    out += "\",\"rows\":";
    out += f.rows_per_matrix == 0 ? std::string("\"all\"") : std::to_string(f.rows_per_matrix);
    out += ",\"from_standard\":";
    if (f.from_standard.empty()) {
        out += "null";
    } else {
        append_json_string(out, f.from_standard);
    }
    if (f.memory) {
        out += ",\"memory\":{\"weights_bytes\":" + std::to_string(f.memory->weights_bytes) +
               ",\"kv_bytes\":" + std::to_string(f.memory->kv_bytes) +
               ",\"other_bytes\":" + std::to_string(f.memory->other_bytes) +
               ",\"total_bytes\":" + std::to_string(f.memory->total_bytes) + "}";
    }
    out += ",\"command\":";
    append_json_string(out, command);
    out += ",\"types_file\":";
    append_json_string(out, types_file);
    out += ",\"tensor_types\":[";
    for (size_t i = 0; i < f.types.size(); ++i) {
        if (i) out += ",";
        out += "{\"name\":";
        append_json_string(out, f.types[i].first);
        out += ",\"type\":";
        append_json_string(out, type_info(f.types[i].second).ggml_name);
        out += "}";
    }
    out += "],\"standard\":[";
    for (size_t i = 0; i < f.standards.size(); ++i) {
        const fit_comparison& c = f.standards[i];
        if (i) out += ",";
        out += "{\"name\":";
        append_json_string(out, c.name);
        out += ",\"file_size\":" + std::to_string(c.file_size);
        out += ",\"total_error\":" + number(c.total_error);
        out += std::string(",\"fits\":") + (c.fits ? "true" : "false") + "}";
    }
    out += "]}";
    return out;
}

std::string fit_to_text(const fit_result& f, const std::string& command,
                        const std::string& types_file) {
    std::string out;
    char line[320];
    switch (f.target.kind) {
        case fit_target_kind::file_size:
            out += "target: file size at most " + std::to_string(f.target.bytes) + " bytes (" +
                   gib(f.target.bytes) + ")\n";
            break;
        case fit_target_kind::bpw:
            std::snprintf(line, sizeof line, "target: at most %.4g bits per weight\n",
                          f.target.bpw);
            out += line;
            break;
        case fit_target_kind::memory:
            out += "target: " + std::to_string(f.target.bytes) + " bytes (" + gib(f.target.bytes) +
                   ") of memory at " + std::to_string(f.target.ctx) + " tokens, KV cache " +
                   kv_cache_type_name(f.target.kv_type) + "\n";
            break;
    }
    std::snprintf(line, sizeof line,
                  "fit: %llu bytes (%s), %.4f bpw, total error %.6g (%s x elements, %s)\n",
                  (unsigned long long)f.file_size, gib(f.file_size).c_str(), f.bpw, f.total_error,
                  f.weighted ? "imatrix-weighted mse" : "mse",
                  f.rows_per_matrix == 0
                      ? "every row measured"
                      : (std::to_string(f.rows_per_matrix) + " rows per matrix measured").c_str());
    out += line;
    if (f.memory) {
        out += "memory: " + std::to_string(f.memory->total_bytes) + " bytes (weights " +
               std::to_string(f.memory->weights_bytes) + ", KV cache " +
               std::to_string(f.memory->kv_bytes) + ", other " +
               std::to_string(f.memory->other_bytes) + ")\n";
    }
    out += "types: " + type_counts(f) + "\n";
    if (!f.from_standard.empty()) {
        out += "(the standard mix " + f.from_standard +
               " measured better than the optimiser's answer and is used)\n";
    }
    // The standard types nearest the fit, for comparison.
    const fit_comparison* below = nullptr;
    const fit_comparison* above = nullptr;
    for (const fit_comparison& c : f.standards) {
        if (c.file_size <= f.file_size && (!below || c.file_size > below->file_size)) below = &c;
        if (c.file_size > f.file_size && (!above || c.file_size < above->file_size)) above = &c;
    }
    for (const fit_comparison* c : {below, above}) {
        if (!c) continue;
        std::snprintf(line, sizeof line, "  compare %-8s %14llu bytes, total error %.6g\n",
                      c->name.c_str(), (unsigned long long)c->file_size, c->total_error);
        out += line;
    }
    if (!types_file.empty()) {
        out += "wrote " + types_file + " (" + std::to_string(f.types.size()) + " tensors)\n";
    }
    out += "command:\n  " + command + "\n";
    return out;
}

}  // namespace gguf_squash
