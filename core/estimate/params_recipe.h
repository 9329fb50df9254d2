// The parameter-count model behind `estimate({params, arch})` (wasm/estimate_params.mjs), for a
// model known only by its size. It is derived from the real recipe, not written by hand: a set of
// anchor architectures (published llama-style shapes from 0.5B to 405B parameters) is planned
// with make_quant_plan for every ftype, and the JS model interpolates each ftype's bits per
// weight, the KV cache per token and the compute allowance between anchors in log(parameters).
// A native test regenerates the table and checks that the JS copy is current.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "status.h"

namespace gguf_squash {

struct anchor_shape {
    const char* name;  // the published model the shape is taken from
    uint32_t n_layer;
    uint64_t n_embd;
    uint64_t n_ff;
    uint32_t n_head;
    uint32_t n_head_kv;
    uint64_t n_vocab;
    bool tied_embeddings;  // no output.weight
};

// The anchors, smallest first.
const std::vector<anchor_shape>& params_anchor_shapes();
// Shapes not used as anchors, to measure the model's error on sizes between anchors.
const std::vector<anchor_shape>& params_holdout_shapes();

// A llama-architecture header with this shape (F16 weights, F32 norms, no tokenizer strings).
gguf_header anchor_header(const anchor_shape& shape);

// The table as JSON (one line): {"ftypes": [[name, id, note]], "anchors": [{name, params, n_vocab,
// kv_bytes_per_token (f16), compute_bytes, ftypes: {NAME: [weights_bytes, requires_imatrix 0/1]}}],
// "holdout": [the same for the holdout shapes]}.
result<std::string> params_recipe_json();

}  // namespace gguf_squash
