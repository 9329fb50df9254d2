#include "llama_ftype.h"

#include <cctype>
#include <climits>

namespace gguf_squash {

const std::vector<ftype_option>& quantize_ftype_options() {
    // Order and notes as llama-quantize lists them; COPY stays after F32 so that the number 0
    // selects F32.
    static const std::vector<ftype_option> options = {
        {"Q1_0", llama_ftype::mostly_q1_0, " 1.125 bpw quantization", false},
        {"Q2_0", llama_ftype::mostly_q2_0, " 2.25 bpw quantization (group 64)", false},
        {"Q4_0", llama_ftype::mostly_q4_0, " 4.34G, +0.4685 ppl @ Llama-3-8B", false},
        {"Q4_1", llama_ftype::mostly_q4_1, " 4.78G, +0.4511 ppl @ Llama-3-8B", false},
        {"MXFP4_MOE", llama_ftype::mostly_mxfp4_moe, " MXFP4 MoE", false},
        {"Q5_0", llama_ftype::mostly_q5_0, " 5.21G, +0.1316 ppl @ Llama-3-8B", false},
        {"Q5_1", llama_ftype::mostly_q5_1, " 5.65G, +0.1062 ppl @ Llama-3-8B", false},
        {"IQ2_XXS", llama_ftype::mostly_iq2_xxs, " 2.06 bpw quantization", false},
        {"IQ2_XS", llama_ftype::mostly_iq2_xs, " 2.31 bpw quantization", false},
        {"IQ2_S", llama_ftype::mostly_iq2_s, " 2.5  bpw quantization", false},
        {"IQ2_M", llama_ftype::mostly_iq2_m, " 2.7  bpw quantization", false},
        {"IQ1_S", llama_ftype::mostly_iq1_s, " 1.56 bpw quantization", false},
        {"IQ1_M", llama_ftype::mostly_iq1_m, " 1.75 bpw quantization", false},
        {"TQ1_0", llama_ftype::mostly_tq1_0, " 1.69 bpw ternarization", false},
        {"TQ2_0", llama_ftype::mostly_tq2_0, " 2.06 bpw ternarization", false},
        {"Q2_K", llama_ftype::mostly_q2_k, " 2.96G, +3.5199 ppl @ Llama-3-8B", false},
        {"Q2_K_S", llama_ftype::mostly_q2_k_s, " 2.96G, +3.1836 ppl @ Llama-3-8B", false},
        {"IQ3_XXS", llama_ftype::mostly_iq3_xxs, " 3.06 bpw quantization", false},
        {"IQ3_S", llama_ftype::mostly_iq3_s, " 3.44 bpw quantization", false},
        {"IQ3_M", llama_ftype::mostly_iq3_m, " 3.66 bpw quantization mix", false},
        {"Q3_K", llama_ftype::mostly_q3_k_m, "alias for Q3_K_M", true},
        {"IQ3_XS", llama_ftype::mostly_iq3_xs, " 3.3 bpw quantization", false},
        {"Q3_K_S", llama_ftype::mostly_q3_k_s, " 3.41G, +1.6321 ppl @ Llama-3-8B", false},
        {"Q3_K_M", llama_ftype::mostly_q3_k_m, " 3.74G, +0.6569 ppl @ Llama-3-8B", false},
        {"Q3_K_L", llama_ftype::mostly_q3_k_l, " 4.03G, +0.5562 ppl @ Llama-3-8B", false},
        {"IQ4_NL", llama_ftype::mostly_iq4_nl, " 4.50 bpw non-linear quantization", false},
        {"IQ4_XS", llama_ftype::mostly_iq4_xs, " 4.25 bpw non-linear quantization", false},
        {"Q4_K", llama_ftype::mostly_q4_k_m, "alias for Q4_K_M", true},
        {"Q4_K_S", llama_ftype::mostly_q4_k_s, " 4.37G, +0.2689 ppl @ Llama-3-8B", false},
        {"Q4_K_M", llama_ftype::mostly_q4_k_m, " 4.58G, +0.1754 ppl @ Llama-3-8B", false},
        {"Q5_K", llama_ftype::mostly_q5_k_m, "alias for Q5_K_M", true},
        {"Q5_K_S", llama_ftype::mostly_q5_k_s, " 5.21G, +0.1049 ppl @ Llama-3-8B", false},
        {"Q5_K_M", llama_ftype::mostly_q5_k_m, " 5.33G, +0.0569 ppl @ Llama-3-8B", false},
        {"Q6_K", llama_ftype::mostly_q6_k, " 6.14G, +0.0217 ppl @ Llama-3-8B", false},
        {"Q8_0", llama_ftype::mostly_q8_0, " 7.96G, +0.0026 ppl @ Llama-3-8B", false},
        {"F16", llama_ftype::mostly_f16, "14.00G, +0.0020 ppl @ Mistral-7B", false},
        {"BF16", llama_ftype::mostly_bf16, "14.00G, -0.0050 ppl @ Mistral-7B", false},
        {"F32", llama_ftype::all_f32, "26.00G              @ 7B", false},
        {"COPY", llama_ftype::all_f32, "only copy tensors, no quantizing", false},
    };
    return options;
}

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

// std::stoi's reading: optional leading white space, optional sign, at least one digit; the rest
// of the text is ignored. Out-of-range values fail.
std::optional<long long> leading_int(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    size_t digits = 0;
    long long v = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++digits) {
        v = v * 10 + (s[i] - '0');
        if (v > (long long)INT_MAX + 1) return std::nullopt;
    }
    if (digits == 0) return std::nullopt;
    v = negative ? -v : v;
    if (v > INT_MAX || v < INT_MIN) return std::nullopt;
    return v;
}

}  // namespace

