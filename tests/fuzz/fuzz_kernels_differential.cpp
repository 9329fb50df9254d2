// libFuzzer target: every kernel implementation on the same rows must write the scalar
// reference's bytes. Input layout:
//
//   [type][flags][blocks][rows][values...]
//
//   type    which quantizable type (modulo the number of them)
//   flags   bit 0: importance weights; bits 1-3: value style (below); bit 4: allow non-finite
//           values in the raw-bits style (the pipeline passes them on with --allow-non-finite)
//   blocks  blocks per row, 1..8 for 256-element blocks and 1..40 for smaller ones: odd counts
//           end in every SIMD loop's tail
//   rows    1..4 rows per call
//
// For each type the scalar output is compared byte for byte with every other available
// implementation (and, for the best one, with quantizing row by row, as the pipeline's chunks
// do); the scalar output is then dequantized on every implementation and compared bit for bit.
// Any difference prints the case and aborts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "quant/quantize.h"

using namespace gguf_squash;

namespace {

struct byte_source {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;
    uint8_t next() { return size == 0 ? 0 : data[pos++ % size]; }
    uint32_t next32() {
        return next() | uint32_t(next()) << 8 | uint32_t(next()) << 16 | uint32_t(next()) << 24;
    }
};

const std::vector<ggml_type>& quantizable_types() {
    static const std::vector<ggml_type> types = [] {
        std::vector<ggml_type> out;
        for (uint32_t id = 1; id < kGgmlTypeCount; ++id) {
            const ggml_type_info* info = ggml_type_lookup(id);
            if (info && info->valid && can_quantize_to(ggml_type(id))) out.push_back(ggml_type(id));
        }
        return out;
    }();
    return types;
}

float from_bits(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// One value in one of eight styles: the cases where a reordered sum, a different rounding or a
// different tie-break would show (ties, equal values, zeros, sign changes, magnitudes near the
// float range's ends, subnormals).
float next_value(byte_source& src, unsigned style, bool allow_non_finite) {
    const uint8_t b = src.next();
    const float small = float(int(b & 0x1f) - 16);
    switch (style) {
        case 0:
            return small * 0.0625f;  // ties and zeros
        case 1:
            return small * std::ldexp(1.0f, int(src.next() % 64) - 40);  // assorted scales
        case 2:
            return (b & 1 ? -1.0f : 1.0f) * 3.0e38f * float(b >> 1) / 127.0f;  // near FLT_MAX
        case 3:
            return small * 1.0e-40f;  // subnormals
        case 4: {                     // raw bits: anything a float can be
            float f = from_bits(src.next32());
            // Clearing the exponent's top bit keeps it below 255: finite.
            if (!allow_non_finite && !std::isfinite(f)) f = from_bits(src.next32() & 0x7f7fffffu);
            return f;
        }
        case 5:
            return b < 8 ? float(b) * 1.0e30f : 0.01f * small;  // rare spikes
        case 6:
            return 0.125f;  // constant
        default: {          // smooth, gauss-like
            const int s = int(b) + int(src.next()) + int(src.next()) - 382;
            return float(s) / 1024.0f;
        }
    }
}

// Importance weights: non-negative (sums of squared activations), zeros and extremes included.
float next_weight(byte_source& src) {
    const uint8_t b = src.next();
    if (b < 16) return 0.0f;
    if (b < 24) return std::ldexp(float(b), 100);
    if (b < 32) return std::ldexp(float(b), -120);
    return float(b) / 16.0f;
}

[[noreturn]] void report(const char* what, ggml_type type, kernel_isa isa, int64_t nrows,
                         int64_t n_per_row, bool with_imatrix, size_t at) {
    std::fprintf(stderr,
                 "fuzz_kernels_differential: %s: %s on %s differs from scalar at byte %zu "
                 "(%lld rows of %lld, %s)\n",
                 what, type_name(type), kernel_isa_name(isa), at, (long long)nrows,
                 (long long)n_per_row, with_imatrix ? "with imatrix" : "no imatrix");
    std::abort();
}

size_t first_difference(const void* a, const void* b, size_t n) {
    const uint8_t* x = static_cast<const uint8_t*>(a);
    const uint8_t* y = static_cast<const uint8_t*>(b);
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return i;
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4) return 0;
    const std::vector<ggml_type>& types = quantizable_types();
    const ggml_type type = types[data[0] % types.size()];
    const uint8_t flags = data[1];
    const uint32_t block = type_info(type).block_size;
    const int64_t blocks = 1 + data[2] % (block >= 256 ? 8 : 40);
    const int64_t nrows = 1 + data[3] % 4;
    const int64_t n_per_row = blocks * int64_t(block);
    const bool with_imatrix = (flags & 1) || quantize_requires_imatrix(type);
    const unsigned style = (flags >> 1) & 7;
    const bool allow_non_finite = flags & 0x10;

    byte_source src{data + 4, size - 4};
    std::vector<float> x(size_t(nrows * n_per_row));
    for (float& v : x) v = next_value(src, style, allow_non_finite);
    std::vector<float> imatrix;
    if (with_imatrix) {
        imatrix.resize(size_t(n_per_row));
        for (float& w : imatrix) w = next_weight(src);
    }
    const float* im = with_imatrix ? imatrix.data() : nullptr;

    const std::vector<kernel_isa> isas = available_kernel_isas();
    const size_t row_bytes = size_t(row_size(type, uint64_t(n_per_row)));
    const size_t bytes = row_bytes * size_t(nrows);
    std::vector<uint8_t> want(bytes), got(bytes);
    if (!set_kernel_isa(kernel_isa::scalar).ok()) std::abort();
    if (!quantize_rows(type, x.data(), want.data(), nrows, n_per_row, im).ok()) std::abort();

    for (kernel_isa isa : isas) {
        if (isa == kernel_isa::scalar) continue;
        if (!set_kernel_isa(isa).ok()) std::abort();
        std::memset(got.data(), 0xA5, bytes);
        if (!quantize_rows(type, x.data(), got.data(), nrows, n_per_row, im).ok()) std::abort();
        const size_t at = first_difference(got.data(), want.data(), bytes);
        if (at != bytes) report("quantize", type, isa, nrows, n_per_row, with_imatrix, at);
    }
    // Row by row on the best implementation: a row's bytes never depend on its neighbours.
    const kernel_isa best = isas.back();
    if (!set_kernel_isa(best).ok()) std::abort();
    for (int64_t r = 0; r < nrows; ++r) {
        if (!quantize_rows(type, x.data() + r * n_per_row, got.data() + size_t(r) * row_bytes, 1,
                           n_per_row, im)
                 .ok())
            std::abort();
    }
    const size_t at_rows = first_difference(got.data(), want.data(), bytes);
    if (at_rows != bytes)
        report("quantize row by row", type, best, nrows, n_per_row, with_imatrix, at_rows);

    if (can_dequantize(type)) {
        std::vector<float> ref(x.size()), back(x.size());
        if (!set_kernel_isa(kernel_isa::scalar).ok()) std::abort();
        if (!dequantize_rows(type, want.data(), ref.data(), nrows, n_per_row).ok()) std::abort();
        for (kernel_isa isa : isas) {
            if (isa == kernel_isa::scalar) continue;
            if (!set_kernel_isa(isa).ok()) std::abort();
            if (!dequantize_rows(type, want.data(), back.data(), nrows, n_per_row).ok())
                std::abort();
            const size_t at = first_difference(back.data(), ref.data(), ref.size() * 4);
            if (at != ref.size() * 4)
                report("dequantize", type, isa, nrows, n_per_row, with_imatrix, at);
        }
    }
    return 0;
}
