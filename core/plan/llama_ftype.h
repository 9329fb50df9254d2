// llama.cpp's file types (llama_ftype, "what the whole file was quantized as") and the list of
// them that llama-quantize offers, with its names, aliases, numeric ids and help notes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_types.h"

namespace gguf_squash {

// Values are llama.h's LLAMA_FTYPE_* ids (tree de3ff81); they are written to general.file_type.
enum class llama_ftype : uint32_t {
    all_f32 = 0,
    mostly_f16 = 1,
    mostly_q4_0 = 2,
    mostly_q4_1 = 3,
    mostly_q8_0 = 7,
    mostly_q5_0 = 8,
    mostly_q5_1 = 9,
    mostly_q2_k = 10,
    mostly_q3_k_s = 11,
    mostly_q3_k_m = 12,
    mostly_q3_k_l = 13,
    mostly_q4_k_s = 14,
    mostly_q4_k_m = 15,
    mostly_q5_k_s = 16,
    mostly_q5_k_m = 17,
    mostly_q6_k = 18,
    mostly_iq2_xxs = 19,
    mostly_iq2_xs = 20,
    mostly_q2_k_s = 21,
    mostly_iq3_xs = 22,
    mostly_iq3_xxs = 23,
    mostly_iq1_s = 24,
    mostly_iq4_nl = 25,
    mostly_iq3_s = 26,
    mostly_iq3_m = 27,
    mostly_iq2_s = 28,
    mostly_iq2_m = 29,
    mostly_iq4_xs = 30,
    mostly_iq1_m = 31,
    mostly_bf16 = 32,
    mostly_tq1_0 = 36,
    mostly_tq2_0 = 37,
    mostly_mxfp4_moe = 38,
    mostly_nvfp4 = 39,
    mostly_q1_0 = 40,
    mostly_q2_0 = 41,
};

// llama.cpp ORs this into a file type it guessed from the tensor types (no general.file_type).
constexpr uint32_t kLlamaFtypeGuessed = 1024;

// One row of llama-quantize's "allowed quantization types" list, in its order.
struct ftype_option {
    const char* name;  // "Q4_K_M", "Q4_K" (alias), "COPY"
    llama_ftype ftype;
    const char* note;  // llama-quantize's size / quality note
    bool is_alias;     // Q3_K, Q4_K, Q5_K
};

const std::vector<ftype_option>& quantize_ftype_options();

struct parsed_ftype {
    llama_ftype ftype = llama_ftype::mostly_q8_0;
    std::string name;        // the option's canonical name, used for the default output file name
    bool only_copy = false;  // COPY: every tensor is copied, the file type is kept
};

// Parses a TYPE argument as llama-quantize does: a name from the list in any case, or a number
// (leading integer, as std::stoi reads it) matched against the ids in list order.
std::optional<parsed_ftype> parse_ftype(std::string_view text);

// The tensor type an ftype quantizes to by default (llama_ftype_get_default_type); nullopt for
// ids it does not know.
std::optional<ggml_type> ftype_default_type(llama_ftype ftype);

// The ftype name llama.cpp's model loader prints ("Q4_K - Medium"), or the option name.
std::string ftype_display_name(llama_ftype ftype);

// llama-quantize's parse_ggml_type: a ggml type name in any case ("q4_K", "Q8_0", "bf16").
std::optional<ggml_type> parse_ggml_type_name(std::string_view text);

}  // namespace gguf_squash
