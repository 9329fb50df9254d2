// The IQ3_XXS / IQ3_S quantizers, written once and instantiated per ISA.
//
// The algorithm is ggml's quantize_row_iq3_xxs_impl / quantize_row_iq3_s_impl, with its float
// operations in its order. The only part an ISA replaces is the `Search` policy: the nearest-
// neighbour search among a short list of grid points, the hot loop. Any Search must return
// exactly what iq3_scalar_search returns.
#pragma once

#include <cstdint>
#include <cstring>

#include "iq3_grids.h"
#include "quant/quant_common.h"

namespace gguf_squash {
// Internal linkage on purpose: this header is compiled into the scalar TU and into each ISA's TU
// (built with -mavx2 etc.). Shared inline definitions would let the linker keep an AVX2-compiled
// copy for the scalar path; an unnamed namespace gives every TU its own.
namespace {

namespace iq3_detail {

constexpr int kMaxQ = 8;
constexpr int kMaxSteps = 32;  // trial scales per group: 31 for IQ3_XXS, 19 for IQ3_S

inline int clamp_level(int l, int hi) {
    return l < 0 ? 0 : (l > hi ? hi : l);
}

inline int point_of(const int8_t* L) {
    int u = 0;
    for (int i = 0; i < 4; ++i) u |= L[i] << (3 * i);
    return u;
}

// How the two types' scale searches differ.
struct search_variant {
    int first_step, last_step;  // trial scales (15 + step * 0.2) / max
    bool assume_on_grid;        // the initial "best" levels count as on the grid (IQ3_XXS)
    bool refine_off_grid_only;  // the final refinement re-quantizes only off-grid groups (IQ3_XXS)
};
constexpr search_variant kXxsVariant{-15, 15, true, true};
constexpr search_variant kSVariant{-9, 9, false, false};

}  // namespace iq3_detail

// A Search policy supplies the group search (search_group below, the reference, or a SIMD
// policy's own that returns exactly the same values) and, for the reference's search_group, its
// three inner loops. iq3_scalar_search is the reference; SIMD policies (core/quant/arch/) must
// return exactly the same values.
//
// ggml's iq3_find_best_neighbour: among the `neighbours[0]` grid points listed after it, the one
// minimising sum_i weight_i * (scale * q_i - xval_i)^2; the first one wins ties. Writes its levels
// to L and returns its grid index.
struct iq3_scalar_search {
    // `list` is the neighbour-list offset of an off-grid point (map entry -(list + 1)).
    static int best_neighbour(const iq3_search_tables& t, int32_t list, const float* xval,
                              const float* weight, float scale, int8_t* L) {
        const uint16_t* neighbours = t.neighbours + list;
        const int count = neighbours[0];
        float best_d2 = 3.40282347e+38f;  // FLT_MAX
        int best = -1;
        for (int j = 1; j <= count; ++j) {
            int8_t pg[4];
            std::memcpy(pg, &t.grid[neighbours[j]], 4);
            float d2 = 0;
            for (int i = 0; i < 4; ++i) {
                const float diff = scale * float(pg[i]) - xval[i];
                d2 += weight[i] * diff * diff;
            }
            if (d2 < best_d2) {
                best_d2 = d2;
                best = neighbours[j];
            }
        }
        // ggml asserts a winner; only NaN inputs can leave none. Take the first candidate then.
        if (best < 0) best = neighbours[1];
        return take_grid_point(t, best, L);
    }

    // The 32 levels l = clamp(nearest_int(0.5 (id x - 1)), 0, 7) of one trial scale, and the 8
    // 12-bit points l0 | l1 << 3 | l2 << 6 | l3 << 9 they form.
    static void group_levels(float id, const float* xval, int8_t* L, int* points) {
        using iq3_detail::kMaxQ;
        for (int i = 0; i < 32; ++i) {
            const int l = nearest_int(0.5f * (id * xval[i] - 1));
            L[i] = int8_t(iq3_detail::clamp_level(l, kMaxQ - 1));
        }
        for (int k = 0; k < 8; ++k) points[k] = iq3_detail::point_of(L + 4 * k);
    }

