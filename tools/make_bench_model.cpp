// make-bench-model: writes a llama-architecture F16 GGUF with LLM-like random weights, for
// benchmarks and large-file tests. Nothing is downloaded: the model is generated here.
//
//   make-bench-model OUT [--n-embd 2048] [--layers 8] [--n-ff 5632] [--vocab 4096]
//                        [--heads 16] [--kv-heads 4] [--seed 1]
//
// The defaults give the 377M-parameter, 755 MB model the performance targets refer to. Weights
// are streamed row by row, so memory stays small whatever the size.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "format/gguf_writer.h"
#include "quant/quant_common.h"

using namespace gguf_squash;

namespace {

// xoshiro128+ : fast, and good enough for synthetic weights.
struct rng {
    uint32_t s[4];
    explicit rng(uint32_t seed) {
        uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
        for (uint32_t& w : s) {
            z ^= z >> 31;
            z *= 0xBF58476D1CE4E5B9ull;
            w = uint32_t(z >> 17) | 1u;
        }
    }
    uint32_t next() {
        const uint32_t r = s[0] + s[3], t = s[1] << 9;
        s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
        s[3] = (s[3] << 11) | (s[3] >> 21);
        return r;
    }
    float uniform() { return float(next() >> 8) * (1.0f / 16777216.0f); }
    // Sum of four uniforms: a cheap bell curve with unit variance.
    float bell() { return (uniform() + uniform() + uniform() + uniform() - 2.0f) * 1.7320508f; }
};

struct options {
    std::string out;
    uint64_t n_embd = 2048, layers = 8, n_ff = 5632, vocab = 4096, heads = 16, kv_heads = 4;
    uint32_t seed = 1;
};

gguf_tensor_info tensor(std::string name, ggml_type type, uint64_t ne0, uint64_t ne1 = 1) {
    gguf_tensor_info t;
    t.name = std::move(name);
    t.type = type;
    t.n_dims = ne1 == 1 ? 1 : 2;
    t.ne[0] = ne0;
    t.ne[1] = ne1;
    return t;
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto num = [&](uint64_t& v) {
            if (i + 1 >= argc) return false;
            v = std::strtoull(argv[++i], nullptr, 10);
            return v > 0;
        };
        uint64_t seed = 0;
        if (a == "--n-embd") {
            if (!num(o.n_embd)) return false;
        } else if (a == "--layers") {
            if (!num(o.layers)) return false;
        } else if (a == "--n-ff") {
            if (!num(o.n_ff)) return false;
        } else if (a == "--vocab") {
            if (!num(o.vocab)) return false;
        } else if (a == "--heads") {
            if (!num(o.heads)) return false;
        } else if (a == "--kv-heads") {
            if (!num(o.kv_heads)) return false;
        } else if (a == "--seed") {
            if (!num(seed)) return false;
            o.seed = uint32_t(seed);
        } else if (!a.empty() && a[0] != '-' && o.out.empty())
            o.out = a;
        else
            return false;
    }
    return !o.out.empty() && o.n_embd % o.heads == 0 && o.heads % o.kv_heads == 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: make-bench-model OUT [--n-embd N] [--layers N] [--n-ff N] [--vocab N]"
                     " [--heads N] [--kv-heads N] [--seed N]\n");
        return 2;
    }
    const uint64_t head_dim = o.n_embd / o.heads, n_embd_kv = head_dim * o.kv_heads;

    gguf_header h;
    h.set("general.architecture", gguf_value::make_string("llama"));
    h.set("general.name", gguf_value::make_string("gguf-squash bench model"));
    h.set("llama.context_length", gguf_value::make_u32(4096));
    h.set("llama.embedding_length", gguf_value::make_u32(uint32_t(o.n_embd)));
    h.set("llama.block_count", gguf_value::make_u32(uint32_t(o.layers)));
    h.set("llama.feed_forward_length", gguf_value::make_u32(uint32_t(o.n_ff)));
    h.set("llama.rope.dimension_count", gguf_value::make_u32(uint32_t(head_dim)));
    h.set("llama.attention.head_count", gguf_value::make_u32(uint32_t(o.heads)));
    h.set("llama.attention.head_count_kv", gguf_value::make_u32(uint32_t(o.kv_heads)));
    h.set("llama.attention.layer_norm_rms_epsilon", gguf_value::make_f32(1e-5f));
    h.set("llama.vocab_size", gguf_value::make_u32(uint32_t(o.vocab)));
    h.set("general.file_type", gguf_value::make_u32(1));  // LLAMA_FTYPE_MOSTLY_F16
    h.set("tokenizer.ggml.model", gguf_value::make_string("llama"));
    std::vector<std::string> tokens;
    for (uint64_t i = 0; i < o.vocab; ++i) tokens.push_back("<tok" + std::to_string(i) + ">");
    h.set("tokenizer.ggml.tokens", gguf_value::make_string_array(std::move(tokens)));
    h.set("general.quantization_version", gguf_value::make_u32(2));

    h.tensors.push_back(tensor("token_embd.weight", ggml_type::f16, o.n_embd, o.vocab));
    for (uint64_t l = 0; l < o.layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        h.tensors.push_back(tensor(p + "attn_norm.weight", ggml_type::f32, o.n_embd));
        h.tensors.push_back(tensor(p + "attn_q.weight", ggml_type::f16, o.n_embd, o.n_embd));
        h.tensors.push_back(tensor(p + "attn_k.weight", ggml_type::f16, o.n_embd, n_embd_kv));
        h.tensors.push_back(tensor(p + "attn_v.weight", ggml_type::f16, o.n_embd, n_embd_kv));
        h.tensors.push_back(tensor(p + "attn_output.weight", ggml_type::f16, o.n_embd, o.n_embd));
        h.tensors.push_back(tensor(p + "ffn_norm.weight", ggml_type::f32, o.n_embd));
        h.tensors.push_back(tensor(p + "ffn_gate.weight", ggml_type::f16, o.n_embd, o.n_ff));
        h.tensors.push_back(tensor(p + "ffn_up.weight", ggml_type::f16, o.n_embd, o.n_ff));
        h.tensors.push_back(tensor(p + "ffn_down.weight", ggml_type::f16, o.n_ff, o.n_embd));
    }
    h.tensors.push_back(tensor("output_norm.weight", ggml_type::f32, o.n_embd));
    h.tensors.push_back(tensor("output.weight", ggml_type::f16, o.n_embd, o.vocab));
    assign_tensor_offsets(h);

    result<std::vector<uint8_t>> head = encode_gguf_header(h);
    if (!head.ok()) {
        std::fprintf(stderr, "make-bench-model: %s\n", head.error().message().c_str());
        return 1;
    }
    const std::string tmp = o.out + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) {
        std::fprintf(stderr, "make-bench-model: cannot write %s\n", tmp.c_str());
        return 1;
    }
    bool ok = std::fwrite(head->data(), 1, head->size(), f) == head->size();

    rng r(o.seed);
    std::vector<uint8_t> row;
    const std::vector<uint8_t> zeros(size_t(h.alignment), 0);
    for (const gguf_tensor_info& t : h.tensors) {
        const uint64_t ne0 = t.ne[0];
        // Outlier input channels: a few columns carry much larger weights, as in real LLMs.
        std::vector<float> column_scale(ne0, 1.0f);
        for (uint64_t c = 0; c < ne0; ++c)
            if (r.next() % 97 == 0) column_scale[c] = 4.0f + 8.0f * r.uniform();
        row.resize(size_t(row_size(t.type, ne0)));
        for (uint64_t i = 0; i < t.n_rows() && ok; ++i) {
            // Per-row scale spread over about two orders of magnitude.
            const float row_scale = 0.02f * std::exp2(4.0f * r.uniform() - 2.0f);
            for (uint64_t c = 0; c < ne0; ++c) {
                float v;
                if (t.type == ggml_type::f32) {
                    v = 1.0f + 0.1f * r.bell();  // norms hover around one
                    std::memcpy(&row[c * 4], &v, 4);
                    continue;
                }
                v = r.bell() * row_scale * column_scale[c];
                if ((r.next() & 0xffff) == 0) v *= 20.0f;  // rare spikes
                const uint16_t h16 = fp32_to_fp16(v);
                std::memcpy(&row[c * 2], &h16, 2);
            }
            ok = std::fwrite(row.data(), 1, row.size(), f) == row.size();
        }
        const uint64_t pad = tensor_padding(t.nbytes(), h.alignment);
        if (ok && pad) ok = std::fwrite(zeros.data(), 1, size_t(pad), f) == pad;
    }
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), o.out.c_str()) != 0) {
        std::remove(tmp.c_str());
        std::fprintf(stderr, "make-bench-model: writing %s failed\n", o.out.c_str());
        return 1;
    }
    std::printf("make-bench-model: wrote %s (%llu bytes)\n", o.out.c_str(),
                (unsigned long long)gguf_file_size(h));
    return 0;
}
