// wasm simd128 IQ3_XXS / IQ3_S quantizers: the scalar algorithm (ref/iq3_quantize_impl.h) with its
// three inner loops vectorised so that each lane repeats the reference's float operations in
// order (same scheme as the AVX2 file, 4 lanes):
// - the neighbour search: one candidate grid point per lane, then the first strict minimum;
// - the levels of a trial scale: element-wise (nearest_int is exact in SIMD);
// - the trial sums: one trial scale per lane, each summed in element order.
#include <wasm_simd128.h>

#include "../../kernel_table.h"
#include "../../ref/iq3_quantize_impl.h"
#include "../iq3_lanes.h"
#include "wasm128_lanes.h"

namespace gguf_squash {
namespace {

// Signed byte `byte` of each 32-bit lane, as float.
template <int byte>
inline v128_t level_byte(v128_t points) {
    return wasm_f32x4_convert_i32x4(wasm_i32x4_shr(wasm_i32x4_shl(points, 24 - 8 * byte), 24));
}

template <int i>
inline v128_t add_term(v128_t d2, v128_t points, v128_t scale, const float* xval,
                       const float* weight) {
    const v128_t diff =
        wasm_f32x4_sub(wasm_f32x4_mul(scale, level_byte<i>(points)), wasm_f32x4_splat(xval[i]));
    return wasm_f32x4_add(d2,
                          wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_splat(weight[i]), diff), diff));
}

// Index of the first lane holding the smallest value among the first `n` lanes, ignoring NaNs,
// if that value is below `bound`; else -1: what the reference's scan
// `if (d2 < best) { best = d2; ... }` picks, starting from best = bound.
inline int first_min_below(v128_t d2, int n, float bound) {
    const v128_t in_range = wasm_i32x4_gt(wasm_i32x4_splat(n), wasm_i32x4_make(0, 1, 2, 3));
    const v128_t usable = wasm_v128_and(in_range, wasm_f32x4_eq(d2, d2));
    const v128_t v = wasm_v128_bitselect(d2, wasm_f32x4_splat(__builtin_inff()), usable);
    v128_t m = wasm_f32x4_pmin(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    m = wasm_f32x4_pmin(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
    const float smallest = wasm_f32x4_extract_lane(m, 0);
    if (!(smallest < bound)) return -1;
    const int hits = wasm_i32x4_bitmask(wasm_f32x4_eq(v, m));
    return __builtin_ctz(unsigned(hits));
}

struct iq3_wasm128_search {
    static int best_neighbour(const iq3_search_tables& t, int32_t list, const float* xval,
                              const float* weight, float scale, int8_t* L) {
        const int count = t.neighbours[list];
        const uint32_t* points = t.neighbour_points + list + 1;
        const v128_t vscale = wasm_f32x4_splat(scale);
        float best_d2 = 3.40282347e+38f;  // FLT_MAX
        int best = -1;
        for (int j0 = 0; j0 < count; j0 += 4) {
            const v128_t p = wasm_v128_load(points + j0);
            v128_t d2 = wasm_f32x4_splat(0.f);
            d2 = add_term<0>(d2, p, vscale, xval, weight);
            d2 = add_term<1>(d2, p, vscale, xval, weight);
            d2 = add_term<2>(d2, p, vscale, xval, weight);
            d2 = add_term<3>(d2, p, vscale, xval, weight);
            const int n = count - j0 < 4 ? count - j0 : 4;
            const int lane = first_min_below(d2, n, best_d2);
            if (lane >= 0) {
                float lanes[4];
                wasm_v128_store(lanes, d2);
                best_d2 = lanes[lane];
                best = j0 + lane;
            }
        }
        if (best < 0) best = 0;  // NaN input only; the scalar search also takes the first
        return iq3_scalar_search::take_grid_point(t, t.neighbours[list + 1 + best], L);
    }

    static void group_levels(float id, const float* xval, int8_t* L, int* points) {
        const v128_t vid = wasm_f32x4_splat(id);
        const v128_t half = wasm_f32x4_splat(0.5f);
        const v128_t one = wasm_f32x4_splat(1.f);
        const v128_t magic = wasm_f32x4_splat(12582912.f);
        const v128_t mantissa = wasm_i32x4_splat(0x007fffff);
        const v128_t bias = wasm_i32x4_splat(0x00400000);
        const v128_t zero = wasm_i32x4_splat(0);
        const v128_t top = wasm_i32x4_splat(7);
        const v128_t weights = wasm_i32x4_make(1, 8, 64, 512);
        v128_t l[8], m[8];
        for (int c = 0; c < 8; ++c) {  // one vector per group of 4
            const v128_t x = wasm_v128_load(xval + 4 * c);
            const v128_t v = wasm_f32x4_mul(half, wasm_f32x4_sub(wasm_f32x4_mul(vid, x), one));
            v128_t i = wasm_f32x4_add(v, magic);
            i = wasm_i32x4_sub(wasm_v128_and(i, mantissa), bias);  // nearest_int
            l[c] = wasm_i32x4_min(wasm_i32x4_max(i, zero), top);
            m[c] = wasm_i32x4_mul(l[c], weights);
        }
        for (int h = 0; h < 2; ++h) {
            const v128_t* lh = l + 4 * h;
            wasm_v128_store(L + 16 * h,
                            wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(lh[0], lh[1]),
                                                    wasm_i16x8_narrow_i32x4(lh[2], lh[3])));
            // Transposed pairwise sums: lane k of the result is group 4h+k's point.
            const v128_t* mh = m + 4 * h;
            const v128_t s01 = wasm_i32x4_add(wasm_i32x4_shuffle(mh[0], mh[1], 0, 4, 2, 6),
                                              wasm_i32x4_shuffle(mh[0], mh[1], 1, 5, 3, 7));
            const v128_t s23 = wasm_i32x4_add(wasm_i32x4_shuffle(mh[2], mh[3], 0, 4, 2, 6),
                                              wasm_i32x4_shuffle(mh[2], mh[3], 1, 5, 3, 7));
            wasm_v128_store(points + 4 * h,
                            wasm_i32x4_add(wasm_i32x4_shuffle(s01, s23, 0, 1, 4, 5),
                                           wasm_i32x4_shuffle(s01, s23, 2, 3, 6, 7)));
        }
    }

    static void trial_sums(int nsteps, const float* q, const float* weight, const float* wx,
                           float* sumqx, float* sumq2) {
        iq3_trial_sums_lanes<wasm128_lanes>(nsteps, q, weight, wx, sumqx, sumq2);
    }
};

}  // namespace

void register_iq3_wasm128(kernel_table& table) {
    register_iq3_lanes<iq3_wasm128_search>(table);
}

}  // namespace gguf_squash
