// IQ2_XXS / IQ2_XS / IQ2_S quantization written once over an ISA's lane type V (sse4_lanes.h,
// avx2_lanes.h, wasm128_lanes.h), giving the bytes of the scalar reference (ref/iq2_ref.cpp),
// whose algorithm (ggml's quantize_row_iq2_*_impl) and float operations this repeats in order.
//
// The hot loop is the nearest-neighbour search among an off-grid point's candidate list. Here
// V::lanes candidates are scored at once: each lane adds the same per-coordinate terms
// weight * diff * diff as the reference (looked up by the candidate's level), in the same order
// (0 + t0 + ... + t7), so every score is the reference's, and the winner is the first candidate
// holding the smallest score below the starting bound: what the reference's sequential
// `if (d2 < best)` scan picks. (The reference skips
// candidates whose first four terms already reach the best; that never changes its winner, and
// scoring them all here does not either.) The candidates' packed levels are read from a copy of
// the neighbour lists with each grid index replaced by its levels, built once.
//
// Internal linkage: each ISA's translation unit gets its own copy compiled with its own flags.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../kernel_table.h"
#include "../quant_common.h"
#include "../ref/iq2_grids.h"
#include "../ref/quant_search.h"

namespace gguf_squash {

namespace {
namespace iq2_detail {

constexpr int kQK = 256;
constexpr float kIq2SGroupMaxEps = 1e-8f;

inline float max_f(float a, float b) {
    return a > b ? a : b;
}  // ggml's MAX, including which operand a false comparison (NaN) gives
inline int clamp_level(int l, int hi) {
    return l < 0 ? 0 : (l > hi ? hi : l);
}
inline void store_u16(uint8_t* p, uint16_t v) {
    std::memcpy(p, &v, 2);
}

// The search tables plus, parallel to `neighbours`, each listed grid point's packed levels
// (32-bit, so V loads them directly), padded so that a full vector load past a list's end stays
// inside the array.
struct iq2_lane_tables {
    const iq2_search_tables* t = nullptr;
    std::vector<uint32_t> neighbour_levels;
};

inline iq2_lane_tables build_lane_tables(iq2_grid_kind kind) {
    iq2_lane_tables x;
    x.t = &iq2_tables(kind);
    const std::vector<uint16_t>& nb = x.t->neighbours;
    x.neighbour_levels.assign(nb.size() + 16, 0);
    // The entries holding a list's count get some levels too; they are never read as candidates.
    for (size_t j = 0; j < nb.size(); ++j)
        x.neighbour_levels[j] = nb[j] < uint32_t(x.t->grid_size) ? x.t->levels[nb[j]] : 0;
    return x;
}

// Built on first use (thread-safe), then shared read-only.
inline const iq2_lane_tables& lane_tables(iq2_grid_kind kind) {
    switch (kind) {
        case iq2_grid_kind::iq2_xxs: {
            static const iq2_lane_tables x = build_lane_tables(kind);
            return x;
        }
        case iq2_grid_kind::iq2_xs: {
            static const iq2_lane_tables x = build_lane_tables(kind);
            return x;
        }
        case iq2_grid_kind::iq1: {
            static const iq2_lane_tables x = build_lane_tables(kind);
            return x;
        }
        default: {
            static const iq2_lane_tables x = build_lane_tables(iq2_grid_kind::iq2_s);
            return x;
        }
    }
}

// Grid index of 8 levels, or negative when off the grid (levels outside [0, 2] included).
inline int on_grid_index(const iq2_search_tables& t, const int8_t* L) {
    uint16_t u = 0;
    for (int i = 0; i < 8; ++i) {
        if (uint8_t(L[i]) > 2) return -1;
        u |= uint16_t(L[i] << 2 * i);
    }
    return t.map[u];
}

// The reference's take_signs once the magnitudes and the sign mask s are known: with an odd
// number of negative signs and even_parity, the least important value's sign is flipped instead.
inline uint8_t finish_signs(const float* xb, const float* weight, bool even_parity, float* xval,
                            uint8_t s) {
    if (even_parity && __builtin_popcount(s) % 2) {
        int imin = 0;
        float min = weight[0] * xb[0] * xb[0];
        for (int i = 1; i < 8; ++i) {
            const float ax = weight[i] * xb[i] * xb[i];
            if (ax < min) {
                min = ax;
                imin = i;
            }
        }
        xval[imin] = -xval[imin];
        s ^= uint8_t(1 << imin);
    }
    return even_parity ? uint8_t(s & 127) : s;
}

inline float weighted_sum_qx(int n, const float* weight, const float* xval, const int8_t* L,
                             float* sumq2) {
    float sumqx = 0, q2 = 0;
    for (int i = 0; i < n; ++i) {
        const float w = weight[i];
        const float q = 2 * L[i] + 1;
        sumqx += w * xval[i] * q;
        q2 += w * q * q;
    }
    *sumq2 = q2;
    return sumqx;
}

inline float sum_of_squares_256(const float* x) {
    float s = 0;
    for (int i = 0; i < kQK; ++i) s += x[i] * x[i];
    return s;
}

}  // namespace iq2_detail

template <class V>
struct iq2_lanes {
    using F = typename V::F;
    using I = typename V::I;
    static constexpr int N = V::lanes;

