#include "compute_graph.h"

#include <algorithm>
#include <vector>

namespace gguf_squash {

namespace {

// ggml's CPU buffer alignment (TENSOR_ALIGNMENT in ggml-backend.cpp).
constexpr uint64_t kAlign = 32;

uint64_t aligned(uint64_t n) {
    return (n + kAlign - 1) / kAlign * kAlign;
}

// A tensor of the reserved graph, as ggml-alloc sees it.
struct sim_tensor {
    uint64_t size = 0;
    int view_src = -1;         // views take no space; their source stays alive while they do
    bool external = false;     // weights, cache tensors: already have data
    bool input = false;        // allocated before every node
    bool output = false;       // never freed, never overwritten in place
    bool can_inplace = false;  // ggml_op_can_inplace(op)
    std::vector<int> src;
    std::vector<bool> same_layout;  // per src: ggml_are_same_layout(node, src)
    // allocator state (ggml_gallocr's hash_node)
    int n_children = 0;
    int n_views = 0;
    bool allocated = false;
    uint64_t offset = 0;
};

// ggml_dyn_tallocr with one chunk: free blocks sorted by offset, the last one unbounded.
class dyn_allocator {
  public:
    dyn_allocator() { blocks_.push_back({0, kHuge}); }

    uint64_t alloc(uint64_t size) {
        size = aligned(size);
        int best = -1;
        uint64_t best_size = UINT64_MAX;
        for (int i = 0; i + 1 < int(blocks_.size()); ++i) {
            if (blocks_[i].size >= size && blocks_[i].size <= best_size) {
                best = i;
                best_size = blocks_[i].size;
            }
        }
        if (best < 0) best = int(blocks_.size()) - 1;  // the tail (it grows the buffer)
        block& b = blocks_[size_t(best)];
        const uint64_t at = b.offset;
        b.offset += size;
        b.size -= size;
        if (b.size == 0) blocks_.erase(blocks_.begin() + best);
        max_size_ = std::max(max_size_, at + size);
        return at;
    }

    void free_bytes(uint64_t offset, uint64_t size) {
        size = aligned(size);
        for (size_t i = 0; i < blocks_.size(); ++i) {
            block& b = blocks_[i];
            if (b.offset + b.size == offset) {
                b.size += size;
                if (i + 1 < blocks_.size() && b.offset + b.size == blocks_[i + 1].offset) {
                    b.size += blocks_[i + 1].size;
                    blocks_.erase(blocks_.begin() + long(i) + 1);
                }
                return;
            }
            if (offset + size == b.offset) {
                b.offset = offset;
                b.size += size;
                if (i > 0 && blocks_[i - 1].offset + blocks_[i - 1].size == b.offset) {
                    blocks_[i - 1].size += b.size;
                    blocks_.erase(blocks_.begin() + long(i));
                }
                return;
            }
        }
        size_t pos = 0;
        while (pos < blocks_.size() && blocks_[pos].offset < offset) ++pos;
        blocks_.insert(blocks_.begin() + long(pos), block{offset, size});
    }

    uint64_t max_size() const { return max_size_; }

