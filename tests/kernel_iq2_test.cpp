// IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M beyond the golden comparison: the result for a row does
// not depend on the chunk it is quantized in (the pipeline and the web workers split tensors by
// rows), hostile inputs never crash the searches (ggml would abort on some of them), and the
// dequantizer decodes every golden tensor to the grid's values; the SIMD searches give the scalar
// reference's bytes on edge rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "golden_file.h"
#include "kernel_isa_harness.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

using test_support::golden_file;
using test_support::golden_tensor;

const ggml_type kTypes[] = {ggml_type::iq2_xxs, ggml_type::iq2_xs, ggml_type::iq2_s,
                            ggml_type::iq1_s, ggml_type::iq1_m};

// Every golden IQ2/IQ1 tensor, quantized one row at a time, equals what ggml wrote for the whole
// tensor.
TEST(KernelIq2, row_by_row_matches_golden) {
    const golden_file& g = golden_file::get();
    ASSERT_EQ(g.error(), "");
    int checked = 0;
    for (const golden_tensor& want : g.tensors()) {
        const std::string& n = want.info.name;
        const bool im = n.rfind("expected_im.", 0) == 0;
        if (!im && n.rfind("expected.", 0) != 0) continue;
        const ggml_type type = want.info.type;
        if (std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) continue;
        const std::string c = n.substr(im ? 12 : 9, n.find('.', im ? 12 : 9) - (im ? 12 : 9));
        const golden_tensor* input = g.find("input." + c);
        const golden_tensor* imatrix = im ? g.find("imatrix." + c) : nullptr;
        ASSERT_TRUE(input && (!im || imatrix)) << n;
        const int64_t n_per_row = int64_t(input->info.ne[0]);
        const int64_t nrows = int64_t(input->info.n_rows());
        const size_t row_bytes = row_size(type, uint64_t(n_per_row));
        std::vector<uint8_t> got(want.bytes.size());
        const float* x = reinterpret_cast<const float*>(input->bytes.data());
        for (int64_t r = 0; r < nrows; ++r) {
            ASSERT_TRUE(
                quantize_rows(
                    type, x + r * n_per_row, got.data() + size_t(r) * row_bytes, 1, n_per_row,
                    imatrix ? reinterpret_cast<const float*>(imatrix->bytes.data()) : nullptr)
                    .ok());
        }
        EXPECT_EQ(got, want.bytes) << n;
        ++checked;
    }
    EXPECT_EQ(checked, 70);  // 11 cases minus `narrow` (96 columns), 7 tensors each
}

// Dequantized golden values are grid values: IQ2 types give db * {8, 25, 43} with signs, IQ1
// types dl * (l - 1 + delta) with l in {0, 1, 2}, one db/dl and delta per group of 8. So each
// group's magnitudes take at most 3 distinct values; a wrong scale bit position or grid offset
// would mix scales within a group.
TEST(KernelIq2, dequantized_groups_use_three_levels) {
    const golden_file& g = golden_file::get();
    ASSERT_EQ(g.error(), "");
    for (ggml_type type : kTypes) {
        const std::string name =
            (quantize_requires_imatrix(type) ? "expected_im.gauss." : "expected.gauss.") +
            std::string(type_info(type).ggml_name);
        const golden_tensor* t = g.find(name);
        ASSERT_TRUE(t) << name;
        const int64_t n_per_row = int64_t(t->info.ne[0]);
        const int64_t nrows = int64_t(t->info.n_rows());
        std::vector<float> y(size_t(n_per_row * nrows));
        ASSERT_TRUE(dequantize_rows(type, t->bytes.data(), y.data(), nrows, n_per_row).ok());
        for (size_t i0 = 0; i0 < y.size(); i0 += 8) {
            std::set<float> mags;
            for (size_t i = i0; i < i0 + 8; ++i) {
                ASSERT_TRUE(std::isfinite(y[i])) << name << " element " << i;
                mags.insert(std::fabs(y[i]));
            }
            ASSERT_LE(mags.size(), 3u) << name << " group " << i0 / 8;
        }
    }
}