    // Per lane, the score of the candidate whose packed levels are in `lv`: the 8 coordinates'
    // terms added in order (0 + t0 + ... + t7), as the reference sums them.
    static F score(const F* table, I lv) {
        F d2 = V::zero();
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) d2 = V::add(d2, V::lookup4(table[i], V::ishr(lv, 2 * i)));
        return d2;
    }

    // The reference's take_signs: the magnitudes of 8 values (negated where x >= 0 fails, NaN
    // included) and their sign mask, N values at a time; then its parity rule.
    static uint8_t take_signs(const float* xb, const float* weight, bool even_parity, float* xval) {
        uint32_t s = 0;
        for (int c = 0; c < 8; c += N) {
            const F x = V::load(xb + c);
            const F nonneg = V::ge(x, V::zero());  // false for NaN
            V::store(xval + c, V::select(nonneg, x, V::neg(x)));
            s |= (~V::bitmask(nonneg) & ((1u << N) - 1)) << c;
        }
        return iq2_detail::finish_signs(xb, weight, even_parity, xval, uint8_t(s));
    }

    // weight[i] = qw[i] * sqrt(sigma2 + x[i]^2) (qw null: 1 * ...) and waux[i] = sqrt(weight[i])
    // for n values, N at a time (IEEE square roots, as the reference's).
    template <int n>
    static void sqrt_weights(const float* xb, const float* qw, float sigma2, float* weight,
                             float* waux) {
        for (int i = 0; i < n; i += N) {
            const F x = V::load(xb + i);
            const F q = qw ? V::load(qw + i) : V::set1(1.f);
            const F w = V::mul(q, V::sqrt(V::add(V::set1(sigma2), V::mul(x, x))));
            V::store(weight + i, w);
            V::store(waux + i, V::sqrt(w));
        }
    }

    // The per-coordinate tables of the neighbour search: table[i] holds coordinate i's terms
    // weight[i] * diff * diff, diff = scale * q[l] - xval[i], at levels l = 0, 1, 2 (and 2
    // again), each computed as the reference computes it, N coordinates at a time.
    static void level_tables(const float* xval, const float* weight, float scale, const float* q,
                             F* table) {
        alignas(32) float term[3][8];
        for (int c = 0; c < 8; c += N) {
            const F x = V::load(xval + c);
            const F w = V::load(weight + c);
            for (int l = 0; l < 3; ++l) {
                const F diff = V::sub(V::set1(scale * q[l]), x);
                V::store(term[l] + c, V::mul(V::mul(w, diff), diff));
            }
        }
        for (int i = 0; i < 8; ++i)
            table[i] = V::set4(term[0][i], term[1][i], term[2][i], term[2][i]);
    }