  private:
    static constexpr uint64_t kHuge = UINT64_MAX / 4;
    struct block {
        uint64_t offset, size;
    };
    std::vector<block> blocks_;
    uint64_t max_size_ = 0;
};

// The graph under construction and ggml_gallocr_alloc_graph_impl over it.
class graph_sim {
  public:
    int external() {
        sim_tensor t;
        t.external = true;
        return add(std::move(t), false);
    }
    int input(uint64_t bytes) {
        sim_tensor t;
        t.size = bytes;
        t.input = true;
        const int id = add(std::move(t), false);
        leafs_.push_back(id);
        return id;
    }
    // A new tensor computed from `src`. `inplace`: the op may write over a source that has the
    // node's layout; `same` marks those sources.
    int op(uint64_t bytes, std::vector<int> src, bool inplace = false,
           std::vector<bool> same = {}) {
        sim_tensor t;
        t.size = bytes;
        t.can_inplace = inplace;
        t.same_layout = same;
        t.same_layout.resize(src.size(), false);
        t.src = std::move(src);
        return add(std::move(t), true);
    }
    // An elementwise op over `a` (same shape) with other operands: may run in place over `a`.
    int unary(int a, std::vector<int> others = {}) {
        std::vector<int> src = {a};
        src.insert(src.end(), others.begin(), others.end());
        std::vector<bool> same(src.size(), false);
        same[0] = true;
        return op(tensors_[size_t(a)].size, std::move(src), true, std::move(same));
    }
    // A view (reshape, permute, transpose, view_*): no space; `a` lives while the view does.
    int view(int a, std::vector<int> others = {}) {
        sim_tensor t;
        int base = a;
        while (tensors_[size_t(base)].view_src >= 0) base = tensors_[size_t(base)].view_src;
        t.view_src = base;
        t.src = {a};
        t.src.insert(t.src.end(), others.begin(), others.end());
        t.same_layout.assign(t.src.size(), false);
        t.size = tensors_[size_t(a)].size;
        return add(std::move(t), true);
    }
    void mark_output(int a) { tensors_[size_t(a)].output = true; }
    uint64_t size(int a) const { return tensors_[size_t(a)].size; }

    uint64_t run() {
        dyn_allocator alloc;
        for (int id : leafs_) allocate(alloc, id);
        for (int id : nodes_) {
            sim_tensor& n = tensors_[size_t(id)];
            if (n.view_src >= 0) tensors_[size_t(n.view_src)].n_views += 1;
            for (int s : n.src) {
                tensors_[size_t(s)].n_children += 1;
                if (tensors_[size_t(s)].input) allocate(alloc, s);
            }
        }
        for (int id : nodes_) {
            for (int s : tensors_[size_t(id)].src) allocate(alloc, s);
            allocate(alloc, id);
            for (int s : tensors_[size_t(id)].src) {
                sim_tensor& p = tensors_[size_t(s)];
                p.n_children -= 1;
                if (p.n_children != 0 || p.n_views != 0) continue;
                if (p.view_src >= 0) {
                    sim_tensor& vs = tensors_[size_t(p.view_src)];
                    vs.n_views -= 1;
                    if (vs.n_views == 0 && vs.n_children == 0 && vs.allocated) release(alloc, vs);
                } else if (p.allocated) {
                    release(alloc, p);
                }
            }
        }
        return alloc.max_size();
    }

  private:
    int add(sim_tensor t, bool node) {
        tensors_.push_back(std::move(t));
        const int id = int(tensors_.size()) - 1;
        if (node) nodes_.push_back(id);
        return id;
    }

    void allocate(dyn_allocator& alloc, int id) {
        sim_tensor& n = tensors_[size_t(id)];
        if (n.external || n.allocated || n.view_src >= 0) return;
        n.allocated = true;
        if (n.can_inplace) {
            for (size_t i = 0; i < n.src.size(); ++i) {
                sim_tensor& p = tensors_[size_t(n.src[i])];
                // Only a source this allocator owns (never a view or an external tensor), that
                // is not an output, has the node's layout and no other consumer.
                if (!p.allocated || p.output || !n.same_layout[i]) continue;
                if (p.n_children == 1 && p.n_views == 0) {
                    n.offset = p.offset;
                    p.allocated = false;
                    if (aligned(p.size) > aligned(n.size))
                        alloc.free_bytes(p.offset + aligned(n.size),
                                         aligned(p.size) - aligned(n.size));
                    return;
                }
            }
        }
        n.offset = alloc.alloc(n.size);
    }

    void release(dyn_allocator& alloc, sim_tensor& t) {
        if (t.output) return;
        alloc.free_bytes(t.offset, t.size);
        t.allocated = false;
    }

    std::vector<sim_tensor> tensors_;
    std::vector<int> nodes_;
    std::vector<int> leafs_;
};

constexpr uint64_t F32 = 4;

// The inputs a layer's attention reads.
struct attn_inputs {
    int k_idxs = -1, v_idxs = -1, mask = -1;
};

struct graph_builder {
    const memory_hparams& hp;
    const compute_params& cp;
    graph_sim g;
    int w = -1;  // stands for any weight (external)
    int cache = -1;
    int pos = -1;
    int out_ids = -1;
    int k_rot = -1, v_rot = -1;
    attn_inputs base, swa;
    int s_copy_main = -1, s_copy_extra = -1;
    uint64_t T = 0, n_out = 0;

