#include "plan/output_header.h"

#include <algorithm>

#include "format/gguf_split.h"
#include "plan/tensor_category.h"

namespace gguf_squash {
namespace plan_detail {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION

void erase_key(std::vector<gguf_kv>& kv, const std::string& key) {
    auto it = std::find_if(kv.begin(), kv.end(), [&](const gguf_kv& e) { return e.key == key; });
    if (it != kv.end()) kv.erase(it);
}

gguf_value override_value(const kv_override& o) {
    switch (o.type) {
        case kv_override::kind::floating:
            return gguf_value::make_f32(float(o.float_value));
        // Integer overrides are written as UINT32 of the absolute value, as llama.cpp does.
        case kv_override::kind::integer:
            return gguf_value::make_u32(
                uint32_t(o.int_value < 0 ? -(uint64_t)o.int_value : (uint64_t)o.int_value));
        case kv_override::kind::boolean:
            return gguf_value::make_bool(o.bool_value);
        case kv_override::kind::string:
            return gguf_value::make_string(o.string_value);
    }
    return gguf_value::make_string(o.string_value);
}

}  // namespace

gguf_encode_options plan_encode_options() {
    gguf_encode_options o;
    o.alignment_key_as_data = true;
    return o;
}

void set_last(std::vector<gguf_kv>& kv, const std::string& key, gguf_value v) {
    kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const gguf_kv& e) { return e.key == key; }),
             kv.end());
    kv.push_back({key, std::move(v)});
}

status build_output_metadata(const gguf_header& input, const quantize_options& opts,
                             const imatrix_data* im, uint32_t file_type, const std::string& arch,
                             int n_layers_kept, gguf_header& out) {
    out.version = 3;
    out.alignment = kDefaultAlignment;
    for (const gguf_kv& kv : input.kv) {
        if (kv.value.is_array() && kv.value.item_type == gguf_value_type::array) {
            return make_error(status_code::refused,
                              "key " + kv.key + ": nested arrays cannot be copied");
        }
        set_last(out.kv, kv.key, kv.value);
    }
    set_last(out.kv, "general.quantization_version", gguf_value::make_u32(kQuantizationVersion));
    set_last(out.kv, "general.file_type", gguf_value::make_u32(file_type));
    erase_key(out.kv, "split.no");
    erase_key(out.kv, "split.count");
    erase_key(out.kv, "split.tensors.count");
    std::vector<kv_override> overrides = opts.kv_overrides;
    if (im) {
        auto str = [](const std::string& key, const std::string& v) {
            kv_override o;
            o.key = key;
            o.type = kv_override::kind::string;
            o.string_value = v.substr(0, 127);
            return o;
        };
        auto num = [](const std::string& key, int64_t v) {
            kv_override o;
            o.key = key;
            o.type = kv_override::kind::integer;
            o.int_value = v;
            return o;
        };
        overrides.push_back(str("quantize.imatrix.file", opts.imatrix_file));
        if (!im->datasets.empty()) {
            overrides.push_back(str("quantize.imatrix.dataset", im->datasets[0]));
        }
        overrides.push_back(num("quantize.imatrix.entries_count", int64_t(im->entries.size())));
        if (im->chunk_count > 0) {
            overrides.push_back(num("quantize.imatrix.chunks_count", im->chunk_count));
        }
    }
    for (const kv_override& o : overrides) {
        if (o.key == "general.alignment" && o.type != kv_override::kind::integer) {
            return make_error(status_code::refused, "general.alignment must be type u32");
        }
        set_last(out.kv, o.key, override_value(o));
    }
    if (!opts.prune_layers.empty()) {
        set_last(out.kv, arch + ".block_count", gguf_value::make_u32(uint32_t(n_layers_kept)));
    }
    return {};
}

