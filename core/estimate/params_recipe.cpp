#include "params_recipe.h"

#include "format/gguf_writer.h"
#include "memory_model.h"
#include "model_summary.h"
#include "plan/llama_ftype.h"
#include "plan/quant_plan.h"

namespace gguf_squash {

namespace {

void add(gguf_header& h, const std::string& name, uint64_t ne0, uint64_t ne1, ggml_type type) {
    gguf_tensor_info t;
    t.name = name;
    t.type = type;
    t.n_dims = ne1 > 1 ? 2 : 1;
    t.ne[0] = ne0;
    t.ne[1] = ne1;
    h.tensors.push_back(t);
}

result<std::string> shapes_json(const std::vector<anchor_shape>& shapes) {
    std::string out = "[";
    for (size_t s = 0; s < shapes.size(); ++s) {
        const gguf_header h = anchor_header(shapes[s]);
        result<model_summary> m = summarize_model(h);
        if (!m.ok()) return m.error();
        if (s) out += ",";
        out += "{\"name\":\"" + std::string(shapes[s].name) + "\"";
        out += ",\"params\":" + std::to_string(m->n_params);
        out += ",\"n_vocab\":" + std::to_string(shapes[s].n_vocab);
        out += ",\"kv_bytes_per_token\":" +
               std::to_string(kv_cache_bytes(*m, kLlamaCtxPad, ggml_type::f16) / kLlamaCtxPad);
        out += ",\"compute_bytes\":" +
               std::to_string(output_buffer_bytes(*m) + compute_allowance_bytes(*m));
        out += ",\"ftypes\":{";
        bool first = true;
        for (const ftype_option& opt : quantize_ftype_options()) {
            if (opt.is_alias) continue;
            quantize_options qo;
            qo.ftype = opt.ftype;
            qo.only_copy = std::string(opt.name) == "COPY";
            qo.dry_run = true;
            result<quant_plan> plan = make_quant_plan(h, qo);
            if (!plan.ok()) return plan.error();
            out += first ? "" : ",";
            first = false;
            out += "\"" + std::string(opt.name) + "\":[" + std::to_string(plan->target_bytes) +
                   "," + (plan->will_require_imatrix ? "1" : "0") + "]";
        }
        out += "}}";
    }
    out += "]";
    return out;
}

}  // namespace

const std::vector<anchor_shape>& params_anchor_shapes() {
    static const std::vector<anchor_shape> shapes = {
        {"Qwen2.5-0.5B", 24, 896, 4864, 14, 2, 151936, true},
        {"Llama-3.2-1B", 16, 2048, 8192, 32, 8, 128256, true},
        {"Llama-3.2-3B", 28, 3072, 8192, 24, 8, 128256, true},
        {"Llama-3.1-8B", 32, 4096, 14336, 32, 8, 128256, false},
        {"Qwen2.5-14B", 48, 5120, 13824, 40, 8, 152064, false},
        {"Qwen2.5-32B", 64, 5120, 27648, 40, 8, 152064, false},
        {"Llama-3.1-70B", 80, 8192, 28672, 64, 8, 128256, false},
        {"Llama-3.1-405B", 126, 16384, 53248, 128, 8, 128256, false},
    };
    return shapes;
}

const std::vector<anchor_shape>& params_holdout_shapes() {
    static const std::vector<anchor_shape> shapes = {
        {"Qwen2.5-1.5B", 28, 1536, 8960, 12, 2, 151936, true},
        {"Mistral-7B-v0.3", 32, 4096, 14336, 32, 8, 32768, false},
        {"Qwen2.5-7B", 28, 3584, 18944, 28, 4, 152064, false},
        {"Mistral-Nemo-12B", 40, 5120, 14336, 32, 8, 131072, false},
        {"Mistral-Small-24B", 40, 5120, 32768, 32, 8, 131072, false},
    };
    return shapes;
}

gguf_header anchor_header(const anchor_shape& s) {
    gguf_header h;
    h.set("general.architecture", gguf_value::make_string("llama"));
    h.set("general.name", gguf_value::make_string(s.name));
    h.set("general.file_type", gguf_value::make_u32(1));
    h.set("llama.block_count", gguf_value::make_u32(s.n_layer));
    h.set("llama.context_length", gguf_value::make_u32(131072));
    h.set("llama.embedding_length", gguf_value::make_u32(uint32_t(s.n_embd)));
    h.set("llama.feed_forward_length", gguf_value::make_u32(uint32_t(s.n_ff)));
    h.set("llama.attention.head_count", gguf_value::make_u32(s.n_head));
    h.set("llama.attention.head_count_kv", gguf_value::make_u32(s.n_head_kv));
    h.set("llama.vocab_size", gguf_value::make_u32(uint32_t(s.n_vocab)));
    const uint64_t head_dim = s.n_embd / s.n_head;  // true of every shape listed
    const uint64_t q = head_dim * s.n_head, kv = head_dim * s.n_head_kv;
    add(h, "token_embd.weight", s.n_embd, s.n_vocab, ggml_type::f16);
    for (uint32_t il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        add(h, p + "attn_norm.weight", s.n_embd, 1, ggml_type::f32);
        add(h, p + "attn_q.weight", s.n_embd, q, ggml_type::f16);
        add(h, p + "attn_k.weight", s.n_embd, kv, ggml_type::f16);
        add(h, p + "attn_v.weight", s.n_embd, kv, ggml_type::f16);
        add(h, p + "attn_output.weight", q, s.n_embd, ggml_type::f16);
        add(h, p + "ffn_norm.weight", s.n_embd, 1, ggml_type::f32);
        add(h, p + "ffn_gate.weight", s.n_embd, s.n_ff, ggml_type::f16);
        add(h, p + "ffn_up.weight", s.n_embd, s.n_ff, ggml_type::f16);
        add(h, p + "ffn_down.weight", s.n_ff, s.n_embd, ggml_type::f16);
    }
    add(h, "output_norm.weight", s.n_embd, 1, ggml_type::f32);
    if (!s.tied_embeddings) add(h, "output.weight", s.n_embd, s.n_vocab, ggml_type::f16);
    assign_tensor_offsets(h);
    h.data_offset = encoded_header_size(h);
    return h;
}

result<std::string> params_recipe_json() {
    result<std::string> anchors = shapes_json(params_anchor_shapes());
    if (!anchors.ok()) return anchors.error();
    result<std::string> holdout = shapes_json(params_holdout_shapes());
    if (!holdout.ok()) return holdout.error();
    // The ftype rows in llama-quantize's order, with its notes, so the JS model shows the same.
    std::string rows = "[";
    for (const ftype_option& opt : quantize_ftype_options()) {
        if (opt.is_alias) continue;
        std::string note = opt.note;
        while (!note.empty() && note.front() == ' ') note.erase(note.begin());
        if (rows.size() > 1) rows += ",";
        rows += "[\"" + std::string(opt.name) + "\"," + std::to_string(uint32_t(opt.ftype)) +
                ",\"" + note + "\"]";
    }
    rows += "]";
    return "{\"ftypes\":" + rows + ",\"anchors\":" + *anchors + ",\"holdout\":" + *holdout + "}";
}

}  // namespace gguf_squash