    graph_builder(const memory_hparams& h, const compute_params& c) : hp(h), cp(c) {
        w = g.external();
        cache = g.external();
        T = c.n_tokens;
        n_out = c.n_outputs;
    }

    int mm(uint64_t rows, int x, uint64_t cols) { return g.op(rows * cols * F32, {w, x}); }
    int norm(int x) {
        // rms_norm (in place when x has no other consumer) then the weight multiply
        const int n = g.op(g.size(x), {x}, true, {true});
        return g.unary(n, {w});
    }

    // Inputs are created where the graph first uses them: ggml lists leafs in the order its
    // depth-first expansion finds them, and ggml-alloc allocates them first, in that order.
    int pos_input() {
        if (pos < 0) pos = g.input(T * 4);
        return pos;
    }
    int k_idxs_input(attn_inputs& in) {
        if (in.k_idxs < 0) in.k_idxs = g.input(T * 8);
        return in.k_idxs;
    }
    int v_idxs_input(attn_inputs& in) {
        if (in.v_idxs < 0) {
            const uint64_t v_elems = cp.flash_attn ? T : T * hp.n_embd_v_gqa_max();
            in.v_idxs = g.input(v_elems * 8);
        }
        return in.v_idxs;
    }
    int mask_input(attn_inputs& in, uint64_t n_kv) {
        if (in.mask < 0) in.mask = g.input(n_kv * T * (cp.flash_attn ? 2 : 4));
        return in.mask;
    }
    int rot_input(int& rot) {
        if (rot < 0) rot = g.input(64 * 64 * F32);
        return rot;
    }

    // Q, K, V projections, RoPE, cache writes, attention and the output projection.
    int attention(int x, uint32_t il) {
        attn_inputs& in = hp.swa[il] && cp.n_kv_swa ? swa : base;
        const uint64_t n_kv = hp.swa[il] && cp.n_kv_swa ? cp.n_kv_swa : cp.n_kv;
        const uint64_t hq = hp.n_head[il], hkv = hp.n_head_kv[il];
        const uint64_t dk = hp.head_k[il], dv = hp.head_v[il];
        const bool fa = cp.flash_attn;
        if (hp.kv_lora_rank > 0) return attention_lora_kv(x, il, in, n_kv);
        if (cp.k_rot) rot_input(k_rot);
        // Separate projections, or one fused QKV projection whose Q, K, V are views.
        const int qkv = hp.fused_qkv ? mm(hq * dk + hkv * dk + hkv * dv, x, T) : -1;
        int q = g.view(hp.fused_qkv ? qkv : mm(hq * dk, x, T));
        if (hp.rope) q = g.op(hq * dk * T * F32, {q, pos_input()});  // RoPE of a view: new
        if (cp.k_rot) q = g.view(g.op(hq * dk * T * F32, {k_rot, g.view(q)}));
        if (cp.v_rot) rot_input(v_rot);
        int v = g.view(hp.fused_qkv ? qkv : mm(hkv * dv, x, T));
        if (cp.v_rot) {
            if (hp.fused_qkv) v = g.op(hkv * dv * T * F32, {v});  // cont before the rotation
            v = g.view(g.op(hkv * dv * T * F32, {v_rot, g.view(v)}));
        }
        int k = g.view(hp.fused_qkv ? qkv : mm(hkv * dk, x, T));
        if (hp.rope) k = g.op(hkv * dk * T * F32, {k, pos});
        if (cp.k_rot) k = g.view(g.op(hkv * dk * T * F32, {k_rot, g.view(k)}));
        g.view(cache, {g.view(k), k_idxs_input(in)});  // set_rows into the cache: a view of it
        if (fa) {
            g.view(cache, {g.view(v), v_idxs_input(in)});
        } else {
            int vc = g.view(v);
            if (hkv * dv < hp.n_embd_v_gqa_max())
                vc = g.op(hp.n_embd_v_gqa_max() * T * F32, {vc});  // ggml_pad to the widest
            g.view(cache, {vc, v_idxs_input(in)});
        }
        const int qp = g.view(q);
        const int mask = mask_input(in, n_kv);
        int cur;
        if (fa) {
            cur = g.view(g.op(dv * hq * T * F32, {qp, cache, cache, mask}));
        } else {
            int kq = g.op(n_kv * T * hq * F32, {cache, qp});
            kq = g.unary(kq, {mask});  // soft_max_ext, in place
            const int kqv = g.op(dv * T * hq * F32, {cache, kq});
            cur = g.op(dv * hq * T * F32, {g.view(kqv)});  // permute + cont_2d
        }
        if (cp.v_rot) cur = g.view(g.op(hq * dv * T * F32, {v_rot, g.view(cur)}));
        return mm(hp.n_embd, cur, T);
    }

