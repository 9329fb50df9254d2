// What the quality and fit tests share: the reference model as one-shard gguf_model, a measure
// run over bytes held in memory, and an error computation written independently of
// core/quality (whole-tensor double sums in one loop, importances taken straight from the
// imatrix file's in_sum2 and counts tensors).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_split.h"
#include "io/gguf_file.h"
#include "pipeline_reference.h"
#include "quality/error_measure.h"
#include "quality/quality_report.h"

namespace gguf_squash::test_support {

inline const std::vector<uint8_t>& reference_model_bytes() {
    static const std::vector<uint8_t> b = read_all(models_dir() + "/llama-gqa.gguf");
    return b;
}

inline gguf_model reference_model() {
    std::vector<gguf_header> one{reference_input_header()};
    result<gguf_model> m = merge_gguf_shards(std::move(one));
    return m.ok() ? *m : gguf_model{};
}

// Reads from bytes held in memory (one shard).
inline measure_read_fn memory_reader(const std::vector<uint8_t>& bytes) {
    return [&bytes](uint32_t shard, uint64_t offset, uint8_t* buf, size_t n) -> result<size_t> {
        if (shard != 0) return make_error(status_code::internal, "one shard only");
        if (offset >= bytes.size()) return size_t(0);
        const size_t k = size_t(std::min<uint64_t>(n, bytes.size() - offset));
        std::memcpy(buf, bytes.data() + offset, k);
        return k;
    };
}

// Plans and measures the reference model; the report, or a failed assertion.
inline quality_report measure_reference(const quality_options& options) {
    result<quality_setup> setup = plan_quality(reference_model(), options);
    EXPECT_TRUE(setup.ok()) << setup.error().message();
    if (!setup.ok()) return {};
    measure_options mo;
    mo.rows_per_matrix = options.rows_per_matrix;
    measure_job job(setup->measures.requests, mo);
    const status s = run_measure_job(job, memory_reader(reference_model_bytes()));
    EXPECT_TRUE(s.ok()) << s.message();
    return make_quality_report(*setup, job.results());
}

// IEEE half to double from the definition (sign, 5-bit exponent, 10-bit mantissa).
inline double half_value(uint16_t h) {
    const int sign = (h >> 15) ? -1 : 1;
    const int exp = (h >> 10) & 31;
    const int mant = h & 1023;
    if (exp == 0) return sign * std::ldexp(double(mant), -24);
    if (exp == 31) return mant ? NAN : sign * INFINITY;
    return sign * std::ldexp(double(1024 + mant), exp - 25);
}

// Figures of one tensor over all its rows, in one straightforward loop. `w` holds ne0 weights
// per matrix (or is null: every weight 1).
struct plain_figures {
    double sse = 0, sxx = 0, max_abs = 0, weighted_mse = 0;
    uint64_t n = 0, rows = 0;
    double rmse() const { return std::sqrt(sse / double(n)); }
    double rel_rmse() const { return sxx > 0 ? std::sqrt(sse / sxx) : 0.0; }
};

inline plain_figures plain_error(const std::vector<float>& x, const std::vector<float>& y,
                                 uint64_t ne0, uint64_t rows_per_matrix, const float* w) {
    plain_figures f;
    const uint64_t rows = x.size() / ne0;
    double weighted_total = 0;
    for (uint64_t i = 0; i < rows; ++i) {
        const float* wr = w ? w + (i / rows_per_matrix) * ne0 : nullptr;
        double num = 0, den = 0;
        for (uint64_t j = 0; j < ne0; ++j) {
            const double xv = x[i * ne0 + j], yv = y[i * ne0 + j];
            const double d = xv - yv;
            f.sse += d * d;
            f.sxx += xv * xv;
            f.max_abs = std::max(f.max_abs, std::fabs(d));
            const double wj = wr ? double(wr[j]) : 1.0;
            num += wj * d * d;
            den += wj;
        }
        weighted_total += num / den;
    }
    f.n = x.size();
    f.rows = rows;
    f.weighted_mse = weighted_total / double(rows);
    return f;
}

// Importances of the imatrix GGUF file straight from its tensors: in_sum2 / round(counts), per
// expert; counts of 0 give 1 (as llama-quantize's loader does).
inline std::map<std::string, std::vector<float>> importances_from_file(const std::string& path) {
    std::map<std::string, std::vector<float>> out;
    const std::vector<uint8_t> bytes = read_all(path);
    result<gguf_header> h = read_gguf_header_file(path);
    if (!h.ok()) return out;
    auto floats = [&](const gguf_tensor_info& t) {
        std::vector<float> v(size_t(t.n_elements()));
        std::memcpy(v.data(), bytes.data() + h->data_offset + t.offset, v.size() * 4);
        return v;
    };
    for (const gguf_tensor_info& t : h->tensors) {
        const std::string suffix = ".in_sum2";
        if (t.name.size() <= suffix.size() ||
            t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0) {
            continue;
        }
        const std::string base = t.name.substr(0, t.name.size() - suffix.size());
        const int64_t ci = h->find_tensor(base + ".counts");
        if (ci < 0) continue;
        const std::vector<float> sums = floats(t);
        const std::vector<float> counts = floats(h->tensors[size_t(ci)]);
        const size_t ne0 = sums.size() / counts.size();
        std::vector<float> w(sums.size());
        for (size_t e = 0; e < counts.size(); ++e) {
            const float c = float(std::lround(counts[e]));
            for (size_t j = 0; j < ne0; ++j) w[e * ne0 + j] = c > 0 ? sums[e * ne0 + j] / c : 1.0f;
        }
        out[base] = std::move(w);
    }
    return out;
}

}  // namespace gguf_squash::test_support