// NaN, infinities, values past fp16 range, subnormals, zero importance: must not crash or hang,
// and the output must decode to something for finite inputs that stay in fp16 range.
TEST(KernelIq2, hostile_inputs_do_not_crash) {
    const int64_t n = 512;
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<std::vector<float>> rows;
    std::vector<float> r(n);
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = (i % 3 == 0) ? nan : float(i % 7) - 3;
    rows.push_back(r);
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = (i % 5 == 0) ? inf : -float(i % 11);
    rows.push_back(r);
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = (i % 2 ? 1e38f : -3e38f);
    rows.push_back(r);
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = float(i % 9) * 1e-42f;
    rows.push_back(r);
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = 0.f;
    rows.push_back(r);
    for (int64_t i = 0; i < n; ++i) r[size_t(i)] = std::sin(float(i)) * 100.f;
    rows.push_back(r);

    std::vector<float> zero_im(n, 0.f), mixed_im(n), nan_im(n, nan);
    for (int64_t i = 0; i < n; ++i) mixed_im[size_t(i)] = i % 4 ? 0.f : 1.f + float(i);
    const std::vector<float>* imatrices[] = {nullptr, &zero_im, &mixed_im, &nan_im};

    for (ggml_type type : kTypes) {
        std::vector<uint8_t> q(row_size(type, n));
        std::vector<float> back(n);
        for (const std::vector<float>& row : rows) {
            for (const std::vector<float>* im : imatrices) {
                const status s =
                    quantize_rows(type, row.data(), q.data(), 1, n, im ? im->data() : nullptr);
                if (!im && quantize_requires_imatrix(type)) {
                    EXPECT_EQ(s.code(), status_code::refused) << type_name(type);
                    continue;
                }
                ASSERT_TRUE(s.ok()) << type_name(type) << ": " << s.message();
                ASSERT_TRUE(dequantize_rows(type, q.data(), back.data(), 1, n).ok());
            }
        }
    }
    // The last row is ordinary data: with a usable imatrix it must round-trip roughly.
    for (ggml_type type : kTypes) {
        std::vector<uint8_t> q(row_size(type, n));
        std::vector<float> back(n);
        ASSERT_TRUE(quantize_rows(type, rows.back().data(), q.data(), 1, n, mixed_im.data()).ok());
        ASSERT_TRUE(dequantize_rows(type, q.data(), back.data(), 1, n).ok());
        double err = 0, energy = 0;
        for (int64_t i = 0; i < n; ++i) {
            err += double(back[size_t(i)] - rows.back()[size_t(i)]) *
                   (back[size_t(i)] - rows.back()[size_t(i)]);
            energy += double(rows.back()[size_t(i)]) * rows.back()[size_t(i)];
        }
        EXPECT_LT(std::sqrt(err / energy), 1.0) << type_name(type);
    }
}

// The SIMD IQ2/IQ1 searches against the scalar reference: rows built to hit ties between
// candidates (equal magnitudes, few distinct values), all-zero and tiny groups, huge values,
// NaN and infinities, and importance weights that are zero, mixed or NaN.
class KernelIq2Simd : public every_simd_isa {};

