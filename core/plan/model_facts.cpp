#include "plan/model_facts.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "plan/llama_ftype.h"

namespace gguf_squash::plan_detail {
namespace {

constexpr uint32_t kMaxLayers = 512;   // LLAMA_MAX_LAYERS
constexpr uint32_t kMaxExperts = 512;  // LLAMA_MAX_EXPERTS

const kv_override* find_int_override(const quantize_options& o, const std::string& key) {
    for (const kv_override& kv : o.kv_overrides) {
        if (kv.key == key) return kv.type == kv_override::kind::integer ? &kv : nullptr;
    }
    return nullptr;
}

// An integer hyper-parameter: a scalar, or element 0 of a per-layer array.
result<std::optional<uint64_t>> read_count(const gguf_header& h, const quantize_options& o,
                                           const std::string& key) {
    if (const kv_override* ov = find_int_override(o, key)) {
        return std::optional<uint64_t>(uint64_t(ov->int_value));
    }
    const gguf_value* v = h.find(key);
    if (!v) return std::optional<uint64_t>();
    if (v->is_array()) {
        if (v->count == 0 || v->raw_items.empty()) return std::optional<uint64_t>();
        gguf_value first;
        first.type = v->item_type;
        const size_t n = gguf_value_type_size(v->item_type);
        if (n == 0 || v->item_type == gguf_value_type::float32 ||
            v->item_type == gguf_value_type::float64 || v->raw_items.size() < n) {
            return make_error(status_code::refused, "key " + key + " has the wrong type");
        }
        std::memcpy(&first.scalar_bits, v->raw_items.data(), n);
        return std::optional<uint64_t>(first.as_u64());
    }
    if (!v->is_integer()) {
        return make_error(status_code::refused,
                          "key " + key + " has wrong type " + gguf_value_type_name(v->type));
    }
    return std::optional<uint64_t>(v->as_u64());
}

}  // namespace

result<model_facts> read_model_facts(const gguf_header& h, const quantize_options& o) {
    model_facts m;
    std::optional<std::string> arch = h.get_string("general.architecture");
    if (!arch) {
        return make_error(status_code::refused,
                          "error loading model: key not found in model: general.architecture");
    }
    m.arch = *arch;
    auto n_layer = read_count(h, o, m.arch + ".block_count");
    if (!n_layer.ok()) return n_layer.error();
    if (!n_layer->has_value()) {
        return make_error(status_code::refused,
                          "error loading model hyperparameters: key not "
                          "found in model: " +
                              m.arch + ".block_count");
    }
    if (**n_layer == 0 || **n_layer > kMaxLayers) {
        return make_error(status_code::refused,
                          m.arch + ".block_count must be in 1.." + std::to_string(kMaxLayers));
    }
    m.n_layer = uint32_t(**n_layer);
    auto n_expert = read_count(h, o, m.arch + ".expert_count");
    if (!n_expert.ok()) return n_expert.error();
    if (n_expert->value_or(0) > kMaxExperts) {
        return make_error(status_code::refused,
                          m.arch + ".expert_count is larger than " + std::to_string(kMaxExperts));
    }
    m.n_expert = uint32_t(n_expert->value_or(0));
    auto n_head = read_count(h, o, m.arch + ".attention.head_count");
    if (!n_head.ok()) return n_head.error();
    m.n_head = uint32_t(n_head->value_or(0));
    auto n_head_kv = read_count(h, o, m.arch + ".attention.head_count_kv");
    if (!n_head_kv.ok()) return n_head_kv.error();
    m.n_head_kv = n_head_kv->has_value() ? uint32_t(**n_head_kv) : m.n_head;

    // LLM_TYPE_70B, as each architecture's loader sets it; the recipes only ask about 70B.
    if (m.arch == "llama") {
        m.is_70b = m.n_expert != 8 && m.n_layer == 80 && m.n_head != m.n_head_kv;
    } else if (m.arch == "qwen2" || m.arch == "deci" || m.arch == "olmo") {
        m.is_70b = m.n_layer == 80;
    } else if (m.arch == "jais2") {
        m.is_70b = m.n_layer == 68;
    }
    return m;
}

bool scan_block_number(const std::string& name, int& layer) {
    if (name.compare(0, 4, "blk.") != 0) return false;
    size_t i = 4;
    while (i < name.size() && std::isspace(static_cast<unsigned char>(name[i]))) ++i;
    bool negative = false;
    if (i < name.size() && (name[i] == '+' || name[i] == '-')) negative = name[i++] == '-';
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    long long v = 0;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
        v = std::min<long long>(v * 10 + (name[i] - '0'), 1LL << 40);
    }
    v = negative ? -v : v;
    layer = int(std::clamp<long long>(v, -2147483647LL - 1, 2147483647LL));
    return true;
}

