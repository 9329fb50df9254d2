// gguf-squash quality's figures against independent computations:
//  - the reference outputs of llama-gqa.reference.json (rebuilt by the pipeline and checked
//    tensor by tensor against the recorded sha256, so they are llama-quantize's bytes), decoded by
//    this file's own dequantizers (Q8_0, Q4_0, Q4_K, Q6_K, F16, BF16, written from the formats)
//    or the scalar reference kernels for the other types, with whole-tensor double sums and the
//    importances read straight from the imatrix file;
//  - random rows, sampled and 3D (per-expert importances), against per-row quantization and
//    plain double sums;
//  - row sampling, chunked reads, the JSON contract.
// Portable: runs natively and in wasm (fewer reference runs there).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "kernel_isa_harness.h"
#include "pipeline/quantize_job.h"
#include "quality_support.h"
#include "quant/quantize.h"
#include "sha256.h"

namespace gguf_squash {
namespace {

using test_support::plain_error;
using test_support::plain_figures;

uint16_t u16_at(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
float half_at(const uint8_t* p) {
    return float(test_support::half_value(u16_at(p)));
}

// This file's own dequantizers, from the block layouts, with ggml's float evaluation order so
// that they give the same bits. False for types not decoded here.
bool decode_independently(ggml_type t, const uint8_t* src, uint64_t n, float* y) {
    switch (t) {
        case ggml_type::f32:
            std::memcpy(y, src, n * 4);
            return true;
        case ggml_type::f16:
            for (uint64_t i = 0; i < n; ++i) y[i] = half_at(src + 2 * i);
            return true;
        case ggml_type::bf16:
            for (uint64_t i = 0; i < n; ++i) {
                const uint32_t bits = uint32_t(u16_at(src + 2 * i)) << 16;
                std::memcpy(&y[i], &bits, 4);
            }
            return true;
        case ggml_type::q8_0:  // d (f16), 32 int8
            for (uint64_t b = 0; b < n / 32; ++b, src += 34, y += 32) {
                const float d = half_at(src);
                for (int j = 0; j < 32; ++j) y[j] = float(int8_t(src[2 + j])) * d;
            }
            return true;
        case ggml_type::q4_0:  // d, 16 bytes: low nibbles are elements 0..15, high 16..31
            for (uint64_t b = 0; b < n / 32; ++b, src += 18, y += 32) {
                const float d = half_at(src);
                for (int j = 0; j < 16; ++j) {
                    y[j] = float(int(src[2 + j] & 15) - 8) * d;
                    y[j + 16] = float(int(src[2 + j] >> 4) - 8) * d;
                }
            }
            return true;
        case ggml_type::q4_k:  // d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles
            for (uint64_t b = 0; b < n / 256; ++b, src += 144, y += 256) {
                const float d = half_at(src), dmin = half_at(src + 2);
                const uint8_t* sc = src + 4;
                const uint8_t* q = src + 16;
                auto scale_min = [&](int j, uint8_t& s, uint8_t& m) {
                    if (j < 4) {
                        s = sc[j] & 63;
                        m = sc[j + 4] & 63;
                    } else {
                        s = uint8_t((sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4));
                        m = uint8_t((sc[j + 4] >> 4) | ((sc[j] >> 6) << 4));
                    }
                };
                for (int g = 0; g < 4; ++g) {
                    uint8_t s1, m1, s2, m2;
                    scale_min(2 * g, s1, m1);
                    scale_min(2 * g + 1, s2, m2);
                    const float d1 = d * float(s1), min1 = dmin * float(m1);
                    const float d2 = d * float(s2), min2 = dmin * float(m2);
                    for (int l = 0; l < 32; ++l) {
                        y[64 * g + l] = d1 * float(q[32 * g + l] & 15) - min1;
                        y[64 * g + 32 + l] = d2 * float(q[32 * g + l] >> 4) - min2;
                    }
                }
            }
            return true;
        case ggml_type::q6_k:  // ql[128], qh[64], int8 scales[16], d
            for (uint64_t b = 0; b < n / 256; ++b, src += 210, y += 256) {
                const float d = half_at(src + 208);
                for (int half = 0; half < 2; ++half) {
                    const uint8_t* ql = src + 64 * half;
                    const uint8_t* qh = src + 128 + 32 * half;
                    const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192 + 8 * half);
                    float* out = y + 128 * half;
                    for (int l = 0; l < 32; ++l) {
                        const int is = l / 16;
                        const int q1 = int((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                        const int q2 = int((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                        const int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                        const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                        out[l] = d * float(sc[is + 0]) * float(q1);
                        out[l + 32] = d * float(sc[is + 2]) * float(q2);
                        out[l + 64] = d * float(sc[is + 4]) * float(q3);
                        out[l + 96] = d * float(sc[is + 6]) * float(q4);
                    }
                }
            }
            return true;
        default:
            return false;
    }
}

// Decodes with this file's dequantizer where there is one, else the scalar reference kernels.
// `independent` counts the tensors decoded here.
std::vector<float> decode(ggml_type t, const uint8_t* src, uint64_t ne0, uint64_t rows,
                          int& independent) {
    std::vector<float> y(size_t(ne0 * rows));
    if (decode_independently(t, src, ne0 * rows, y.data())) {
        ++independent;
        return y;
    }
    kernel_isa_guard guard;
    EXPECT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
    EXPECT_TRUE(dequantize_rows(t, src, y.data(), int64_t(rows), int64_t(ne0)).ok());
    return y;
}

void expect_relative(double expected, double got, double tol, const std::string& what) {
    EXPECT_LE(std::fabs(got - expected), tol * std::max(std::fabs(expected), 1e-300))
        << what << ": expected " << expected << ", got " << got;
}

std::vector<std::string> reference_run_names() {
#ifdef GGUF_SQUASH_WASM_TEST
    return {"Q8_0", "Q4_K_M+imatrix", "IQ2_XXS+imatrix"};
#else
    return {"Q8_0",   "Q4_0",           "Q4_K_M",          "Q4_K_M+imatrix", "Q6_K",
            "Q3_K_M", "IQ4_XS+imatrix", "IQ2_XXS+imatrix", "BF16",           "Q2_K"};
#endif
}

TEST(QualityMeasure, ReferenceOutputsMatchIndependentFigures) {
    const std::vector<uint8_t>& model = test_support::reference_model_bytes();
    ASSERT_FALSE(model.empty());
    const auto importances =
        test_support::importances_from_file(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
    ASSERT_FALSE(importances.empty());
    int runs = 0, tensors_compared = 0, independent = 0;
    for (const std::string& name : reference_run_names()) {
        const test_support::reference_run* run = nullptr;
        for (const auto& r : test_support::reference_runs())
            if (r.name == name) run = &r;
        ASSERT_NE(run, nullptr) << name;
        SCOPED_TRACE(name);
        result<test_support::prepared_run> prep = test_support::prepare_run(*run);
        ASSERT_TRUE(prep.ok()) << prep.error().message();
        const quantize_options& qo = prep->args.options;

        // The reference output: the pipeline's bytes, equal to llama-quantize's tensor by tensor.
        result<quant_plan> plan = make_quant_plan(test_support::reference_input_header(), qo);
        ASSERT_TRUE(plan.ok()) << plan.error().message();
        quantize_job job(*plan, qo.imatrix);
        std::vector<uint8_t> out;
        status s = run_quantize_job(
            job,
            [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
                if (off >= model.size()) return size_t(0);
                const size_t k = std::min<uint64_t>(n, model.size() - off);
                std::memcpy(buf, model.data() + off, k);
                return k;
            },
            [&](const uint8_t* d, size_t n) -> status {
                out.insert(out.end(), d, d + n);
                return {};
            });
        ASSERT_TRUE(s.ok()) << s.message();
        ASSERT_EQ(out.size(), run->file_size);
        for (const auto& t : run->tensors) {
            ASSERT_EQ(gguf_squash::sha256_hex(out.data() + run->header_size + t.offset, t.nbytes),
                      t.sha256)
                << t.name << " is not the reference's bytes";
        }

        // Our report over every row.
        quality_options o;
        o.ftypes = {run->ftype};
        o.imatrix = qo.imatrix;
        o.imatrix_name = qo.imatrix_file;
        o.rows_per_matrix = 0;
        const quality_report report = test_support::measure_reference(o);
        ASSERT_EQ(report.ftypes.size(), 1u);
        const ftype_quality& f = report.ftypes[0];
        EXPECT_EQ(f.file_size, run->file_size);
        ASSERT_EQ(f.tensors.size(), run->tensors.size());

        const gguf_header& in = test_support::reference_input_header();
        double pooled_sse = 0, pooled_sxx = 0, pooled_n = 0, pooled_w = 0;
        for (size_t k = 0; k < run->tensors.size(); ++k) {
            const auto& ref = run->tensors[k];
            const tensor_quality& tq = f.tensors[k];
            ASSERT_EQ(tq.name, ref.name);
            EXPECT_EQ(std::string(type_info(tq.type).name), ref.type);
            const int64_t si = in.find_tensor(ref.name);
            ASSERT_GE(si, 0);
            const gguf_tensor_info& src = in.tensors[size_t(si)];
            if (src.type == tq.type) {  // left as it is
                EXPECT_FALSE(tq.quantized);
                EXPECT_EQ(tq.error.rows, 0u);
                EXPECT_EQ(tq.error.rmse(), 0.0);
                continue;
            }
            const uint64_t ne0 = src.ne[0], rows = src.ne[1] * src.ne[2] * src.ne[3];
            const std::vector<float> x = decode(
                src.type, model.data() + in.data_offset + src.offset, ne0, rows, independent);
            const std::vector<float> y =
                decode(tq.type, out.data() + run->header_size + ref.offset, ne0, rows, independent);
            const float* w = nullptr;
            if (qo.imatrix) {
                auto it = importances.find(ref.name);
                if (it != importances.end()) w = it->second.data();
            }
            const plain_figures pf = plain_error(x, y, ne0, std::max<uint64_t>(1, src.ne[1]), w);
            SCOPED_TRACE(ref.name);
            EXPECT_EQ(tq.error.rows, rows);
            EXPECT_EQ(tq.error.values, pf.n);
            expect_relative(pf.rmse(), tq.error.rmse(), 1e-9, "rmse");
            expect_relative(pf.rel_rmse(), tq.error.rel_rmse(), 1e-9, "rel_rmse");
            // The same floats on both sides: the same largest difference, exactly.
            EXPECT_EQ(pf.max_abs, tq.error.max_abs);
            expect_relative(pf.weighted_mse, tq.error.weighted_mse(), 1e-9, "weighted_mse");
            EXPECT_GT(pf.sse, 0.0);
            pooled_sse += pf.sse;
            pooled_sxx += pf.sxx;
            pooled_n += double(pf.n);
            pooled_w += double(pf.n) * pf.weighted_mse;
            ++tensors_compared;
        }
        expect_relative(std::sqrt(pooled_sse / pooled_n), f.rmse, 1e-9, "pooled rmse");
        expect_relative(std::sqrt(pooled_sse / pooled_sxx), f.rel_rmse, 1e-9, "pooled rel_rmse");
        expect_relative(pooled_w / pooled_n, f.weighted_mse, 1e-9, "pooled weighted_mse");
        ++runs;
    }
    EXPECT_EQ(runs, int(reference_run_names().size()));
    EXPECT_GT(tensors_compared, 40 * runs);
    EXPECT_GT(independent, tensors_compared);  // every source and most outputs decoded here
}

// Random rows of a 2D and a 3D tensor (three experts with their own importances) in one
// in-memory "file"; each sampled row quantized alone and decoded by the scalar kernels.
struct random_file {
    std::vector<uint8_t> bytes;
    std::vector<measure_request> requests;
    std::vector<std::vector<float>> weights;  // per request: ne0 * ne2, or empty
};

random_file make_random_file(const std::vector<ggml_type>& types, bool with_importance) {
    random_file f;
    std::mt19937 rng(1234);
    std::normal_distribution<float> gauss(0.0f, 0.02f);
    std::uniform_real_distribution<float> positive(0.01f, 3.0f);
    const uint64_t shapes[2][3] = {{512, 21, 1}, {256, 37, 3}};
    f.weights.resize(2);
    for (int k = 0; k < 2; ++k) {
        measure_request r;
        r.name = "random." + std::to_string(k);
        r.source_type = ggml_type::f32;
        r.ne[0] = shapes[k][0];
        r.ne[1] = shapes[k][1];
        r.ne[2] = shapes[k][2];
        r.offset = f.bytes.size() + 7;  // not aligned on purpose
        f.bytes.resize(size_t(r.offset));
        const uint64_t n = r.ne[0] * r.ne[1] * r.ne[2];
        for (uint64_t i = 0; i < n; ++i) {
            float v = gauss(rng) * (1.0f + float(i % 97 == 0) * 20.0f);  // rare outliers
            const uint8_t* p = reinterpret_cast<const uint8_t*>(&v);
            f.bytes.insert(f.bytes.end(), p, p + 4);
        }
        if (with_importance) {
            f.weights[size_t(k)].resize(size_t(r.ne[0] * r.ne[2]));
            for (float& w : f.weights[size_t(k)]) w = positive(rng);
        }
        r.types = types;
        f.requests.push_back(r);
    }
    for (size_t k = 0; k < 2; ++k)
        f.requests[k].importance = f.weights[k].empty() ? nullptr : f.weights[k].data();
    return f;
}

void check_random(uint64_t rows_per_matrix, bool with_importance) {
    const std::vector<ggml_type> types = {ggml_type::q4_0, ggml_type::q8_0,   ggml_type::q4_k,
                                          ggml_type::q6_k, ggml_type::iq4_nl, ggml_type::bf16};
    random_file f = make_random_file(types, with_importance);
    measure_options mo;
    mo.rows_per_matrix = rows_per_matrix;
    measure_job job(f.requests, mo);
    ASSERT_TRUE(run_measure_job(job, test_support::memory_reader(f.bytes)).ok());
    int compared = 0;
    for (size_t k = 0; k < f.requests.size(); ++k) {
        const measure_request& r = f.requests[k];
        const std::vector<uint64_t> rows = evenly_spaced_rows(r.ne[1], rows_per_matrix);
        for (size_t ti = 0; ti < types.size(); ++ti) {
            std::vector<float> x, y;
            std::vector<float> w;
            for (uint64_t m = 0; m < r.ne[2]; ++m) {
                for (uint64_t row : rows) {
                    const float* src = reinterpret_cast<const float*>(
                        f.bytes.data() + r.offset + ((m * r.ne[1] + row) * r.ne[0]) * 4);
                    std::vector<float> xs(size_t(r.ne[0]));
                    std::memcpy(xs.data(), src, xs.size() * 4);
                    const float* im = r.importance ? r.importance + m * r.ne[0] : nullptr;
                    std::vector<uint8_t> q(size_t(row_size(types[ti], r.ne[0])));
                    ASSERT_TRUE(
                        quantize_rows(types[ti], xs.data(), q.data(), 1, int64_t(r.ne[0]), im)
                            .ok());
                    std::vector<float> ys(xs.size());
                    {
                        kernel_isa_guard guard;
                        ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
                        ASSERT_TRUE(
                            dequantize_rows(types[ti], q.data(), ys.data(), 1, int64_t(r.ne[0]))
                                .ok());
                    }
                    x.insert(x.end(), xs.begin(), xs.end());
                    y.insert(y.end(), ys.begin(), ys.end());
                    if (im) w.insert(w.end(), im, im + r.ne[0]);
                }
            }
            // Weights laid out one row each, so that plain_error's "matrix" is the row.
            const plain_figures pf = plain_error(x, y, r.ne[0], 1, w.empty() ? nullptr : w.data());
            const error_sums& e = job.results()[k][ti];
            SCOPED_TRACE(r.name + " " + type_info(types[ti]).ggml_name);
            EXPECT_EQ(e.rows, rows.size() * r.ne[2]);
            EXPECT_EQ(e.values, pf.n);
            expect_relative(pf.sse, e.sse, 1e-12, "sse");
            expect_relative(pf.sxx, e.sxx, 1e-12, "sxx");
            EXPECT_EQ(pf.max_abs, e.max_abs);
            expect_relative(pf.weighted_mse, e.weighted_mse(), 1e-12, "weighted_mse");
            if (!with_importance) expect_relative(e.mse(), e.weighted_mse(), 1e-12, "w=1");
            EXPECT_GT(pf.sse, 0.0);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 2 * int(types.size()));
}

TEST(QualityMeasure, SampledRandomRowsMatchPlainSums) {
    check_random(5, false);
}
TEST(QualityMeasure, AllRandomRowsMatchPlainSums) {
    check_random(0, false);
}
TEST(QualityMeasure, ExpertImportancesWeightEachRowByItsOwnExpert) {
    check_random(6, true);
    // The weighting matters: the same rows with other importances give another figure.
    const std::vector<ggml_type> types = {ggml_type::q4_k};
    random_file a = make_random_file(types, true);
    random_file b = make_random_file(types, true);
    std::reverse(b.weights[1].begin(), b.weights[1].end());
    b.requests[1].importance = b.weights[1].data();
    measure_job ja(a.requests), jb(b.requests);
    ASSERT_TRUE(run_measure_job(ja, test_support::memory_reader(a.bytes)).ok());
    ASSERT_TRUE(run_measure_job(jb, test_support::memory_reader(b.bytes)).ok());
    EXPECT_NE(ja.results()[1][0].weighted, jb.results()[1][0].weighted);
    EXPECT_EQ(ja.results()[0][0].weighted, jb.results()[0][0].weighted);
}

TEST(QualityMeasure, ChunkedReadsGiveTheSameBits) {
    const std::vector<ggml_type> types = {ggml_type::q4_k, ggml_type::q8_0};
    random_file f = make_random_file(types, true);
    measure_options small;
    small.rows_per_matrix = 0;
    small.max_buffer_bytes = 3000;  // one row per slab
    measure_options big;
    big.rows_per_matrix = 0;
    measure_job a(f.requests, small), b(f.requests, big);
    ASSERT_TRUE(run_measure_job(a, test_support::memory_reader(f.bytes), nullptr, 13).ok());
    ASSERT_TRUE(run_measure_job(b, test_support::memory_reader(f.bytes)).ok());
    for (size_t k = 0; k < f.requests.size(); ++k) {
        for (size_t t = 0; t < types.size(); ++t) {
            const error_sums &x = a.results()[k][t], &y = b.results()[k][t];
            EXPECT_EQ(x.sse, y.sse);
            EXPECT_EQ(x.sxx, y.sxx);
            EXPECT_EQ(x.weighted, y.weighted);
            EXPECT_EQ(x.max_abs, y.max_abs);
            EXPECT_EQ(x.rows, y.rows);
            EXPECT_GT(x.rows, 0u);
        }
    }
}

TEST(QualityMeasure, ShortInputAndBadRequestsAreErrors) {
    random_file f = make_random_file({ggml_type::q4_0}, false);
    std::vector<uint8_t> cut(f.bytes.begin(), f.bytes.end() - 100);
    measure_job job(f.requests);
    const status s = run_measure_job(job, test_support::memory_reader(cut));
    EXPECT_EQ(s.code(), status_code::invalid_file);
    EXPECT_NE(s.message().find("random.1"), std::string::npos) << s.message();

    std::vector<measure_request> bad = f.requests;
    bad[0].types = {ggml_type::q4_k};
    bad[0].ne[0] = 96;  // not a multiple of 256
    measure_job refused(bad);
    EXPECT_EQ(refused.error().code(), status_code::invalid_argument);
    EXPECT_NE(refused.error().message().find("q4_K"), std::string::npos);

    std::vector<measure_request> no_im = f.requests;
    no_im[0].types = {ggml_type::iq2_xxs};
    measure_job needs(no_im);
    EXPECT_EQ(needs.error().code(), status_code::refused);

    std::vector<uint8_t> nan_bytes = f.bytes;
    const float nan = NAN;
    std::memcpy(nan_bytes.data() + f.requests[1].offset + 4 * (256 * 40 + 3), &nan, 4);
    measure_options all;
    all.rows_per_matrix = 0;
    measure_job with_nan(f.requests, all);
    const status sn = run_measure_job(with_nan, test_support::memory_reader(nan_bytes));
    EXPECT_EQ(sn.code(), status_code::invalid_file);
    EXPECT_NE(sn.message().find("row 3 of matrix 1, column 3"), std::string::npos) << sn.message();
}

TEST(QualityMeasure, EvenlySpacedRowsIncludeFirstAndLast) {
    EXPECT_EQ(evenly_spaced_rows(10, 3), (std::vector<uint64_t>{0, 4, 9}));
    EXPECT_EQ(evenly_spaced_rows(10, 1), (std::vector<uint64_t>{0}));
    EXPECT_EQ(evenly_spaced_rows(2, 2), (std::vector<uint64_t>{0, 1}));
    EXPECT_EQ(evenly_spaced_rows(5, 0).size(), 5u);
    EXPECT_EQ(evenly_spaced_rows(5, 9).size(), 5u);
    EXPECT_TRUE(evenly_spaced_rows(0, 4).empty());
    for (uint64_t rows : {17ull, 1000ull, 128256ull, (1ull << 40) + 3}) {
        for (uint64_t n : {2ull, 3ull, 16ull, 999ull}) {
            if (n >= rows) continue;
            const std::vector<uint64_t> v = evenly_spaced_rows(rows, n);
            ASSERT_EQ(v.size(), n);
            EXPECT_EQ(v.front(), 0u);
            EXPECT_EQ(v.back(), rows - 1);
            for (size_t i = 1; i < v.size(); ++i) {
                EXPECT_LT(v[i - 1], v[i]);
                // Evenly spaced: gaps differ by at most one.
                const uint64_t step = (rows - 1) / (n - 1);
                EXPECT_GE(v[i] - v[i - 1], step);
                EXPECT_LE(v[i] - v[i - 1], step + 1);
            }
        }
    }
}

TEST(QualityReport, RowsOptionMeasuresThatManyRowsPerMatrix) {
    quality_options o;
    o.ftypes = {"Q4_K_M"};
    o.rows_per_matrix = 16;
    const quality_report r = test_support::measure_reference(o);
    ASSERT_EQ(r.ftypes.size(), 1u);
    int checked = 0;
    for (const tensor_quality& t : r.ftypes[0].tensors) {
        if (!t.quantized) continue;
        const int64_t i = test_support::reference_input_header().find_tensor(t.name);
        ASSERT_GE(i, 0);
        const auto& info = test_support::reference_input_header().tensors[size_t(i)];
        EXPECT_EQ(t.error.rows, std::min<uint64_t>(16, info.ne[1]) * info.ne[2]) << t.name;
        EXPECT_EQ(t.error.values, t.error.rows * info.ne[0]);
        ++checked;
    }
    EXPECT_GT(checked, 50);
    // The same rows every time.
    const quality_report again = test_support::measure_reference(o);
    EXPECT_EQ(again.ftypes[0].rmse, r.ftypes[0].rmse);
}

TEST(QualityReport, JsonHasTheContractShape) {
    const auto importances =
        test_support::importances_from_file(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
    for (const bool with_imatrix : {false, true}) {
        SCOPED_TRACE(with_imatrix ? "imatrix" : "no imatrix");
        std::vector<uint8_t> im_bytes =
            test_support::read_all(test_support::models_dir() + "/llama-gqa.imatrix.gguf");
        result<imatrix_data> im = parse_imatrix(im_bytes.data(), im_bytes.size());
        ASSERT_TRUE(im.ok());
        quality_options o;
        o.ftypes = {"Q4_K_M", "IQ2_XXS", "Q8_0", "F16"};
        o.rows_per_matrix = with_imatrix ? 0 : 4;
        if (with_imatrix) {
            o.imatrix = &*im;
            o.imatrix_name = "llama-gqa.imatrix.gguf";
        }
        const quality_report report = test_support::measure_reference(o);
        const nlohmann::json j = nlohmann::json::parse(quality_to_json(report));
        ASSERT_TRUE(j.at("ftypes").is_array());
        std::vector<std::string> names;
        for (const auto& f : j.at("ftypes")) names.push_back(f.at("name"));
        if (with_imatrix) {
            EXPECT_EQ(names, (std::vector<std::string>{"Q4_K_M", "IQ2_XXS", "Q8_0", "F16"}));
        } else {  // IQ2_XXS cannot be made without an imatrix
            EXPECT_EQ(names, (std::vector<std::string>{"Q4_K_M", "Q8_0", "F16"}));
            ASSERT_EQ(j.at("skipped").size(), 1u);
            EXPECT_EQ(j.at("skipped")[0].at("name"), "IQ2_XXS");
            EXPECT_NE(j.at("skipped")[0].at("reason").get<std::string>().find("importance"),
                      std::string::npos);
        }
        for (const auto& f : j.at("ftypes")) {
            std::set<std::string> keys;
            for (auto it = f.begin(); it != f.end(); ++it) keys.insert(it.key());
            std::set<std::string> want = {"name",     "file_size", "rmse",
                                          "rel_rmse", "rows",      "tensors"};
            if (with_imatrix) want.insert("weighted_mse");
            EXPECT_EQ(keys, want);
            EXPECT_TRUE(f.at("file_size").is_number_unsigned());
            if (with_imatrix) {
                EXPECT_EQ(f.at("rows"), "all");
            } else {
                EXPECT_EQ(f.at("rows"), 4);
            }
            ASSERT_EQ(f.at("tensors").size(), 75u);
            for (const auto& t : f.at("tensors")) {
                std::set<std::string> tk;
                for (auto it = t.begin(); it != t.end(); ++it) tk.insert(it.key());
                std::set<std::string> twant = {"name", "type",     "n_elements", "rows_measured",
                                               "rmse", "rel_rmse", "max_abs"};
                if (with_imatrix) twant.insert("weighted_mse");
                EXPECT_EQ(tk, twant) << t.dump();
                const std::string name = t.at("name");
                if (name.find("norm") != std::string::npos) {  // left as F32
                    EXPECT_EQ(t.at("type"), "f32");
                    EXPECT_EQ(t.at("rows_measured"), 0);
                    EXPECT_EQ(t.at("rmse"), 0);
                }
                // No imatrix entry: the weights are 1, so weighted_mse is the mse.
                if (with_imatrix && !importances.count(name) && t.at("rows_measured") != 0) {
                    const double rmse = t.at("rmse");
                    EXPECT_NEAR(t.at("weighted_mse").get<double>(), rmse * rmse, 1e-9 * rmse * rmse)
                        << name;
                }
            }
        }
        // The plan's exact sizes: Q4_K_M as llama-quantize wrote it.
        for (const auto& run : test_support::reference_runs()) {
            if (run.name == (with_imatrix ? "Q4_K_M+imatrix" : "Q4_K_M")) {
                EXPECT_EQ(j.at("ftypes")[0].at("file_size"), run.file_size);
            }
        }
        // F16 from F16: nothing changes, so no error and no rows.
        const auto& f16 = j.at("ftypes").back();
        EXPECT_EQ(f16.at("rmse"), 0);
    }
}

TEST(QualityReport, TypeListsAndRowsParse) {
    result<std::vector<std::string>> all = parse_quality_ftypes("all");
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 35u);
    EXPECT_EQ(std::count(all->begin(), all->end(), "COPY"), 0);
    result<std::vector<std::string>> some = parse_quality_ftypes("q4_k_m,Q8_0,Q4_K");
    ASSERT_TRUE(some.ok());
    EXPECT_EQ(*some, (std::vector<std::string>{"Q4_K_M", "Q8_0"}));
    EXPECT_FALSE(parse_quality_ftypes("Q4_K_M,,Q8_0").ok());
    EXPECT_FALSE(parse_quality_ftypes("Q9_K").ok());
    EXPECT_FALSE(parse_quality_ftypes("COPY").ok());
    EXPECT_EQ(*parse_quality_rows("all"), 0u);
    EXPECT_EQ(*parse_quality_rows("16"), 16u);
    EXPECT_FALSE(parse_quality_rows("0").ok());
    EXPECT_FALSE(parse_quality_rows("-3").ok());
    EXPECT_FALSE(parse_quality_rows("4x").ok());
}

}  // namespace
}  // namespace gguf_squash
