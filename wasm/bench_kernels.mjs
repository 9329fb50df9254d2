#!/usr/bin/env node
// Kernel throughput of the WebAssembly build under node, on the same 64 x 4096 weights as the
// native Google Benchmark suite (bench/bench_data.h through wasm/bench_binding.cpp):
//   node wasm/bench_kernels.mjs [--types Q4_0,Q8_0,...|all] [--modes quantize,from_f16,dequantize]
//                               [--min-time 0.5] [--reps 3] [--json FILE]
//                               [--header FILE,...] [--estimate FILE,...] [--no-kernels]
// For each type, mode and kernel set (the SIMD module's scalar reference and its simd128 kernels,
// and the baseline module without SIMD), it times repeated calls for at least --min-time seconds,
// --reps times, and reports the median in weights per second, by process CPU time (what a loaded
// machine disturbs least) and by wall time. Prints a table; --json writes the figures.
// --header times parsing each file's GGUF header, median of 10: the core alone on bytes already in
// wasm memory, and the JS API (openModel on a Blob, as the page does, which also builds the info
// JSON with arrays previewed: their first items and length). --estimate times the page's estimate table (every ftype's plan) from a parsed header,
// median of 10.
import fs from 'node:fs';

import { loadGgufSquash } from './gguf_squash.mjs';

const kDefaultTypes = ['Q4_0', 'Q8_0', 'Q4_K', 'Q6_K', 'IQ4_XS'];
const kModes = { quantize: 0, from_f16: 1, dequantize: 2 };
const kIsa = { scalar: 0, wasm128: 3 };

