// Scalar reference kernels for IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M: the same bytes as ggml's
// quantize_iq2_xxs() ... quantize_iq1_m() and the same floats as its dequantize_row_*.
//
// Every float expression keeps ggml's operand order (a*b*c is (a*b)*c, sums run element by
// element), since the chosen grid points and scales decide the output bytes. Where ggml would
// abort (a point that cannot be put on the grid, possible only with NaN input) we pick grid
// point 0 instead, so that no input can crash the quantizer.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "iq2_grids.h"
#include "quant/kernel_table.h"
#include "quant/quant_common.h"
#include "quant_search.h"

namespace gguf_squash {
namespace {

constexpr int kQK = 256;  // super-block size of every type here
constexpr float kIq2SGroupMaxEps = 1e-8f;
constexpr float kIq1SGroupMaxEps = 1e-12f;
constexpr float kIq1MGroupMaxEps = 1e-7f;
constexpr float kIq1Delta = 0.125f;  // IQ1S_DELTA and IQ1M_DELTA

// ggml's MAX/MIN macros, including which operand wins when a comparison is false (NaN).
inline float max_f(float a, float b) {
    return a > b ? a : b;
}
inline int clamp_level(int l, int hi) {
    return std::max(0, std::min(hi, l));
}

inline void store_u16(uint8_t* p, uint16_t v) {
    std::memcpy(p, &v, 2);
}
inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

inline const int8_t* grid_point(const iq2_search_tables& t, int index) {
    return reinterpret_cast<const int8_t*>(&t.grid[size_t(index)]);
}
inline const uint16_t* neighbours_of(const iq2_search_tables& t, int map_value) {
    return t.neighbours.data() + (-map_value - 1);
}

// Grid index of 8 levels, or a negative value when the point is off the grid (ggml would abort
// there). Levels outside [0, 2] (left over only when NaN input stopped the search) are off grid.
inline int on_grid_index(const iq2_search_tables& t, const int8_t* L) {
    uint16_t u = 0;
    for (int i = 0; i < 8; ++i) {
        if (uint8_t(L[i]) > 2) return -1;
        u |= uint16_t(L[i] << 2 * i);
    }
    return t.map[u];
}

// Weighted squared distances of grid points to a group of 8, from per-coordinate, per-level
// terms: term[3*i + l] is coordinate i's weight*diff*diff at level l, the same float value ggml
// computes inside its loop, and the terms are summed in ggml's order (0 + t0 + t1 + ... + t7, left
// to right), so each distance is bit-identical to ggml's. For long candidate lists the sums of the
// first four terms are tabulated per level combination (81 of 256 entries), and when every term
// is non-negative a candidate whose first four terms already reach the best distance is skipped:
// adding non-negative floats never decreases a sum, so it could not have won.
struct group_distances {
    float term[24];
    float head[256];
    bool use_head = false;
    bool prunable = false;

