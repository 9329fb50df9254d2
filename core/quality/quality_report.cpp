#include "quality_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "format/gguf_json.h"
#include "plan/llama_ftype.h"

namespace gguf_squash {
namespace {

std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.12g", v);
    return buf;
}

std::string upper(std::string s) {
    for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::vector<std::string> default_quality_ftypes() {
    std::vector<std::string> names;
    for (const ftype_option& o : quantize_ftype_options()) {
        if (o.is_alias || std::string(o.name) == "COPY") continue;
        names.push_back(o.name);
    }
    return names;
}

result<std::vector<std::string>> parse_quality_ftypes(const std::string& list) {
    if (list == "all") return default_quality_ftypes();
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string item = list.substr(start, comma - start);
        start = comma + 1;
        if (item.empty()) {
            return make_error(status_code::invalid_argument,
                              "empty type in --types '" + list + "'");
        }
        // Names only (not numbers): "2" would be ambiguous in a list of names.
        const ftype_option* found = nullptr;
        for (const ftype_option& o : quantize_ftype_options()) {
            if (upper(item) == o.name && std::string(o.name) != "COPY") found = &o;
        }
        if (!found) {
            return make_error(status_code::invalid_argument,
                              "unknown type '" + item + "' in --types (llama-quantize's names, " +
                                  "such as Q4_K_M, or all)");
        }
        std::string name = found->name;
        if (found->is_alias) {  // Q4_K is Q4_K_M: reported under the full name
            for (const ftype_option& o : quantize_ftype_options()) {
                if (o.ftype == found->ftype && !o.is_alias) name = o.name;
            }
        }
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
        if (comma == list.size()) break;
    }
    return out;
}

result<uint64_t> parse_quality_rows(const std::string& text) {
    if (text == "all") return uint64_t(0);
    if (text.empty() || text.size() > 18 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return make_error(status_code::invalid_argument,
                          "--rows needs a positive number of rows or all, not '" + text + "'");
    }
    const uint64_t n = std::stoull(text);
    if (n == 0) {
        return make_error(status_code::invalid_argument,
                          "--rows needs a positive number of rows or all");
    }
    return n;
}

double tensor_quality::total_error(bool weighted) const {
    if (!quantized) return 0.0;
    return double(n_elements) * (weighted ? error.weighted_mse() : error.mse());
}

const float* plan_importance(const tensor_plan& tp, const imatrix_data* imatrix) {
    if (!tp.imatrix_present || !imatrix) return nullptr;
    auto it = imatrix->entries.find(tp.imatrix_name);
    return it == imatrix->entries.end() ? nullptr : it->second.data();
}

void measure_set::add(const tensor_plan& tp, ggml_type type, const float* w) {
    const auto key = std::make_tuple(tp.source_index, type, w);
    if (where.count(key)) return;
    // One request per (source tensor, importances), holding every type measured for it.
    auto found = request_of.find(std::make_pair(tp.source_index, w));
    const size_t req = found == request_of.end() ? requests.size() : found->second;
    if (req == requests.size()) {
        request_of[std::make_pair(tp.source_index, w)] = req;
        measure_request r;
        r.name = tp.source_name;
        r.source_type = tp.source_type;
        for (int d = 0; d < 4; ++d) r.ne[d] = tp.ne[d];
        r.shard = tp.source_shard;
        r.offset = tp.source_offset;
        r.importance = w;
        requests.push_back(std::move(r));
    }
    requests[req].types.push_back(type);
    where[key] = {req, requests[req].types.size() - 1};
}

const error_sums* measure_set::find(const std::vector<std::vector<error_sums>>& results,
                                    size_t source, ggml_type type, const float* w) const {
    auto it = where.find(std::make_tuple(source, type, w));
    if (it == where.end() || it->second.first >= results.size() ||
        it->second.second >= results[it->second.first].size()) {
        return nullptr;
    }
    return &results[it->second.first][it->second.second];
}

void measure_set::order_by_input() {
    std::vector<size_t> order(requests.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::make_pair(requests[a].shard, requests[a].offset) <
               std::make_pair(requests[b].shard, requests[b].offset);
    });
    std::vector<size_t> new_index(requests.size());
    std::vector<measure_request> sorted;
    sorted.reserve(requests.size());
    for (size_t i = 0; i < order.size(); ++i) {
        new_index[order[i]] = i;
        sorted.push_back(std::move(requests[order[i]]));
    }
    requests = std::move(sorted);
    for (auto& [k, v] : where) v.first = new_index[v.first];
    for (auto& [k, v] : request_of) v = new_index[v];
}