function parseArgs(argv) {
    const o = { types: kDefaultTypes, modes: ['quantize', 'from_f16'], minTime: 0.5, reps: 3, json: null,
                headers: [], estimates: [], kernels: true };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = () => argv[++i];
        if (a === '--types') o.types = v() === 'all' ? 'all' : argv[i].split(',');
        else if (a === '--modes') o.modes = v().split(',');
        else if (a === '--min-time') o.minTime = Number(v());
        else if (a === '--reps') o.reps = Number(v());
        else if (a === '--json') o.json = v();
        else if (a === '--header') o.headers = v().split(',');
        else if (a === '--estimate') o.estimates = v().split(',');
        else if (a === '--no-kernels') o.kernels = false;
        else if (a === '-h' || a === '--help') {
            process.stdout.write('usage: node wasm/bench_kernels.mjs [--types T,..|all] [--modes quantize,from_f16,dequantize] [--min-time S] [--reps N] [--json FILE]\n');
            process.exit(0);
        } else {
            process.stderr.write(`bench_kernels: unknown argument ${a}\n`);
            process.exit(2);
        }
    }
    return o;
}

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// One measurement: calls of `batch` iterations until minTime of CPU time has passed.
function measure(mod, typeId, mode, minTime, weightsPerCall) {
    let batch = 1;
    // Warm up and size the batch so one call takes about 50 ms.
    for (;;) {
        const t0 = performance.now();
        const code = mod._gs_bench_run(typeId, mode, batch);
        if (code !== 0) throw new Error(`gs_bench_run failed with status ${code}`);
        const ms = performance.now() - t0;
        if (ms > 25 || batch >= 1 << 16) break;
        batch *= 2;
    }
    let calls = 0;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    let cpu;
    do {
        mod._gs_bench_run(typeId, mode, batch);
        calls++;
        const d = process.cpuUsage(cpu0);
        cpu = (d.user + d.system) / 1e6;
    } while (cpu < minTime);
    const wall = (performance.now() - wall0) / 1000;
    const weights = calls * batch * weightsPerCall;
    return { cpu: weights / cpu, wall: weights / wall };
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const simd = await loadGgufSquash({ variant: 'simd' });
    const base = await loadGgufSquash({ variant: 'base' });
    if (simd.variant !== 'simd') throw new Error('the SIMD module did not load');
    const weightsPerCall = simd.mod._gs_bench_rows() * simd.mod._gs_bench_cols();
    const types = o.types === 'all' ? simd.quantizableTypes().filter((t) => t !== 'F32') : o.types;
    const runs = [
        { name: 'wasm-scalar', core: simd, isa: kIsa.scalar },
        { name: 'wasm128', core: simd, isa: kIsa.wasm128 },
        { name: 'wasm-base', core: base, isa: kIsa.scalar },
    ];
    const results = [];
    for (const mode of o.kernels ? o.modes : []) {
        for (const type of types) {
            const [namePtr] = simd.allocString(type);
            const typeId = simd.mod._gs_type_id(namePtr);
            simd.mod._free(namePtr);
            for (const r of runs) {
                if (r.core.mod._gs_bench_set_isa(r.isa) !== 0) continue;
                const reps = [];
                for (let i = 0; i < o.reps; i++) reps.push(measure(r.core.mod, typeId, kModes[mode], o.minTime, weightsPerCall));
                const row = {
                    mode, type, kernels: r.name,
                    weights_per_s_cpu: median(reps.map((x) => x.cpu)),
                    weights_per_s_wall: median(reps.map((x) => x.wall)),
                };
                results.push(row);
                process.stderr.write(`${mode.padEnd(10)} ${type.padEnd(8)} ${r.name.padEnd(12)} ` +
                                     `${(row.weights_per_s_cpu / 1e6).toFixed(2).padStart(9)} Mweights/s (cpu)  ` +
                                     `${(row.weights_per_s_wall / 1e6).toFixed(2).padStart(9)} (wall)\n`);
            }
        }
    }
    const headers = [];
    for (const file of o.headers) {
        const bytes = fs.readFileSync(file);
        const ptr = simd.allocBytes(bytes);
        const core = [], api = [], coreCpu = [], apiCpu = [];
        const cpuMs = (c) => (c.user + c.system) / 1000;
        // The core's runs come first, all of them: the JS API's runs leave hundreds of MB of
        // strings for V8's background GC threads, whose CPU time process.cpuUsage() would
        // otherwise add to the core's figure.
        for (let i = 0; i < 11; i++) {  // the first run warms up and is dropped
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            if (simd.mod._gs_bench_parse_header(ptr, bytes.length) < 0) throw new Error(`${file}: invalid header`);
            const t1 = performance.now();
            const c1 = process.cpuUsage();
            if (i) core.push(t1 - t0), coreCpu.push(cpuMs(c1) - cpuMs(c0));
        }
        for (let i = 0; i < 11; i++) {
            const c1 = process.cpuUsage();
            const t1 = performance.now();
            const model = await simd.openModel([new Blob([bytes])]);
            const t2 = performance.now();
            const c2 = process.cpuUsage();
            model.free();
            if (i) api.push(t2 - t1), apiCpu.push(cpuMs(c2) - cpuMs(c1));
        }
        simd.mod._free(ptr);
        const row = { file, bytes: bytes.length, core_ms: median(core), api_ms: median(api),
                      core_cpu_ms: median(coreCpu), api_cpu_ms: median(apiCpu) };
        headers.push(row);
        process.stderr.write(`header     ${file}: core ${row.core_ms.toFixed(2)} ms wall / ${row.core_cpu_ms.toFixed(2)} ms CPU, ` +
                             `JS API ${row.api_ms.toFixed(2)} ms wall / ${row.api_cpu_ms.toFixed(2)} ms CPU (median of 10)\n`);
    }
    const estimates = [];
    for (const file of o.estimates) {
        const fd = fs.openSync(file, 'r');
        const size = fs.fstatSync(fd).size;
        const source = {
            size,
            read: async (offset, length) => {
                const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
                fs.readSync(fd, buf, 0, buf.length, offset);
                return buf;
            },
        };
        const model = await simd.openModel([source]);
        fs.closeSync(fd);
        const times = [], cpu = [];
        let rows = 0;
        for (let i = 0; i < 11; i++) {
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            rows = simd.estimate(model).length;
            const t1 = performance.now();
            const c = process.cpuUsage(c0);
            if (i) times.push(t1 - t0), cpu.push((c.user + c.system) / 1000);
        }
        model.free();
        const row = { file, ftypes: rows, tensors: model.info.tensors?.length ?? null, ms: median(times), cpu_ms: median(cpu) };
        estimates.push(row);
        process.stderr.write(`estimate   ${file}: ${rows} ftypes in ${row.ms.toFixed(2)} ms wall / ${row.cpu_ms.toFixed(2)} ms CPU (median of 10)\n`);
    }
    const out = { node: process.version, rows: simd.mod._gs_bench_rows(), cols: simd.mod._gs_bench_cols(),
                  results, headers, estimates };
    if (o.json) fs.writeFileSync(o.json, JSON.stringify(out, null, 1) + '\n');
    else process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
    process.stderr.write(`bench_kernels: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
});
