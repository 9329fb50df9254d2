#include "ggml_types.h"

#include <cctype>

namespace gguf_squash {
namespace {

constexpr ggml_type_info kRemoved(const char* name) {
    return {name, name, 1, 0, false, false};
}

constexpr ggml_type_info kTypeTable[kGgmlTypeCount] = {
    /* 0 */ {"F32", "f32", 1, 4, false, true},
    /* 1 */ {"F16", "f16", 1, 2, false, true},
    /* 2 */ {"Q4_0", "q4_0", 32, 18, true, true},
    /* 3 */ {"Q4_1", "q4_1", 32, 20, true, true},
    /* 4 */ kRemoved("Q4_2"),
    /* 5 */ kRemoved("Q4_3"),
    /* 6 */ {"Q5_0", "q5_0", 32, 22, true, true},
    /* 7 */ {"Q5_1", "q5_1", 32, 24, true, true},
    /* 8 */ {"Q8_0", "q8_0", 32, 34, true, true},
    /* 9 */ {"Q8_1", "q8_1", 32, 36, true, true},
    /* 10 */ {"Q2_K", "q2_K", 256, 84, true, true},
    /* 11 */ {"Q3_K", "q3_K", 256, 110, true, true},
    /* 12 */ {"Q4_K", "q4_K", 256, 144, true, true},
    /* 13 */ {"Q5_K", "q5_K", 256, 176, true, true},
    /* 14 */ {"Q6_K", "q6_K", 256, 210, true, true},
    /* 15 */ {"Q8_K", "q8_K", 256, 292, true, true},
    /* 16 */ {"IQ2_XXS", "iq2_xxs", 256, 66, true, true},
    /* 17 */ {"IQ2_XS", "iq2_xs", 256, 74, true, true},
    /* 18 */ {"IQ3_XXS", "iq3_xxs", 256, 98, true, true},
    /* 19 */ {"IQ1_S", "iq1_s", 256, 50, true, true},
    /* 20 */ {"IQ4_NL", "iq4_nl", 32, 18, true, true},
    /* 21 */ {"IQ3_S", "iq3_s", 256, 110, true, true},
    /* 22 */ {"IQ2_S", "iq2_s", 256, 82, true, true},
    /* 23 */ {"IQ4_XS", "iq4_xs", 256, 136, true, true},
    /* 24 */ {"I8", "i8", 1, 1, false, true},
    /* 25 */ {"I16", "i16", 1, 2, false, true},
    /* 26 */ {"I32", "i32", 1, 4, false, true},
    /* 27 */ {"I64", "i64", 1, 8, false, true},
    /* 28 */ {"F64", "f64", 1, 8, false, true},
    /* 29 */ {"IQ1_M", "iq1_m", 256, 56, true, true},
    /* 30 */ {"BF16", "bf16", 1, 2, false, true},
    /* 31 */ kRemoved("Q4_0_4_4"),
    /* 32 */ kRemoved("Q4_0_4_8"),
    /* 33 */ kRemoved("Q4_0_8_8"),
    /* 34 */ {"TQ1_0", "tq1_0", 256, 54, true, true},
    /* 35 */ {"TQ2_0", "tq2_0", 256, 66, true, true},
    /* 36 */ kRemoved("IQ4_NL_4_4"),
    /* 37 */ kRemoved("IQ4_NL_4_8"),
    /* 38 */ kRemoved("IQ4_NL_8_8"),
    /* 39 */ {"MXFP4", "mxfp4", 32, 17, true, true},
    /* 40 */ {"NVFP4", "nvfp4", 64, 36, true, true},
    /* 41 */ {"Q1_0", "q1_0", 128, 18, true, true},
    /* 42 */ {"Q2_0", "q2_0", 64, 18, true, true},
};

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

const ggml_type_info* ggml_type_lookup(uint32_t id) {
    return id < kGgmlTypeCount ? &kTypeTable[id] : nullptr;
}

std::optional<ggml_type> ggml_type_from_name(std::string_view name) {
    for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
        if (kTypeTable[id].valid && equals_ignore_case(name, kTypeTable[id].name))
            return static_cast<ggml_type>(id);
    }
    return std::nullopt;
}

}  // namespace gguf_squash
