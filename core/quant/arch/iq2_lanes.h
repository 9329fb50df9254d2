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

// As the reference's take_signs.
inline uint8_t take_signs(const float* xb, const float* weight, bool even_parity, float* xval) {
    int nflip = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
        if (xb[i] >= 0) {
            xval[i] = xb[i];
        } else {
            xval[i] = -xb[i];
            ++nflip;
            s |= uint8_t(1 << i);
        }
    }
    if (even_parity && nflip % 2) {
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

    // The first of `count` candidates (packed levels at `levels`) strictly closer than *best,
    // updating *best; -1 when none is. term[3 * i + l]: coordinate i's term at level l.
    static int nearest(const float* term, int count, const uint32_t* levels, float* best) {
        F table[8];
        for (int i = 0; i < 8; ++i)
            table[i] = V::set4(term[3 * i], term[3 * i + 1], term[3 * i + 2], term[3 * i + 2]);
        // Per lane, the smallest score below *best so far and the first candidate reaching it;
        // the overall winner is then the smallest of these, the lowest candidate on ties: the
        // first strict minimum of the sequential scan.
        const F start = V::set1(*best);
        F lane_best = start;
        I lane_index = V::isplat(0);
        I index = V::iota();
        const I step = V::isplat(uint32_t(N));
        const F inf = V::set1(__builtin_inff());
        for (int j0 = 0; j0 < count; j0 += N) {
            const I lv = V::iload(levels + j0);
            F d2 = V::zero();
            for (int i = 0; i < 8; ++i) d2 = V::add(d2, V::lookup4(table[i], V::ishr(lv, 2 * i)));
            if (count - j0 < N) {  // lanes past the list's end never win
                const F in_range = V::from_bits(V::igt(V::isplat(uint32_t(count - j0)), V::iota()));
                d2 = V::select(in_range, d2, inf);
            }
            const F better = V::lt(d2, lane_best);  // false for NaN
            lane_best = V::select(better, d2, lane_best);
            lane_index = V::iselect(V::bits(better), index, lane_index);
            index = V::iadd(index, step);
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
        const iq2_search_tables& t = *lt.t;
        const int offset = -map_value - 1;
        const uint16_t* neighbours = t.neighbours.data() + offset;
        float term[24];
        for (int i = 0; i < 8; ++i) {
            for (int l = 0; l < 3; ++l) {
                const float q = float(2 * l + 1);
                const float diff = scale * q - xval[i];
                term[3 * i + l] = weight[i] * diff * diff;
            }
        }
        const int count = neighbours[0];
        float best_d2 = FLT_MAX;
        const int j = nearest(term, count, lt.neighbour_levels.data() + offset + 1, &best_d2);
        const int grid_index = j >= 0 ? int(neighbours[1 + j]) : (count > 0 ? neighbours[1] : 0);
        const uint16_t levels = t.levels[grid_index];
        for (int i = 0; i < 8; ++i) L[i] = int8_t((levels >> 2 * i) & 3);
        return grid_index;
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

    // The levels clamp(nearest_int(0.5 (id x - 1)), 0, 2) of n (a multiple of 16) values, as
    // the reference's levels_on_grid computes them one at a time.
    template <int n>
    static void trial_levels(const float* xval, float id, int8_t* L) {
        static_assert(n % 16 == 0, "levels are packed 16 at a time");
        const F vid = V::set1(id);
        const F half = V::set1(0.5f);
        const F one = V::set1(1.f);
        for (int c0 = 0; c0 < n; c0 += 16) {
            I l[16 / N];
            for (int c = 0; c < 16 / N; ++c) {
                const F x = V::load(xval + c0 + c * N);
                l[c] = V::round_clamp_i(V::mul(half, V::sub(V::mul(vid, x), one)), 0, 2);
            }
            V::store_i8_16(L + c0, l);
        }
    }

    // The rest of levels_on_grid for levels already computed: puts a group of 8 on the grid.
    static bool group_on_grid(const iq2_detail::iq2_lane_tables& lt, const float* xval,
                              const float* waux, float scale, int8_t* L) {
        uint32_t u = 0;
        for (int i = 0; i < 8; ++i) u |= uint32_t(L[i]) << 2 * i;  // levels are in [0, 2]
        const int m = lt.t->map[u];
        if (m >= 0) return true;
        best_neighbour(lt, m, xval, waux, scale, L);
        return false;
    }

    static void quantize_row_iq2_xxs(const float* x, uint8_t* y, int64_t n,
                                     const float* quant_weights) {
        using namespace iq2_detail;
        const iq2_lane_tables& lt = lane_tables(iq2_grid_kind::iq2_xxs);
        const iq2_search_tables& t = *lt.t;
        constexpr int kMaxQ = 3;
        float scales[kQK / 32];
        float weight[32], xval[32], waux[32];
        int8_t L[32], Laux[32];
        uint8_t block_signs[4];
        uint32_t q2[2 * (kQK / 32)];

        for (int64_t ibl = 0; ibl < n / kQK; ++ibl, y += 66) {
            std::memset(y, 0, 66);
            std::memset(q2, 0, sizeof(q2));
            float max_scale = 0;
            const float* xbl = x + kQK * ibl;
            const float sigma2 = sum_of_squares_256(xbl) / kQK;

            for (int ib = 0; ib < kQK / 32; ++ib) {
                const float* xb = xbl + 32 * ib;
                for (int i = 0; i < 32; ++i) {
                    const float qw = quant_weights ? quant_weights[kQK * ibl + 32 * ib + i] : 1.f;
                    weight[i] = qw * std::sqrt(sigma2 + xb[i] * xb[i]);
                }
                for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
                for (int k = 0; k < 4; ++k)
                    block_signs[k] = take_signs(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
                float max = xval[0];
                for (int i = 1; i < 32; ++i) max = max_f(max, xval[i]);
                if (max < kGroupMaxEps) {
                    scales[ib] = 0;
                    continue;
                }
                float scale =
                    make_qp_quants(32, kMaxQ + 1, xval, reinterpret_cast<uint8_t*>(L), weight);
                const float eff_max = scale * kMaxQ;
                if (eff_max <= 0) {
                    scales[ib] = 0;
                    continue;
                }
                float best = 0;
                for (int is = -6; is <= 6; ++is) {
                    const float id = (2 * kMaxQ - 1 + is * 0.1f) / eff_max;
                    const float this_scale = 1 / id;
                    trial_levels<32>(xval, id, Laux);
                    for (int k = 0; k < 4; ++k)
                        group_on_grid(lt, xval + 8 * k, waux + 8 * k, this_scale, Laux + 8 * k);
                    float sumq2;
                    const float sumqx = weighted_sum_qx(32, weight, xval, Laux, &sumq2);
                    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                        scale = sumqx / sumq2;
                        best = scale * sumqx;
                        std::memcpy(L, Laux, 32);
                    }
                }
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
        int8_t L[16], Laux[16];
        bool is_on_grid[2], is_on_grid_aux[2];
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
                if (quant_weights) {
                    const float* qw = quant_weights + kQK * ibl + 16 * ib;
                    for (int i = 0; i < 16; ++i)
                        weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
                } else if (kIsIq2S) {
                    for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
                } else {
                    for (int i = 0; i < 16; ++i)
                        weight[i] = 1.f * std::sqrt(sigma2 + xb[i] * xb[i]);
                }
                for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
                for (int k = 0; k < 2; ++k)
                    block_signs[k] = take_signs(xb + 8 * k, weight + 8 * k, !kIsIq2S, xval + 8 * k);
                float max = xval[0];
                for (int i = 1; i < 16; ++i) max = max_f(max, xval[i]);
                std::memset(L, 0, 16);
                if (max < (kIsIq2S ? kIq2SGroupMaxEps : kGroupMaxEps)) {
                    scales[ib] = 0;
                    continue;
                }
                float best = 0;
                float scale = max / (2 * kMaxQ - 1);
                is_on_grid[0] = is_on_grid[1] = true;
                for (int is = -9; is <= 9; ++is) {
                    const float id = (2 * kMaxQ - 1 + is * 0.1f) / max;
                    const float this_scale = 1 / id;
                    trial_levels<16>(xval, id, Laux);
                    for (int k = 0; k < 2; ++k)
                        is_on_grid_aux[k] =
                            group_on_grid(lt, xval + 8 * k, waux + 8 * k, this_scale, Laux + 8 * k);
                    float sumq2;
                    const float sumqx = weighted_sum_qx(16, weight, xval, Laux, &sumq2);
                    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                        scale = sumqx / sumq2;
                        best = scale * sumqx;
                        std::memcpy(L, Laux, 16);
                        is_on_grid[0] = is_on_grid_aux[0];
                        is_on_grid[1] = is_on_grid_aux[1];
                    }
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
