// make_quant_plan: llama_model_quantize_impl's decisions, in its order, without the data. Each
// step is a function of llama-quant.cpp kept in its own file (see the headers included below),
// so a sync with a newer llama.cpp is a diff per function.
#include "plan/quant_plan.h"

#include <algorithm>

#include "plan/imatrix_requirements.h"
#include "plan/layer_pruning.h"
#include "plan/model_facts.h"
#include "plan/output_header.h"
#include "plan/tensor_category.h"
#include "plan/tensor_type_regex.h"
#include "plan/type_mix.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

using namespace plan_detail;

// --keep-split: llama-quantize sorts the kept tensors by (shard, offset) before anything else, so
// its files, its tensor order and its layer counters all follow the input files.
status order_by_input_shard(const std::vector<source_tensor>& src, std::vector<kept_tensor>& kept,
                            quant_plan& plan) {
    std::stable_sort(kept.begin(), kept.end(), [&](const kept_tensor& a, const kept_tensor& b) {
        const source_tensor& x = src[a.source];
        const source_tensor& y = src[b.source];
        return x.shard != y.shard ? x.shard < y.shard : x.offset < y.offset;
    });
    std::vector<bool> used;
    for (const kept_tensor& k : kept) {
        const uint32_t shard = src[k.source].shard;
        if (shard >= used.size()) used.resize(shard + 1, false);
        used[shard] = true;
    }
    plan.output_file_count = std::max<uint32_t>(1, uint32_t(used.size()));
    // Shard 0 always exists (it holds the metadata); a later shard left without tensors (all
    // pruned) is a file llama-quantize cannot create.
    for (size_t i = 1; i < used.size(); ++i) {
        if (!used[i]) {
            return make_error(status_code::refused,
                              "--keep-split: no tensors are left for output shard " +
                                  std::to_string(i + 1) + " of " + std::to_string(used.size()));
        }
    }
    if (plan.output_file_count > 65535) {
        return make_error(status_code::refused, "--keep-split: too many shards");
    }
    return {};
}

// The preliminary loop: every kept tensor's plan entry, its type and whether it needs an
// imatrix. Without one, a tensor that needs it refuses the run (a dry run only notes it).
status choose_tensor_types(recipe_state& s, const std::vector<source_tensor>& src,
                           const pruned_model& pruned, ggml_type default_type,
                           const imatrix_data* im, quant_plan& plan) {
    const quantize_options& opts = s.options;
    std::vector<std::string> names;
    for (const kept_tensor& k : pruned.kept) names.push_back(k.name);
    const std::vector<tensor_category> cats = init_counters(s, names);

    plan.tensors.resize(pruned.kept.size());
    for (size_t k = 0; k < pruned.kept.size(); ++k) {
        const source_tensor& source = src[pruned.kept[k].source];
        const gguf_tensor_info& info = *source.info;
        tensor_plan& tp = plan.tensors[k];
        tp.name = pruned.kept[k].name;
        tp.source_name = info.name;
        tp.source_index = pruned.kept[k].source;
        tp.source_type = info.type;
        for (int d = 0; d < 4; ++d) tp.ne[d] = info.ne[d];
        tp.source_shard = source.shard;
        tp.source_offset = source.offset;
        tp.source_bytes = info.nbytes();
        tp.output_file = opts.keep_split ? tp.source_shard : 0;
        tp.allows_quantization = allows_quantization(opts, tp.name, tp.ne);
        tp.target_type = info.type;
        if (tp.allows_quantization) {
            auto t = choose_type(s, tp.name, tp.ne, default_type, cats[k], tp.fallback);
            if (!t.ok()) return t.error();
            tp.target_type = *t;
        }
        tp.imatrix_required =
            requires_imatrix(tp.name, tp.target_type, llama_ftype(plan.file_type));
        if (!im && !opts.assume_imatrix && tp.allows_quantization && tp.imatrix_required) {
            if (opts.dry_run) {
                plan.will_require_imatrix = true;
            } else {
                return make_error(
                    status_code::refused,
                    "this quantization requires an importance matrix (offending "
                    "tensor: " +
                        tp.name + ", target type: " + type_info(tp.target_type).ggml_name + ")");
            }
        }
        tp.imatrix_name = imatrix_name_of(tp.name, pruned.mapped);
    }
    return {};
}

bool can_convert_from(ggml_type t) {
    if (t == ggml_type::f16 || t == ggml_type::bf16 || t == ggml_type::f32) return true;
    return type_info(t).is_quantized && can_dequantize(t);
}