namespace {

// The model loader's tensor order: non-layer tensors first, then by layer number; by name within.
bool loader_order_less(const std::string& a, const std::string& b) {
    int la = -1, lb = -1;
    scan_block_number(a, la);
    scan_block_number(b, lb);
    if (la != lb) return la < lb;
    return a < b;
}

}  // namespace

std::vector<size_t> loader_order(const std::vector<source_tensor>& src) {
    std::vector<size_t> order(src.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return loader_order_less(src[a].info->name, src[b].info->name);
    });
    return order;
}

result<uint32_t> loader_file_type(const gguf_header& h, const std::vector<source_tensor>& src,
                                  const std::vector<size_t>& order) {
    if (const gguf_value* v = h.find("general.file_type")) {
        if (v->type != gguf_value_type::uint32) {
            return make_error(status_code::refused, "key general.file_type has wrong type " +
                                                        std::string(gguf_value_type_name(v->type)));
        }
        return uint32_t(v->scalar_bits);
    }
    std::map<ggml_type, uint32_t> counts;
    uint32_t best_count = 0;
    ggml_type best = ggml_type::f32;
    for (size_t i : order) {
        const ggml_type t = src[i].info->type;
        if (++counts[t] > best_count) {
            best_count = counts[t];
            best = t;
        }
    }
    uint32_t f = 0;
    switch (best) {
        case ggml_type::f32:
            f = 0;
            break;
        case ggml_type::f16:
            f = 1;
            break;
        case ggml_type::bf16:
            f = 32;
            break;
        case ggml_type::q4_0:
            f = 2;
            break;
        case ggml_type::q4_1:
            f = 3;
            break;
        case ggml_type::q5_0:
            f = 8;
            break;
        case ggml_type::q5_1:
            f = 9;
            break;
        case ggml_type::q8_0:
            f = 7;
            break;
        case ggml_type::q2_k:
            f = 10;
            break;
        case ggml_type::q3_k:
            f = 12;
            break;
        case ggml_type::q4_k:
            f = 15;
            break;
        case ggml_type::q5_k:
            f = 17;
            break;
        case ggml_type::q6_k:
            f = 18;
            break;
        case ggml_type::tq1_0:
            f = 36;
            break;
        case ggml_type::tq2_0:
            f = 37;
            break;
        case ggml_type::iq2_xxs:
            f = 19;
            break;
        case ggml_type::iq2_xs:
            f = 20;
            break;
        case ggml_type::iq2_s:
            f = 28;
            break;
        case ggml_type::iq3_xxs:
            f = 23;
            break;
        case ggml_type::iq1_s:
            f = 24;
            break;
        case ggml_type::iq1_m:
            f = 31;
            break;
        case ggml_type::iq4_nl:
            f = 25;
            break;
        case ggml_type::iq4_xs:
            f = 30;
            break;
        case ggml_type::iq3_s:
            f = 26;
            break;
        case ggml_type::nvfp4:
            f = 39;
            break;
        case ggml_type::q1_0:
            f = 40;
            break;
        case ggml_type::q2_0:
            f = 41;
            break;
        default:
            f = 0;
            break;
    }
    return f | kLlamaFtypeGuessed;
}

}  // namespace gguf_squash::plan_detail
