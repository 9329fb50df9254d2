// The optimiser behind `gguf-squash fit`: choose one option per item (one type per tensor) to
// minimise the total error with the total cost (bytes) within a budget — a multiple-choice
// knapsack.
//
//  1. Lagrangian sweep: each item's options reduced to their lower convex hull (cost against
//     error); all hull steps sorted by error saved per byte, taken in that order while they fit.
//     This is the optimum of the problem with every item's error convexified, up to the first
//     step that does not fit.
//  2. Exact fill: the bytes left over, and trades between items, are settled by an exact dynamic
//     programme over the items closest to the sweep's margin (smallest reduced cost at its
//     multiplier), with every option of those items (hull or not) and costs counted in units of
//     `unit` bytes, rounded so that the result never exceeds the budget.
// The fill only replaces the sweep's answer by a better one, so the result is never worse than
// the sweep; the caller compares with the standard mixes as well (fit_report.h).
#pragma once

#include <cstdint>
#include <vector>

#include "status.h"

namespace gguf_squash {

struct fit_option {
    uint64_t cost = 0;  // bytes
    double error = 0;   // non-negative
};

struct fit_solution {
    std::vector<size_t> choice;  // per item: index into its options
    uint64_t cost = 0;
    double error = 0;
    double lambda = 0;  // the sweep's multiplier: error saved per byte at the margin
};

// Items with no options are refused (invalid_argument). When even the cheapest choice of every
// item costs more than `budget`, the error is status_code::refused and `min_cost` (if given)
// receives that cheapest total. `unit` (> 0) is the cost granularity the fill works in (the
// file's alignment: every padded tensor size is a multiple of it).
result<fit_solution> solve_fit(const std::vector<std::vector<fit_option>>& items, uint64_t budget,
                               uint64_t unit = 32, uint64_t* min_cost = nullptr);

}  // namespace gguf_squash