    // The first of `count` candidates (packed levels at `levels`, readable up to 2 * N - 1
    // entries past the list's end) strictly closer than *best, updating *best; -1 when none is.
    // table: level_tables'.
    static int nearest(const F* table, int count, const uint32_t* levels, float* best) {
        // Per lane, the smallest score below *best so far and the first candidate reaching it;
        // the overall winner is then the smallest of these, the lowest candidate on ties: the
        // first strict minimum of the sequential scan. Two vectors of candidates per step: each
        // score is a chain of 8 dependent adds, and two independent chains keep the adder busy.
        const F start = V::set1(*best);
        F lane_best = start;
        I lane_index = V::isplat(0);
        I index = V::iota();
        const I step = V::isplat(uint32_t(N));
        const F inf = V::set1(__builtin_inff());
        auto take = [&](F d2) {
            const F better = V::lt(d2, lane_best);  // false for NaN
            lane_best = V::select(better, d2, lane_best);
            lane_index = V::iselect(V::bits(better), index, lane_index);
            index = V::iadd(index, step);
        };
        // Lanes past the list's end never win.
        auto clip = [&](F d2, int left) {
            const F in_range = V::from_bits(V::igt(V::isplat(uint32_t(left)), V::iota()));
            return V::select(in_range, d2, inf);
        };
        int j0 = 0;
        for (; j0 + 2 * N <= count; j0 += 2 * N) {
            const F a = score(table, V::iload(levels + j0));
            const F b = score(table, V::iload(levels + j0 + N));
            take(a);
            take(b);
        }
        if (count - j0 > N) {
            const F a = score(table, V::iload(levels + j0));
            const F b = score(table, V::iload(levels + j0 + N));
            take(a);
            take(clip(b, count - j0 - N));
        } else if (count - j0 > 0) {
            take(clip(score(table, V::iload(levels + j0)), count - j0));
        }
        const float smallest = V::hmin(lane_best);
        if (!(smallest < *best)) return -1;
        *best = smallest;
        alignas(32) int32_t indices[N];
        V::istore(indices, lane_index);
        uint32_t hits = V::bitmask(V::eq(lane_best, V::set1(smallest)));
        int found = count;
        for (; hits; hits &= hits - 1) {
            const int j = indices[__builtin_ctz(hits)];
            found = j < found ? j : found;
        }
        return found;
    }

    // ggml's iq2_find_best_neighbour (the reference's iq2_best_neighbour): writes the winner's
    // levels to L and returns its grid index.
    static int best_neighbour(const iq2_detail::iq2_lane_tables& lt, int map_value,
                              const float* xval, const float* weight, float scale, int8_t* L) {
        const int grid_index = best_neighbour_index(lt, map_value, xval, weight, scale);
        const uint16_t levels = lt.t->levels[grid_index];
        for (int i = 0; i < 8; ++i) L[i] = int8_t((levels >> 2 * i) & 3);
        return grid_index;
    }

    // The winner's position in the list at `offset`, -1 when no candidate is closer than
    // FLT_MAX (NaN or huge inputs).
    static int best_neighbour_position(const iq2_detail::iq2_lane_tables& lt, int offset,
                                       const float* xval, const float* weight, float scale) {
        static constexpr float kQ[3] = {1, 3, 5};
        F table[8];
        level_tables(xval, weight, scale, kQ, table);
        float best_d2 = FLT_MAX;
        return nearest(table, lt.t->neighbours[offset], lt.neighbour_levels.data() + offset + 1,
                       &best_d2);
    }

    // best_neighbour without writing the levels: the winner's grid index.
    static int best_neighbour_index(const iq2_detail::iq2_lane_tables& lt, int map_value,
                                    const float* xval, const float* weight, float scale) {
        const int offset = -map_value - 1;
        const uint16_t* neighbours = lt.t->neighbours.data() + offset;
        const int j = best_neighbour_position(lt, offset, xval, weight, scale);
        return j >= 0 ? int(neighbours[1 + j]) : (neighbours[0] > 0 ? neighbours[1] : 0);
    }

    // best_neighbour's winner as packed levels (read beside the candidates the search read).
    static uint32_t best_neighbour_levels(const iq2_detail::iq2_lane_tables& lt, int map_value,
                                          const float* xval, const float* weight, float scale) {
        const int offset = -map_value - 1;
        const int j = best_neighbour_position(lt, offset, xval, weight, scale);
        if (j >= 0) return lt.neighbour_levels[size_t(offset + 1 + j)];
        return lt.t->levels[lt.t->neighbours[offset] > 0 ? lt.t->neighbours[offset + 1] : 0];
    }

    // Levels of a group of 8 at inverse scale id, put on the grid. Returns whether the rounded
    // point was already on it.
    static bool levels_on_grid(const iq2_detail::iq2_lane_tables& lt, const float* xval,
                               const float* waux, float id, float scale, int8_t* L) {
        for (int i = 0; i < 8; ++i)
            L[i] = int8_t(iq2_detail::clamp_level(nearest_int(0.5f * (id * xval[i] - 1)), 2));
        const int m = iq2_detail::on_grid_index(*lt.t, L);
        if (m >= 0) return true;
        best_neighbour(lt, m, xval, waux, scale, L);
        return false;
    }

