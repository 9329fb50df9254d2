// IQ1_S / IQ1_M quantization written once over an ISA's lane type V (sse4_lanes.h, avx2_lanes.h,
// wasm128_lanes.h), giving the bytes of the scalar reference (ref/iq2_ref.cpp), whose algorithm
// (ggml's quantize_row_iq1_s_impl / quantize_row_iq1_m_impl) and float operations this repeats in
// order.
//
// The hot loop is the exhaustive search over the two split points (i1, i2) of a block's sorted
// values, each split scored for both delta signs (IQ1_S) or all four sign pairs (IQ1_M), and the
// best kept by a sequential `if (sumqx^2 > best * sumq2)`. Here V::lanes consecutive i2 are scored
// at once, each lane with the reference's operations in its order, so every sumqx / sumq2 is the
// reference's float. A vector in which no lane passes the test against the current best is
// skipped: the best only changes when a test passes, so in the sequential scan every one of those
// tests would have been made against that same best and failed too. For the same reason, when
// some lane passes, the lanes before the first such lane fail; from it on, the vector's tests are
// replayed in the reference's order (i2 ascending, then the signs in order) on the stored values,
// updating the best exactly as the reference does. (Re-testing the rest in lanes after each
// update instead measured slower: updates are frequent early in a block.)
//
// The neighbour search for off-grid groups is iq2_lanes' nearest() (V::lanes candidates per
// step, the first strict minimum: the reference's winner) with IQ1's per-level terms.
//
// Internal linkage: each ISA's translation unit gets its own copy compiled with its own flags.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "iq2_lanes.h"

namespace gguf_squash {

namespace {
namespace iq1_detail {

constexpr float kIq1SGroupMaxEps = 1e-12f;
constexpr float kIq1MGroupMaxEps = 1e-7f;
constexpr float kIq1Delta = 0.125f;  // IQ1S_DELTA and IQ1M_DELTA

inline const int8_t* grid_point(const iq2_search_tables& t, int index) {
    return reinterpret_cast<const int8_t*>(&t.grid[size_t(index)]);
}

// As the reference's sort_indices_by_value: a stable insertion sort (glibc's qsort order).
inline void sort_indices_by_value(int n, const float* xb, int* idx) {
    for (int j = 0; j < n; ++j) {
        int k = j;
        while (k > 0 && xb[idx[k - 1]] > xb[j]) {
            idx[k] = idx[k - 1];
            --k;
        }
        idx[k] = j;
    }
}

}  // namespace iq1_detail

template <class V>
struct iq1_lanes {
    using F = typename V::F;
    static constexpr int N = V::lanes;
    using K2 = iq2_lanes<V>;

    // Lanes k with i2 + k <= last.
    static F lanes_up_to(int i2, int last) {
        return V::from_bits(V::igt(V::isplat(uint32_t(last - i2 + 1)), V::iota()));
    }

    // The reference's test `sumq2 > 0 && sumqx * sumqx > best * sumq2` per lane, as a bitmask
    // of the lanes in `valid` that pass.
    static uint32_t passing(F sumqx, F sumq2, float best, F valid) {
        const F pass = V::mask_and(V::gt(sumq2, V::zero()),
                                   V::gt(V::mul(sumqx, sumqx), V::mul(V::set1(best), sumq2)));
        return V::bitmask(V::mask_and(pass, valid));
    }

    // The reference's iq1_best_neighbour: the neighbour whose values xg[l] at `scale` are
    // closest to xval (first one on ties), the whole grid when every distance is NaN or huge.
    static int best_neighbour(const iq2_detail::iq2_lane_tables& lt, int map_value,
                              const float* xval, const float* weight, float scale, const float* xg,
                              int8_t* L) {
        const iq2_search_tables& t = *lt.t;
        const int offset = -map_value - 1;
        const uint16_t* neighbours = t.neighbours.data() + offset;
        typename V::F table[8];
        K2::level_tables(xval, weight, scale, xg, table);
        const int count = neighbours[0];
        float best = FLT_MAX;
        const int j = K2::nearest(table, count, lt.neighbour_levels.data() + offset + 1, &best);
        int grid_index = j >= 0 ? int(neighbours[1 + j]) : -1;
        if (grid_index < 0) {
            float term[24];
            for (int i = 0; i < 8; ++i) {
                for (int l = 0; l < 3; ++l) {
                    const float diff = scale * xg[l] - xval[i];
                    term[3 * i + l] = weight[i] * diff * diff;
                }
            }
            // Sums in the reference's order (its head table gives the same sums and winner).
            for (int g = 0; g < t.grid_size; ++g) {
                float d2 = 0;
                for (int i = 0; i < 8; ++i) d2 += term[3 * i + ((t.levels[g] >> 2 * i) & 3)];
                if (d2 < best) best = d2, grid_index = g;
            }
        }
        if (grid_index < 0) grid_index = 0;  // ggml asserts here
        const uint16_t levels = t.levels[grid_index];
        for (int i = 0; i < 8; ++i) L[i] = int8_t((levels >> 2 * i) & 3);
        return grid_index;
    }