    // For each trial s < nsteps: sumqx[s] = sum_i wx[i] q[i][s] and sumq2[s] = sum_i
    // (weight[i] q) q, summed in element order (q has kMaxSteps columns).
    static void trial_sums(int nsteps, const float* q, const float* weight, const float* wx,
                           float* sumqx, float* sumq2) {
        for (int s = 0; s < nsteps; ++s) {
            float qx = 0, q2 = 0;
            for (int i = 0; i < 32; ++i) {
                const float qi = q[i * iq3_detail::kMaxSteps + s];
                qx += wx[i] * qi;
                q2 += weight[i] * qi * qi;
            }
            sumqx[s] = qx;
            sumq2[s] = q2;
        }
    }

    // Writes the levels of grid point `index` to L; returns index.
    static int take_grid_point(const iq3_search_tables& t, int index, int8_t* L) {
        int8_t pg[4];
        std::memcpy(pg, &t.grid[index], 4);
        for (int i = 0; i < 4; ++i) L[i] = int8_t((pg[i] - 1) / 2);
        return index;
    }

    // iq3_detail::search_group with this policy (defined below it).
    static float search_group(const iq3_search_tables& t, const iq3_detail::search_variant& v,
                              const float* xval, const float* weight, const float* waux, float max,
                              int8_t* L);
};

namespace iq3_detail {

// Magnitudes of eight elements into xval, their signs as a bit mask (bit i set where x[i] >= 0
// fails, as in ggml's loops); returns how many bits are set.
inline int split_signs8(const float* x, float* xval, uint8_t* signs) {
    int count = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
        if (x[i] >= 0) {
            xval[i] = x[i];
        } else {
            xval[i] = -x[i];
            ++count;
            s |= uint8_t(1 << i);
        }
    }
    *signs = s;
    return count;
}

inline float max_of(float a, float b) {
    return a > b ? a : b;
}  // ggml's MAX macro

// Phase C of search_group: ggml's sequential choice over the trials' sums (keeping the best
// sumqx^2 / sumq2 so far). Returns the last trial it takes, -1 for none, and sets *scale to that
// trial's sumqx / sumq2 (unchanged for none).
inline int choose_trial(int nsteps, const float* sumqx, const float* sumq2, float* scale) {
    float best = 0;
    int chosen = -1;
    for (int s = 0; s < nsteps; ++s) {
        if (sumq2[s] > 0 && sumqx[s] * sumqx[s] > best * sumq2[s]) {
            *scale = sumqx[s] / sumq2[s];
            best = *scale * sumqx[s];
            chosen = s;
        }
    }
    return chosen;
}

// The end of search_group: with the chosen levels L and `scale`, ggml re-quantizes the off-grid
// groups (IQ3_S: every group once one is off the grid) at that scale and takes the least-squares
// scale of the result. Returns the scale.
template <class Search>
float refine_group(const iq3_search_tables& t, const search_variant& v, const float* xval,
                   const float* weight, const float* waux, const bool* on_grid, float scale,
                   int8_t* L) {
    int n_off_grid = 0;
    for (int k = 0; k < 8; ++k) n_off_grid += on_grid[k] ? 0 : 1;
    if (n_off_grid > 0 && scale > 0) {
        const float id = 1 / scale;
        for (int k = 0; k < 8; ++k) {
            if (v.refine_off_grid_only && on_grid[k]) continue;
            int u = 0;
            for (int i = 0; i < 4; ++i) {
                const int l = nearest_int(0.5f * (id * xval[4 * k + i] - 1));
                u |= clamp_level(l, kMaxQ - 1) << (3 * i);
            }
            int32_t grid_index = t.map[u];
            if (grid_index < 0) {
                grid_index = Search::best_neighbour(t, -grid_index - 1, xval + 4 * k, waux + 4 * k,
                                                    scale, L + 4 * k);
            }
            int8_t pg[4];
            std::memcpy(pg, &t.grid[grid_index], 4);
            for (int i = 0; i < 4; ++i) L[4 * k + i] = int8_t((pg[i] - 1) / 2);
        }
        float sumqx_final = 0, sumq2_final = 0;
        for (int i = 0; i < 32; ++i) {
            const float w = weight[i];
            const float q = float(2 * L[i] + 1);
            sumqx_final += w * xval[i] * q;
            sumq2_final += w * q * q;
        }
        if (sumq2_final > 0) scale = sumqx_final / sumq2_final;
    }
    return scale;
}

// Searches the scale and levels of one group of 32 magnitudes `xval` (L: 32 levels in [0, 7],
// every 4 of which form a grid point). Returns the scale, which may be negative.
//
// ggml runs one loop over the trial scales, keeping the best so far. The levels and the two sums
// of a trial do not depend on earlier trials, so we compute them for all trials first (phases A
// and B; iq3_lanes.h's search_group evaluates several trials at a time) and then replay ggml's
// sequential choice over them in trial order (phase C). Every float operation is ggml's, in its
// order, so the choice and the bytes are the same.
template <class Search>
float search_group(const iq3_search_tables& t, const search_variant& v, const float* xval,
                   const float* weight, const float* waux, float max, int8_t* L) {
    const int nsteps = v.last_step - v.first_step + 1;  // at most kMaxSteps
    alignas(32) int8_t Laux[kMaxSteps][32];
    alignas(32) float q_by_element[32][kMaxSteps];  // 2l+1 of element i in trial s at [i][s]
    bool on_grid_aux[kMaxSteps][8];
    alignas(32) float wx[32];
    for (int i = 0; i < 32; ++i) wx[i] = weight[i] * xval[i];

    // Phase A: each trial's levels, off-grid groups moved to their best neighbour.
    for (int s = 0; s < nsteps; ++s) {
        const int step = v.first_step + s;
        const float id = (2 * kMaxQ - 1 + step * 0.2f) / max;
        const float this_scale = 1 / id;
        int points[8];
        Search::group_levels(id, xval, Laux[s], points);
        for (int k = 0; k < 8; ++k) {
            const int32_t grid_index = t.map[points[k]];
            on_grid_aux[s][k] = grid_index >= 0;
            if (grid_index < 0) {
                Search::best_neighbour(t, -grid_index - 1, xval + 4 * k, waux + 4 * k, this_scale,
                                       Laux[s] + 4 * k);
            }
        }
        for (int i = 0; i < 32; ++i) q_by_element[i][s] = float(2 * Laux[s][i] + 1);
    }

    // Phase B: sum_i w x q and sum_i w q^2 of every trial, each summed in element order.
    alignas(32) float sumqx[kMaxSteps], sumq2[kMaxSteps];
    Search::trial_sums(nsteps, &q_by_element[0][0], weight, wx, sumqx, sumq2);

    // Phase C: ggml's sequential choice of the best trial.
    bool on_grid[8];
    float scale = max / (2 * kMaxQ - 1);
    const int chosen = choose_trial(nsteps, sumqx, sumq2, &scale);
    if (chosen >= 0) std::memcpy(L, Laux[chosen], 32);
    for (int k = 0; k < 8; ++k)
        on_grid[k] = chosen >= 0 ? on_grid_aux[chosen][k] : v.assume_on_grid;
    return refine_group<Search>(t, v, xval, weight, waux, on_grid, scale, L);
}

// Grid index of the 4 levels at L; levels from search_group are always on the grid (a miss could
// only come from NaN input, where ggml aborts; we write index 0 instead).
inline int grid_index_of(const iq3_search_tables& t, const int8_t* L) {
    const int32_t g = t.map[point_of(L)];
    return g >= 0 ? g : 0;
}

// Importance of each of the 32 values of a group: imatrix-weighted when given, else x^2.
inline void group_weights(const float* xb, const float* qw, float sigma2, float* weight,
                          float* waux) {
    if (qw) {
        for (int i = 0; i < 32; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    } else {
        for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    }
    for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
}

inline float super_block_sigma2(const float* xbl) {
    float sumx2 = 0;
    for (int i = 0; i < 256; ++i) sumx2 += xbl[i] * xbl[i];
    return 2 * sumx2 / 256;
}

}  // namespace iq3_detail

inline float iq3_scalar_search::search_group(const iq3_search_tables& t,
                                             const iq3_detail::search_variant& v, const float* xval,
                                             const float* weight, const float* waux, float max,
                                             int8_t* L) {
    return iq3_detail::search_group<iq3_scalar_search>(t, v, xval, weight, waux, max, L);
}

// IQ3_XXS block (98 bytes): fp16 d, 64 grid indices, then per group of 32 a little-endian u32 of
// four 7-bit sign masks (the 8th sign is the parity) and a 4-bit scale on top.
template <class Search>
void quantize_iq3_xxs_rows(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                           const float* imatrix) {
    using namespace iq3_detail;
    constexpr size_t kBlockBytes = 98;
    const iq3_search_tables& t = iq3_xxs_search_tables();
    const int64_t nblocks = n_per_row / 256;
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t row = 0; row < nrows; ++row) {
        const float* x = src + row * n_per_row;
        for (int64_t ibl = 0; ibl < nblocks; ++ibl, out += kBlockBytes) {
            uint8_t q3[96] = {};
            uint32_t scales_and_signs[8] = {};
            float scales[8];
            float max_scale = 0;
            const float* xbl = x + 256 * ibl;
            const float sigma2 = super_block_sigma2(xbl);
            for (int ib = 0; ib < 8; ++ib) {
                const float* xb = xbl + 32 * ib;
                float weight[32], waux[32], xval[32];
                int8_t L[32] = {};
                uint8_t block_signs[4];
                group_weights(xb, imatrix ? imatrix + 256 * ibl + 32 * ib : nullptr, sigma2, weight,
                              waux);
                for (int k = 0; k < 4; ++k) {
                    uint8_t s;
                    const int nflip = split_signs8(xb + 8 * k, xval + 8 * k, &s);
                    // Only 7 signs are stored; the 8th is implied even parity. With an odd count,
                    // flip the least important value instead.
                    if (nflip % 2) {
                        int imin = 0;
                        float min = weight[8 * k] * xb[8 * k] * xb[8 * k];
                        for (int i = 1; i < 8; ++i) {
                            const float ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
                            if (ax < min) {
                                min = ax;
                                imin = i;
                            }
                        }
                        xval[8 * k + imin] = -xval[8 * k + imin];
                        s ^= uint8_t(1 << imin);
                    }
                    block_signs[k] = s & 127;
                }
                float max = xval[0];
                for (int i = 1; i < 32; ++i) max = max_of(max, xval[i]);
                if (max < 1e-8f) {  // ggml's GROUP_MAX_EPS_IQ3_XXS
                    scales[ib] = 0;
                    continue;
                }
                float scale = Search::search_group(t, kXxsVariant, xval, weight, waux, max, L);
                if (scale < 0) {  // ggml's guard: keep the scale unsigned by flipping the signs
                    scale = -scale;
                    for (int k = 0; k < 4; ++k) block_signs[k] = uint8_t(~block_signs[k]) & 127;
                }
                for (int k = 0; k < 8; ++k) q3[8 * ib + k] = uint8_t(grid_index_of(t, L + 4 * k));
                scales_and_signs[ib] = uint32_t(block_signs[0]) | uint32_t(block_signs[1]) << 7 |
                                       uint32_t(block_signs[2]) << 14 |
                                       uint32_t(block_signs[3]) << 21;
                scales[ib] = scale;
                max_scale = max_of(max_scale, scale);
            }
            if (!max_scale) {
                std::memset(out, 0, kBlockBytes);
                continue;
            }
            const float d = max_scale / 31;
            const uint16_t dh = fp32_to_fp16(d * 1.0125f);
            const float id = 1 / d;
            for (int ib = 0; ib < 8; ++ib) {
                const int l = clamp_level(nearest_int(0.5f * (id * scales[ib] - 1)), 15);
                scales_and_signs[ib] |= uint32_t(l) << 28;
            }
            std::memcpy(out, &dh, 2);
            std::memcpy(out + 2, q3, 64);
            for (int ib = 0; ib < 8; ++ib) {
                const uint32_t v = scales_and_signs[ib];
                const uint8_t bytes[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16),
                                          uint8_t(v >> 24)};
                std::memcpy(out + 66 + 4 * ib, bytes, 4);
            }
        }
    }
}