    // ggml's make_qp_quants (ref/quant_search.cpp) for n values: the 8 trial scales
    // is = -4..-1, 1..4 V::lanes at a time, each lane summing its mse in element order, then
    // the reference's sequential choice over them and its refinement.
    template <int n>
    static float make_qp_quants(int nmax, const float* x, uint8_t* L, const float* weight) {
        float max = 0;
        for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
        if (max < kGroupMaxEps) {
            std::memset(L, 0, n);
            return 0.f;
        }
        const float iscale0 = float(nmax) / max;
        const float scale0 = 1 / iscale0;
        float best_mse = 0;
        for (int i = 0; i < n; ++i) {  // the first levels are stored as uint8_t, unclamped
            const float diff = x[i] - scale0 * float(uint8_t(nearest_int(iscale0 * x[i])));
            best_mse += weight[i] * diff * diff;
        }
        constexpr int kTrials = 8;
        alignas(32) static constexpr float kIs[kTrials] = {-4, -3, -2, -1, 1, 2, 3, 4};
        alignas(32) float mse[kTrials], iscales[kTrials];
        const F vmax = V::set1(max);
        for (int t0 = 0; t0 < kTrials; t0 += N) {
            const F iscale = V::div(
                V::add(V::mul(V::set1(0.1f), V::load(kIs + t0)), V::set1(float(nmax))), vmax);
            const F scale = V::div(V::set1(1.f), iscale);
            F m = V::zero();
            for (int i = 0; i < n; ++i) {
                const F xi = V::set1(x[i]);
                // Only the top is clamped; -2^22 is below anything nearest_int's trick returns.
                const F l = V::round_clamp(V::mul(iscale, xi), -(1 << 22), nmax);
                const F diff = V::sub(xi, V::mul(scale, l));
                m = V::add(m, V::mul(V::mul(V::set1(weight[i]), diff), diff));
            }
            V::store(mse + t0, m);
            V::store(iscales + t0, iscale);
        }
        float iscale = iscale0;
        for (int t = 0; t < kTrials; ++t) {
            if (mse[t] < best_mse) {
                best_mse = mse[t];
                iscale = iscales[t];
            }
        }
        return make_qp_quants_refine(n, nmax, x, L, weight, iscale);
    }

    // The trial-scale search of a group of n values (IQ2_XXS: 32, IQ2_XS/S: 16), written as
    // ggml's loop over trials `is` keeping the best so far. A trial's levels and sums do not
    // depend on the trials before it, so they are computed for all trials first, V::lanes trials
    // at a time (lane = trial; every lane repeats the reference's float operations, and each
    // trial's two sums run in element order), and ggml's sequential choice is then replayed over
    // them in trial order: the same choice, so the same bytes.
    template <int n, int kTrials>
    struct trial_search {
        static constexpr int kGroups = n / 8;
        static constexpr int kPad = (kTrials + N - 1) / N * N;
        alignas(32) int32_t level[n][kPad];  // level of element i in trial s
        alignas(32) float scale[kPad];       // 1 / id of trial s
        bool on_grid[kTrials][kGroups];

