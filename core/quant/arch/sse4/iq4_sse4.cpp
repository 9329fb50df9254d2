// SSE4.1 IQ4_NL and IQ4_XS quantization: four blocks of 32 at a time, one per lane
// (see ../iq4_lanes.h). Dequantization stays scalar.
#include <smmintrin.h>

#include "../../kernel_table.h"
#include "../iq4_lanes.h"
#include "sse4_lanes.h"

namespace gguf_squash {
namespace {

// The ISA's float lanes plus the IQ4 level lookup that iq4_lanes.h asks for.
struct iq4_sse4_lanes : sse4_lanes {
    // ggml's best_index_int8 over the 16 levels equals the number of level midpoints (exact
    // half-integers) at or below al, with NaN giving 15: its float differences only round near
    // a midpoint, where they are exact (checked over all 2^32 floats). So the index depends
    // only on floor(2 * al), which after clamping to [-128, 128] (NaN to 128: minps returns its
    // second operand when unordered) fits in 16 bits; sixteen elements are then counted and
    // looked up eight or sixteen at a time.
    static __m128i level_bytes16(const __m128* al) {
        __m128i t[4];
        for (int v = 0; v < 4; ++v) {
            const __m128 c = _mm_max_ps(_mm_min_ps(al[v], _mm_set1_ps(128.f)), _mm_set1_ps(-128.f));
            t[v] = _mm_cvttps_epi32(_mm_floor_ps(_mm_add_ps(c, c)));
        }
        __m128i count[2];
        for (int h = 0; h < 2; ++h) {
            const __m128i t16 = _mm_packs_epi32(t[2 * h], t[2 * h + 1]);
            __m128i n = _mm_setzero_si128();
            for (int k = 0; k < 15; ++k) {
                const int twice_mid = kIq4nlValues[k] + kIq4nlValues[k + 1];
                n = _mm_sub_epi16(n, _mm_cmpgt_epi16(t16, _mm_set1_epi16(int16_t(twice_mid - 1))));
            }
            count[h] = n;
        }
        return _mm_packs_epi16(count[0], count[1]);
    }
    static void level_values4(const __m128* al, __m128* q) {
        const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
        const __m128i levels = _mm_shuffle_epi8(table, level_bytes16(al));
        q[0] = _mm_cvtepi32_ps(_mm_cvtepi8_epi32(levels));
        q[1] = _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_srli_si128(levels, 4)));
        q[2] = _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_srli_si128(levels, 8)));
        q[3] = _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_srli_si128(levels, 12)));
    }
    static void level_bytes4(const __m128* al, uint8_t* out) {
        _mm_store_si128(reinterpret_cast<__m128i*>(out), level_bytes16(al));
    }
};

void quantize_iq4_nl_sse4(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_nl<iq4_sse4_lanes>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq4_xs_sse4(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_xs<iq4_sse4_lanes>(src, dst, nrows, n_per_row, imatrix);
}

}  // namespace

template <>
void isa_kernels<sse4_isa>::register_iq4(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::iq4_nl)] = quantize_iq4_nl_sse4;
    table.quantize[uint32_t(ggml_type::iq4_xs)] = quantize_iq4_xs_sse4;
}

}  // namespace gguf_squash