    // deepseek2 without MLA tensors, minicpm3: the compressed KV decompressed per head (wkv_b);
    // K is the no-RoPE part concatenated with the broadcast RoPE part, V a copy.
    int attention_lora_kv(int x, uint32_t il, attn_inputs& in, uint64_t n_kv) {
        const uint64_t hq = hp.n_head[il], hkv = hp.n_head_kv[il];
        const uint64_t dk = hp.head_k[il], dv = hp.head_v[il];
        const uint64_t rope = hp.n_rot, kv_lora = hp.kv_lora_rank;
        const bool fa = cp.flash_attn;
        int q = hp.q_lora_rank ? mm(hq * dk, norm(mm(hp.q_lora_rank, x, T)), T) : mm(hq * dk, x, T);
        q = g.op(hq * dk * T * F32, {g.view(q), pos_input()});
        const int kv_pe = mm(kv_lora + rope, x, T);
        const int kv_c = norm(g.op(kv_lora * T * F32, {g.view(kv_pe)}, true, {false}));
        const int kv = mm(hq * (dk - rope + dv), kv_c, T);
        const int v = g.op(dv * hq * T * F32, {g.view(kv)});  // cont
        const int k_pe = g.op(rope * T * F32, {g.view(kv_pe), pos});
        const int k_rep = g.op(rope * hq * T * F32, {k_pe});
        const int k = g.op(dk * hq * T * F32, {g.view(kv), k_rep});  // concat
        g.view(cache, {g.view(k), k_idxs_input(in)});
        g.view(cache, {g.view(v), v_idxs_input(in)});
        const int mask = mask_input(in, n_kv);
        const int qp = g.view(q);
        int cur;
        if (fa) {
            cur = g.view(g.op(dv * hq * T * F32, {qp, cache, cache, mask}));
        } else {
            int kq = g.unary(g.op(n_kv * T * hq * F32, {cache, qp}), {mask});
            const int kqv = g.op(dv * T * hq * F32, {cache, kq});
            cur = g.op(dv * hq * T * F32, {g.view(kqv)});
        }
        (void)hkv;
        return mm(hp.n_embd, cur, T);
    }

    // deepseek2's absorbed MLA: a K-only cache of kv_lora + rope per token, V a view of it.
    int attention_mla(int x, uint32_t il) {
        const uint64_t hq = hp.n_head[il];
        const uint64_t rope = hp.n_rot, kv_lora = hp.head_v[il];
        const uint64_t dk_mla = hp.mla_head_k, dv_mla = hp.mla_head_v;
        const bool fa = cp.flash_attn;
        const int q = mm(hq * dk_mla, x, T);
        const int kv_pe = mm(kv_lora + rope, x, T);
        int k_pe = g.op(rope * T * F32, {g.view(kv_pe), pos_input()});
        int kv_c = norm(g.op(kv_lora * T * F32, {g.view(kv_pe)}, true, {false}));
        int q_pe = g.op(rope * hq * T * F32, {g.view(q), pos});
        const int q_abs = g.op(kv_lora * T * hq * F32, {w, g.view(g.view(q))});
        const int q_cur = g.op((kv_lora + rope) * hq * T * F32, {g.view(q_abs), q_pe});
        const int k_cur = g.op((kv_lora + rope) * T * F32, {g.view(kv_c), k_pe});
        g.view(cache, {g.view(k_cur), k_idxs_input(base)});
        const int qp = g.view(q_cur);
        const int mask = mask_input(base, cp.n_kv);
        int cur;
        if (fa) {
            const int o = g.op(kv_lora * hq * T * F32, {qp, cache, cache, mask});
            const int o2 = g.op(dv_mla * hq * T * F32, {w, g.view(o)});
            cur = g.view(g.op(dv_mla * hq * T * F32, {g.view(o2)}));
        } else {
            int kq = g.op(cp.n_kv * T * hq * F32, {cache, qp});
            kq = g.unary(kq, {mask});
            const uint64_t cache_elem = 2;  // the V transpose copies an F16 cache
            const int vt = g.op(cp.n_kv * kv_lora * cp.n_stream * cache_elem, {cache});
            const int kqv = g.op(kv_lora * T * hq * F32, {vt, kq});
            const int kqv_mla = g.op(dv_mla * T * hq * F32, {w, kqv});
            cur = g.op(dv_mla * hq * T * F32, {g.view(kqv_mla)});
        }
        return mm(hp.n_embd, cur, T);
    }

