// Renders stage 5 of scripts/bench.sh (every ftype against llama-quantize, issue 17) as one section
// of docs/PERFORMANCE.md, replacing that section if present and leaving the rest of the file alone.
//
//   node bench/types_report.mjs --results build/bench/results --doc docs/PERFORMANCE.md \
//       [--notes bench/types_notes.md]
//
// Reads types-{llama,native,wasm,cp}.jsonl (one line per run). Each figure is the smallest of its
// runs: CPU seconds (user + system) for the speed ratios, wall seconds against `cp`.
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const resDir = opt('--results', 'build/bench/results');
const docFile = opt('--doc', 'docs/PERFORMANCE.md');
const notesFile = opt('--notes', '');
const HEADING = '## Every type against llama-quantize (issue 17)';

const engines = ['llama', 'native', 'wasm', 'cp'];
const runs = {};
for (const e of engines) {
  const f = path.join(resDir, `types-${e}.jsonl`);
  runs[e] = fs.existsSync(f)
    ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
}

// The targets: compute-bound types against llama-quantize's CPU time, memory-bound types
// (these, without an imatrix) against copying the file; a type meeting either bar meets its target.
const memoryBound = new Set(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'F16', 'BF16', 'F32', 'COPY']);
const target = { native: { speedup: 5, ofCp: 0.7 }, wasm: { speedup: 2.5, ofCp: 0.4 } };

const byRow = new Map();  // row -> engine -> runs
for (const e of ['llama', 'native', 'wasm']) {
  for (const r of runs[e]) {
    if (!byRow.has(r.row)) byRow.set(r.row, {});
    (byRow.get(r.row)[e] ??= []).push(r);
  }
}
const ok = (list) => (list ?? []).filter((r) => !r.failed);
const minOf = (list, f) => (list.length ? Math.min(...list.map(f)) : null);
const cpu = (r) => r.user_s + r.sys_s;
const cpWall = minOf(ok(runs.cp), (r) => r.wall_s);

const fmt = (v, digits = 2) => (v === null || v === undefined ? '' : v.toFixed(digits));
const rows = [];
const loads = [];
let misses = 0;
let measured = 0;
for (const [row, per] of byRow) {
  const llama = ok(per.llama), native = ok(per.native), wasm = ok(per.wasm);
  for (const r of [...llama, ...native, ...wasm]) loads.push(r.load);
  const lq = minOf(llama, cpu);
  const cell = {};
  for (const e of ['native', 'wasm']) {
    const list = e === 'native' ? native : wasm;
    const c = minOf(list, cpu);
    const w = minOf(list, (r) => r.wall_s);
    cell[e] = {
      cpu: c,
      speedup: lq !== null && c ? lq / c : null,
      ofCp: cpWall !== null && w ? cpWall / w : null,
      failed: list.length === 0 && (per[e] ?? []).some((r) => r.failed),
    };
  }
  const type = row.replace(/\+imatrix$/, '');
  const isMemory = memoryBound.has(type) && !row.endsWith('+imatrix');
  const met = (e) => {
    const c = cell[e];
    if (c.failed) return false;
    if (c.speedup === null && c.ofCp === null) return null;
    return (c.speedup ?? 0) >= target[e].speedup || (c.ofCp ?? 0) >= target[e].ofCp;
  };
  const verdicts = ['native', 'wasm'].map(met);
  let verdict;
  if (verdicts.every((v) => v === null)) verdict = 'not measured';
  else {
    ++measured;
    const missed = ['native', 'wasm'].filter((e, i) => verdicts[i] === false);
    verdict = missed.length ? `MISSED (${missed.join(', ')})` : 'met';
    if (missed.length) ++misses;
  }
  const shas = new Set([...llama, ...native, ...wasm].map((r) => r.sha256));
  const engineCount = [llama, native, wasm].filter((l) => l.length).length;
  const identical = shas.size === 0 ? '' : shas.size === 1 ? `yes (${engineCount} engines)` : `NO: ${shas.size} different outputs`;
  const speed = (e) => (cell[e].failed ? 'failed' : cell[e].speedup === null ? '' : `${fmt(cell[e].speedup)}x`);
  const ofCp = (e) => (cell[e].ofCp === null ? '' : `${Math.round(cell[e].ofCp * 100)}%`);
  rows.push([
    row,
    isMemory ? 'memory' : 'compute',
    fmt(lq),
    fmt(cell.native.cpu),
    speed('native'),
    ofCp('native'),
    fmt(cell.wasm.cpu),
    speed('wasm'),
    ofCp('wasm'),
    verdict,
    identical,
  ]);
}