TEST_P(KernelIq2Simd, matches_scalar_on_edge_rows) {
    const kernel_isa isa = GetParam();
    const int64_t n = 512;
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::mt19937 rng(5);
    std::normal_distribution<float> gauss(0.f, 1.f);
    std::vector<float> x;
    auto row = [&](auto value_of) {
        for (int64_t i = 0; i < n; ++i) x.push_back(value_of(i));
    };
    row([](int64_t i) { return (i % 3 == 0) ? std::numeric_limits<float>::quiet_NaN() : 1.f; });
    row([&](int64_t i) { return (i % 5 == 0) ? inf : -float(i % 11); });
    row([](int64_t i) { return (i % 2 ? 1e38f : -3e38f); });
    row([](int64_t i) { return float(i % 9) * 1e-42f; });
    row([](int64_t) { return 0.f; });
    row([](int64_t) { return 1.f; });                                 // ties everywhere
    row([](int64_t i) { return 0.1f * float(1 + (i * 7) % 3); });     // three magnitudes
    row([](int64_t i) { return float(i % 4) - 1.5f; });               // +-0.5, +-1.5
    row([&](int64_t i) { return (i / 32) % 2 ? 0.f : gauss(rng); });  // zero groups
    row([&](int64_t i) { return i < 64 ? 1e-9f : gauss(rng); });
    row([&](int64_t i) { return i == 77 ? nan : gauss(rng); });
    for (int k = 0; k < 6; ++k) row([&](int64_t) { return gauss(rng) * (k % 2 ? 0.02f : 1.f); });
    const int64_t nrows = int64_t(x.size()) / n;

    std::vector<float> ones(n, 1.f), zero_im(n, 0.f), mixed_im(n), nan_im(n, 1.f);
    for (int64_t i = 0; i < n; ++i) mixed_im[size_t(i)] = i % 4 ? 0.f : 1.f + float(i % 13);
    nan_im[7] = nan;
    size_t compared = 0;
    for (ggml_type type : kTypes) {
        const size_t bytes = size_t(row_size(type, uint64_t(n)) * uint64_t(nrows));
        const std::vector<float>* imatrices[] = {&ones, &zero_im, &mixed_im, &nan_im, nullptr};
        for (const std::vector<float>* im : imatrices) {
            if (!im && quantize_requires_imatrix(type)) continue;
            const float* qw = im ? im->data() : nullptr;
            ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
            std::vector<uint8_t> want(bytes);
            ASSERT_TRUE(quantize_rows(type, x.data(), want.data(), nrows, n, qw).ok());
            ASSERT_TRUE(set_kernel_isa(isa).ok());
            std::vector<uint8_t> got(bytes, 0xEE);
            ASSERT_TRUE(quantize_rows(type, x.data(), got.data(), nrows, n, qw).ok());
            for (int64_t r = 0; r < nrows; ++r) {
                const size_t rb = bytes / size_t(nrows);
                EXPECT_TRUE(std::equal(got.begin() + r * rb, got.begin() + (r + 1) * rb,
                                       want.begin() + r * rb))
                    << type_name(type) << " on " << kernel_isa_name(isa) << ", row " << r
                    << ", imatrix "
                    << (im == &ones       ? "ones"
                        : im == &zero_im  ? "zero"
                        : im == &mixed_im ? "mixed"
                        : im == &nan_im   ? "nan"
                                          : "none");
            }
            ++compared;
        }
    }
    std::printf("[KernelIq2Simd] %zu IQ2/IQ1 %s outputs compared against scalar\n", compared,
                kernel_isa_name(isa));
    EXPECT_EQ(compared, 5u * 4 + 2);  // IQ2_S and IQ1_M also run without importance weights
}

// Many random blocks (Gaussian, heavy-tailed, few distinct values, scaled by a random factor),
// with random importance weights (and without, where the type allows it), against the scalar
// reference. IQ2: the trial scales are searched several at a time (one per lane) and the
// sequential choice replayed; make_qp_quants' trials likewise; these rows make that choice and
// its ties vary. IQ1_S / IQ1_M: the split search skips a vector of splits only when none of its
// lanes beats the running best, and replays it in order otherwise; these rows exercise both.
TEST_P(KernelIq2Simd, random_rows_match_scalar) {
    const int64_t n = 1024, nrows = 48;
    const varied_rows rows = make_varied_rows(n, nrows, 17, 5);
    size_t compared = 0;
    for (ggml_type type : kTypes) {
        for (const float* qw : {rows.importance.data(), static_cast<const float*>(nullptr)}) {
            if (!qw && quantize_requires_imatrix(type)) continue;  // all but IQ2_S and IQ1_M
            expect_isa_matches_scalar(GetParam(), type, rows.x.data(), nrows, n, qw);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 7u);  // every type with importance weights, IQ2_S and IQ1_M without
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelIq2Simd);

}  // namespace
}  // namespace gguf_squash
