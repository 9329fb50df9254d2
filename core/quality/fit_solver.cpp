#include "fit_solver.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace gguf_squash {
namespace {

// The fill's limits: items in the core, and states in its table (8 MiB of doubles plus one byte
// of choice per state and item).
constexpr size_t kCoreItems = 16;
constexpr uint64_t kMaxStates = uint64_t(1) << 18;
constexpr size_t kMaxCoreOptions = 255;  // choices are stored in a byte

// Options on the lower-left frontier (no other option is both cheaper-or-equal and better-or-
// equal), by increasing cost and so decreasing error.
std::vector<size_t> pareto_options(const std::vector<fit_option>& options) {
    std::vector<size_t> order(options.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (options[a].cost != options[b].cost) return options[a].cost < options[b].cost;
        if (options[a].error != options[b].error) return options[a].error < options[b].error;
        return a < b;
    });
    std::vector<size_t> out;
    for (size_t i : order) {
        if (out.empty() || options[i].error < options[out.back()].error) out.push_back(i);
    }
    return out;
}

// The frontier's lower convex hull: each step saves less error per byte than the one before.
std::vector<size_t> lower_hull(const std::vector<fit_option>& options) {
    const std::vector<size_t> front = pareto_options(options);
    std::vector<size_t> hull;
    for (size_t p : front) {
        while (hull.size() >= 2) {
            const fit_option& a = options[hull[hull.size() - 2]];
            const fit_option& b = options[hull.back()];
            const fit_option& c = options[p];
            // b is on or above the line from a to c: drop it.
            const long double left =
                (long double)(b.error - a.error) * (long double)(c.cost - b.cost);
            const long double right =
                (long double)(c.error - b.error) * (long double)(b.cost - a.cost);
            if (left >= right) {
                hull.pop_back();
            } else {
                break;
            }
        }
        hull.push_back(p);
    }
    return hull;
}

struct step {
    size_t item;
    size_t hull_index;  // the hull point this step moves to
    uint64_t cost;
    double gain;  // error saved per byte
};

int64_t units_up(int64_t delta, uint64_t unit) {
    // Rounded toward +infinity, so that counted costs are never below the true ones.
    const int64_t u = int64_t(unit);
    return delta >= 0 ? (delta + u - 1) / u : -((-delta) / u);
}

void totals(const std::vector<std::vector<fit_option>>& items, fit_solution& s) {
    s.cost = 0;
    s.error = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        s.cost += items[i][s.choice[i]].cost;
        s.error += items[i][s.choice[i]].error;
    }
}

