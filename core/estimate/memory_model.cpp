#include "memory_model.h"

#include <algorithm>

#include "compute_graph.h"

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

namespace {

// The context llama_context derives from the request: n_ctx padded to 256, split over the
// sequences (one stream each, kv_unified off), each stream padded to 256 again.
struct context_cells {
    uint64_t per_stream = 0;
    uint64_t swa_per_stream = 0;
    uint32_t n_stream = 1;
};

context_cells cells_for(const memory_hparams& hp, const memory_options& o) {
    context_cells c;
    const uint64_t n_seq = std::max<uint32_t>(1, o.n_seq);
    const uint64_t n_ctx = pad_to(std::max<uint64_t>(o.n_ctx, 1), kLlamaCtxPad);
    c.n_stream = uint32_t(n_seq);
    c.per_stream = std::max<uint64_t>(pad_to(n_ctx / n_seq, kLlamaCtxPad), kLlamaCtxPad);
    if (hp.any_swa_kv()) {
        // llama_kv_cache_iswa: the window plus one micro-batch, padded, at most the full size.
        c.swa_per_stream =
            pad_to(std::min<uint64_t>(c.per_stream, uint64_t(hp.n_swa) + o.n_ubatch), kLlamaCtxPad);
    }
    return c;
}

bool is_quantized(ggml_type t) {
    return type_info(t).block_size > 1;
}

uint64_t row_bytes(ggml_type t, uint64_t n) {
    const ggml_type_info& info = type_info(t);
    return (n + info.block_size - 1) / info.block_size * info.type_size;
}

}  // namespace

std::optional<std::string> cache_refusal(const memory_hparams& hp, const memory_options& o) {
    const ggml_type t = o.cache_type;
    const char* name = kv_cache_type_name(t);
    if (is_quantized(t) && !o.flash_attn)
        return "quantized V cache requires flash_attn to be enabled";
    if (o.flash_attn && is_quantized(t)) {
        const uint32_t blck = uint32_t(type_info(t).block_size);
        for (uint32_t il = 0; il < hp.n_layer; ++il) {
            if (hp.head_k[il] % blck != 0) {
                return std::string("K cache type ") + name + " with block size " +
                       std::to_string(blck) +
                       " does not divide n_embd_head_k=" + std::to_string(hp.head_k[il]);
            }
        }
        for (uint32_t il = 0; il < hp.n_layer; ++il) {
            if (hp.head_v[il] % blck != 0) {
                return std::string("V cache type ") + name + " with block size " +
                       std::to_string(blck) +
                       " does not divide n_embd_head_v=" + std::to_string(hp.head_v[il]);
            }
        }
    }
    return std::nullopt;
}

kv_cache_size kv_cache_size_of(const memory_hparams& hp, const memory_options& o) {
    kv_cache_size out;
    if (hp.kind == memory_kind::none || hp.kind == memory_kind::recurrent) return out;
    const context_cells c = cells_for(hp, o);
    out.cells = c.per_stream;
    out.swa_cells = c.swa_per_stream;
    out.n_stream = c.n_stream;
    // Without flash attention V is stored transposed, every layer as wide as the widest.
    const uint64_t v_max = hp.n_embd_v_gqa_max();
    for (uint32_t il = 0; il < hp.n_layer_all; ++il) {
        if (!hp.kv_layer[il]) continue;
        const bool in_swa = hp.swa[il] && c.swa_per_stream;
        const uint64_t cells = sat_mul(in_swa ? c.swa_per_stream : c.per_stream, c.n_stream);
        const uint64_t k = sat_mul(row_bytes(o.cache_type, hp.n_embd_k_gqa(il)), cells);
        out.k_bytes = sat_add(out.k_bytes, k);
        if (in_swa) out.k_swa_bytes = sat_add(out.k_swa_bytes, k);
        if (hp.is_mla) continue;  // MLA: V is a view of K
        const uint64_t v_width = o.flash_attn ? hp.n_embd_v_gqa(il) : v_max;
        const uint64_t v = sat_mul(row_bytes(o.cache_type, v_width), cells);
        out.v_bytes = sat_add(out.v_bytes, v);
        if (in_swa) out.v_swa_bytes = sat_add(out.v_swa_bytes, v);
    }
    return out;
}

