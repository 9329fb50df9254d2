// AVX2 IQ4_NL and IQ4_XS quantization: eight blocks of 32 at a time, one per lane
// (see ../iq4_lanes.h). Dequantization stays scalar.
#include <immintrin.h>

#include "../../kernel_table.h"
#include "../iq4_lanes.h"
#include "avx2_lanes.h"

namespace gguf_squash {
namespace {

// The ISA's float lanes plus the IQ4 level lookup that iq4_lanes.h asks for.
struct iq4_avx2_lanes : avx2_lanes {
    // Level k of kIq4nlValues for indices 0..15 (byte lookup, then sign extension).
    static __m256 level(__m256i index) {
        const __m256i table = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
        const __m256i bytes = _mm256_shuffle_epi8(table, index);
        return _mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_slli_epi32(bytes, 24), 24));
    }

    // ggml's best_index_int8 over the 16 levels equals the number of level midpoints (exact
    // half-integers) at or below al, with NaN giving 15: its float differences only round near
    // a midpoint, where they are exact (checked over all 2^32 floats). min(al, 128) sends NaN
    // to 128 (minps returns its second operand when unordered).
    static __m256i level_index(__m256 al) {
        const __m256 a = _mm256_min_ps(al, _mm256_set1_ps(128.f));
        __m256i count = _mm256_setzero_si256();
        for (int k = 0; k < 15; ++k) {
            const float mid = 0.5f * float(kIq4nlValues[k] + kIq4nlValues[k + 1]);
            const __m256 ge = _mm256_cmp_ps(a, _mm256_set1_ps(mid), _CMP_GE_OQ);
            count = _mm256_sub_epi32(count, _mm256_castps_si256(ge));
        }
        return count;
    }
    static void level_values4(const __m256* al, __m256* q) {
        for (int v = 0; v < 4; ++v) q[v] = level(level_index(al[v]));
    }
    static void level_bytes4(const __m256* al, uint8_t* out) {
        for (int v = 0; v < 4; ++v) {
            alignas(32) int32_t index[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(index), level_index(al[v]));
            for (int k = 0; k < 8; ++k) out[v * 8 + k] = uint8_t(index[k]);
        }
    }
};

void quantize_iq4_nl_avx2(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_nl<iq4_avx2_lanes>(src, dst, nrows, n_per_row, imatrix);
}

void quantize_iq4_xs_avx2(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                          const float* imatrix) {
    iq4_lanes::quantize_iq4_xs<iq4_avx2_lanes>(src, dst, nrows, n_per_row, imatrix);
}

}  // namespace

template <>
void isa_kernels<avx2_isa>::register_iq4(kernel_table& table) {
    table.quantize[uint32_t(ggml_type::iq4_nl)] = quantize_iq4_nl_avx2;
    table.quantize[uint32_t(ggml_type::iq4_xs)] = quantize_iq4_xs_avx2;
}

}  // namespace gguf_squash