// The exact fill over the core items (see the header).
void fill(const std::vector<std::vector<fit_option>>& items, uint64_t budget, uint64_t unit,
          fit_solution& s) {
    if (s.lambda == 0) return;  // every hull step taken: each item at its least error
    const uint64_t slack = budget - s.cost;
    const double lambda = s.lambda;
    // How close each item is to changing at the sweep's multiplier.
    std::vector<std::pair<double, size_t>> closeness;
    for (size_t i = 0; i < items.size(); ++i) {
        const fit_option& cur = items[i][s.choice[i]];
        double best = std::numeric_limits<double>::infinity();
        for (size_t o = 0; o < items[i].size(); ++o) {
            if (o == s.choice[i]) continue;
            const double dc = double(items[i][o].cost) - double(cur.cost);
            const double de = items[i][o].error - cur.error;
            if (dc >= 0 && de >= 0) continue;  // never useful
            best = std::min(best, std::max(0.0, de + lambda * dc));
        }
        if (std::isfinite(best)) closeness.push_back({best, i});
    }
    if (closeness.empty()) return;
    std::sort(closeness.begin(), closeness.end());
    if (closeness.size() > kCoreItems) closeness.resize(kCoreItems);

    // Each core item's useful options as (cost delta, error delta) from its current choice.
    struct core_option {
        size_t option;
        int64_t dcost;
        double derror;
    };
    std::vector<size_t> core;
    std::vector<std::vector<core_option>> core_options;
    // How far below the current total the table reaches. Every downgrade of every core item
    // together, when that fits the table at the given unit: then the programme is exact over the
    // core. Otherwise twice the largest of the core items' nearest steps (the smallest non-zero
    // change of each), in coarser units: one step either way for every core item.
    int64_t all_downgrades = 0, near_step = 0;
    for (const auto& entry : closeness) {
        const size_t i = entry.second;
        const fit_option& cur = items[i][s.choice[i]];
        int64_t smallest = 0, largest_down = 0;
        for (size_t o : pareto_options(items[i])) {
            const int64_t dc = int64_t(items[i][o].cost) - int64_t(cur.cost);
            if (dc != 0 && (smallest == 0 || std::llabs(dc) < smallest)) smallest = std::llabs(dc);
            largest_down = std::max(largest_down, -dc);
        }
        near_step = std::max(near_step, smallest);
        all_downgrades += largest_down;
    }
    const uint64_t base_unit = std::max<uint64_t>(unit, 1);
    const bool exact = (slack + 2 * uint64_t(all_downgrades)) / base_unit + 1 <= kMaxStates;
    const int64_t reach = exact ? all_downgrades : std::max<int64_t>(int64_t(slack), 2 * near_step);
    for (const auto& entry : closeness) {
        const size_t i = entry.second;
        const fit_option& cur = items[i][s.choice[i]];
        std::vector<core_option> opts;
        for (size_t o : pareto_options(items[i])) {
            const int64_t dc = int64_t(items[i][o].cost) - int64_t(cur.cost);
            if (dc < -reach || dc > int64_t(slack) + reach) continue;
            opts.push_back({o, dc, items[i][o].error - cur.error});
        }
        if (std::none_of(opts.begin(), opts.end(),
                         [&](const core_option& c) { return c.option == s.choice[i]; })) {
            opts.push_back({s.choice[i], 0, 0.0});  // the current choice may be dominated
        }
        if (opts.size() > kMaxCoreOptions) continue;
        core.push_back(i);
        core_options.push_back(std::move(opts));
    }
    if (core.empty()) return;

    // States: the sum of cost deltas in units, from -reach to slack + reach.
    uint64_t u = base_unit;
    while ((uint64_t(slack) + 2 * uint64_t(reach)) / u + 1 > kMaxStates) u *= 2;
    const int64_t low = units_up(reach, u);  // offset of delta 0
    const int64_t slack_units = int64_t(slack / u);
    const int64_t n_states = low + slack_units + low + 1;
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> dp(static_cast<size_t>(n_states), inf);
    std::vector<double> next(static_cast<size_t>(n_states), inf);
    std::vector<std::vector<uint8_t>> chosen(core.size(), std::vector<uint8_t>(size_t(n_states)));
    dp[size_t(low)] = 0;
    for (size_t k = 0; k < core.size(); ++k) {
        std::fill(next.begin(), next.end(), inf);
        std::vector<int64_t> du(core_options[k].size());
        for (size_t o = 0; o < du.size(); ++o) du[o] = units_up(core_options[k][o].dcost, u);
        for (int64_t st = 0; st < n_states; ++st) {
            const double base = dp[size_t(st)];
            if (base == inf) continue;
            for (size_t o = 0; o < du.size(); ++o) {
                const int64_t t = st + du[o];
                if (t < 0 || t >= n_states) continue;
                const double e = base + core_options[k][o].derror;
                if (e < next[size_t(t)]) {
                    next[size_t(t)] = e;
                    chosen[k][size_t(t)] = uint8_t(o);
                }
            }
        }
        dp.swap(next);
    }
    // The best end state within the budget: delta sum <= slack.
    int64_t best = -1;
    for (int64_t st = 0; st <= low + slack_units; ++st) {
        if (dp[size_t(st)] < inf && (best < 0 || dp[size_t(st)] < dp[size_t(best)])) best = st;
    }
    if (best < 0 || !(dp[size_t(best)] < 0)) return;
    fit_solution filled = s;
    int64_t st = best;
    for (size_t k = core.size(); k-- > 0;) {
        const core_option& c = core_options[k][chosen[k][size_t(st)]];
        filled.choice[core[k]] = c.option;
        st -= units_up(c.dcost, u);
    }
    totals(items, filled);
    if (filled.cost <= budget && filled.error < s.error) s = std::move(filled);
}

}  // namespace

result<fit_solution> solve_fit(const std::vector<std::vector<fit_option>>& items, uint64_t budget,
                               uint64_t unit, uint64_t* min_cost) {
    fit_solution s;
    std::vector<std::vector<size_t>> hulls(items.size());
    uint64_t cheapest = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].empty()) {
            return make_error(status_code::invalid_argument,
                              "item " + std::to_string(i) + " has no options");
        }
        for (const fit_option& o : items[i]) {
            if (!(o.error >= 0) || !std::isfinite(o.error)) {
                return make_error(status_code::invalid_argument,
                                  "item " + std::to_string(i) + " has an invalid error");
            }
        }
        hulls[i] = lower_hull(items[i]);
        s.choice.push_back(hulls[i].front());
        cheapest += items[i][hulls[i].front()].cost;
    }
    if (min_cost) *min_cost = cheapest;
    if (cheapest > budget) {
        return make_error(status_code::refused, "the cheapest choice takes " +
                                                    std::to_string(cheapest) + " bytes, over " +
                                                    std::to_string(budget));
    }
    std::vector<step> steps;
    for (size_t i = 0; i < items.size(); ++i) {
        for (size_t k = 1; k < hulls[i].size(); ++k) {
            const fit_option& a = items[i][hulls[i][k - 1]];
            const fit_option& b = items[i][hulls[i][k]];
            steps.push_back({i, k, b.cost - a.cost, (a.error - b.error) / double(b.cost - a.cost)});
        }
    }
    // Most error saved per byte first; within an item the hull makes its steps come in order.
    std::stable_sort(steps.begin(), steps.end(),
                     [](const step& a, const step& b) { return a.gain > b.gain; });
    uint64_t cost = cheapest;
    for (const step& st : steps) {
        if (cost + st.cost > budget) {
            s.lambda = st.gain;
            break;
        }
        cost += st.cost;
        s.choice[st.item] = hulls[st.item][st.hull_index];
    }
    totals(items, s);
    fill(items, budget, unit, s);
    return s;
}

}  // namespace gguf_squash