        // Trial s uses the inverse scale (numerator + (first + s) * 0.1f) / denominator. Puts
        // every trial's groups on the grid; returns the best trial, or -1 when none passes
        // ggml's test (sumq2 > 0 && sumqx^2 > best * sumq2). For a best trial, *scale becomes
        // its sumqx / sumq2 and L its levels; otherwise both are left as they are.
        int run(const iq2_detail::iq2_lane_tables& lt, int first, float numerator,
                float denominator, const float* xval, const float* weight, const float* waux,
                float* scale_out, int8_t* L) {
            alignas(32) int32_t u[kGroups][kPad];
            const F half = V::set1(0.5f);
            const F one = V::set1(1.f);
            const F vden = V::set1(denominator);
            for (int s0 = 0; s0 < kPad; s0 += N) {
                // Padding trials past kTrials repeat valid scales; their results are never read.
                const F is = V::to_float(V::iadd(V::iota(), V::isplat(uint32_t(first + s0))));
                const F id = V::div(V::add(V::set1(numerator), V::mul(is, V::set1(0.1f))), vden);
                V::store(scale + s0, V::div(one, id));
                for (int k = 0; k < kGroups; ++k) {
                    I packed = V::isplat(0);
                    for (int i = 0; i < 8; ++i) {
                        const F x = V::set1(xval[8 * k + i]);
                        const I l =
                            V::round_clamp_i(V::mul(half, V::sub(V::mul(id, x), one)), 0, 2);
                        V::istore(&level[8 * k + i][s0], l);
                        packed = V::ior(packed, V::ishl(l, 2 * i));
                    }
                    V::istore(&u[k][s0], packed);
                }
            }
            // The neighbour lists are megabytes (mostly outside the caches) and each search
            // starts with a dependent load of its list: look every group up first and fetch the
            // lists of the off-grid ones, so that the misses overlap.
            // The off-grid groups are listed without branching (whether a group is on the grid
            // is unpredictable), then searched in trial order.
            int off_map[kTrials * kGroups];        // the map value of each off-grid group
            uint8_t off_group[kTrials * kGroups];  // its trial * kGroups + group
            int n_off = 0;
            for (int s = 0; s < kTrials; ++s) {
                for (int k = 0; k < kGroups; ++k) {
                    const int m = lt.t->map[u[k][s]];
                    on_grid[s][k] = m >= 0;
                    off_map[n_off] = m;
                    off_group[n_off] = uint8_t(kGroups * s + k);
                    n_off += m < 0;
                    const int offset = m < 0 ? -m - 1 : 0;
                    __builtin_prefetch(lt.t->neighbours.data() + offset);
                    __builtin_prefetch(lt.neighbour_levels.data() + offset);
                }
            }
            for (int j = 0; j < n_off; ++j) {
                const int s = off_group[j] / kGroups, k = off_group[j] % kGroups;
                const uint32_t levels =
                    best_neighbour_levels(lt, off_map[j], xval + 8 * k, waux + 8 * k, scale[s]);
                for (int i = 0; i < 8; ++i) level[8 * k + i][s] = int32_t((levels >> 2 * i) & 3);
            }
            alignas(32) float sumqx[kPad], sumq2[kPad];
            const I one_i = V::isplat(1);
            for (int s0 = 0; s0 < kPad; s0 += N) {
                F qx = V::zero(), q2 = V::zero();
                for (int i = 0; i < n; ++i) {
                    const I l = V::iload(&level[i][s0]);
                    const F q = V::to_float(V::iadd(V::iadd(l, l), one_i));
                    const F w = V::set1(weight[i]);
                    qx = V::add(qx, V::mul(V::set1(weight[i] * xval[i]), q));
                    q2 = V::add(q2, V::mul(V::mul(w, q), q));
                }
                V::store(sumqx + s0, qx);
                V::store(sumq2 + s0, q2);
            }
            float best = 0;
            int chosen = -1;
            for (int s = 0; s < kTrials; ++s) {
                if (sumq2[s] > 0 && sumqx[s] * sumqx[s] > best * sumq2[s]) {
                    best = (sumqx[s] / sumq2[s]) * sumqx[s];
                    chosen = s;
                }
            }
            if (chosen >= 0) {
                *scale_out = sumqx[chosen] / sumq2[chosen];
                for (int i = 0; i < n; ++i) L[i] = int8_t(level[i][chosen]);
            }
            return chosen;
        }
    };

