#!/usr/bin/env node
// Turns scripts/bench.sh's raw results (build/bench/results/) into one table on stdout and
// docs/PERFORMANCE.md: every target of issue 8 with its measured figure, met or missed, and the
// command that reproduces it.
//   node bench/report.mjs [--results DIR] [--out FILE]
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
};
const dir = opt('--results', 'build/bench/results');
const outFile = opt('--out', 'docs/PERFORMANCE.md');

const readJson = (f) => {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch {
        return null;
    }
};
const machine = readJson('machine.json') ?? {};
const machineEnd = readJson('machine_end.json') ?? {};
const native = readJson('native_kernels.json');
const wasm = readJson('wasm_kernels.json');
const browser = readJson('browser.json');
const runs = fs.existsSync(path.join(dir, 'runs.jsonl'))
    ? fs.readFileSync(path.join(dir, 'runs.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
// A run by name; runs repeated under one name (the thread-scaling pairs) give their median by
// wall time (the lower middle one for an even count), with every wall time in `walls`.
const run = (name) => {
    const same = runs.filter((r) => r.name === name);
    if (!same.length) return undefined;
    const sorted = [...same].sort((a, b) => a.wall_s - b.wall_s);
    return { ...sorted[(sorted.length - 1) >> 1], walls: same.map((r) => r.wall_s) };
};
const wallsNote = (r) => (r?.walls?.length > 1 ? ` (median of ${r.walls.map((w) => fmt(w, 1)).join(', ')})` : '');

// llama-quantize's own user seconds for this model on this machine kind (tests/fixtures/README.md).
const llamaQuantize = { Q4_0: 2.0, Q8_0: 3.05, Q6_K: 16.3, Q4_K_M: 34.3, IQ4_XS: 109 };
const llamaQuantize2tWall = 18.8;
const modelBytes = (() => {
    try {
        return fs.statSync(process.env.GGUF_SQUASH_BENCH_MODEL ?? 'build/bench/bench-model-f16.gguf').size;
    } catch {
        return null;
    }
})();

// --- figures ------------------------------------------------------------------------------------
// Native Google Benchmark: weights per second (CPU time) by family/type/isa.
const nativeRate = {};
const nativeAgg = {};
for (const b of native?.benchmarks ?? []) {
    if (b.error_occurred) continue;
    if (b.run_type === 'aggregate') {
        nativeAgg[`${b.run_name.replace(/\/repeats:\d+$/, '')}_${b.aggregate_name}`] = b;
        continue;
    }
    if (b.items_per_second) nativeRate[b.name] = b.items_per_second;
}
const nrate = (family, type, isa) => nativeRate[`${family}/${type}/${isa}`];
// This machine's thread-scaling ceiling (model_rows_mt/): the kernel alone on 1 and on 2 threads
// at once, each thread on its own rows. Google Benchmark sums the threads' items over the real
// time, so items_per_second of threads:2 over threads:1 is what the second thread adds.
const mtRate = {};
for (const b of native?.benchmarks ?? []) {
    const m = /^model_rows_mt\/([^/]+)\/[^/]+\/real_time\/threads:(\d+)$/.exec(b.name ?? '');
    if (m && !b.error_occurred && b.run_type !== 'aggregate') (mtRate[m[1]] ??= {})[m[2]] = b.items_per_second;
}
const ceilingOf = (type) => (mtRate[type]?.['1'] && mtRate[type]?.['2'] ? mtRate[type]['2'] / mtRate[type]['1'] : null);
const wrate = (mode, type, kernels) =>
    wasm?.results?.find((r) => r.mode === mode && r.type === type && r.kernels === kernels)?.weights_per_s_cpu;

// The types each whole-model run converts to, with their weights (from `gguf-squash info --json`
// of that run's output), and the kernel-only seconds they take at the from-F16 rates.
function mix(ftype) {
    const info = readJson(`info-${ftype}.json`);
    if (!info) return null;
    const byType = {};
    for (const t of info.tensors ?? []) {
        if (t.type === 'F32' || t.type === 'F16') continue;  // copied, no kernel
        const n = t.shape.reduce((a, b) => a * b, 1);
        byType[t.type] = (byType[t.type] ?? 0) + n;
    }
    return byType;
}
function mixSeconds(byType, rateOf) {
    if (!byType) return null;
    let s = 0;
    for (const [type, n] of Object.entries(byType)) {
        const r = rateOf(type);
        if (!r) return null;
        s += n / r;
    }
    return s;
}
const mixQ4KM = mix('Q4_K_M');

const fmt = (x, d = 2) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const mbs = (weightsPerS) => (weightsPerS == null ? null : (weightsPerS * 2) / 1e6);  // F16 bytes
const verdict = (ok) => (ok == null ? 'not measured' : ok === 'loaded' ? 'inconclusive (load)'
                         : ok === 'info' ? 'below (info)' : ok ? 'met' : 'MISSED');
// Wall-time figures mean little while other processes hold the CPUs: a run that started with the
// load average above the core count gets no verdict from its wall time.
const cores = Number(machine.cores) || 2;
const quiet = (...rs) => rs.every((r) => r && Number(r.load) <= cores);

const targets = [];
const add = (t) => targets.push(t);
const kernelTypes = ['Q4_K_M', 'Q6_K', 'Q8_0', 'Q4_0', 'IQ4_XS'];
const benchCmd = (filter) => `build/native/gguf_squash_bench --benchmark_filter='${filter}'`;

// Kernels: AVX2 vs scalar, from F16, one thread.
for (const t of kernelTypes) {
    let scalar, avx2, note = '';
    if (t === 'Q4_K_M') {
        const ss = mixSeconds(mixQ4KM, (ty) => nrate('from_f16', ty, 'scalar'));
        const sa = mixSeconds(mixQ4KM, (ty) => nrate('from_f16', ty, 'avx2'));
        const n = mixQ4KM ? Object.values(mixQ4KM).reduce((a, b) => a + b, 0) : null;
        scalar = ss && n / ss;
        avx2 = sa && n / sa;
        const rs = run('native-scalar-Q4_K_M-1t'), ra = run('native-avx2-Q4_K_M-1t');
        if (rs && ra) note = `whole model, user time: scalar ${fmt(rs.user_s, 1)} s, avx2 ${fmt(ra.user_s, 1)} s = ${fmt(rs.user_s / ra.user_s)}x`;
        if (mixQ4KM) note = `mix ${Object.entries(mixQ4KM).map(([k, v]) => `${k} ${(v / n * 100).toFixed(0)}%`).join(', ')}; ` + note;
    } else {
        scalar = nrate('from_f16', t, 'scalar');
        avx2 = nrate('from_f16', t, 'avx2');
    }
    const ratio = scalar && avx2 ? avx2 / scalar : null;
    add({
        group: 'Kernels (native)',
        target: `${t}: AVX2 >= 3x scalar reference (from F16, 1 thread)`,
        figure: `${fmt(mbs(avx2), 0)} vs ${fmt(mbs(scalar), 0)} MB/s = ${fmt(ratio)}x`,
        ok: ratio == null ? null : ratio >= 3,
        note,
        cmd: benchCmd(`^from_f16/(${t === 'Q4_K_M' ? 'Q4_K|Q6_K' : t})/(scalar|avx2)$`),
    });
}
// Kernels: wasm simd128 under node vs native scalar.
for (const t of kernelTypes) {
    let nat, w;
    if (t === 'Q4_K_M') {
        const n = mixQ4KM ? Object.values(mixQ4KM).reduce((a, b) => a + b, 0) : null;
        const sn = mixSeconds(mixQ4KM, (ty) => nrate('from_f16', ty, 'scalar'));
        const sw = mixSeconds(mixQ4KM, (ty) => wrate('from_f16', ty, 'wasm128'));
        nat = sn && n / sn;
        w = sw && n / sw;
    } else {
        nat = nrate('from_f16', t, 'scalar');
        w = wrate('from_f16', t, 'wasm128');
    }
    const ratio = nat && w ? w / nat : null;
    const ws = t === 'Q4_K_M' ? null : wrate('from_f16', t, 'wasm-scalar');
    add({
        group: 'Kernels (wasm)',
        target: `${t}: wasm simd128 under node >= 1.5x native scalar`,
        figure: `${fmt(mbs(w), 0)} vs ${fmt(mbs(nat), 0)} MB/s = ${fmt(ratio)}x`,
        ok: ratio == null ? null : ratio >= 1.5,
        note: ws ? `wasm scalar reference ${fmt(mbs(ws), 0)} MB/s` : '',
        cmd: `node wasm/bench_kernels.mjs --types ${t === 'Q4_K_M' ? 'Q4_K,Q6_K' : t} --modes from_f16`,
    });
}
// The issue's headline: faster than llama-quantize per thread (its user seconds on this machine
// kind, tests/fixtures/README.md), natively and in wasm under node.
for (const [t, theirs] of Object.entries(llamaQuantize)) {
    const n = run(`native-avx2-${t}-1t`), w = run(`wasm-simd-${t}-1t`);
    if (!n && !w) continue;
    const parts = [];
    if (n) parts.push(`native ${fmt(n.user_s + n.sys_s, 1)} s (${fmt(theirs / (n.user_s + n.sys_s), 1)}x faster)`);
    if (w) parts.push(`node wasm ${fmt(w.user_s + w.sys_s, 1)} s (${fmt(theirs / (w.user_s + w.sys_s), 1)}x)`);
    add({
        group: 'vs llama-quantize',
        target: `${t}: one thread faster than llama-quantize's ${theirs} s of CPU`,
        figure: parts.join('; '),
        ok: [n, w].filter(Boolean).every((r) => r.user_s + r.sys_s < theirs),
        note: 'CPU seconds (user + system) of the whole run, one thread',
        cmd: `/usr/bin/time -v build/native/gguf-squash quantize MODEL out.gguf ${t} 1; /usr/bin/time -v node wasm/cli.mjs quantize MODEL out.gguf ${t} 1`,
    });
}
// Byte identity across engines and kernels.
{
    const byType = {};
    for (const r of runs) (byType[r.type] ??= new Set()).add(r.sha256);
    const types = Object.keys(byType);
    const same = types.filter((t) => byType[t].size === 1);
    add({
        group: 'Identity',
        target: 'every path writes the same bytes (whole model)',
        figure: types.length ? `${same.length}/${types.length} types: one sha256 across all their runs` : 'n/a',
        ok: types.length ? same.length === types.length : null,
        note: `runs compared: ${runs.length} (native scalar/avx2, 1/2 threads, node wasm); golden tests: ./build/native/gguf_squash_tests --gtest_filter='*golden*:*simd*:*kernel*'`,
        cmd: 'scripts/bench.sh (sha256 of each output in build/bench/results/runs.jsonl)',
    });
}
// Whole model.
{
    const r1 = run('native-avx2-Q4_K_M-1t'), r2 = run('native-avx2-Q4_K_M-2t');
    const ratio = r1 && r2 ? r1.wall_s / r2.wall_s : null;
    const s1 = run('native-scalar-Q4_K_M-1t'), s2 = run('native-scalar-Q4_K_M-2t');
    const sratio = s1 && s2 ? s1.wall_s / s2.wall_s : null;
    // The ceiling for the Q4_K_M mix: kernel time at 1 thread over kernel time at 2 threads.
    let ceiling = null;
    if (mixQ4KM) {
        let t1 = 0, t2 = 0;
        for (const [type, n] of Object.entries(mixQ4KM)) {
            const m = mtRate[type];
            if (!m?.['1'] || !m?.['2']) { t1 = null; break; }
            t1 += n / m['1'];
            t2 += n / m['2'];
        }
        if (t1) ceiling = t1 / t2;
    }
    const ceilingNote = (r) => (ceiling && r ? `; ${fmt(r / ceiling * 100, 0)}% of this machine's ceiling (${fmt(ceiling)}x: the kernels alone on 2 threads at once, model_rows_mt/)` : '');
    add({
        group: 'Whole model',
        target: 'thread-scaling ceiling of this machine (for reading the two rows below)',
        figure: ceiling ? `${fmt(ceiling)}x for the Q4_K_M mix (Q4_K ${fmt(ceilingOf('Q4_K'))}x, Q6_K ${fmt(ceilingOf('Q6_K'))}x)` : 'n/a',
        ok: ceiling == null ? null : 'info',
        note: 'two threads each quantizing their own rows of the model with the AVX2 kernels, nothing shared and no I/O: what two of these cores can give at best; below 2x, the two vCPUs slow each other down (a shared physical core, caches or memory bandwidth)',
        cmd: benchCmd('^model_rows_mt/'),
    });
    add({
        group: 'Whole model',
        target: 'Q4_K_M wall time, 2 threads >= 1.8x faster than 1',
        figure: r1 && r2 ? `${fmt(r1.wall_s, 1)} s -> ${fmt(r2.wall_s, 1)} s = ${fmt(ratio)}x (AVX2)` : 'n/a',
        ok: ratio == null ? null : !quiet(r1, r2) ? 'loaded' : ratio >= 1.8,
        note: `1 thread${wallsNote(r1)}, 2 threads${wallsNote(r2)}${ceilingNote(ratio)}; ` +
              (sratio ? `scalar kernels: ${fmt(s1.wall_s, 1)} s -> ${fmt(s2.wall_s, 1)} s = ${fmt(sratio)}x; ` : '') +
              `llama-quantize: ${llamaQuantize.Q4_K_M} s user (1 thread), ${llamaQuantize2tWall} s wall (2 threads); load average during runs ${r1?.load ?? '?'} / ${r2?.load ?? '?'}`,
        cmd: `/usr/bin/time -v build/native/gguf-squash quantize ${'build/bench/bench-model-f16.gguf'} out.gguf Q4_K_M 2`,
    });
    // The same target for node wasm/cli.mjs, whose NTHREADS are worker threads (wasm/row_pool.mjs).
    const w1 = run('wasm-simd-Q4_K_M-1t'), w2 = run('wasm-simd-Q4_K_M-2t');
    const wratio = w1 && w2 ? w1.wall_s / w2.wall_s : null;
    add({
        group: 'Whole model',
        target: 'Q4_K_M wall time in node (wasm), 2 threads >= 1.8x faster than 1',
        figure: w1 && w2 ? `${fmt(w1.wall_s, 1)} s -> ${fmt(w2.wall_s, 1)} s = ${fmt(wratio)}x (wasm SIMD)` : 'n/a',
        ok: wratio == null ? null : !quiet(w1, w2) ? 'loaded' : wratio >= 1.8,
        note: `1 thread${wallsNote(w1)}, 2 threads${wallsNote(w2)}${ceilingNote(wratio)}; 2 threads = two pool workers, each with its own wasm instance, plus the main thread reading and writing; load average during runs ${w1?.load ?? '?'} / ${w2?.load ?? '?'}`,
        cmd: `/usr/bin/time -v node wasm/cli.mjs quantize ${'build/bench/bench-model-f16.gguf'} out.gguf Q4_K_M 2`,
    });
    const native = runs.filter((r) => r.engine === 'native');
    const maxRss = native.length ? Math.max(...native.map((r) => r.max_rss_kib)) / 1024 : null;
    add({
        group: 'Whole model',
        target: 'peak RSS under 128 MiB natively',
        figure: maxRss ? `${fmt(maxRss, 1)} MiB (largest of ${native.length} native runs)` : 'n/a',
        ok: maxRss == null ? null : maxRss < 128,
        note: 'llama-quantize: about 115 MiB',
        cmd: '/usr/bin/time -v build/native/gguf-squash quantize MODEL out.gguf Q4_K_M 2',
    });
    const wruns = runs.filter((r) => r.engine === 'wasm');
    const wRss = wruns.length ? Math.max(...wruns.map((r) => r.max_rss_kib)) / 1024 : null;
    add({
        group: 'Whole model',
        target: 'wasm heap under 512 MiB',
        figure: wRss ? `node's whole peak RSS ${fmt(wRss, 0)} MiB (an upper bound on the wasm heap)` : 'n/a',
        ok: wRss == null ? null : wRss < 512,
        note: browser?.max_heap ? `browser workers' largest heap ${fmt(browser.max_heap / 1048576, 0)} MiB` : '',
        cmd: '/usr/bin/time -v node wasm/cli.mjs quantize MODEL out.gguf Q4_K_M',
    });
    // I/O overlap: end-to-end MB/s vs kernel-only MB/s, one thread. Judged on Q4_K_M, the
    // headline type; the others are shown for what they say about the pipeline's fixed costs.
    for (const t of ['Q4_K_M', 'Q6_K', 'IQ4_XS', 'Q8_0', 'Q4_0']) {
        const r = run(`native-avx2-${t}-1t`);
        const m = mix(t);
        // The model's own rows where measured (model_rows/), else the Gaussian rows (from_f16/).
        const rows = (ty) => nrate('model_rows', ty, 'avx2') ?? nrate('from_f16', ty, 'avx2');
        const ks = mixSeconds(m, rows);
        if (!r || !ks || !modelBytes) continue;
        const cpu = r.user_s + r.sys_s;
        const byCpu = ks / cpu, byWall = ks / r.wall_s;
        const judged = quiet(r) ? byWall : byCpu;
        add({
            group: 'Whole model',
            target: t === 'Q4_K_M' ? 'Q4_K_M: I/O overlaps compute, end-to-end MB/s >= 85% of kernel-only'
                                   : `${t} (for information): end-to-end vs kernel-only`,
            figure: `${fmt(modelBytes / 1e6 / r.wall_s, 0)} MB/s wall, ${fmt(modelBytes / 1e6 / cpu, 0)} MB/s CPU vs kernel-only ${fmt(modelBytes / 1e6 / ks, 0)} MB/s = ${fmt(byWall * 100, 0)}% (wall) / ${fmt(byCpu * 100, 0)}% (CPU)`,
            ok: t === 'Q4_K_M' ? judged >= 0.85 : judged >= 0.85 ? true : 'info',
            note: `judged on ${quiet(r) ? 'wall' : 'CPU'} time (load average ${r.load} at the start of the run, ${cores} cores); kernel-only = this run's tensor mix at the AVX2 rates measured on the model's own rows (model_rows/)`,
            cmd: `/usr/bin/time -v build/native/gguf-squash quantize MODEL out.gguf ${t} 1`,
        });
    }
}
// Browser.
{
    // Judged against node with the same number of workers (2) when that run exists: the stricter
    // reading; node on 1 thread is shown too.
    const node1 = run('wasm-simd-Q4_K_M-1t'), node2 = run('wasm-simd-Q4_K_M-2t');
    const nodeRef = node2 ?? node1;
    const mbsOf = (r) => (r && modelBytes ? modelBytes / 1e6 / r.wall_s : null);
    const nodeMBs = mbsOf(nodeRef);
    const bMBs = browser?.mb_per_s;
    add({
        group: 'Browser',
        target: 'Chromium, worker pool 2, File -> OPFS download >= 80% of node wasm throughput',
        figure: bMBs ? `${fmt(bMBs, 1)} MB/s vs node ${node2 ? 'with 2 threads' : '(1 thread)'} ${fmt(nodeMBs, 1)} MB/s = ${fmt(bMBs / nodeMBs * 100, 0)}%` : 'n/a',
        ok: bMBs && nodeMBs ? (quiet(nodeRef, browser) ? bMBs >= 0.8 * nodeMBs : 'loaded') : null,
        note: (browser?.note ?? (browser ? '' : 'browser run not made (NO_BROWSER, or tests/browser/perf_browser.mjs failed)')) +
              (node2 && node1 ? `; node with 1 thread ${fmt(mbsOf(node1), 1)} MB/s (browser = ${fmt(bMBs / mbsOf(node1) * 100, 0)}% of it)` : '') +
              `; wall times, load average ${nodeRef?.load ?? '?'} (node) / ${browser?.load ?? '?'} (browser) at the start`,
        cmd: 'node tests/browser/perf_browser.mjs --model build/bench/bench-model-f16.gguf --type Q4_K_M --workers 2',
    });
}
// Header parsing and estimates.
{
    const med = (name) => nativeAgg[`${name}_median`];
    const toMs = (b, field) => (b ? b[field] * ({ ns: 1e-6, us: 1e-3, ms: 1, s: 1e3 }[b.time_unit] ?? 1) : null);
    const h = med('header/ggml-vocab-qwen2.gguf');
    const hms = toMs(h, 'cpu_time');
    add({
        group: 'Header',
        target: 'qwen2 vocab header parses in under 10 ms natively (median of 10)',
        figure: `${fmt(hms)} ms CPU (${fmt(toMs(h, 'real_time'))} ms wall)`,
        ok: hms == null ? null : hms < 10,
        note: '',
        cmd: benchCmd('^header/'),
    });
    const wh = wasm?.headers?.find((x) => /qwen2/.test(x.file));
    add({
        group: 'Header',
        target: 'qwen2 vocab header parses in under 20 ms in wasm (median of 10)',
        figure: wh ? `${fmt(wh.core_cpu_ms)} ms CPU (${fmt(wh.core_ms)} ms wall), the core's parser on bytes in wasm memory` : 'n/a',
        ok: wh ? wh.core_cpu_ms < 20 : null,
        note: 'node, the SIMD module; CPU time (the machine was shared)',
        cmd: 'node wasm/bench_kernels.mjs --no-kernels --header tests/fixtures/vocab/ggml-vocab-qwen2.gguf',
    });
    add({
        group: 'Header',
        target: 'the same through the JS API, as the page opens a file (stricter reading)',
        figure: wh ? `${fmt(wh.api_cpu_ms)} ms CPU (${fmt(wh.api_ms)} ms wall)` : 'n/a',
        ok: wh ? wh.api_cpu_ms < 20 : null,
        note: 'openModel on a Blob: reads by slices, parses, then builds and JSON.parses the info JSON with arrays previewed (64 items each; the page fetches more on demand with Model.arrayItems)',
        cmd: 'node wasm/bench_kernels.mjs --no-kernels --header tests/fixtures/vocab/ggml-vocab-qwen2.gguf',
    });
    for (const m of ['bench-model-f16.gguf', 'llama-gqa.gguf']) {
        const e = med(`estimate_table/${m}`);
        const ems = toMs(e, 'cpu_time');
        const we = wasm?.estimates?.find((x) => x.file.endsWith(m));
        add({
            group: 'Estimate',
            target: `estimate table for all ftypes under 50 ms from a parsed header (${m})`,
            figure: `native ${fmt(ems)} ms CPU (${fmt(toMs(e, 'real_time'))} wall); wasm ${fmt(we?.cpu_ms)} ms CPU (${fmt(we?.ms)} wall)`,
            ok: ems == null && !we ? null : (ems ?? 0) < 50 && (we ? we.cpu_ms < 50 : true),
            note: `${we?.ftypes ?? e?.ftypes ?? '?'} ftypes, ${e?.tensors ?? we?.tensors ?? '?'} tensors; wasm = core.estimate(model), the page's table (JSON included)`,
            cmd: `${benchCmd('^estimate_table/')}; node wasm/bench_kernels.mjs --no-kernels --estimate ${m === 'llama-gqa.gguf' ? 'tests/fixtures/models/' : 'build/bench/'}${m}`,
        });
    }
}

// --- output ---------------------------------------------------------------------------------------
const table = (head, rows) => {
    const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
    for (const r of rows) lines.push(`| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`);
    return lines.join('\n');
};

let text = '';
const w = (s = '') => (text += s + '\n');

// stdout: one table.
for (const t of targets) {
    process.stdout.write(`${verdict(t.ok).padEnd(13)} ${t.target}\n${' '.repeat(14)}${t.figure}${t.note ? `\n${' '.repeat(14)}${t.note}` : ''}\n`);
}

w('# Performance');
w();
w('Produced by `scripts/bench.sh` (raw results in `build/bench/results/`, rendered by `bench/report.mjs`).');
w('Targets are those of issue 8. Ratios compare figures measured in the same run on the same machine;');
w('kernel figures are CPU time of one thread, which a loaded machine disturbs less than wall time.');
w();
w('## Machine');
w();
w(table(['fact', 'value'], [
    ['CPU', `${machine.cpu ?? '?'} (${machine.cores ?? '?'} cores, AVX2 ${machine.flags_avx2 ? 'yes' : 'no'})`],
    ['memory', `${machine.mem_gib ?? '?'} GiB`],
    ['compilers', `g++ ${machine.gxx ?? '?'}; ${machine.emcc ?? '?'}`],
    ['node', machine.node ?? '?'],
    ['date, commit', `${machine.date ?? '?'}, ${machine.commit ?? '?'}${machine.quick ? ' (QUICK=1 run)' : ''}`],
    ['load average (1, 5, 15 min)', `start ${machine.load_start ?? '?'}, end ${machineEnd.load_end ?? '?'}`],
    ['model', `build/bench/bench-model-f16.gguf, ${modelBytes ? (modelBytes / 1e6).toFixed(0) + ' MB' : '?'} (scripts/make-bench-model)`],
]));
w();
w('The machine is shared: a load average above its core count means other processes competed for the');
w('CPUs during the run, which stretches wall times (not CPU times) and can lower thread scaling.');
w();
w('## Targets');
w();
// A missed target points at its analysis (bench/performance_notes.md, appended below).
const missNote = (t) => (t.ok === false ? `${t.note ? `${t.note}; ` : ''}the reason and what would close it: "Misses and what would close them" below` : t.note);
w(table(['group', 'target', 'measured', 'verdict', 'notes'], targets.map((t) => [t.group, t.target, t.figure, verdict(t.ok), missNote(t)])));
w();
w('## How to reproduce each figure');
w();
w(table(['target', 'command'], targets.map((t) => [t.target, '`' + t.cmd + '`'])));
w();
w('## Kernels, from F16, one thread (MB/s of F16 input, CPU time)');
w();
{
    const types = [...new Set(Object.keys(nativeRate).filter((k) => k.startsWith('from_f16/')).map((k) => k.split('/')[1]))];
    const rows = types.map((t) => {
        const s = nrate('from_f16', t, 'scalar'), a = nrate('from_f16', t, 'avx2'), e = nrate('from_f16', t, 'sse4');
        const ws = wrate('from_f16', t, 'wasm-scalar'), wv = wrate('from_f16', t, 'wasm128');
        return [t, fmt(mbs(s), 0), fmt(mbs(e), 0), fmt(mbs(a), 0), s && a ? fmt(a / s) + 'x' : 'n/a',
                fmt(mbs(ws), 0), fmt(mbs(wv), 0), s && wv ? fmt(wv / s) + 'x' : 'n/a'];
    });
    w(table(['type', 'native scalar', 'sse4', 'avx2', 'avx2 / scalar', 'wasm scalar', 'wasm simd128', 'simd128 / native scalar'], rows));
}
w();
w('`from_f16` = F16 -> F32 -> type on 64 rows x 4096 weights (bench/bench_data.h), what the quantize');
w('pipeline does per row. Native: `build/native/gguf_squash_bench`; wasm: `node wasm/bench_kernels.mjs`.');
w();
w('## Whole-model runs');
w();
w(table(['run', 'wall s', 'user s', 'sys s', 'peak RSS MiB', 'MB/s (wall)', 'llama-quantize user s', 'load', 'command'],
    runs.map((r) => [r.name, fmt(r.wall_s, 1), fmt(r.user_s, 1), fmt(r.sys_s, 1), fmt(r.max_rss_kib / 1024, 1),
                     modelBytes ? fmt(modelBytes / 1e6 / r.wall_s, 0) : 'n/a',
                     r.threads === 1 && llamaQuantize[r.type] ? String(llamaQuantize[r.type]) : '', r.load, '`' + r.command + '`'])));
w();
w('llama-quantize\'s figures are from tests/fixtures/README.md (same machine kind, one thread, user seconds).');
w();

// Hand-written analysis (reasons for misses, what would close them) lives beside this script.
const notesFile = new URL('./performance_notes.md', import.meta.url);
const extra = fs.existsSync(notesFile) ? fs.readFileSync(notesFile, 'utf8') : '';
if (extra) w(extra.trimEnd());
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, text);
process.stdout.write(`\nwrote ${outFile}\n`);
