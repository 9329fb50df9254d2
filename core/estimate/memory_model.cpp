#include "memory_model.h"

#include <algorithm>

namespace gguf_squash {

namespace {

uint64_t pad_to(uint64_t x, uint64_t n) {
    return (x + n - 1) / n * n;
}

// Bytes of `rows` rows of `n` elements: ggml_row_size rounds a partial block up (a cache type's
// block never straddles heads in practice; rounding keeps odd head sizes from reading as 0).
uint64_t rows_bytes(ggml_type t, uint64_t n, uint64_t rows) {
    const ggml_type_info& info = type_info(t);
    return (n + info.block_size - 1) / info.block_size * info.type_size * rows;
}

// Saturating arithmetic: hostile headers must not wrap the totals into "fits".
uint64_t sat_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}
uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
    return a * b;
}

}  // namespace

std::optional<ggml_type> parse_kv_cache_type(const std::string& name) {
    if (name == "f16" || name == "F16") return ggml_type::f16;
    if (name == "q8_0" || name == "Q8_0") return ggml_type::q8_0;
    if (name == "q4_0" || name == "Q4_0") return ggml_type::q4_0;
    return std::nullopt;
}

const char* kv_cache_type_name(ggml_type type) {
    switch (type) {
        case ggml_type::q8_0:
            return "q8_0";
        case ggml_type::q4_0:
            return "q4_0";
        default:
            return "f16";
    }
}

uint64_t kv_cells(uint64_t n_ctx) {
    return pad_to(std::max<uint64_t>(n_ctx, 1), kLlamaCtxPad);
}

uint64_t kv_cache_bytes(const model_summary& m, uint64_t n_ctx, ggml_type cache_type) {
    const uint64_t cells = kv_cells(n_ctx);
    const uint64_t swa_cells =
        pad_to(std::min<uint64_t>(cells, uint64_t(m.n_swa) + kLlamaUbatch), kLlamaCtxPad);
    uint64_t total = 0;
    for (uint32_t il = 0; il < m.n_layer; ++il) {
        const uint64_t kv = m.n_head_kv[il];
        if (kv == 0) continue;
        const uint64_t c = m.swa_layer[il] ? swa_cells : cells;
        const uint64_t rows = sat_mul(kv, c);
        total = sat_add(total, rows_bytes(cache_type, m.head_dim_k[il], rows));
        total = sat_add(total, rows_bytes(cache_type, m.head_dim_v[il], rows));
    }
    return total;
}

uint64_t output_buffer_bytes(const model_summary& m) {
    return sat_mul(m.n_vocab, 4);
}

uint64_t compute_allowance_bytes(const model_summary& m) {
    const uint64_t ff = std::max(m.n_ff, sat_mul(m.n_ff_expert, m.n_expert_used));
    const uint64_t per_token = sat_add(sat_add(m.n_vocab, ff), sat_mul(2, m.n_embd));
    return sat_mul(kLlamaUbatch * 4, per_token);
}

memory_breakdown estimate_memory(const model_summary& m, uint64_t weights_bytes, uint64_t n_ctx,
                                 ggml_type kv_type, std::optional<uint64_t> budget_bytes) {
    memory_breakdown b;
    b.ctx = n_ctx;
    b.kv_type = kv_type;
    b.weights_bytes = weights_bytes;
    b.kv_bytes = kv_cache_bytes(m, n_ctx, kv_type);
    b.other_bytes = sat_add(output_buffer_bytes(m), compute_allowance_bytes(m));
    const uint64_t fixed = sat_add(weights_bytes, b.other_bytes);
    b.total_bytes = sat_add(fixed, b.kv_bytes);
    if (budget_bytes) {
        // The KV cache grows with the context (sliding-window layers stop growing), so the
        // largest fitting context is found by bisection over multiples of 256.
        const uint64_t cap = kMaxEstimateCtx / kLlamaCtxPad;
        uint64_t lo = 0, hi = cap;  // in units of 256 tokens; lo always fits (or is 0)
        auto fits = [&](uint64_t units) {
            return sat_add(fixed, kv_cache_bytes(m, units * kLlamaCtxPad, kv_type)) <=
                   *budget_bytes;
        };
        if (fixed > *budget_bytes || cap == 0 || !fits(1)) {
            b.max_ctx = 0;
        } else {
            lo = 1;
            while (lo < hi) {
                const uint64_t mid = lo + (hi - lo + 1) / 2;
                if (fits(mid)) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            b.max_ctx = lo * kLlamaCtxPad;
        }
    }
    return b;
}

}  // namespace gguf_squash
