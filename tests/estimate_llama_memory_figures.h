// Placeholder until tools/record_llama_memory.mjs has run.
#pragma once
namespace gguf_squash::testing {
struct llama_memory_record {
    const char* model;
    unsigned ctx;
    const char* cache;
    bool flash_attn;
    unsigned parallel;
    const char* error;
    double model_mib;
    double k_mib, v_mib, cells;
    double k_swa_mib, v_swa_mib, swa_cells;
    double r_mib, s_mib;
    double output_mib, compute_mib;
    const char* command;
};
inline constexpr llama_memory_record kLlamaMemoryRecords[] = {
    {"llama-gqa", 4096, "f16", true, 1, nullptr, 15.52, 4, 4, 4096, -1, -1, -1, -1, -1, 0.02, 10.51, "x"},
};
}  // namespace gguf_squash::testing