gguf_model compact_model_for_planning(const gguf_model& model) {
    gguf_model out = model;
    if (out.shards.empty()) return out;
    for (gguf_kv& kv : out.shards[0].kv) {
        gguf_value& v = kv.value;
        if (kv.key.rfind("tokenizer.", 0) != 0 || !v.is_array() ||
            v.item_type != gguf_value_type::string || v.strings.size() < 1024 ||
            v.count != v.strings.size()) {
            continue;
        }
        // Same encoded size: 8-byte length + bytes per string either way.
        const uint64_t bytes = 8 * uint64_t(v.strings.size()) + v.strings.total_bytes();
        v = gguf_value::make_string_array({std::string(bytes - 8, 'x')});
    }
    return out;
}

result<quality_setup> plan_quality(const gguf_model& model, const quality_options& options) {
    quality_setup setup;
    setup.options = options;
    const std::vector<std::string> names =
        options.ftypes.empty() ? default_quality_ftypes() : options.ftypes;
    const gguf_model compact = compact_model_for_planning(model);
    const imatrix_data* im =
        options.imatrix && !options.imatrix->empty() ? options.imatrix : nullptr;
    for (const std::string& name : names) {
        const std::optional<parsed_ftype> ft = parse_ftype(name);
        if (!ft || ft->only_copy) {
            return make_error(status_code::invalid_argument, "unknown type '" + name + "'");
        }
        quantize_options qo;
        qo.ftype = ft->ftype;
        qo.allow_requantize = true;  // measured against the source as it is
        qo.imatrix = im;
        qo.imatrix_file = options.imatrix_name;
        result<quant_plan> plan = make_quant_plan(compact, qo);
        if (!plan.ok()) {
            setup.skipped.push_back({name, plan.error().message()});
            continue;
        }
        for (const tensor_plan& tp : plan->tensors) {
            if (!tp.converts()) continue;
            setup.measures.add(tp, tp.target_type, plan_importance(tp, im));
        }
        setup.names.push_back(name);
        setup.plans.push_back(std::move(*plan));
    }
    setup.measures.order_by_input();
    return setup;
}

ftype_quality ftype_figures(const std::string& name, const quant_plan& plan,
                            const measure_set& measures,
                            const std::vector<std::vector<error_sums>>& results,
                            const imatrix_data* imatrix) {
    const bool weighted = imatrix && !imatrix->empty();
    ftype_quality f;
    f.name = name;
    const std::optional<parsed_ftype> ft = parse_ftype(name);
    if (ft) f.ftype = ft->ftype;
    f.file_size = plan.file_size;
    f.weights_bytes = plan.target_bytes;
    f.n_elements = plan.n_elements;
    double n_sum = 0, se_sum = 0, sx_sum = 0, w_sum = 0;
    for (const tensor_plan& tp : plan.tensors) {
        tensor_quality t;
        t.name = tp.name;
        t.type = tp.target_type;
        t.source_type = tp.source_type;
        t.n_elements = tp.n_elements();
        t.quantized = tp.converts();
        if (t.quantized) {
            const error_sums* e = measures.find(results, tp.source_index, tp.target_type,
                                                plan_importance(tp, weighted ? imatrix : nullptr));
            if (e) t.error = *e;
            const double n = double(t.n_elements);
            n_sum += n;
            se_sum += n * t.error.mse();
            sx_sum += t.error.values ? n * (t.error.sxx / double(t.error.values)) : 0.0;
            w_sum += n * t.error.weighted_mse();
            f.rows_measured += t.error.rows;
            f.total_error += t.total_error(weighted);
        }
        f.tensors.push_back(std::move(t));
    }
    f.rmse = n_sum > 0 ? std::sqrt(se_sum / n_sum) : 0.0;
    f.rel_rmse = sx_sum > 0 ? std::sqrt(se_sum / sx_sum) : 0.0;
    f.weighted_mse = n_sum > 0 ? w_sum / n_sum : 0.0;
    return f;
}