    void tabulate_head() {
        use_head = true;
        prunable = true;
        for (int i = 0; i < 24; ++i) prunable = prunable && term[i] >= 0;  // false for NaN
        for (int l0 = 0; l0 < 3; ++l0) {
            float s0 = 0;
            s0 += term[l0];
            for (int l1 = 0; l1 < 3; ++l1) {
                const float s1 = s0 + term[3 + l1];
                for (int l2 = 0; l2 < 3; ++l2) {
                    const float s2 = s1 + term[6 + l2];
                    for (int l3 = 0; l3 < 3; ++l3)
                        head[l0 | l1 << 2 | l2 << 4 | l3 << 6] = s2 + term[9 + l3];
                }
            }
        }
    }
    float tail(float d2, uint16_t levels) const {
        for (int i = 4; i < 8; ++i) d2 += term[3 * i + ((levels >> 2 * i) & 3)];
        return d2;
    }
    float operator()(uint16_t levels) const {
        if (use_head) return tail(head[levels & 255], levels);
        float d2 = 0;
        for (int i = 0; i < 8; ++i) d2 += term[3 * i + ((levels >> 2 * i) & 3)];
        return d2;
    }
    // The first of `count` candidates (grid indices from index_at) strictly closer than *best,
    // updating *best; -1 when none is.
    template <typename IndexAt>
    int nearest(int count, IndexAt index_at, const uint16_t* levels, float* best) const {
        float b = *best;
        int found = -1;
        if (prunable) {
            for (int j = 0; j < count; ++j) {
                const int g = index_at(j);
                const float h = head[levels[g] & 255];
                if (!(h < b)) continue;
                const float d2 = tail(h, levels[g]);
                if (d2 < b) b = d2, found = g;
            }
        } else {
            for (int j = 0; j < count; ++j) {
                const int g = index_at(j);
                const float d2 = (*this)(levels[g]);
                if (d2 < b) b = d2, found = g;
            }
        }
        *best = b;
        return found;
    }
};

// Below this many candidates the head table costs more than it saves.
constexpr int kHeadTableMinCandidates = 24;

// ggml's iq2_find_best_neighbour: the neighbour closest to xval at `scale` in weighted squared
// distance (first one on ties); writes its levels to L.
int iq2_best_neighbour(const iq2_search_tables& t, const uint16_t* neighbours, const float* xval,
                       const float* weight, float scale, int8_t* L) {
    group_distances dist;
    for (int i = 0; i < 8; ++i) {
        for (int l = 0; l < 3; ++l) {
            const float q = float(2 * l + 1);
            const float diff = scale * q - xval[i];
            dist.term[3 * i + l] = weight[i] * diff * diff;
        }
    }
    const int count = neighbours[0];
    if (count >= kHeadTableMinCandidates) dist.tabulate_head();
    float best_d2 = FLT_MAX;
    int grid_index = dist.nearest(
        count, [&](int j) { return int(neighbours[j + 1]); }, t.levels, &best_d2);
    if (grid_index < 0) grid_index = count > 0 ? neighbours[1] : 0;  // ggml asserts; NaN only
    const uint16_t levels = t.levels[grid_index];
    for (int i = 0; i < 8; ++i) L[i] = int8_t((levels >> 2 * i) & 3);
    return grid_index;
}

// Levels of a group of 8 at inverse scale id, put on the grid (nearest neighbour at `scale`
// when off it). Returns whether the rounded point was already on the grid.
bool iq2_levels_on_grid(const iq2_search_tables& t, const float* xval, const float* waux, float id,
                        float scale, int8_t* L) {
    for (int i = 0; i < 8; ++i)
        L[i] = int8_t(clamp_level(nearest_int(0.5f * (id * xval[i] - 1)), 2));
    const int m = on_grid_index(t, L);
    if (m >= 0) return true;
    iq2_best_neighbour(t, neighbours_of(t, m), xval, waux, scale, L);
    return false;
}

// Magnitudes and sign bits of 8 values. IQ2_XXS and IQ2_XS store only 7 sign bits and imply the
// 8th by even parity: with an odd count of negatives, the least important value's sign is flipped.
uint8_t take_signs(const float* xb, const float* weight, bool even_parity, float* xval) {
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

float weighted_sum_qx(int n, const float* weight, const float* xval, const int8_t* L,
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

float sum_of_squares_256(const float* x) {
    float s = 0;
    for (int i = 0; i < kQK; ++i) s += x[i] * x[i];
    return s;
}

// ---------------------------------------------------------------- IQ2_XXS (66 bytes per block)
// d (fp16), then per 32 values two uint32: four 8-bit grid indices; 4 x 7 sign bits and a 4-bit
// scale in the top bits.

void quantize_row_iq2_xxs(const float* x, uint8_t* y, int64_t n, const float* quant_weights) {
    const iq2_search_tables& t = iq2_tables(iq2_grid_kind::iq2_xxs);
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
                for (int k = 0; k < 4; ++k)
                    iq2_levels_on_grid(t, xval + 8 * k, waux + 8 * k, id, this_scale, Laux + 8 * k);
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
                    iq2_levels_on_grid(t, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
                float sumq2;
                const float sumqx = weighted_sum_qx(32, weight, xval, L, &sumq2);
                if (sumq2 > 0) scale = sumqx / sumq2;
            }
            if (scale < 0) {  // ggml: "should never happen"; keep the scale unsigned
                scale = -scale;
                for (int k = 0; k < 4; ++k) block_signs[k] = uint8_t(~block_signs[k] & 127);
            }
            for (int k = 0; k < 4; ++k) {
                const int grid_index = std::max(0, on_grid_index(t, L + 8 * k));
                q2[2 * ib + 0] |= uint32_t(grid_index) << 8 * k;
                q2[2 * ib + 1] |= uint32_t(block_signs[k]) << 7 * k;
            }
            scales[ib] = scale;
            max_scale = max_f(max_scale, scale);
        }

        if (!max_scale) continue;  // the block stays all zero
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

void dequantize_iq2_xxs_ref(const void* src, float* y, int64_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += 66) {
        const float d = fp16_to_fp32(load_u16(b));
        for (int ib = 0; ib < kQK / 32; ++ib) {
            uint32_t aux[2];
            std::memcpy(aux, b + 2 + 8 * ib, 8);
            const float db = d * (0.5f + float(aux[1] >> 28)) * 0.25f;
            for (int l = 0; l < 4; ++l) {
                const uint16_t levels = kIq2XxsGridLevels[(aux[0] >> 8 * l) & 255];
                const uint8_t signs = iq2_signs_with_parity(aux[1] >> 7 * l);
                for (int j = 0; j < 8; ++j) {
                    static constexpr float kValues[3] = {8, 25, 43};
                    y[j] = db * kValues[(levels >> 2 * j) & 3] * (signs & (1 << j) ? -1.f : 1.f);
                }
                y += 8;
            }
        }
    }
}

// ----------------------------------------------------------------- IQ2_XS (74 bytes per block)
// d (fp16), 32 uint16 (9-bit grid index, 7 sign bits), 8 bytes of two 4-bit scales.
// IQ2_S (82 bytes): d, 32 low index bytes, 32 sign bytes, 8 bytes of 2 high index bits x 4,
// 8 bytes of scales. The two share their search; IQ2_S has no implied sign and weights the
// no-imatrix case.

template <bool kIsIq2S>
void quantize_row_iq2_xs_s(const float* x, uint8_t* y, int64_t n, const float* quant_weights) {
    const iq2_search_tables& t = iq2_tables(kIsIq2S ? iq2_grid_kind::iq2_s : iq2_grid_kind::iq2_xs);
    constexpr int kMaxQ = 3;
    constexpr int kBlockBytes = kIsIq2S ? 82 : 74;
    float scales[kQK / 16];
    float weight[16], xval[16], waux[16];
    int8_t L[16], Laux[16];
    bool is_on_grid[2], is_on_grid_aux[2];
    uint8_t block_signs[2];
    uint16_t q2[kQK / 16 * 2];  // IQ2_XS only

    for (int64_t ibl = 0; ibl < n / kQK; ++ibl, y += kBlockBytes) {
        std::memset(y, 0, kBlockBytes);
        std::memset(q2, 0, sizeof(q2));
        uint8_t* qs = y + 2;
        uint8_t* qh = y + 2 + 64;  // IQ2_S
        uint8_t* sc = y + 2 + 64 + (kIsIq2S ? 8 : 0);
        float max_scale = 0;
        const float* xbl = x + kQK * ibl;
        const float sumx2 = sum_of_squares_256(xbl);
        const float sigma2 = kIsIq2S ? 2 * sumx2 / kQK : sumx2 / kQK;

        for (int ib = 0; ib < kQK / 16; ++ib) {
            const float* xb = xbl + 16 * ib;
            if (quant_weights) {
                const float* qw = quant_weights + kQK * ibl + 16 * ib;
                for (int i = 0; i < 16; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
            } else if (kIsIq2S) {
                for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
            } else {  // IQ2_XS requires an imatrix; unit importance keeps a direct call defined
                for (int i = 0; i < 16; ++i) weight[i] = 1.f * std::sqrt(sigma2 + xb[i] * xb[i]);
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
                for (int k = 0; k < 2; ++k)
                    is_on_grid_aux[k] = iq2_levels_on_grid(t, xval + 8 * k, waux + 8 * k, id,
                                                           this_scale, Laux + 8 * k);
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
                    iq2_levels_on_grid(t, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
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
                const int grid_index = std::max(0, on_grid_index(t, L + 8 * k));
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

void dequantize_iq2_xs_ref(const void* src, float* y, int64_t n) {
    static constexpr float kValues[3] = {8, 25, 43};
    const uint8_t* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += 74) {
        const float d = fp16_to_fp32(load_u16(b));
        const uint8_t* sc = b + 66;
        for (int ib = 0; ib < kQK / 32; ++ib) {
            const float db[2] = {d * (0.5f + float(sc[ib] & 0xf)) * 0.25f,
                                 d * (0.5f + float(sc[ib] >> 4)) * 0.25f};
            for (int l = 0; l < 4; ++l) {
                const uint16_t q = load_u16(b + 2 + 2 * (4 * ib + l));
                const uint16_t levels = kIq2XsGridLevels[q & 511];
                const uint8_t signs = iq2_signs_with_parity(q >> 9);
                for (int j = 0; j < 8; ++j)
                    y[j] = db[l / 2] * kValues[(levels >> 2 * j) & 3] *
                           (signs & (1 << j) ? -1.f : 1.f);
                y += 8;
            }
        }
    }
}

void dequantize_iq2_s_ref(const void* src, float* y, int64_t n) {
    static constexpr float kValues[3] = {8, 25, 43};
    const uint8_t* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += 82) {
        const float d = fp16_to_fp32(load_u16(b));
        const uint8_t* qs = b + 2;
        const uint8_t* signs = qs + kQK / 8;
        const uint8_t* qh = b + 66;
        const uint8_t* sc = b + 74;
        for (int ib = 0; ib < kQK / 32; ++ib) {
            const float db[2] = {d * (0.5f + float(sc[ib] & 0xf)) * 0.25f,
                                 d * (0.5f + float(sc[ib] >> 4)) * 0.25f};
            for (int l = 0; l < 4; ++l) {
                const float dl = db[l / 2];
                const uint16_t levels = kIq2SGridLevels[qs[l] | ((qh[ib] << (8 - 2 * l)) & 0x300)];
                for (int j = 0; j < 8; ++j)
                    y[j] = dl * kValues[(levels >> 2 * j) & 3] * (signs[l] & (1 << j) ? -1.f : 1.f);
                y += 8;
            }
            qs += 4;
            signs += 4;
        }
    }
}

// ---------------------------------------------------------------- IQ1_S and IQ1_M, shared parts

// ggml's iq1_find_best_neighbour2: the neighbour whose values xg[l] at `scale` are closest to
// xval (first one on ties); writes its levels to L.
int iq1_best_neighbour(const iq2_search_tables& t, const uint16_t* neighbours, const float* xval,
                       const float* weight, float scale, const float* xg, int8_t* L) {
    group_distances dist;
    for (int i = 0; i < 8; ++i) {
        for (int l = 0; l < 3; ++l) {
            const float q = xg[l];
            const float w = weight[i];
            const float diff = scale * q - xval[i];
            dist.term[3 * i + l] = w * diff * diff;
        }
    }
    const int count = neighbours[0];
    if (count >= kHeadTableMinCandidates) dist.tabulate_head();
    float best_score = FLT_MAX;
    int grid_index = dist.nearest(
        count, [&](int j) { return int(neighbours[j + 1]); }, t.levels, &best_score);
    if (grid_index < 0) {  // every distance was NaN or huge: ggml then scans the whole grid
        dist.tabulate_head();
        grid_index = dist.nearest(
            t.grid_size, [](int j) { return j; }, t.levels, &best_score);
    }
    if (grid_index < 0) grid_index = 0;  // ggml asserts here
    const uint16_t levels = t.levels[grid_index];
    for (int i = 0; i < 8; ++i) L[i] = int8_t((levels >> 2 * i) & 3);
    return grid_index;
}

// ggml sorts (value, index) pairs with qsort comparing values only; glibc's qsort is a stable
// merge sort for arrays this small, so ties keep index order. A stable insertion sort gives the
// same order and, unlike std::stable_sort, stays well defined when NaNs make the order partial.
void sort_indices_by_value(int n, const float* xb, int* idx) {
    for (int j = 0; j < n; ++j) {
        int k = j;
        while (k > 0 && xb[idx[k - 1]] > xb[j]) {
            idx[k] = idx[k - 1];
            --k;
        }
        idx[k] = j;
    }
}

// ------------------------------------------------------------------ IQ1_S (50 bytes per block)
// d (fp16), 32 low index bytes, 8 uint16: 4 x 3 high index bits, 3-bit scale, delta sign.

void quantize_row_iq1_s(const float* x, uint8_t* y, int64_t n, const float* quant_weights) {
    const iq2_search_tables& t = iq2_tables(iq2_grid_kind::iq1);
    constexpr int kBlock = 32;
    const float x_p[3] = {-1 + kIq1Delta, kIq1Delta, 1 + kIq1Delta};
    const float x_m[3] = {-1 - kIq1Delta, -kIq1Delta, 1 - kIq1Delta};
    float scales[kQK / kBlock];
    float weight[kBlock], sumx[kBlock + 1], sumw[kBlock + 1];
    int idx[kBlock];
    int8_t L[kBlock];
    uint16_t index[kBlock / 8];
    int8_t shifts[kQK / kBlock];

    for (int64_t ibl = 0; ibl < n / kQK; ++ibl, y += 50) {
        std::memset(y, 0, 50);
        uint8_t* qs = y + 2;
        uint16_t qh[kQK / kBlock] = {};
        float max_scale = 0;
        const float* xbl = x + kQK * ibl;
        const float sigma2 = 2 * sum_of_squares_256(xbl) / kQK;

        for (int ib = 0; ib < kQK / kBlock; ++ib) {
            const float* xb = xbl + kBlock * ib;
            for (int i = 0; i < kBlock; ++i) {
                const float qw = quant_weights ? quant_weights[kQK * ibl + kBlock * ib + i] : 1.f;
                weight[i] = qw * std::sqrt(sigma2 + xb[i] * xb[i]);
            }
            float max = std::fabs(xb[0]);
            for (int i = 1; i < kBlock; ++i) max = max_f(max, std::fabs(xb[i]));
            if (max < kIq1SGroupMaxEps) {
                scales[ib] = 0;
                shifts[ib] = 1;
                continue;
            }
            // Three levels: search the two split points of the sorted values exhaustively,
            // with prefix sums giving each split's optimal scale and score.
            sort_indices_by_value(kBlock, xb, idx);
            sumx[0] = sumw[0] = 0;
            for (int j = 0; j < kBlock; ++j) {
                const int i = idx[j];
                sumx[j + 1] = sumx[j] + weight[i] * xb[i];
                sumw[j + 1] = sumw[j] + weight[i];
            }
            float best_score = -FLT_MAX, scale = max;
            int besti1 = -1, besti2 = -1, best_shift = 0;
            for (int i1 = 0; i1 <= kBlock; ++i1) {
                for (int i2 = i1; i2 <= kBlock; ++i2) {
                    float sumqx = (sumx[i1] - sumx[0]) * x_p[0] + (sumx[i2] - sumx[i1]) * x_p[1] +
                                  (sumx[kBlock] - sumx[i2]) * x_p[2];
                    float sumq2 = (sumw[i1] - sumw[0]) * x_p[0] * x_p[0] +
                                  (sumw[i2] - sumw[i1]) * x_p[1] * x_p[1] +
                                  (sumw[kBlock] - sumw[i2]) * x_p[2] * x_p[2];
                    if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
                        scale = sumqx / sumq2;
                        best_score = scale * sumqx;
                        besti1 = i1, besti2 = i2, best_shift = 1;
                    }
                    sumqx = (sumx[i1] - sumx[0]) * x_m[0] + (sumx[i2] - sumx[i1]) * x_m[1] +
                            (sumx[kBlock] - sumx[i2]) * x_m[2];
                    sumq2 = (sumw[i1] - sumw[0]) * x_m[0] * x_m[0] +
                            (sumw[i2] - sumw[i1]) * x_m[1] * x_m[1] +
                            (sumw[kBlock] - sumw[i2]) * x_m[2] * x_m[2];
                    if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
                        scale = sumqx / sumq2;
                        best_score = scale * sumqx;
                        besti1 = i1, besti2 = i2, best_shift = -1;
                    }
                }
            }
            if (besti1 < 0 || besti2 < 0 || best_shift == 0) {
                scales[ib] = 0;
                shifts[ib] = 1;
                continue;
            }
            for (int j = 0; j < besti1; ++j) L[idx[j]] = 0;
            for (int j = besti1; j < besti2; ++j) L[idx[j]] = 1;
            for (int j = besti2; j < kBlock; ++j) L[idx[j]] = 2;
            if (scale < 0) {
                for (int j = 0; j < kBlock; ++j) L[j] = int8_t(2 - L[j]);
                scale = -scale;
                best_shift = -best_shift;
            }
            bool all_on_grid = true;
            const float* xx = best_shift == 1 ? x_p : x_m;
            for (int k = 0; k < kBlock / 8; ++k) {
                int grid_index = on_grid_index(t, L + 8 * k);
                if (grid_index < 0) {
                    all_on_grid = false;
                    grid_index = iq1_best_neighbour(t, neighbours_of(t, grid_index), xb + 8 * k,
                                                    weight + 8 * k, scale, xx, L + 8 * k);
                }
                index[k] = uint16_t(grid_index);
            }
            if (!all_on_grid) {
                float sumqx = 0, sumq2 = 0;
                for (int k = 0; k < kBlock / 8; ++k) {
                    const int8_t* pg = grid_point(t, index[k]);
                    for (int j = 0; j < 8; ++j) {
                        const float w = weight[8 * k + j];
                        const float q = xx[(pg[j] - 1) / 2];
                        sumqx += w * q * xb[8 * k + j];
                        sumq2 += w * q * q;
                    }
                }
                if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
            }
            uint16_t h = 0;
            for (int k = 0; k < kBlock / 8; ++k) {
                qs[(kBlock / 8) * ib + k] = uint8_t(index[k] & 255);
                h |= uint16_t((index[k] >> 8) << 3 * k);
            }
            qh[ib] = h;
            scales[ib] = scale;
            shifts[ib] = int8_t(best_shift);
            max_scale = max_f(max_scale, scale);
        }

        if (max_scale) {
            const float d = max_scale / 15;
            store_u16(y, fp32_to_fp16(d * 1.125f));
            const float id = 1 / d;
            for (int ib = 0; ib < kQK / kBlock; ++ib) {
                int l = clamp_level(nearest_int(0.5f * (id * scales[ib] - 1)), 7);
                if (shifts[ib] == -1) l |= 8;
                qh[ib] |= uint16_t(l << 12);
            }
        }
        std::memcpy(y + 2 + 32, qh, sizeof(qh));
    }
}

void dequantize_iq1_s_ref(const void* src, float* y, int64_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += 50) {
        const float d = fp16_to_fp32(load_u16(b));
        const uint8_t* qs = b + 2;
        for (int ib = 0; ib < kQK / 32; ++ib) {
            const uint16_t qh = load_u16(b + 34 + 2 * ib);
            const float dl = d * float(2 * ((qh >> 12) & 7) + 1);
            const float delta = qh & 0x8000 ? -kIq1Delta : kIq1Delta;
            for (int l = 0; l < 4; ++l) {
                const uint16_t levels = kIq1GridLevels[qs[l] | (((qh >> 3 * l) & 7) << 8)];
                for (int j = 0; j < 8; ++j)
                    y[j] = dl * (float(int((levels >> 2 * j) & 3) - 1) + delta);
                y += 8;
            }
            qs += 4;
        }
    }
}

// ------------------------------------------------------------------ IQ1_M (56 bytes per block)
// 32 low index bytes; 16 bytes of 2 x (3 high index bits, delta sign); 8 bytes of 3-bit scales
// with the fp16 super-block scale spread over the top nibbles of the four uint16.

void iq1_m_weights(const float* xb, const float* qw, float sigma2, float* weight) {
    if (qw) {
        for (int i = 0; i < 16; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    } else {
        for (int i = 0; i < 16; ++i) weight[i] = xb[i] * xb[i];
    }
}

void quantize_row_iq1_m(const float* x, uint8_t* y, int64_t n, const float* quant_weights) {
    const iq2_search_tables& t = iq2_tables(iq2_grid_kind::iq1);
    constexpr int kBlock = 16;
    const float x_p[3] = {-1 + kIq1Delta, kIq1Delta, 1 + kIq1Delta};
    const float x_m[3] = {-1 - kIq1Delta, -kIq1Delta, 1 - kIq1Delta};
    const uint8_t masks[4] = {0x00, 0x80, 0x08, 0x88};
    float scales[kQK / kBlock];
    float weight[kBlock];
    int idx[kBlock];
    int8_t L[kBlock];
    uint16_t index[kBlock / 8];
    int8_t shifts[kQK / kBlock];
    float sumqx[4], sumq2[4];
    // Which of x_p / x_m group k of 8 uses under sign combination best_k (0: ++, 1: +-, 2: -+,
    // 3: --).
    auto values_for = [&](int best_k, int k) {
        if (k == 0) return best_k < 2 ? x_p : x_m;
        return best_k % 2 == 0 ? x_p : x_m;
    };

    for (int64_t ibl = 0; ibl < n / kQK; ++ibl, y += 56) {
        std::memset(y, 0, 56);
        uint8_t* qs = y;
        uint8_t* qh = y + 32;
        float max_scale = 0;
        const float* xbl = x + kQK * ibl;
        const float sigma2 = 2 * sum_of_squares_256(xbl) / kQK;
        const float* qw_block = quant_weights ? quant_weights + kQK * ibl : nullptr;

        for (int ib = 0; ib < kQK / kBlock; ++ib) {
            const float* xb = xbl + kBlock * ib;
            iq1_m_weights(xb, qw_block ? qw_block + kBlock * ib : nullptr, sigma2, weight);
            float max = std::fabs(xb[0]);
            for (int i = 1; i < kBlock; ++i) max = max_f(max, std::fabs(xb[i]));
            if (max < kIq1MGroupMaxEps) {
                scales[ib] = 0;
                shifts[ib] = 0;
                continue;
            }
            sort_indices_by_value(kBlock, xb, idx);
            float best_score = -FLT_MAX, scale = max;
            int besti1 = -1, besti2 = -1, best_k = -1;
            {
                // Prefix sums per half of the block, since each half has its own delta sign.
                // With v[0]-v[1] = v[1]-v[2] = -1 a split's sum of q*x collapses to
                // T*v[2] - px[i1] - px[i2] (this llama.cpp version's summation order).
                float px[2][kBlock + 1], pw[2][kBlock + 1];
                px[0][0] = px[1][0] = 0;
                pw[0][0] = pw[1][0] = 0;
                for (int j = 0; j < kBlock; ++j) {
                    const int i = idx[j];
                    const int h = i < kBlock / 2 ? 0 : 1;
                    px[h][j + 1] = px[h][j] + weight[i] * xb[i];
                    px[1 - h][j + 1] = px[1 - h][j];
                    pw[h][j + 1] = pw[h][j] + weight[i];
                    pw[1 - h][j + 1] = pw[1 - h][j];
                }
                const float txs[2] = {px[0][kBlock], px[1][kBlock]};
                const float tws[2] = {pw[0][kBlock], pw[1][kBlock]};
                const float p2 = x_p[2], m2 = x_m[2];
                const float cp1 = x_p[0] * x_p[0] - x_p[1] * x_p[1];
                const float cp2 = x_p[1] * x_p[1] - x_p[2] * x_p[2];
                const float cm1 = x_m[0] * x_m[0] - x_m[1] * x_m[1];
                const float cm2 = x_m[1] * x_m[1] - x_m[2] * x_m[2];
                for (int i1 = 0; i1 <= kBlock; ++i1) {
                    for (int i2 = i1; i2 <= kBlock; ++i2) {
                        float qx_p[2], qx_m[2], q2_p[2], q2_m[2];
                        for (int h = 0; h < 2; ++h) {
                            const float sx = px[h][i1] + px[h][i2];
                            qx_p[h] = txs[h] * p2 - sx;
                            qx_m[h] = txs[h] * m2 - sx;
                            q2_p[h] = tws[h] * p2 * p2 + pw[h][i1] * cp1 + pw[h][i2] * cp2;
                            q2_m[h] = tws[h] * m2 * m2 + pw[h][i1] * cm1 + pw[h][i2] * cm2;
                        }
                        sumqx[0] = qx_p[0] + qx_p[1];
                        sumqx[1] = qx_p[0] + qx_m[1];
                        sumqx[2] = qx_m[0] + qx_p[1];
                        sumqx[3] = qx_m[0] + qx_m[1];
                        sumq2[0] = q2_p[0] + q2_p[1];
                        sumq2[1] = q2_p[0] + q2_m[1];
                        sumq2[2] = q2_m[0] + q2_p[1];
                        sumq2[3] = q2_m[0] + q2_m[1];
                        for (int k = 0; k < 4; ++k) {
                            if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best_score * sumq2[k]) {
                                scale = sumqx[k] / sumq2[k];
                                best_score = scale * sumqx[k];
                                besti1 = i1, besti2 = i2, best_k = k;
                            }
                        }
                    }
                }
            }
            if (besti1 < 0 || besti2 < 0 || best_k < 0) {
                scales[ib] = 0;
                shifts[ib] = 0;
                continue;
            }
            for (int j = 0; j < besti1; ++j) L[idx[j]] = 0;
            for (int j = besti1; j < besti2; ++j) L[idx[j]] = 1;
            for (int j = besti2; j < kBlock; ++j) L[idx[j]] = 2;
            if (scale < 0) {
                for (int j = 0; j < kBlock; ++j) L[j] = int8_t(2 - L[j]);
                scale = -scale;
                best_k = 3 - best_k;  // swap both halves' signs
            }
            bool all_on_grid = true;
            for (int k = 0; k < kBlock / 8; ++k) {
                int grid_index = on_grid_index(t, L + 8 * k);
                if (grid_index < 0) {
                    all_on_grid = false;
                    grid_index =
                        iq1_best_neighbour(t, neighbours_of(t, grid_index), xb + 8 * k,
                                           weight + 8 * k, scale, values_for(best_k, k), L + 8 * k);
                }
                index[k] = uint16_t(grid_index);
            }
            if (!all_on_grid) {
                float sumqx_f = 0, sumq2_f = 0;
                for (int k = 0; k < kBlock / 8; ++k) {
                    const float* xx = values_for(best_k, k);
                    const int8_t* pg = grid_point(t, index[k]);
                    for (int j = 0; j < 8; ++j) {
                        const float w = weight[8 * k + j];
                        const float q = xx[(pg[j] - 1) / 2];
                        sumqx_f += w * q * xb[8 * k + j];
                        sumq2_f += w * q * q;
                    }
                }
                if (sumqx_f > 0 && sumq2_f > 0) scale = sumqx_f / sumq2_f;
            }
            qs[2 * ib + 0] = uint8_t(index[0] & 255);
            qs[2 * ib + 1] = uint8_t(index[1] & 255);
            qh[ib] = uint8_t((index[0] >> 8) | ((index[1] >> 8) << 4));
            scales[ib] = scale;
            shifts[ib] = int8_t(best_k);
            max_scale = max_f(max_scale, scale);
        }

        if (!max_scale) continue;

        uint16_t sc[4] = {};
        float d = max_scale / 15;
        const float id = 1 / d;
        float sumqx_f = 0, sumq2_f = 0;
        for (int ib = 0; ib < kQK / kBlock; ++ib) {
            const int l = clamp_level(nearest_int(0.5f * (id * scales[ib] - 1)), 7);
            sc[ib / 4] |= uint16_t(l << 3 * (ib % 4));
            qh[ib] |= masks[shifts[ib]];
            const float* xb = xbl + kBlock * ib;
            iq1_m_weights(xb, qw_block ? qw_block + kBlock * ib : nullptr, sigma2, weight);
            for (int k = 0; k < kBlock / 8; ++k) {
                const float* xx = values_for(shifts[ib], k);
                const int8_t* pg =
                    grid_point(t, qs[2 * ib + k] + ((qh[ib] << (8 - 4 * k)) & 0x700));
                for (int j = 0; j < 8; ++j) {
                    const float w = weight[8 * k + j];
                    const float q = xx[(pg[j] - 1) / 2] * (2 * l + 1);
                    sumqx_f += w * q * xb[8 * k + j];
                    sumq2_f += w * q * q;
                }
            }
        }
        if (sumq2_f > 0) d = sumqx_f / sumq2_f;
        const uint16_t s = fp32_to_fp16(d * 1.1125f);
        sc[0] |= uint16_t((s & 0x000f) << 12);
        sc[1] |= uint16_t((s & 0x00f0) << 8);
        sc[2] |= uint16_t((s & 0x0f00) << 4);
        sc[3] |= uint16_t(s & 0xf000);
        std::memcpy(y + 48, sc, 8);
    }
}

void dequantize_iq1_m_ref(const void* src, float* y, int64_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += 56) {
        uint16_t sc[4];
        std::memcpy(sc, b + 48, 8);
        const uint16_t scale_bits = uint16_t((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) |
                                             ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
        const float d = fp16_to_fp32(scale_bits);
        const uint8_t* qs = b;
        const uint8_t* qh = b + 32;
        for (int ib = 0; ib < kQK / 32; ++ib) {
            const float dl1 = d * float(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 0x7) + 1);
            const float dl2 = d * float(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1);
            const uint16_t idx[4] = {
                uint16_t(qs[0] | ((qh[0] << 8) & 0x700)), uint16_t(qs[1] | ((qh[0] << 4) & 0x700)),
                uint16_t(qs[2] | ((qh[1] << 8) & 0x700)), uint16_t(qs[3] | ((qh[1] << 4) & 0x700))};
            const float delta[4] = {
                qh[0] & 0x08 ? -kIq1Delta : kIq1Delta, qh[0] & 0x80 ? -kIq1Delta : kIq1Delta,
                qh[1] & 0x08 ? -kIq1Delta : kIq1Delta, qh[1] & 0x80 ? -kIq1Delta : kIq1Delta};
            for (int l = 0; l < 4; ++l) {
                const float dl = l < 2 ? dl1 : dl2;
                const uint16_t levels = kIq1GridLevels[idx[l]];
                for (int j = 0; j < 8; ++j)
                    y[j] = dl * (float(int((levels >> 2 * j) & 3) - 1) + delta[l]);
                y += 8;
            }
            qs += 4;
            qh += 2;
        }
    }
}

// Row drivers: the imatrix covers one row and is reused for every row, as in ggml.
template <void (*kRow)(const float*, uint8_t*, int64_t, const float*), int kBlockBytes>
void quantize_rows_with(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    const int64_t row_bytes = n_per_row / kQK * kBlockBytes;
    for (int64_t r = 0; r < nrows; ++r)
        kRow(src + r * n_per_row, out + r * row_bytes, n_per_row, imatrix);
}

}  // namespace

void quantize_iq2_xxs_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    quantize_rows_with<quantize_row_iq2_xxs, 66>(src, dst, nrows, n_per_row, imatrix);
}
void quantize_iq2_xs_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                         const float* imatrix) {
    quantize_rows_with<quantize_row_iq2_xs_s<false>, 74>(src, dst, nrows, n_per_row, imatrix);
}
void quantize_iq2_s_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix) {
    quantize_rows_with<quantize_row_iq2_xs_s<true>, 82>(src, dst, nrows, n_per_row, imatrix);
}
void quantize_iq1_s_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix) {
    quantize_rows_with<quantize_row_iq1_s, 50>(src, dst, nrows, n_per_row, imatrix);
}
void quantize_iq1_m_ref(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                        const float* imatrix) {
    quantize_rows_with<quantize_row_iq1_m, 56>(src, dst, nrows, n_per_row, imatrix);
}

void register_iq_ref(kernel_table& table) {
    auto set = [&](ggml_type type, quantize_fn q, dequantize_fn dq) {
        table.quantize[uint32_t(type)] = q;
        table.dequantize[uint32_t(type)] = dq;
    };
    set(ggml_type::iq2_xxs, quantize_iq2_xxs_ref, dequantize_iq2_xxs_ref);
    set(ggml_type::iq2_xs, quantize_iq2_xs_ref, dequantize_iq2_xs_ref);
    set(ggml_type::iq2_s, quantize_iq2_s_ref, dequantize_iq2_s_ref);
    set(ggml_type::iq1_s, quantize_iq1_s_ref, dequantize_iq1_s_ref);
    set(ggml_type::iq1_m, quantize_iq1_m_ref, dequantize_iq1_m_ref);
}

}  // namespace gguf_squash