    // The running best of the split search: the reference's (scale, best score, i1, i2) and
    // which of the NV sign variants won (-1: none yet).
    struct split_best {
        float score = -FLT_MAX, scale = 0;
        int i1 = -1, i2 = -1, variant = -1;
    };

    // A vector of split scores with some passing lane (`pass`): the reference's tests replayed
    // in its order, from the first passing lane: i2 ascending, then the NV variants in order.
    // lanes_qx[v] / lanes_q2[v] are variant v's scores for i2 .. i2 + lanes - 1.
    template <int NV>
    static void replay(uint32_t pass, int lanes, const float (*lane_qx)[8],
                       const float (*lane_q2)[8], int i1, int i2, split_best& best) {
        for (int k = __builtin_ctz(pass); k < lanes; ++k) {
            for (int v = 0; v < NV; ++v) {
                const float sumqx = lane_qx[v][k], sumq2 = lane_q2[v][k];
                if (sumq2 > 0 && sumqx * sumqx > best.score * sumq2) {
                    best.scale = sumqx / sumq2;
                    best.score = best.scale * sumqx;
                    best.i1 = i1, best.i2 = i2 + k, best.variant = v;
                }
            }
        }
    }

    // After the search (a winner found): the levels of the winning split, flipped with the scale
    // and the variant (the variants' signs mirror: v <-> NV - 1 - v) when the scale is
    // negative; each group of 8 on the grid or moved to its best neighbour with values(k), the
    // values of group k; then the scale refitted to the grid points when some group moved.
    // Writes the groups' grid indices; returns the scale.
    template <int kBlock, int NV, class Values>
    static float place_on_grid(const iq2_search_tables& t, const iq2_detail::iq2_lane_tables& lt,
                               const float* xb, const float* weight, const int* idx,
                               split_best& best, Values values, int8_t* L, uint16_t* index) {
        for (int j = 0; j < best.i1; ++j) L[idx[j]] = 0;
        for (int j = best.i1; j < best.i2; ++j) L[idx[j]] = 1;
        for (int j = best.i2; j < kBlock; ++j) L[idx[j]] = 2;
        float scale = best.scale;
        if (scale < 0) {
            for (int j = 0; j < kBlock; ++j) L[j] = int8_t(2 - L[j]);
            scale = -scale;
            best.variant = NV - 1 - best.variant;
        }
        bool all_on_grid = true;
        for (int k = 0; k < kBlock / 8; ++k) {
            int grid_index = iq2_detail::on_grid_index(t, L + 8 * k);
            if (grid_index < 0) {
                all_on_grid = false;
                grid_index = best_neighbour(lt, grid_index, xb + 8 * k, weight + 8 * k, scale,
                                            values(best.variant, k), L + 8 * k);
            }
            index[k] = uint16_t(grid_index);
        }
        if (!all_on_grid) {
            float sumqx = 0, sumq2 = 0;
            for (int k = 0; k < kBlock / 8; ++k) {
                const float* xx = values(best.variant, k);
                const int8_t* pg = iq1_detail::grid_point(t, index[k]);
                for (int j = 0; j < 8; ++j) {
                    const float w = weight[8 * k + j];
                    const float q = xx[(pg[j] - 1) / 2];
                    sumqx += w * q * xb[8 * k + j];
                    sumq2 += w * q * q;
                }
            }
            if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
        }
        return scale;
    }