quality_report make_quality_report(const quality_setup& setup,
                                   const std::vector<std::vector<error_sums>>& results) {
    quality_report report;
    report.rows_per_matrix = setup.options.rows_per_matrix;
    report.weighted = setup.options.imatrix && !setup.options.imatrix->empty();
    report.skipped = setup.skipped;
    for (size_t i = 0; i < setup.plans.size(); ++i) {
        report.ftypes.push_back(ftype_figures(setup.names[i], setup.plans[i], setup.measures,
                                              results, setup.options.imatrix));
    }
    return report;
}

std::string quality_to_json(const quality_report& r) {
    std::string out = "{\"ftypes\":[";
    const std::string rows =
        r.rows_per_matrix == 0 ? std::string("\"all\"") : std::to_string(r.rows_per_matrix);
    for (size_t i = 0; i < r.ftypes.size(); ++i) {
        const ftype_quality& f = r.ftypes[i];
        if (i) out += ",";
        out += "{\"name\":";
        append_json_string(out, f.name);
        out += ",\"file_size\":" + std::to_string(f.file_size);
        out += ",\"rmse\":" + number(f.rmse);
        out += ",\"rel_rmse\":" + number(f.rel_rmse);
        if (r.weighted) out += ",\"weighted_mse\":" + number(f.weighted_mse);
        out += ",\"rows\":" + rows;
        out += ",\"tensors\":[";
        for (size_t k = 0; k < f.tensors.size(); ++k) {
            const tensor_quality& t = f.tensors[k];
            if (k) out += ",";
            out += "{\"name\":";
            append_json_string(out, t.name);
            out += ",\"type\":";
            append_json_string(out, type_info(t.type).ggml_name);
            out += ",\"n_elements\":" + std::to_string(t.n_elements);
            out += ",\"rows_measured\":" + std::to_string(t.error.rows);
            out += ",\"rmse\":" + number(t.error.rmse());
            out += ",\"rel_rmse\":" + number(t.error.rel_rmse());
            out += ",\"max_abs\":" + number(t.error.max_abs);
            if (r.weighted) out += ",\"weighted_mse\":" + number(t.error.weighted_mse());
            out += "}";
        }
        out += "]}";
    }
    out += "],\"skipped\":[";
    for (size_t i = 0; i < r.skipped.size(); ++i) {
        if (i) out += ",";
        out += "{\"name\":";
        append_json_string(out, r.skipped[i].name);
        out += ",\"reason\":";
        append_json_string(out, r.skipped[i].reason);
        out += "}";
    }
    out += "]}";
    return out;
}

std::string quality_to_text(const quality_report& r) {
    std::string out;
    char line[256];
    if (r.rows_per_matrix == 0) {
        out += "every row of every matrix measured";
    } else {
        out += "measured " + std::to_string(r.rows_per_matrix) +
               " evenly spaced rows per matrix (--rows all for every row)";
    }
    out += r.weighted ? "; weighted_mse uses the imatrix\n\n" : "\n\n";
    std::snprintf(line, sizeof line, "%-10s %14s %7s %12s %10s %12s %12s\n", "type", "file size",
                  "bpw", "rmse", "rel_rmse", r.weighted ? "weighted_mse" : "", "rows");
    out += line;
    for (const ftype_quality& f : r.ftypes) {
        const double bpw =
            f.n_elements ? double(f.weights_bytes) * 8.0 / double(f.n_elements) : 0.0;
        std::snprintf(line, sizeof line, "%-10s %14llu %7.3f %12.6g %10.6f %12s %12llu\n",
                      f.name.c_str(), (unsigned long long)f.file_size, bpw, f.rmse, f.rel_rmse,
                      r.weighted ? number(f.weighted_mse).c_str() : "",
                      (unsigned long long)f.rows_measured);
        out += line;
    }
    for (const quality_skip& s : r.skipped) {
        out += s.name + ": not measured: " + s.reason + "\n";
    }
    return out;
}

}  // namespace gguf_squash