std::optional<parsed_ftype> parse_ftype(std::string_view text) {
    const auto& options = quantize_ftype_options();
    for (const ftype_option& o : options) {
        if (equals_ignore_case(o.name, text)) {
            parsed_ftype p{o.ftype, o.name, std::string_view(o.name) == "COPY"};
            return p;
        }
    }
    if (std::optional<long long> id = leading_int(text)) {
        for (const ftype_option& o : options) {
            if ((long long)o.ftype == *id) {
                parsed_ftype p{o.ftype, o.name, std::string_view(o.name) == "COPY"};
                return p;
            }
        }
    }
    return std::nullopt;
}

std::optional<ggml_type> ftype_default_type(llama_ftype ftype) {
    switch (ftype) {
        case llama_ftype::mostly_q4_0:
            return ggml_type::q4_0;
        case llama_ftype::mostly_q4_1:
            return ggml_type::q4_1;
        case llama_ftype::mostly_q5_0:
            return ggml_type::q5_0;
        case llama_ftype::mostly_q5_1:
            return ggml_type::q5_1;
        case llama_ftype::mostly_q8_0:
            return ggml_type::q8_0;
        case llama_ftype::mostly_f16:
            return ggml_type::f16;
        case llama_ftype::mostly_bf16:
            return ggml_type::bf16;
        case llama_ftype::all_f32:
            return ggml_type::f32;
        case llama_ftype::mostly_q1_0:
            return ggml_type::q1_0;
        case llama_ftype::mostly_q2_0:
            return ggml_type::q2_0;
        case llama_ftype::mostly_mxfp4_moe:
            return ggml_type::mxfp4;
        case llama_ftype::mostly_q2_k_s:
        case llama_ftype::mostly_q2_k:
            return ggml_type::q2_k;
        case llama_ftype::mostly_iq3_xs:
            return ggml_type::iq3_s;
        case llama_ftype::mostly_q3_k_s:
        case llama_ftype::mostly_q3_k_m:
        case llama_ftype::mostly_q3_k_l:
            return ggml_type::q3_k;
        case llama_ftype::mostly_q4_k_s:
        case llama_ftype::mostly_q4_k_m:
            return ggml_type::q4_k;
        case llama_ftype::mostly_q5_k_s:
        case llama_ftype::mostly_q5_k_m:
            return ggml_type::q5_k;
        case llama_ftype::mostly_q6_k:
            return ggml_type::q6_k;
        case llama_ftype::mostly_tq1_0:
            return ggml_type::tq1_0;
        case llama_ftype::mostly_tq2_0:
            return ggml_type::tq2_0;
        case llama_ftype::mostly_iq2_xxs:
            return ggml_type::iq2_xxs;
        case llama_ftype::mostly_iq2_xs:
            return ggml_type::iq2_xs;
        case llama_ftype::mostly_iq2_s:
            return ggml_type::iq2_xs;
        case llama_ftype::mostly_iq2_m:
            return ggml_type::iq2_s;
        case llama_ftype::mostly_iq3_xxs:
            return ggml_type::iq3_xxs;
        case llama_ftype::mostly_iq1_s:
            return ggml_type::iq1_s;
        case llama_ftype::mostly_iq1_m:
            return ggml_type::iq1_m;
        case llama_ftype::mostly_iq4_nl:
            return ggml_type::iq4_nl;
        case llama_ftype::mostly_iq4_xs:
            return ggml_type::iq4_xs;
        case llama_ftype::mostly_iq3_s:
        case llama_ftype::mostly_iq3_m:
            return ggml_type::iq3_s;
        default:
            return std::nullopt;
    }
}

std::string ftype_display_name(llama_ftype ftype) {
    for (const ftype_option& o : quantize_ftype_options()) {
        if (o.ftype == ftype && !o.is_alias) return o.name;
    }
    return "ftype " + std::to_string(uint32_t(ftype));
}

std::optional<ggml_type> parse_ggml_type_name(std::string_view text) {
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        const ggml_type_info* info = ggml_type_lookup(id);
        if (info && info->valid && equals_ignore_case(info->ggml_name, text)) return ggml_type(id);
    }
    return std::nullopt;
}

}  // namespace gguf_squash