    static void quantize_row_iq2_xxs(const float* x, uint8_t* y, int64_t n,
                                     const float* quant_weights) {
        using namespace iq2_detail;
        const iq2_lane_tables& lt = lane_tables(iq2_grid_kind::iq2_xxs);
        const iq2_search_tables& t = *lt.t;
        constexpr int kMaxQ = 3;
        float scales[kQK / 32];
        float weight[32], xval[32], waux[32];
        int8_t L[32];
        uint8_t block_signs[4];
        uint32_t q2[2 * (kQK / 32)];
        trial_search<32, 13> trials;

        for (int64_t ibl = 0; ibl < n / kQK; ++ibl, y += 66) {
            std::memset(y, 0, 66);
            std::memset(q2, 0, sizeof(q2));
            float max_scale = 0;
            const float* xbl = x + kQK * ibl;
            const float sigma2 = sum_of_squares_256(xbl) / kQK;

            for (int ib = 0; ib < kQK / 32; ++ib) {
                const float* xb = xbl + 32 * ib;
                sqrt_weights<32>(xb, quant_weights ? quant_weights + kQK * ibl + 32 * ib : nullptr,
                                 sigma2, weight, waux);
                for (int k = 0; k < 4; ++k)
                    block_signs[k] = take_signs(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
                float max = xval[0];
                for (int i = 1; i < 32; ++i) max = max_f(max, xval[i]);
                if (max < kGroupMaxEps) {
                    scales[ib] = 0;
                    continue;
                }
                float scale =
                    make_qp_quants<32>(kMaxQ + 1, xval, reinterpret_cast<uint8_t*>(L), weight);
                const float eff_max = scale * kMaxQ;
                if (eff_max <= 0) {
                    scales[ib] = 0;
                    continue;
                }
                trials.run(lt, -6, 2 * kMaxQ - 1, eff_max, xval, weight, waux, &scale, L);
                if (scale > 0) {
                    const float id = 1 / scale;
                    for (int k = 0; k < 4; ++k)
                        levels_on_grid(lt, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
                    float sumq2;
                    const float sumqx = weighted_sum_qx(32, weight, xval, L, &sumq2);
                    if (sumq2 > 0) scale = sumqx / sumq2;
                }
                if (scale < 0) {
                    scale = -scale;
                    for (int k = 0; k < 4; ++k) block_signs[k] = uint8_t(~block_signs[k] & 127);
                }
                for (int k = 0; k < 4; ++k) {
                    const int g = on_grid_index(t, L + 8 * k);
                    const int grid_index = g < 0 ? 0 : g;
                    q2[2 * ib + 0] |= uint32_t(grid_index) << 8 * k;
                    q2[2 * ib + 1] |= uint32_t(block_signs[k]) << 7 * k;
                }
                scales[ib] = scale;
                max_scale = max_f(max_scale, scale);
            }

            if (!max_scale) continue;
            const float d = max_scale / 31;
            store_u16(y, fp32_to_fp16(d));
            const float id = 1 / d;
            for (int ib = 0; ib < kQK / 32; ++ib) {
                const int l = clamp_level(nearest_int(0.5f * (id * scales[ib] - 1)), 15);
                q2[2 * ib + 1] |= uint32_t(l) << 28;
            }
            std::memcpy(y + 2, q2, 64);
        }
    }

    template <bool kIsIq2S>
    static void quantize_row_iq2_xs_s(const float* x, uint8_t* y, int64_t n,
                                      const float* quant_weights) {
        using namespace iq2_detail;
        const iq2_lane_tables& lt =
            lane_tables(kIsIq2S ? iq2_grid_kind::iq2_s : iq2_grid_kind::iq2_xs);
        const iq2_search_tables& t = *lt.t;
        constexpr int kMaxQ = 3;
        constexpr int kBlockBytes = kIsIq2S ? 82 : 74;
        float scales[kQK / 16];
        float weight[16], xval[16], waux[16];
        int8_t L[16];
        bool is_on_grid[2];
        trial_search<16, 19> trials;
        uint8_t block_signs[2];
        uint16_t q2[kQK / 16 * 2];

        for (int64_t ibl = 0; ibl < n / kQK; ++ibl, y += kBlockBytes) {
            std::memset(y, 0, kBlockBytes);
            std::memset(q2, 0, sizeof(q2));
            uint8_t* qs = y + 2;
            uint8_t* qh = y + 2 + 64;
            uint8_t* sc = y + 2 + 64 + (kIsIq2S ? 8 : 0);
            float max_scale = 0;
            const float* xbl = x + kQK * ibl;
            const float sumx2 = sum_of_squares_256(xbl);
            const float sigma2 = kIsIq2S ? 2 * sumx2 / kQK : sumx2 / kQK;

            for (int ib = 0; ib < kQK / 16; ++ib) {
                const float* xb = xbl + 16 * ib;
                if (quant_weights || !kIsIq2S) {
                    sqrt_weights<16>(xb,
                                     quant_weights ? quant_weights + kQK * ibl + 16 * ib : nullptr,
                                     sigma2, weight, waux);
                } else {
                    for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
                    for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
                }
                for (int k = 0; k < 2; ++k)
                    block_signs[k] = take_signs(xb + 8 * k, weight + 8 * k, !kIsIq2S, xval + 8 * k);
                float max = xval[0];
                for (int i = 1; i < 16; ++i) max = max_f(max, xval[i]);
                std::memset(L, 0, 16);
                if (max < (kIsIq2S ? kIq2SGroupMaxEps : kGroupMaxEps)) {
                    scales[ib] = 0;
                    continue;
                }
                float scale = max / (2 * kMaxQ - 1);
                is_on_grid[0] = is_on_grid[1] = true;
                const int chosen =
                    trials.run(lt, -9, 2 * kMaxQ - 1, max, xval, weight, waux, &scale, L);
                if (chosen >= 0) {
                    is_on_grid[0] = trials.on_grid[chosen][0];
                    is_on_grid[1] = trials.on_grid[chosen][1];
                }
                if ((!is_on_grid[0] || !is_on_grid[1]) && scale > 0) {
                    const float id = 1 / scale;
                    for (int k = 0; k < 2; ++k) {
                        if (is_on_grid[k]) continue;
                        levels_on_grid(lt, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
                    }
                    float sumq2;
                    const float sumqx = weighted_sum_qx(16, weight, xval, L, &sumq2);
                    if (sumq2 > 0) scale = sumqx / sumq2;
                }
                if (scale < 0) {
                    scale = -scale;
                    for (int k = 0; k < 2; ++k)
                        block_signs[k] =
                            kIsIq2S ? uint8_t(~block_signs[k]) : uint8_t(~block_signs[k] & 127);
                }
                for (int k = 0; k < 2; ++k) {
                    const int g = on_grid_index(t, L + 8 * k);
                    const int grid_index = g < 0 ? 0 : g;
                    if (kIsIq2S) {
                        const int i8 = 2 * ib + k;
                        qs[i8] = uint8_t(grid_index & 255);
                        qh[i8 / 4] |= uint8_t((grid_index >> 8) << 2 * (i8 % 4));
                        qs[kQK / 8 + i8] = block_signs[k];
                    } else {
                        q2[2 * ib + k] = uint16_t(grid_index | (block_signs[k] << 9));
                    }
                }
                scales[ib] = scale;
                max_scale = max_f(max_scale, scale);
            }

            if (!max_scale) {
                if (!kIsIq2S) std::memset(y, 0, kBlockBytes);
                continue;
            }
            const float d = max_scale / 31;
            store_u16(y, fp32_to_fp16(kIsIq2S ? d * 0.9875f : d));
            const float id = 1 / d;
            for (int ib = 0; ib < kQK / 16; ++ib) {
                const int l = clamp_level(nearest_int(0.5f * (id * scales[ib] - 1)), 15);
                if (ib % 2 == 0)
                    sc[ib / 2] = uint8_t(l);
                else
                    sc[ib / 2] |= uint8_t(l << 4);
            }
            if (!kIsIq2S) std::memcpy(qs, q2, 64);
        }
    }

    // Row drivers: the imatrix covers one row and is reused for every row, as in ggml.
    template <void (*kRow)(const float*, uint8_t*, int64_t, const float*), int kBlockBytes>
    static void rows(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
        uint8_t* out = static_cast<uint8_t*>(dst);
        const int64_t row_bytes = n_per_row / iq2_detail::kQK * kBlockBytes;
        for (int64_t r = 0; r < nrows; ++r)
            kRow(src + r * n_per_row, out + r * row_bytes, n_per_row, imatrix);
    }
};

// Registers IQ2_XXS, IQ2_XS and IQ2_S with V's kernels (dequantization stays scalar).
template <class V>
void register_iq2_lanes(kernel_table& table) {
    using K = iq2_lanes<V>;
    table.quantize[uint32_t(ggml_type::iq2_xxs)] = K::template rows<K::quantize_row_iq2_xxs, 66>;
    table.quantize[uint32_t(ggml_type::iq2_xs)] =
        K::template rows<K::template quantize_row_iq2_xs_s<false>, 74>;
    table.quantize[uint32_t(ggml_type::iq2_s)] =
        K::template rows<K::template quantize_row_iq2_xs_s<true>, 82>;
}

}  // namespace
}  // namespace gguf_squash
