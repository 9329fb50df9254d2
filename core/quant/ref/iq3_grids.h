// The IQ3 lattices and the search tables built from them.
//
// Both IQ3 types code a group of 4 magnitudes as an index into a grid of 4-tuples of 3-bit
// levels l in [0, 7]: IQ3_XXS has 256 points, IQ3_S 512. The grids are format data; everything
// else is derived from them: the dequantization grids at compile time, and the quantizer's
// lookup tables (point -> grid index, off-grid point -> nearest grid points) once at first use,
// the way ggml's iq3xs_init_impl builds them.
#pragma once

#include <array>
#include <cstdint>

namespace gguf_squash {

// Dequantization grids, one 4-byte tuple (little-endian) per index: IQ3_XXS stores the levels
// as {4, 12, 20, 28, 36, 44, 52, 62}[l], IQ3_S as 2l+1. Same values as ggml's iq3xxs_grid and
// iq3s_grid.
// Also IQ3_S's search grid (its dequantization levels are the quantizer's 2l+1).
extern const std::array<uint32_t, 256> kIq3XxsGrid;
extern const std::array<uint32_t, 512> kIq3SGrid;

// The quantizer's view of one grid.
struct iq3_search_tables {
    int grid_size;  // 256 or 512
    // Per grid index, 4 signed bytes 2l+1 (int8 so that search code can read them as ggml does).
    const uint32_t* grid;
    // Per 12-bit point u = l0 | l1 << 3 | l2 << 6 | l3 << 9: its grid index if it is on the grid,
    // else -(offset + 1) where neighbours[offset] is the count n and the n grid indices of the
    // nearest grid points follow, ordered by (squared distance, index).
    const int32_t* map;
    const uint16_t* neighbours;
    // Parallel to `neighbours`: the grid tuple of each listed index (0 at the count positions),
    // then 8 zero entries, so SIMD searches load a list's candidates contiguously and may read up
    // to 8 entries past its end.
    const uint32_t* neighbour_points;
};

// Built once, thread-safely, on first call; never fails.
const iq3_search_tables& iq3_xxs_search_tables();
const iq3_search_tables& iq3_s_search_tables();

}  // namespace gguf_squash