status lay_out_output(quant_plan& plan) {
    gguf_header& out = plan.output;
    for (const tensor_plan& tp : plan.tensors) {
        gguf_tensor_info t;
        t.name = tp.name;
        t.type = tp.target_type;
        for (int d = 0; d < 4; ++d) t.ne[d] = tp.ne[d];
        t.n_dims = effective_dims(tp.ne);
        out.tensors.push_back(std::move(t));
        plan.source_bytes += tp.source_bytes;
        plan.target_bytes += tp.target_bytes;
        plan.n_elements += tp.n_elements();
    }
    assign_tensor_offsets(out);
    for (size_t k = 0; k < plan.tensors.size(); ++k) {
        plan.tensors[k].target_offset = out.tensors[k].offset;
    }
    result<std::vector<uint8_t>> encoded = encode_plan_header(out);
    if (!encoded.ok()) {
        return make_error(status_code::refused,
                          "cannot write the output header: " + encoded.error().message());
    }
    plan.header_size = encoded->size();
    out.data_offset = plan.header_size;
    plan.file_size = gguf_file_size(out, plan_encode_options());
    if (plan.output_file_count > 1) {
        // Offsets within each file.
        for (uint32_t f = 0; f < plan.output_file_count; ++f) {
            uint64_t offset = 0;
            for (tensor_plan& tp : plan.tensors) {
                if (tp.output_file != f) continue;
                tp.target_offset = offset;
                offset += align_up(tp.target_bytes, out.alignment);
            }
        }
    }
    return {};
}

}  // namespace plan_detail

using plan_detail::plan_encode_options;
using plan_detail::set_last;

result<quant_plan> output_file_plan(const quant_plan& plan, uint32_t file) {
    if (file >= plan.output_file_count) {
        return make_error(status_code::invalid_argument,
                          "no output file " + std::to_string(file) + " in the plan");
    }
    if (plan.output_file_count == 1) return plan;
    quant_plan part;
    part.file_type = plan.file_type;
    part.will_require_imatrix = plan.will_require_imatrix;
    part.output_file_count = 1;
    gguf_header& out = part.output;
    out.version = plan.output.version;
    out.alignment = plan.output.alignment;
    if (file == 0) out.kv = plan.output.kv;
    for (size_t k = 0; k < plan.tensors.size(); ++k) {
        const tensor_plan& tp = plan.tensors[k];
        if (tp.output_file != file) continue;
        part.tensors.push_back(tp);
        out.tensors.push_back(plan.output.tensors[k]);
        part.source_bytes += tp.source_bytes;
        part.target_bytes += tp.target_bytes;
        part.n_elements += tp.n_elements();
        if (tp.fallback) ++part.n_fallback;
    }
    gguf_value no, count;
    no.type = count.type = gguf_value_type::uint16;
    no.scalar_bits = file;
    count.scalar_bits = plan.output_file_count;
    set_last(out.kv, kSplitNoKey, no);
    set_last(out.kv, kSplitCountKey, count);
    set_last(out.kv, kSplitTensorsCountKey, gguf_value::make_i32(int32_t(plan.tensors.size())));
    assign_tensor_offsets(out);
    for (size_t k = 0; k < part.tensors.size(); ++k) {
        part.tensors[k].target_offset = out.tensors[k].offset;
    }
    result<std::vector<uint8_t>> encoded = encode_plan_header(out);
    if (!encoded.ok()) {
        return make_error(status_code::refused,
                          "cannot write the output header: " + encoded.error().message());
    }
    part.header_size = encoded->size();
    out.data_offset = part.header_size;
    part.file_size = gguf_file_size(out, plan_encode_options());
    return part;
}

std::string output_file_name(const std::string& out, const quant_plan& plan, bool keep_split,
                             uint32_t file) {
    if (!keep_split) return out;
    return gguf_split_path(out, file, plan.output_file_count);
}

result<std::vector<uint8_t>> encode_plan_header(const gguf_header& output) {
    return encode_gguf_header(output, plan_encode_options());
}

}  // namespace gguf_squash
