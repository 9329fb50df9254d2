// The fit optimiser (core/quality/fit_solver.h) against brute force: on every small random
// instance its answer must be the true optimum (all items fit in its exact programme), within the
// budget; on large instances (coarse programme) within the budget and no worse than a plain
// greedy walk over the convex hulls. Portable: runs natively and in wasm.
#include "quality/fit_solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

namespace gguf_squash {
namespace {

using items_t = std::vector<std::vector<fit_option>>;

double brute_force(const items_t& items, uint64_t budget) {
    double best = -1;
    std::vector<size_t> pick(items.size(), 0);
    std::function<void(size_t, uint64_t, double)> walk = [&](size_t i, uint64_t cost, double e) {
        if (cost > budget) return;
        if (i == items.size()) {
            if (best < 0 || e < best) best = e;
            return;
        }
        for (const fit_option& o : items[i]) walk(i + 1, cost + o.cost, e + o.error);
    };
    walk(0, 0, 0.0);
    return best;
}

items_t random_items(std::mt19937& rng, size_t n, size_t max_options, uint64_t unit) {
    std::uniform_int_distribution<size_t> n_opt(1, max_options);
    std::uniform_int_distribution<uint64_t> units(1, 40);
    std::uniform_real_distribution<double> err(0.0, 100.0);
    items_t items(n);
    for (auto& item : items) {
        const size_t k = n_opt(rng);
        for (size_t j = 0; j < k; ++j) item.push_back({units(rng) * unit, err(rng)});
    }
    return items;
}

TEST(FitSolver, SmallInstancesAreSolvedExactly) {
    std::mt19937 rng(7);
    int solved = 0, not_greedy = 0;
    for (int trial = 0; trial < 400; ++trial) {
        const uint64_t unit = trial % 2 ? 32 : 1;
        const items_t items = random_items(rng, 1 + trial % 7, 5, unit);
        uint64_t lo = 0, hi = 0;
        for (const auto& it : items) {
            uint64_t mn = UINT64_MAX, mx = 0;
            for (const auto& o : it) {
                mn = std::min(mn, o.cost);
                mx = std::max(mx, o.cost);
            }
            lo += mn;
            hi += mx;
        }
        const uint64_t budget = lo + (hi - lo) * uint64_t(trial % 10) / 9;
        result<fit_solution> s = solve_fit(items, budget, unit);
        ASSERT_TRUE(s.ok()) << s.error().message();
        const double best = brute_force(items, budget);
        ASSERT_GE(best, 0.0);
        EXPECT_LE(s->cost, budget) << "trial " << trial;
        EXPECT_NEAR(s->error, best, 1e-9) << "trial " << trial;
        // The reported totals are the choices' totals.
        uint64_t cost = 0;
        double error = 0;
        for (size_t i = 0; i < items.size(); ++i) {
            cost += items[i][s->choice[i]].cost;
            error += items[i][s->choice[i]].error;
        }
        EXPECT_EQ(cost, s->cost);
        EXPECT_DOUBLE_EQ(error, s->error);
        if (s->lambda > 0) ++not_greedy;
        ++solved;
    }
    EXPECT_EQ(solved, 400);
    EXPECT_GT(not_greedy, 100);  // many instances end inside the sweep, where the fill decides
}

// A plain greedy walk over each item's convex hull by error saved per byte, stopping at the
// first step that does not fit (what the sweep alone would give).
double greedy_hull(const items_t& items, uint64_t budget) {
    struct pt {
        uint64_t c;
        double e;
    };
    std::vector<std::vector<pt>> hulls;
    uint64_t cost = 0;
    double error = 0;
    for (const auto& it : items) {
        std::vector<pt> p;
        for (const auto& o : it) p.push_back({o.cost, o.error});
        std::sort(p.begin(), p.end(),
                  [](pt a, pt b) { return a.c != b.c ? a.c < b.c : a.e < b.e; });
        std::vector<pt> front;
        for (pt q : p)
            if (front.empty() || q.e < front.back().e) front.push_back(q);
        std::vector<pt> h;
        for (pt q : front) {
            while (h.size() >= 2) {
                pt a = h[h.size() - 2], b = h.back();
                if ((b.e - a.e) * double(q.c - b.c) >= (q.e - b.e) * double(b.c - a.c)) {
                    h.pop_back();
                } else {
                    break;
                }
            }
            h.push_back(q);
        }
        cost += h[0].c;
        error += h[0].e;
        hulls.push_back(h);
    }
    struct st {
        size_t i, k;
        double gain;
    };
    std::vector<st> steps;
    for (size_t i = 0; i < hulls.size(); ++i)
        for (size_t k = 1; k < hulls[i].size(); ++k)
            steps.push_back(
                {i, k,
                 (hulls[i][k - 1].e - hulls[i][k].e) / double(hulls[i][k].c - hulls[i][k - 1].c)});
    std::stable_sort(steps.begin(), steps.end(), [](st a, st b) { return a.gain > b.gain; });
    for (const st& s : steps) {
        const uint64_t dc = hulls[s.i][s.k].c - hulls[s.i][s.k - 1].c;
        if (cost + dc > budget) break;
        cost += dc;
        error -= hulls[s.i][s.k - 1].e - hulls[s.i][s.k].e;
    }
    return error;
}

TEST(FitSolver, LargeInstancesStayWithinBudgetAndBeatTheGreedyWalk) {
    std::mt19937 rng(11);
    int better = 0, constrained = 0;
    for (int trial = 0; trial < 20; ++trial) {
        // 300 tensors of ~1-40 MB: the exact table does not fit, the coarse one is used.
        items_t items = random_items(rng, 300, 12, 32 * 32768);
        for (auto& it : items)
            for (auto& o : it) o.cost += 32 * (rng() % 1000);
        uint64_t lo = 0, hi = 0;
        for (const auto& it : items) {
            uint64_t mn = UINT64_MAX, mx = 0;
            for (const auto& o : it) {
                mn = std::min(mn, o.cost);
                mx = std::max(mx, o.cost);
            }
            lo += mn;
            hi += mx;
        }
        const uint64_t budget = lo + (hi - lo) * uint64_t(1 + trial % 8) / 10 + 12345;
        result<fit_solution> s = solve_fit(items, budget, 32);
        ASSERT_TRUE(s.ok());
        EXPECT_LE(s->cost, budget);
        const double greedy = greedy_hull(items, budget);
        EXPECT_LE(s->error, greedy + 1e-9 * greedy);
        if (s->error < greedy - 1e-9 * greedy) ++better;
        if (s->lambda > 0) ++constrained;  // the budget binds (else both take every best option)
    }
    EXPECT_GE(constrained, 8);
    // Where the budget binds, the fill uses the bytes and trades the sweep leaves.
    EXPECT_GE(better, constrained * 3 / 4);
}

TEST(FitSolver, ImpossibleBudgetsAndBadItems) {
    const items_t items = {{{100, 5}, {200, 1}}, {{50, 3}, {70, 2}}};
    uint64_t min_cost = 0;
    result<fit_solution> s = solve_fit(items, 149, 1, &min_cost);
    EXPECT_EQ(s.error().code(), status_code::refused);
    EXPECT_EQ(min_cost, 150u);
    result<fit_solution> ok = solve_fit(items, 150, 1);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->cost, 150u);
    EXPECT_EQ(ok->error, 8.0);
    result<fit_solution> all = solve_fit(items, 1000, 1);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->error, 3.0);
    EXPECT_EQ(solve_fit({{}}, 10, 1).error().code(), status_code::invalid_argument);
    EXPECT_EQ(solve_fit({{{1, -1.0}}}, 10, 1).error().code(), status_code::invalid_argument);
}

}  // namespace
}  // namespace gguf_squash