    int dense_ffn(int x, uint64_t n_ff, bool gated = true) {
        if (!gated && hp.ffn_up_fused_glu) {
            return mm(hp.n_embd, g.op(n_ff * T * F32, {mm(2 * n_ff, x, T)}), T);  // swiglu
        }
        if (!gated) return mm(hp.n_embd, g.unary(mm(n_ff, x, T)), T);
        const int up = mm(n_ff, x, T);
        const int gate = mm(n_ff, x, T);
        const int act = g.op(n_ff * T * F32, {gate, up});  // swiglu/geglu_split: a new tensor
        return mm(hp.n_embd, act, T);
    }

    int moe_ffn(int x, uint32_t il, bool shared) {
        const uint64_t ne = hp.n_expert, k = std::max<uint32_t>(1, hp.n_expert_used);
        const uint64_t fe = hp.n_ff_exp ? hp.n_ff_exp : hp.n_ff[il];
        const uint64_t E = hp.n_embd;
        int probs = g.unary(mm(ne, x, T));          // router logits, softmax in place
        const int sel = g.op(ne * T * 4, {probs});  // argsort (I32); top-k is a view
        int weights = g.op(k * T * F32, {g.view(probs), g.view(sel)});  // get_rows
        {
            const int sum = g.unary(g.op(T * F32, {g.view(weights)}));    // sum_rows, clamp
            weights = g.view(g.op(k * T * F32, {g.view(weights), sum}));  // div
        }
        const int xr = g.view(x);
        const int up = g.op(fe * k * T * F32, {w, xr, g.view(sel)});
        const int gate = g.op(fe * k * T * F32, {w, xr, g.view(sel)});
        const int act = g.op(fe * k * T * F32, {gate, up});
        int experts = g.op(E * k * T * F32, {w, act, g.view(sel)});
        experts = g.unary(experts, {weights});
        int out = k > 1 ? g.op(E * T * F32, {g.view(experts), g.view(experts)}) : g.view(experts);
        for (uint64_t i = 2; i < k; ++i) out = g.unary(out, {g.view(experts)});
        if (shared) {
            const uint64_t n_sh = hp.n_ff_shexp;
            const int sh = dense_ffn(x, n_sh);
            out = g.op(E * T * F32, {out, sh}, true, {true, true});
        }
        return out;
    }

