// Writes an importance matrix for the benchmark model in llama.cpp's legacy .dat layout, so that
// llama-quantize and gguf-squash can both be timed on the types that need one (IQ1/IQ2, Q2_K_S)
// and on the "+imatrix" rows. The values are synthetic (no calibration text: the benchmark model's
// weights are random too); what matters for timing is that every matrix weight llama-imatrix would
// cover has an entry, so that the imatrix code paths run.
//
//   gguf-squash info --json MODEL | node bench/make_bench_imatrix.mjs OUT.dat
//
// Layout (little-endian): i32 n_entries; per entry: i32 name length, name, i32 ncall, i32 nval,
// f32 sums[nval]; then i32 chunk count, i32 dataset-name length, dataset name.
import fs from 'node:fs';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: gguf-squash info --json MODEL | node bench/make_bench_imatrix.mjs OUT.dat\n');
  process.exit(2);
}
const info = JSON.parse(fs.readFileSync(0, 'utf8'));
// llama-imatrix records the inputs of matrix multiplications: every 2-D weight except the token
// embedding (a row lookup, not a product).
const matrices = info.tensors.filter((t) => t.shape.length === 2 && t.name !== 'token_embd.weight');

// A fixed 32-bit generator (mulberry32), so the file is the same on every run.
let seed = 0x5eed17;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const ncall = 10;  // the sums are mean * ncall, as llama-imatrix stores them
const parts = [];
const i32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};
parts.push(i32(matrices.length));
for (const t of matrices) {
  const name = Buffer.from(t.name, 'utf8');
  const nval = t.shape[0];
  const sums = new Float32Array(nval);
  // Importance spread over about two decades, as real activations' mean squares are.
  for (let i = 0; i < nval; ++i) sums[i] = Math.exp(4.6 * random() - 2.3) * ncall;
  parts.push(i32(name.length), name, i32(ncall), i32(nval), Buffer.from(sums.buffer));
}
const dataset = Buffer.from('synthetic (bench/make_bench_imatrix.mjs)', 'utf8');
parts.push(i32(ncall), i32(dataset.length), dataset);
fs.writeFileSync(out, Buffer.concat(parts));
process.stderr.write(`make_bench_imatrix: ${matrices.length} entries -> ${out}\n`);