const table = (head, body) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const firstRun = [...runs.llama, ...runs.native, ...runs.wasm, ...runs.cp].find((r) => r.input_bytes);
const reps = Math.max(0, ...[...runs.llama, ...runs.native, ...runs.wasm].map((r) => r.rep ?? 0));
const dates = [...new Set(engines.flatMap((e) => runs[e].map((r) => r.date).filter(Boolean)))].sort();
const out = [];
out.push(HEADING, '');
out.push(
  'Measured by `LLAMA_QUANTIZE=/path/to/llama-quantize scripts/bench.sh` (stage 5; `TYPES_ONLY=1` runs ' +
    'only this stage) on the issue\'s model: llama-style F16, n_embd 2048, 2 layers, n_ff 5632, vocab 4096 ' +
    `(\`make-bench-model --layers 2\`, ${firstRun ? (firstRun.input_bytes / 1e6).toFixed(0) : '?'} MB), one thread ` +
    '(`... MODEL OUT TYPE 1`), whole process. Types that llama-quantize refuses without an importance ' +
    'matrix (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M, Q2_K_S, IQ3_XXS, IQ3_XS) and the +imatrix rows get a synthetic ' +
    'one (`bench/make_bench_imatrix.mjs`, legacy .dat). llama-quantize is built from tree de3ff81 beside ' +
    'the checkout (CMake Release, its CPU backend); ours: `build/native/gguf-squash` (AVX2 kernels) and ' +
    '`node wasm/cli.mjs` (the simd128 module).',
  '',
  `- **CPU s** = user + system seconds of the whole process, the smallest of up to ${reps || '?'} runs; **×** = ` +
    'llama-quantize\'s CPU s over ours (target 5× native, 2.5× node wasm for the compute-bound types).',
  '- **of cp** = the wall time of `cp MODEL OUT` (same file, page cache warm, smallest of the runs: ' +
    `${fmt(cpWall)} s) over our smallest wall time (target for the memory-bound types: 70% native, 40% node ` +
    'wasm). A type meeting either bar meets its target, as the issue says.',
  '- **identical** = every run of every engine wrote the same bytes (sha256 of each output).',
  `- **The machine is shared**: 2 cores, other helpers were building and testing during these runs ` +
    `(load average ${loads.length ? Math.min(...loads).toFixed(1) : '?'}-${loads.length ? Math.max(...loads).toFixed(1) : '?'} ` +
    `at the starts of runs; runs from ${dates[0] ?? '?'} to ${dates[dates.length - 1] ?? '?'} UTC). CPU seconds are disturbed less than wall ` +
    'times, but two busy hyperthreads still slow each other, so these ratios are approximate (±10-20%); ' +
    'the wall-time ratios against cp are the most disturbed.',
  '',
);
out.push(
  table(
    ['ftype', 'bound', 'llama-quantize CPU s', 'native CPU s', 'native ×', 'native of cp', 'wasm CPU s', 'wasm ×', 'wasm of cp', 'verdict', 'identical'],
    rows,
  ),
);
out.push('', `${measured} rows measured, ${misses} missing a target.`, '');
if (notesFile && fs.existsSync(notesFile)) out.push(fs.readFileSync(notesFile, 'utf8').trimEnd(), '');
const section = out.join('\n');

// Replace the section (from its heading to the next level-2 heading) or append it.
const doc = fs.existsSync(docFile) ? fs.readFileSync(docFile, 'utf8') : '';
const lines = doc.split('\n');
const start = lines.indexOf(HEADING);
let text;
if (start < 0) {
  text = `${doc.trimEnd()}\n\n${section}`;
} else {
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  text = [...lines.slice(0, start), ...section.split('\n'), ...(end < lines.length ? ['', ...lines.slice(end)] : [])].join('\n');
}
fs.writeFileSync(docFile, text.endsWith('\n') ? text : `${text}\n`);
process.stderr.write(`types_report: ${rows.length} rows -> ${docFile}\n`);