    // A mamba2 mixer (llm_build_mamba_base::build_mamba2_layer); mamba1 takes the same path with
    // no groups.
    int mamba2(int x) {
        const uint64_t d_conv = hp.ssm_d_conv, d_inner = hp.ssm_d_inner, d_state = hp.ssm_d_state;
        const uint64_t n_group = hp.ssm_n_group, nh = std::max<uint32_t>(1, hp.ssm_dt_rank);
        const uint64_t conv_dim = d_inner + 2 * n_group * d_state;
        const uint64_t n_seqs = cp.n_seqs;
        if (s_copy_main < 0) {
            s_copy_main = g.input(n_seqs * 4);
            s_copy_extra = g.input(0);
        }
        const int conv = g.op(hp.n_embd_r * n_seqs * F32, {g.view(cache), s_copy_main});
        const int zx = mm(2 * d_inner + 2 * n_group * d_state + nh, x, T);
        const int conv_x =
            g.op((d_conv > 0 ? d_conv - 1 : 0) * n_seqs * conv_dim * F32 + T * conv_dim * F32,
                 {g.view(conv), g.view(g.view(zx))});
        g.view(cache, {g.view(conv_x)});  // the last columns written back to the state
        int xbc = g.op(conv_dim * T * F32, {conv_x, w});  // ssm_conv
        xbc = g.unary(g.unary(xbc, {w}));                 // + bias, silu
        const int dt = g.unary(g.op(nh * T * F32, {g.view(zx)}), {w});
        const int y_ssm =
            g.op((d_inner * T + d_state * d_inner * n_seqs) * F32,
                 {g.view(cache), g.view(xbc), dt, w, g.view(xbc), g.view(xbc), s_copy_main});
        g.view(cache, {g.view(y_ssm)});
        const int xd = g.op(d_inner * T * F32, {g.view(xbc), w});
        const int y = g.op(d_inner * T * F32, {g.view(y_ssm), xd}, true, {false, true});
        const int z = g.op(d_inner * T * F32, {g.view(zx)});
        int yg = g.op(d_inner * T * F32, {z, y});
        yg = g.view(norm(g.op(g.size(yg), {g.view(yg)}, true, {false})));
        return mm(hp.n_embd, yg, T);
    }

    uint64_t build() {
        const uint64_t E = hp.n_embd;
        // build_inp_embd: token ids, and an embeddings input of the same shape as the looked-up
        // rows for the other branch of ggml_build_forward_select; it has no consumer in the
        // reserved graph, so it is allocated first and never freed.
        const int tokens = g.input(T * 4);
        g.input(E * T * F32);
        int inpL = g.op(E * T * F32, {w, tokens});  // get_rows from the token embeddings

        for (uint32_t il = 0; il < hp.n_layer; ++il) {
            const bool last = il + 1 == hp.n_layer;
            int cur = norm(inpL);
            if (hp.recr_layer[il] && hp.kind != memory_kind::kv_cache) {
                cur = mamba2(cur);
                if (hp.arch == "falcon-h1" && hp.kv_layer[il]) {
                    cur = g.op(E * T * F32, {cur, attention(norm(inpL), il)}, true, {true, true});
                }
            } else if (hp.kv_layer[il] && hp.n_head[il] > 0) {
                cur = hp.is_mla ? attention_mla(cur, il) : attention(cur, il);
            }
            int res = inpL;
            if (last) {
                if (out_ids < 0) out_ids = g.input(n_out * 4);
                cur = g.op(E * n_out * F32, {cur, out_ids});
                res = g.op(E * n_out * F32, {inpL, out_ids});
            }
            int ffn_inp = g.op(g.size(cur), {cur, res}, true, {true, true});
            const uint64_t n_ff = hp.n_ff[il];
            const bool moe = hp.n_expert > 0 && hp.moe_layer[il];
            if (moe || n_ff > 0) {
                const uint64_t tok = last ? n_out : T;
                const uint64_t t_save = T;
                T = tok;
                const int h = norm(ffn_inp);
                const int f =
                    moe ? moe_ffn(h, il, shared_expert()) : dense_ffn(h, n_ff, hp.ffn_gated);
                T = t_save;
                ffn_inp = g.op(g.size(f), {f, ffn_inp}, true, {true, true});
            }
            inpL = ffn_inp;
        }
        const int embd = norm(inpL);
        g.mark_output(embd);
        const int logits = g.op(hp.n_vocab * n_out * F32, {w, embd});
        g.mark_output(logits);
        return g.run();
    }

    bool shared_expert() const { return hp.n_ff_shexp > 0; }
};

}  // namespace

uint64_t compute_buffer_bytes(const memory_hparams& hp, const compute_params& cp) {
    if (hp.n_layer == 0 || hp.n_embd == 0 || cp.n_tokens == 0) return 0;
    graph_builder b(hp, cp);
    return b.build();
}

}  // namespace gguf_squash
