// Fixture GGUF files for the format tests: the list, and whole-file loading.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace gguf_squash::test_support {

// Every GGUF under tests/fixtures (relative paths). The native round-trip test checks that this
// list is complete.
inline const std::vector<std::string>& fixture_gguf_files() {
    static const std::vector<std::string> files = {
        "kernels/golden-seed1.gguf",       "models/llama-gqa.gguf",
        "models/llama-gqa.imatrix.gguf",   "vocab/ggml-vocab-gpt-2.gguf",
        "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-qwen2.gguf",
    };
    return files;
}

inline std::string fixture_path(const std::string& rel) {
    return std::string(GGUF_SQUASH_FIXTURES) + "/" + rel;
}

// Whole file, or empty on failure.
inline std::vector<uint8_t> load_file(const std::string& path) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    std::vector<uint8_t> out;
    if (!f) return out;
    std::fseek(f.get(), 0, SEEK_END);
    const long size = std::ftell(f.get());
    std::fseek(f.get(), 0, SEEK_SET);
    if (size <= 0) return out;
    out.resize(size_t(size));
    if (std::fread(out.data(), 1, out.size(), f.get()) != out.size()) out.clear();
    return out;
}

inline std::vector<uint8_t> load_fixture(const std::string& rel) {
    return load_file(fixture_path(rel));
}

}  // namespace gguf_squash::test_support