recurrent_size recurrent_state_of(const memory_hparams& hp, const memory_options& o) {
    recurrent_size out;
    if (hp.kind != memory_kind::recurrent && hp.kind != memory_kind::hybrid) return out;
    const uint64_t rows = std::max<uint32_t>(1, o.n_seq);
    for (uint32_t il = 0; il < hp.n_layer_all; ++il) {
        if (!hp.recr_layer[il]) continue;
        out.r_bytes = sat_add(out.r_bytes, sat_mul(sat_mul(hp.n_embd_r, rows), 4));
        out.s_bytes = sat_add(out.s_bytes, sat_mul(sat_mul(hp.n_embd_s, rows), 4));
    }
    return out;
}

uint64_t output_bytes_of(const memory_hparams& hp, const memory_options& o) {
    return sat_mul(sat_mul(hp.n_vocab, std::max<uint32_t>(1, o.n_seq)), 4);
}

uint64_t compute_bytes_of(const memory_hparams& hp, const memory_options& o) {
    const context_cells c = cells_for(hp, o);
    compute_params cp;
    cp.n_kv = c.per_stream;
    cp.n_kv_swa = c.swa_per_stream;
    cp.n_stream = c.n_stream;
    cp.n_seqs = c.n_stream;
    cp.n_tokens = uint32_t(std::min<uint64_t>(c.per_stream * c.n_stream, o.n_ubatch));
    cp.n_outputs = cp.n_tokens;
    cp.flash_attn = o.flash_attn;
    // llama_kv_cache: a Hadamard rotation when a quantized cache has heads of a multiple of 64
    // (all layers alike).
    uint32_t head_k = 0, head_v = 0;
    bool same_k = true, same_v = true;
    for (uint32_t il = 0; il < hp.n_layer_all; ++il) {
        if (!hp.kv_layer[il]) continue;
        if (head_k == 0) head_k = hp.head_k[il];
        same_k = same_k && hp.head_k[il] == head_k;
        if (head_v == 0) head_v = hp.head_v[il];
        same_v = same_v && hp.head_v[il] == head_v;
    }
    const uint32_t hk0 = hp.head_k.empty() ? 0 : hp.head_k[0];
    const uint32_t hv0 = hp.head_v.empty() ? 0 : hp.head_v[0];
    cp.k_rot = is_quantized(o.cache_type) && same_k && head_k > 0 && hk0 % 64 == 0;
    cp.v_rot = is_quantized(o.cache_type) && !hp.is_mla && same_v && head_v > 0 && hv0 % 64 == 0;
    return compute_buffer_bytes(hp, cp);
}

memory_breakdown estimate_memory(const memory_hparams& hp, uint64_t weights_bytes,
                                 const memory_options& o, std::optional<uint64_t> budget_bytes) {
    memory_breakdown b;
    b.ctx = o.n_ctx;
    b.kv_type = o.cache_type;
    b.flash_attn = o.flash_attn;
    b.n_ubatch = o.n_ubatch;
    b.n_seq = o.n_seq;
    b.weights_bytes = weights_bytes;
    if (std::optional<std::string> why = cache_refusal(hp, o)) {
        b.error = *why;
        return b;
    }
    auto total_at = [&](uint64_t n_ctx, memory_breakdown* parts) {
        memory_options at = o;
        at.n_ctx = n_ctx;
        const uint64_t kv = kv_cache_size_of(hp, at).bytes();
        const uint64_t rs = recurrent_state_of(hp, at).bytes();
        const uint64_t out = output_bytes_of(hp, at);
        const uint64_t compute = compute_bytes_of(hp, at);
        if (parts) {
            parts->kv_bytes = kv;
            parts->recurrent_bytes = rs;
            parts->output_bytes = out;
            parts->compute_bytes = compute;
            parts->other_bytes = sat_add(out, compute);
        }
        return sat_add(sat_add(weights_bytes, sat_add(kv, rs)), sat_add(out, compute));
    };
    b.total_bytes = total_at(o.n_ctx, &b);
    if (budget_bytes) {
        // Everything but the weights grows with the context (sliding-window caches and the
        // recurrent state stop growing), so the largest fitting context is found by bisection
        // over multiples of 256.
        const uint64_t cap = kMaxEstimateCtx / kLlamaCtxPad;
        auto fits = [&](uint64_t units) {
            return total_at(units * kLlamaCtxPad, nullptr) <= *budget_bytes;
        };
        if (weights_bytes > *budget_bytes || !fits(1)) {
            b.max_ctx = 0;
        } else {
            uint64_t lo = 1, hi = cap;
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