// IQ3_S block (110 bytes): fp16 d, qs[64] low 8 bits of the grid indices, qh[8] their 9th bits,
// signs[32], scales[4] (two 4-bit group scales per byte).
template <class Search>
void quantize_iq3_s_rows(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix) {
    using namespace iq3_detail;
    constexpr size_t kBlockBytes = 110;
    const iq3_search_tables& t = iq3_s_search_tables();
    const int64_t nblocks = n_per_row / 256;
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t row = 0; row < nrows; ++row) {
        const float* x = src + row * n_per_row;
        for (int64_t ibl = 0; ibl < nblocks; ++ibl, out += kBlockBytes) {
            std::memset(out, 0, kBlockBytes);
            // ggml advances the qs and signs cursors only for groups it quantizes, so a skipped
            // (all-zero) group shifts the following groups' bytes down. Reproduce that layout.
            uint8_t* qs = out + 2;
            uint8_t* qh = out + 66;
            uint8_t* signs = out + 74;
            uint8_t* block_scales = out + 106;
            float scales[8];
            float max_scale = 0;
            const float* xbl = x + 256 * ibl;
            const float sigma2 = super_block_sigma2(xbl);
            for (int ib = 0; ib < 8; ++ib) {
                const float* xb = xbl + 32 * ib;
                float weight[32], waux[32], xval[32];
                int8_t L[32] = {};
                uint8_t block_signs[4];
                group_weights(xb, imatrix ? imatrix + 256 * ibl + 32 * ib : nullptr, sigma2, weight,
                              waux);
                for (int k = 0; k < 4; ++k) {
                    uint8_t s;
                    split_signs8(xb + 8 * k, xval + 8 * k, &s);
                    block_signs[k] = s;
                }
                float max = xval[0];
                for (int i = 1; i < 32; ++i) max = max_of(max, xval[i]);
                if (!max) {
                    scales[ib] = 0;
                    continue;
                }
                float scale = Search::search_group(t, kSVariant, xval, weight, waux, max, L);
                if (scale < 0) {
                    scale = -scale;
                    for (int k = 0; k < 4; ++k) block_signs[k] = uint8_t(~block_signs[k]);
                }
                for (int k = 0; k < 8; ++k) {
                    const int g = grid_index_of(t, L + 4 * k);
                    qs[k] = uint8_t(g & 255);
                    qh[ib] |= uint8_t((g >> 8) << k);
                }
                qs += 8;
                std::memcpy(signs, block_signs, 4);
                signs += 4;
                scales[ib] = scale;
                max_scale = max_of(max_scale, scale);
            }
            if (!max_scale) continue;
            const float d = max_scale / 31;
            const uint16_t dh = fp32_to_fp16(d * 1.033f);
            std::memcpy(out, &dh, 2);
            const float id = 1 / d;
            for (int ib = 0; ib < 8; ib += 2) {
                const int l1 = clamp_level(nearest_int(0.5f * (id * scales[ib + 0] - 1)), 15);
                const int l2 = clamp_level(nearest_int(0.5f * (id * scales[ib + 1] - 1)), 15);
                block_scales[ib / 2] = uint8_t(l1 | (l2 << 4));
            }
        }
    }
}

}  // namespace
}  // namespace gguf_squash
