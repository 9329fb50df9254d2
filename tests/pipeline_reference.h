// The 78 llama-quantize runs of tests/fixtures/models/llama-gqa.reference.json, and what the plan
// and pipeline tests need to replay them: the parsed arguments with the imatrix loaded from the
// fixture folder (its recorded name stays as typed, as llama-quantize records it).
#pragma once

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "io/gguf_file.h"
#include "plan/imatrix.h"
#include "plan/quant_plan.h"
#include "plan/quantize_args.h"

namespace gguf_squash::test_support {

inline std::string models_dir() {
    return std::string(GGUF_SQUASH_FIXTURES) + "/models";
}

inline std::vector<uint8_t> read_all(const std::string& path) {
    std::vector<uint8_t> bytes;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return bytes;
    uint8_t buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
    std::fclose(f);
    return bytes;
}

struct reference_tensor {
    std::string name, type, sha256;
    uint64_t offset = 0, nbytes = 0;
};

struct reference_run {
    std::string name, ftype, error, file_sha256, header_sha256;
    std::vector<std::string> args;
    uint64_t file_size = 0, header_size = 0;
    std::vector<reference_tensor> tensors;
    bool refused() const { return !error.empty(); }
};

inline const std::vector<reference_run>& reference_runs() {
    static const std::vector<reference_run> runs = [] {
        std::vector<reference_run> out;
        std::ifstream in(models_dir() + "/llama-gqa.reference.json");
        if (!in) return out;
        std::stringstream ss;
        ss << in.rdbuf();
        const nlohmann::json j = nlohmann::json::parse(ss.str());
        for (const auto& r : j.at("runs")) {
            reference_run run;
            run.name = r.at("name");
            run.ftype = r.at("ftype");
            for (const auto& a : r.at("args")) run.args.push_back(a);
            if (r.contains("error")) {
                run.error = r.at("error");
            } else {
                run.file_sha256 = r.at("file_sha256");
                run.header_sha256 = r.at("header_sha256");
                run.file_size = r.at("file_size");
                run.header_size = r.at("header_size");
                for (const auto& t : r.at("tensors")) {
                    run.tensors.push_back({t.at("name"), t.at("type"), t.at("sha256"),
                                           t.at("offset"), t.at("nbytes")});
                }
            }
            out.push_back(std::move(run));
        }
        return out;
    }();
    return runs;
}

inline const gguf_header& reference_input_header() {
    static const gguf_header h = [] {
        result<gguf_header> r = read_gguf_header_file(models_dir() + "/llama-gqa.gguf");
        return r.ok() ? *r : gguf_header{};
    }();
    return h;
}

// A run's arguments parsed, and its imatrix loaded and filtered; options.imatrix points into it.
struct prepared_run {
    quantize_args args;
    std::unique_ptr<imatrix_data> imatrix;
};

inline result<prepared_run> prepare_run(const reference_run& run) {
    std::vector<std::string> argv = run.args;
    argv.push_back("llama-gqa.gguf");
    argv.push_back(run.ftype);
    auto read_text = [](const std::string& path) -> result<std::string> {
        std::vector<uint8_t> b = read_all(models_dir() + "/" + path);
        return std::string(b.begin(), b.end());
    };
    result<quantize_args> a = parse_quantize_args(argv, read_text);
    if (!a.ok()) return a.error();
    prepared_run p{std::move(*a), nullptr};
    if (!p.args.imatrix_file.empty()) {
        std::vector<uint8_t> bytes = read_all(models_dir() + "/" + p.args.imatrix_file);
        result<imatrix_data> im = parse_imatrix(bytes.data(), bytes.size());
        if (!im.ok()) return im.error();
        p.imatrix = std::make_unique<imatrix_data>(std::move(*im));
        GS_RETURN_IF_ERROR(
            filter_imatrix(*p.imatrix, p.args.include_weights, p.args.exclude_weights));
        p.args.options.imatrix = p.imatrix.get();
    }
    return p;
}

// One run per kernel family that has SIMD implementations (legacy, K-quants, IQ3, IQ4, the float
// conversions), with and without importance weights: PipelineReferenceEveryIsa runs them through
// the whole pipeline on every implementation.
inline constexpr const char* kSimdFamilyRuns[] = {
    "Q4_0+imatrix", "Q5_1",          "Q8_0",           "Q3_K_M", "Q4_K_M+imatrix",
    "Q6_K",         "IQ3_S+imatrix", "IQ4_XS+imatrix", "IQ4_NL", "BF16"};

}  // namespace gguf_squash::test_support
