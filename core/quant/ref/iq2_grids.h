// The IQ2 and IQ1 lattices and the search tables built from them.
//
// IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M code a group of 8 values as an index into a grid of
// 8-tuples of levels l in [0, 2]. The grids (256, 512, 1024 and 2048 points; IQ1_S and IQ1_M
// share one) are format data and are stored packed, 2 bits per level. Everything else is derived:
// the dequantization values are computed from the packed levels, and the quantizer's lookup
// tables (point -> grid index, off-grid point -> nearest grid points) are built once at first
// use, the way ggml's iq2xs_init_impl builds them.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace gguf_squash {

// Grid point k: level i of the 8 is (levels[k] >> 2*i) & 3, in [0, 2]. Same order as ggml's
// iq2xxs_grid, iq2xs_grid, iq2s_grid and iq1s_grid. The IQ2 grids dequantize level l to
// {8, 25, 43}[l], the IQ1 grid to l - 1.
extern const std::array<uint16_t, 256> kIq2XxsGridLevels;
extern const std::array<uint16_t, 512> kIq2XsGridLevels;
extern const std::array<uint16_t, 1024> kIq2SGridLevels;
extern const std::array<uint16_t, 2048> kIq1GridLevels;

enum class iq2_grid_kind { iq2_xxs, iq2_xs, iq2_s, iq1 };

// The quantizer's view of one grid.
struct iq2_search_tables {
    int grid_size = 0;
    // Per grid index, the packed levels (one of the kIq*GridLevels arrays).
    const uint16_t* levels = nullptr;
    // Per grid index, 8 signed bytes 2l+1 (ggml's kgrid_q2xs; the searches read them as int8).
    std::vector<uint64_t> grid;
    // Per 16-bit point u = sum l_i << 2i (only l_i in [0, 2] are ever looked up): its grid index
    // if it is on the grid, else -(offset + 1) where neighbours[offset] is the count n and the n
    // grid indices of the nearest grid points follow, ordered by (squared distance, index).
    // IQ2_XXS and IQ2_XS keep the points at the 2 nearest distances, IQ2_S at the nearest one,
    // IQ1 at the 3 nearest (ggml's nwant).
    std::vector<int32_t> map;
    std::vector<uint16_t> neighbours;
};

// Built on first call (thread-safe), then shared read-only.
const iq2_search_tables& iq2_tables(iq2_grid_kind kind);

// The 7 explicit sign bits of a group of 8 plus the parity bit that makes the count of negative
// signs even (ggml's ksigns_iq2xs).
// Internal linkage: a copy compiled with an ISA's flags must never serve the scalar path.
namespace {
inline uint8_t iq2_signs_with_parity(uint32_t seven_bits) {
    const uint32_t s = seven_bits & 127;
    return uint8_t(s | (uint32_t(__builtin_popcount(s) & 1) << 7));
}
}  // namespace

}  // namespace gguf_squash