    // ------------------------------------------------------------ IQ1_S (50 bytes per block)
    static void quantize_row_iq1_s(const float* x, uint8_t* y, int64_t n,
                                   const float* quant_weights) {
        using namespace iq2_detail;
        using namespace iq1_detail;
        const iq2_lane_tables& lt = lane_tables(iq2_grid_kind::iq1);
        const iq2_search_tables& t = *lt.t;
        constexpr int kBlock = 32;
        const float x_p[3] = {-1 + kIq1Delta, kIq1Delta, 1 + kIq1Delta};
        const float x_m[3] = {-1 - kIq1Delta, -kIq1Delta, 1 - kIq1Delta};
        float scales[kQK / kBlock];
        float weight[kBlock];
        // Padded so that a vector load at any i2 <= kBlock stays inside.
        alignas(32) float sumx[kBlock + 1 + 8] = {}, sumw[kBlock + 1 + 8] = {};
        alignas(32) float lane_qx[2][8], lane_q2[2][8];
        int idx[kBlock];
        int8_t L[kBlock];
        uint16_t index[kBlock / 8];
        int8_t shifts[kQK / kBlock];
        const F p0 = V::set1(x_p[0]), p1 = V::set1(x_p[1]), p2 = V::set1(x_p[2]);
        const F m0 = V::set1(x_m[0]), m1 = V::set1(x_m[1]), m2 = V::set1(x_m[2]);

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
                    const float qw =
                        quant_weights ? quant_weights[kQK * ibl + kBlock * ib + i] : 1.f;
                    weight[i] = qw * std::sqrt(sigma2 + xb[i] * xb[i]);
                }
                float max = std::fabs(xb[0]);
                for (int i = 1; i < kBlock; ++i) max = max_f(max, std::fabs(xb[i]));
                if (max < kIq1SGroupMaxEps) {
                    scales[ib] = 0;
                    shifts[ib] = 1;
                    continue;
                }
                sort_indices_by_value(kBlock, xb, idx);
                sumx[0] = sumw[0] = 0;
                for (int j = 0; j < kBlock; ++j) {
                    const int i = idx[j];
                    sumx[j + 1] = sumx[j] + weight[i] * xb[i];
                    sumw[j + 1] = sumw[j] + weight[i];
                }
                split_best best;
                const F sx_end = V::set1(sumx[kBlock]), sw_end = V::set1(sumw[kBlock]);
                for (int i1 = 0; i1 <= kBlock; ++i1) {
                    const F a = V::set1(sumx[i1] - sumx[0]), wa = V::set1(sumw[i1] - sumw[0]);
                    const F sx1 = V::set1(sumx[i1]), sw1 = V::set1(sumw[i1]);
                    // (a * v0 + b * v1) + c * v2 and ((wa * v0) * v0 + (wb * v1) * v1) +
                    // (wc * v2) * v2, as the reference writes them; a and wa are per i1.
                    const F ap = V::mul(a, p0), am = V::mul(a, m0);
                    const F wap = V::mul(V::mul(wa, p0), p0), wam = V::mul(V::mul(wa, m0), m0);
                    for (int i2 = i1; i2 <= kBlock; i2 += N) {
                        const F sx2 = V::load(sumx + i2), sw2 = V::load(sumw + i2);
                        const F b = V::sub(sx2, sx1), c = V::sub(sx_end, sx2);
                        const F wb = V::sub(sw2, sw1), wc = V::sub(sw_end, sw2);
                        const F qxp = V::add(V::add(ap, V::mul(b, p1)), V::mul(c, p2));
                        const F q2p = V::add(V::add(wap, V::mul(V::mul(wb, p1), p1)),
                                             V::mul(V::mul(wc, p2), p2));
                        const F qxm = V::add(V::add(am, V::mul(b, m1)), V::mul(c, m2));
                        const F q2m = V::add(V::add(wam, V::mul(V::mul(wb, m1), m1)),
                                             V::mul(V::mul(wc, m2), m2));
                        const F valid = lanes_up_to(i2, kBlock);
                        const uint32_t pass = passing(qxp, q2p, best.score, valid) |
                                              passing(qxm, q2m, best.score, valid);
                        if (!pass) continue;
                        V::store(lane_qx[0], qxp);
                        V::store(lane_q2[0], q2p);
                        V::store(lane_qx[1], qxm);
                        V::store(lane_q2[1], q2m);
                        const int lanes = kBlock - i2 + 1 < N ? kBlock - i2 + 1 : N;
                        replay<2>(pass, lanes, lane_qx, lane_q2, i1, i2, best);
                    }
                }
                if (best.variant < 0) {
                    scales[ib] = 0;
                    shifts[ib] = 1;
                    continue;
                }
                // Variant 0: the delta added (shift 1), variant 1: subtracted (shift -1).
                const float scale = place_on_grid<kBlock, 2>(
                    t, lt, xb, weight, idx, best,
                    [&](int variant, int) { return variant == 0 ? x_p : x_m; }, L, index);
                const int best_shift = best.variant == 0 ? 1 : -1;
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

