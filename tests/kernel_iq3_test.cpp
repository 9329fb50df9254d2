// IQ3_XXS / IQ3_S specifics the golden file does not isolate: the derived grid and neighbour
// tables, dequantization of hand-built blocks, and SIMD == scalar on edge-case rows (ties in the
// neighbour search, skipped all-zero groups, zero importance).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernel_isa_harness.h"
#include "quant/quant_common.h"
#include "quant/quantize.h"
#include "quant/ref/iq3_grids.h"

namespace gguf_squash {
namespace {

int level_of_point(int u, int i) {
    return (u >> (3 * i)) & 7;
}

// 12-bit point of a search-grid entry (bytes 2l+1).
int point_of_grid_entry(uint32_t entry) {
    int u = 0;
    for (int i = 0; i < 4; ++i) u |= ((int((entry >> (8 * i)) & 0xff) - 1) / 2) << (3 * i);
    return u;
}

// Sum of (index + 1) * entry over a table, mod 2^64: a fingerprint of ggml's iq3xxs_grid and
// iq3s_grid, computed from ggml-common.h.
uint64_t fingerprint(const uint32_t* grid, int n) {
    uint64_t sum = 0;
    for (int i = 0; i < n; ++i) sum += uint64_t(i + 1) * grid[i];
    return sum;
}

TEST(KernelIq3, dequantization_grids_equal_ggml_tables) {
    EXPECT_EQ(fingerprint(kIq3XxsGrid.data(), 256), 0x11be6d9a520eull);
    EXPECT_EQ(fingerprint(kIq3SGrid.data(), 512), 0x114b10ed9fb0ull);
    EXPECT_EQ(kIq3XxsGrid[0], 0x04040404u);
    EXPECT_EQ(kIq3XxsGrid[1], 0x04040414u);
    EXPECT_EQ(kIq3XxsGrid[100], 0x14040c1cu);
    EXPECT_EQ(kIq3XxsGrid[255], 0x3e341c04u);
    EXPECT_EQ(kIq3SGrid[0], 0x01010101u);
    EXPECT_EQ(kIq3SGrid[1], 0x01010103u);
    EXPECT_EQ(kIq3SGrid[300], 0x07030503u);
    EXPECT_EQ(kIq3SGrid[511], 0x0f0f0101u);
}

// The neighbour lists, checked against a brute-force restatement of ggml's rule: all grid points
// at the `levels` smallest distinct squared distances, ordered by (distance, index).
void check_tables(const iq3_search_tables& t, int levels) {
    std::vector<int> on_grid(4096, -1);
    for (int k = 0; k < t.grid_size; ++k) {
        const int u = point_of_grid_entry(t.grid[k]);
        ASSERT_EQ(on_grid[u], -1) << "duplicate grid point " << u;
        on_grid[u] = k;
    }
    size_t total = 0;
    for (int u = 0; u < 4096; ++u) {
        if (on_grid[u] >= 0) {
            ASSERT_EQ(t.map[u], on_grid[u]);
            continue;
        }
        ASSERT_LT(t.map[u], 0) << u;
        const int list = -t.map[u] - 1;
        const int count = t.neighbours[list];
        ASSERT_GT(count, 0) << u;
        std::vector<std::pair<int, int>> want;
        for (int k = 0; k < t.grid_size; ++k) {
            int d2 = 0;
            const int g = point_of_grid_entry(t.grid[k]);
            for (int i = 0; i < 4; ++i) {
                const int diff = 2 * (level_of_point(g, i) - level_of_point(u, i));
                d2 += diff * diff;
            }
            want.push_back({d2, k});
        }
        std::sort(want.begin(), want.end());
        std::vector<int> distinct;
        for (const auto& [d2, k] : want) {
            if (distinct.empty() || distinct.back() != d2) distinct.push_back(d2);
        }
        const int cutoff = distinct[size_t(std::min<int>(levels, int(distinct.size())) - 1)];
        int expected_count = 0;
        for (const auto& [d2, k] : want) {
            if (d2 > cutoff) break;
            ASSERT_EQ(t.neighbours[list + 1 + expected_count], k) << "point " << u;
            ASSERT_EQ(t.neighbour_points[list + 1 + expected_count], t.grid[k]);
            ++expected_count;
        }
        ASSERT_EQ(count, expected_count) << "point " << u;
        total += size_t(count);
    }
    EXPECT_GT(total, 0u);
}

TEST(KernelIq3, neighbour_tables_follow_ggml_rule) {
    check_tables(iq3_xxs_search_tables(), 2);
    check_tables(iq3_s_search_tables(), 3);
}

// Dequantization of hand-built blocks, from the block layouts in ggml-common.h.
TEST(KernelIq3, dequantize_iq3_xxs_block_layout) {
    std::vector<uint8_t> block(98, 0);
    const uint16_t one = fp32_to_fp16(1.f);
    std::memcpy(block.data(), &one, 2);
    block[2 + 1] = 255;  // group 0, second 4-tuple: grid entry 255 = bytes 04 1c 34 3e
    // Group 0: scale nibble 3, first 7-bit sign mask 0b0000011 (elements 0 and 1 negative; even
    // count, so the implied 8th sign is +).
    const uint32_t word = (3u << 28) | 0x3u;
    std::memcpy(block.data() + 66, &word, 4);
    std::vector<float> y(256);
    ASSERT_TRUE(dequantize_rows(ggml_type::iq3_xxs, block.data(), y.data(), 1, 256).ok());
    const float db = 1.f * (0.5f + 3) * 0.5f;
    EXPECT_EQ(y[0], -db * 4);
    EXPECT_EQ(y[1], -db * 4);
    EXPECT_EQ(y[2], db * 4);
    EXPECT_EQ(y[4], db * 4);
    EXPECT_EQ(y[5], db * 28);
    EXPECT_EQ(y[6], db * 52);
    EXPECT_EQ(y[7], db * 62);
    // Group 1 has scale nibble 0: db = 0.25, entry 0 is all 4s.
    EXPECT_EQ(y[32], 1.f);
}

TEST(KernelIq3, dequantize_iq3_s_block_layout) {
    std::vector<uint8_t> block(110, 0);
    const uint16_t half = fp32_to_fp16(0.5f);
    std::memcpy(block.data(), &half, 2);
    block[2 + 0] = 255;           // qs[0], with the 9th bit below: index 511 = 01 01 0f 0f
    block[66 + 0] = 1;            // qh[0] bit 0
    block[74 + 0] = 0x81;         // signs[0]: elements 0 and 7 negative
    block[106 + 0] = 0x2 | 0x50;  // scales: group 0 nibble 2, group 1 nibble 5
    std::vector<float> y(256);
    ASSERT_TRUE(dequantize_rows(ggml_type::iq3_s, block.data(), y.data(), 1, 256).ok());
    const float db0 = 0.5f * (1 + 2 * 2);
    EXPECT_EQ(y[0], -db0 * 1);
    EXPECT_EQ(y[1], db0 * 1);
    EXPECT_EQ(y[2], db0 * 15);
    EXPECT_EQ(y[3], db0 * 15);
    EXPECT_EQ(y[4], db0 * 1);  // qs[1] = 0: entry 0 is all 1s
    EXPECT_EQ(y[7], -db0 * 1);
    EXPECT_EQ(y[32], 0.5f * (1 + 2 * 5));
}

// Rows that stress the exact-replay corners of the search.
std::vector<float> edge_rows(int64_t n_per_row, int64_t& nrows) {
    std::mt19937 rng(99);
    std::normal_distribution<float> gauss(0.f, 1.f);
    std::vector<std::vector<float>> rows;
    std::vector<float> r(static_cast<size_t>(n_per_row));
    for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = (i / 32) % 2 ? 0.f : gauss(rng);
    rows.push_back(r);  // every other group all zero (IQ3_S shifts the following groups)
    rows.push_back(std::vector<float>(size_t(n_per_row), 1.f));  // all equal: ties everywhere
    r.assign(size_t(n_per_row), -1.f);
    r[3] = 2.f;
    rows.push_back(r);
    r.assign(size_t(n_per_row), 0.f);
    r[77] = 5.f;
    rows.push_back(r);  // one spike
    for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = i < 64 ? 1e-9f : gauss(rng);
    rows.push_back(r);  // groups below IQ3_XXS's epsilon
    for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = -1.f + 2.f * float(i) / float(n_per_row);
    rows.push_back(r);  // ramp
    for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = 0.1f * float(1 + (i * 7) % 3);
    rows.push_back(r);  // three distinct magnitudes: grid ties
    for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = gauss(rng) * 1e-30f;
    rows.push_back(r);
    for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = gauss(rng) * 3e4f;
    rows.push_back(r);
    for (int k = 0; k < 8; ++k) {
        for (int64_t i = 0; i < n_per_row; ++i) r[size_t(i)] = gauss(rng) * (k % 2 ? 0.02f : 1.f);
        rows.push_back(r);
    }
    nrows = int64_t(rows.size());
    std::vector<float> out;
    for (const auto& row : rows) out.insert(out.end(), row.begin(), row.end());
    return out;
}

class KernelIq3Simd : public every_simd_isa {};

TEST_P(KernelIq3Simd, matches_scalar_on_edge_rows) {
    const kernel_isa isa = GetParam();
    const int64_t n_per_row = 512;
    int64_t nrows = 0;
    const std::vector<float> x = edge_rows(n_per_row, nrows);
    std::vector<float> imatrix(static_cast<size_t>(n_per_row));
    for (int64_t i = 0; i < n_per_row; ++i)
        imatrix[size_t(i)] = i % 5 == 0 ? 0.f : 0.1f + float(i % 13);
    size_t compared = 0;
    for (ggml_type type : {ggml_type::iq3_xxs, ggml_type::iq3_s}) {
        const size_t bytes = size_t(row_size(type, uint64_t(n_per_row)) * uint64_t(nrows));
        for (const float* qw :
             {static_cast<const float*>(nullptr), static_cast<const float*>(imatrix.data())}) {
            ASSERT_TRUE(set_kernel_isa(kernel_isa::scalar).ok());
            std::vector<uint8_t> want(bytes);
            ASSERT_TRUE(quantize_rows(type, x.data(), want.data(), nrows, n_per_row, qw).ok());
            ASSERT_TRUE(set_kernel_isa(isa).ok());
            std::vector<uint8_t> got(bytes);
            ASSERT_TRUE(quantize_rows(type, x.data(), got.data(), nrows, n_per_row, qw).ok());
            EXPECT_EQ(got, want) << type_name(type) << (qw ? " imatrix " : " ")
                                 << kernel_isa_name(isa);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 4u);
}

// The group search runs its trial scales several at a time (one per lane) and replays ggml's
// sequential choice: many random groups (Gaussian, heavy-tailed, few distinct values, scaled by
// a random factor), with random importance weights and without, make that choice, its ties and
// the neighbour searches vary.
TEST_P(KernelIq3Simd, random_rows_match_scalar) {
    const int64_t n = 1024, nrows = 48;
    const varied_rows rows = make_varied_rows(n, nrows, 23, 9);
    size_t compared = 0;
    for (ggml_type type : {ggml_type::iq3_xxs, ggml_type::iq3_s}) {
        for (const float* qw : {rows.importance.data(), static_cast<const float*>(nullptr)}) {
            expect_isa_matches_scalar(GetParam(), type, rows.x.data(), nrows, n, qw);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 4u);  // both types with and without importance weights
}

GS_INSTANTIATE_EVERY_SIMD_ISA(KernelIq3Simd);

}  // namespace
}  // namespace gguf_squash