// The main loop's checks, made up front so that nothing is written for a run that will fail;
// also each tensor's target size and whether importance data will be used for it.
status check_main_pass(quant_plan& plan, const quantize_options& opts, const imatrix_data* im) {
    for (tensor_plan& tp : plan.tensors) {
        const uint32_t bs = type_info(tp.target_type).block_size;
        if (tp.ne[0] % bs != 0) {
            return make_error(status_code::refused,
                              "tensor " + tp.name + ": row length " + std::to_string(tp.ne[0]) +
                                  " is not a multiple of " + std::to_string(bs) +
                                  " (block size of " + type_info(tp.target_type).ggml_name + ")");
        }
        tp.target_bytes = row_size(tp.target_type, tp.ne[0]) * (tp.ne[1] * tp.ne[2] * tp.ne[3]);
        if (!tp.converts() || opts.dry_run) continue;
        result<bool> present = imatrix_present_for(tp, opts, im);
        if (!present.ok()) return present.error();
        tp.imatrix_present = *present;
        if (!tp.imatrix_present && tp.imatrix_required) {
            return make_error(status_code::refused, "Missing importance matrix for tensor " +
                                                        tp.name +
                                                        " in a very low-bit quantization");
        }
        if (type_info(tp.source_type).is_quantized && !opts.allow_requantize) {
            return make_error(status_code::refused, std::string("requantizing from type ") +
                                                        type_info(tp.source_type).ggml_name +
                                                        " is disabled");
        }
        if (!can_convert_from(tp.source_type)) {
            return make_error(status_code::refused,
                              std::string("cannot dequantize/convert tensor type ") +
                                  type_info(tp.source_type).ggml_name);
        }
        if (!can_quantize_to(tp.target_type)) {
            return make_error(status_code::refused, "tensor " + tp.name +
                                                        ": cannot quantize to type " +
                                                        type_info(tp.target_type).ggml_name);
        }
        if (quantize_requires_imatrix(tp.target_type) && !tp.imatrix_present) {
            return make_error(status_code::refused,
                              "tensor " + tp.name + ": type " +
                                  type_info(tp.target_type).ggml_name +
                                  " cannot be made without an importance matrix");
        }
    }
    return {};
}

// make_quant_plan for a model's metadata (`input`, shard 0's header) and its tensors from every
// shard.
result<quant_plan> plan_model(const gguf_header& input, const std::vector<source_tensor>& src,
                              const quantize_options& opts) {
    const std::optional<ggml_type> default_type = ftype_default_type(opts.ftype);
    if (!default_type) {
        return make_error(status_code::invalid_argument,
                          "invalid output file type " + std::to_string(uint32_t(opts.ftype)));
    }
    result<model_facts> facts = read_model_facts(input, opts);
    if (!facts.ok()) return facts.error();
    auto patterns = compile_tensor_type_patterns(opts.tensor_types);
    if (!patterns.ok()) return patterns.error();
    const imatrix_data* im = usable_imatrix(opts);
    GS_RETURN_IF_ERROR(check_imatrix_values(im));
    recipe_state s{opts, *facts, std::move(*patterns)};
    s.has_imatrix = im != nullptr || opts.assume_imatrix;

    const std::vector<size_t> order = loader_order(src);
    quant_plan plan;
    plan.file_type = uint32_t(opts.ftype);
    if (opts.only_copy) {
        result<uint32_t> f = loader_file_type(input, src, order);
        if (!f.ok()) return f.error();
        plan.file_type = *f;
    }
    result<pruned_model> pruned = prune_layers(src, order, opts.prune_layers);
    if (!pruned.ok()) return pruned.error();
    GS_RETURN_IF_ERROR(build_output_metadata(input, opts, im, plan.file_type, facts->arch,
                                             pruned->n_layers, plan.output));
    if (opts.keep_split) GS_RETURN_IF_ERROR(order_by_input_shard(src, pruned->kept, plan));
    GS_RETURN_IF_ERROR(choose_tensor_types(s, src, *pruned, *default_type, im, plan));
    GS_RETURN_IF_ERROR(check_main_pass(plan, opts, im));
    plan.n_fallback = s.n_fallback;
    GS_RETURN_IF_ERROR(lay_out_output(plan));
    return plan;
}

}  // namespace

result<quant_plan> make_quant_plan(const gguf_header& input, const quantize_options& opts) {
    std::vector<source_tensor> src(input.tensors.size());
    for (size_t i = 0; i < src.size(); ++i) {
        src[i].info = &input.tensors[i];
        src[i].offset = input.data_offset + input.tensors[i].offset;
    }
    return plan_model(input, src, opts);
}

result<quant_plan> make_quant_plan(const gguf_model& input, const quantize_options& opts) {
    if (input.shards.empty()) {
        return make_error(status_code::invalid_argument, "the model has no shards");
    }
    std::vector<source_tensor> src(input.tensors.size());
    for (size_t i = 0; i < src.size(); ++i) {
        const gguf_model_tensor& t = input.tensors[i];
        if (t.shard >= input.shards.size()) {
            return make_error(status_code::invalid_argument,
                              "tensor " + t.info.name + " names a missing shard");
        }
        src[i].info = &t.info;
        src[i].shard = t.shard;
        src[i].offset = input.data_offset(t);
    }
    return plan_model(input.metadata(), src, opts);
}

double plan_bits_per_weight(const quant_plan& plan) {
    return plan.n_elements ? double(plan.target_bytes) * 8.0 / double(plan.n_elements) : 0.0;
}

}  // namespace gguf_squash