    // ------------------------------------------------------------ IQ1_M (56 bytes per block)
    static void iq1_m_weights(const float* xb, const float* qw, float sigma2, float* weight) {
        if (qw) {
            for (int i = 0; i < 16; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
        } else {
            for (int i = 0; i < 16; ++i) weight[i] = xb[i] * xb[i];
        }
    }

    static void quantize_row_iq1_m(const float* x, uint8_t* y, int64_t n,
                                   const float* quant_weights) {
        using namespace iq2_detail;
        using namespace iq1_detail;
        const iq2_lane_tables& lt = lane_tables(iq2_grid_kind::iq1);
        const iq2_search_tables& t = *lt.t;
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
        alignas(32) float lane_qx[4][8], lane_q2[4][8];
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
                split_best best;
                {
                    // The reference's prefix sums per half (padded for vector loads).
                    alignas(32) float px[2][kBlock + 1 + 8] = {}, pw[2][kBlock + 1 + 8] = {};
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
                    const F vcp2 = V::set1(cp2), vcm2 = V::set1(cm2);
                    for (int i1 = 0; i1 <= kBlock; ++i1) {
                        // Per half: txs*v2 (per block) and tws*v2*v2 + pw[i1]*c1 (per i1), the
                        // reference's first operands; the i2 terms are added in lanes.
                        F tp[2], tm[2], sx1[2], q2p1[2], q2m1[2];
                        for (int h = 0; h < 2; ++h) {
                            tp[h] = V::set1(txs[h] * p2);
                            tm[h] = V::set1(txs[h] * m2);
                            sx1[h] = V::set1(px[h][i1]);
                            q2p1[h] = V::set1(tws[h] * p2 * p2 + pw[h][i1] * cp1);
                            q2m1[h] = V::set1(tws[h] * m2 * m2 + pw[h][i1] * cm1);
                        }
                        for (int i2 = i1; i2 <= kBlock; i2 += N) {
                            F qx_p[2], qx_m[2], q2_p[2], q2_m[2];
                            for (int h = 0; h < 2; ++h) {
                                const F sx = V::add(sx1[h], V::load(px[h] + i2));
                                qx_p[h] = V::sub(tp[h], sx);
                                qx_m[h] = V::sub(tm[h], sx);
                                const F pw2 = V::load(pw[h] + i2);
                                q2_p[h] = V::add(q2p1[h], V::mul(pw2, vcp2));
                                q2_m[h] = V::add(q2m1[h], V::mul(pw2, vcm2));
                            }
                            const F sqx[4] = {V::add(qx_p[0], qx_p[1]), V::add(qx_p[0], qx_m[1]),
                                              V::add(qx_m[0], qx_p[1]), V::add(qx_m[0], qx_m[1])};
                            const F sq2[4] = {V::add(q2_p[0], q2_p[1]), V::add(q2_p[0], q2_m[1]),
                                              V::add(q2_m[0], q2_p[1]), V::add(q2_m[0], q2_m[1])};
                            const F valid = lanes_up_to(i2, kBlock);
                            uint32_t pass = 0;
                            for (int k = 0; k < 4; ++k)
                                pass |= passing(sqx[k], sq2[k], best.score, valid);
                            if (!pass) continue;
                            for (int k = 0; k < 4; ++k) {
                                V::store(lane_qx[k], sqx[k]);
                                V::store(lane_q2[k], sq2[k]);
                            }
                            const int lanes = kBlock - i2 + 1 < N ? kBlock - i2 + 1 : N;
                            replay<4>(pass, lanes, lane_qx, lane_q2, i1, i2, best);
                        }
                    }
                }
                if (best.variant < 0) {
                    scales[ib] = 0;
                    shifts[ib] = 0;
                    continue;
                }
                const float scale =
                    place_on_grid<kBlock, 4>(t, lt, xb, weight, idx, best, values_for, L, index);
                const int best_k = best.variant;
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
};

// Registers IQ1_S and IQ1_M with V's kernels (dequantization stays scalar).
template <class V>
void register_iq1_lanes(kernel_table& table) {
    using K = iq1_lanes<V>;
    table.quantize[uint32_t(ggml_type::iq1_s)] =
        iq2_lanes<V>::template rows<K::quantize_row_iq1_s, 50>;
    table.quantize[uint32_t(ggml_type::iq1_m)] =
        iq2_lanes<V>::template rows<K::quantize_row_iq1_m, 56>;
}

}  // namespace
}  // namespace gguf_squash
