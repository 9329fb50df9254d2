// Records real quantization times in the page (headless Chromium), with the inputs of the page's
// time estimate, so that tests/js/time_estimate.test.mjs can check the estimate against them
// without a wall clock. For each model, each worker count and each type the page can make
// (types that need an imatrix: with the model's imatrix when one is given, else skipped), it
// reads the prior's inputs (#time-estimate[data-prior]: kernel rates from the page's
// calibration, weights converted per type, workers, sizes), runs Quantize and reads the run's
// real time and progress samples (#progress-box[data-timing]).
//
//   scripts/build.sh wasm web
//   build/native/make-bench-model /tmp/bench-small-f16.gguf --n-embd 1024 --layers 4 --n-ff 2816 \
//       --vocab 4096 --heads 16 --kv-heads 4 --seed 1
//   node tools/record_quantize_times.mjs --out tests/fixtures/timing/quantize_times.json \
//       tests/fixtures/models/llama-gqa.gguf:tests/fixtures/models/llama-gqa.imatrix.gguf \
//       /tmp/bench-small-f16.gguf
//
// MODEL[:IMATRIX] per argument; --workers 1,2 (default); --types A,B (default: every type).
// --merge: replace only the records made now in --out's existing records (re-recording some runs).
//
// Each record also says how busy the machine was (Linux /proc): `others`, the cores' worth of CPU
// that processes other than this Chromium used during the run (and `calibration_others` during
// the calibration that made the prior), and `load1`, the load average when it started. A run
// that others slowed down is a bad recording: re-record it on a quieter machine (--merge).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { startStaticServer } from '../scripts/static-server.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
};
const out = opt('--out', null);
const workerCounts = opt('--workers', '1,2').split(',').map(Number);
const onlyTypes = opt('--types', '').split(',').filter(Boolean);
const webDir = path.resolve(opt('--web', 'build/web'));
const mergeAt = args.indexOf('--merge');
const merge = mergeAt >= 0;
if (merge) args.splice(mergeAt, 1);
if (!out || !args.length) {
    process.stderr.write('usage: node tools/record_quantize_times.mjs --out FILE.json MODEL[:IMATRIX]...\n');
    process.exit(2);
}

// CPU time in clock ticks (USER_HZ, 100 on Linux): the machine's busy time, and the time of
// the processes under `pid` (the browser's).
const kTicksPerSecond = 100;
function machineBusyTicks() {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return f.reduce((a, b) => a + b, 0) - f[3] - (f[4] ?? 0);  // all but idle and iowait
}
function processTable() {
    const rows = [];
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
            const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');  // fields from 3 (state) on
            rows.push({ pid: Number(d), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
        } catch { /* gone */ }
    }
    return rows;
}
function treeTicks(root) {
    const rows = processTable();
    const kids = new Map();
    for (const r of rows) kids.set(r.ppid, [...(kids.get(r.ppid) ?? []), r]);
    let sum = 0;
    const stack = [root];
    while (stack.length) {
        const pid = stack.pop();
        const me = rows.find((r) => r.pid === pid);
        if (me) sum += me.ticks;
        for (const k of kids.get(pid) ?? []) stack.push(k.pid);
    }
    return sum;
}
function browserPid(profileDir) {
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
            if (cmd.some((a) => a === `--user-data-dir=${profileDir}`) && !cmd.some((a) => a.startsWith('--type='))) return Number(d);
        } catch { /* gone */ }
    }
    return null;
}
// {others: cores' worth used by other processes since start()}
function contention(pid) {
    const t0 = performance.now(), busy0 = machineBusyTicks(), mine0 = pid ? treeTicks(pid) : 0;
    return () => {
        const secs = (performance.now() - t0) / 1000;
        const others = (machineBusyTicks() - busy0 - ((pid ? treeTicks(pid) : 0) - mine0)) / kTicksPerSecond;
        return Math.round(Math.max(0, others) / Math.max(secs, 1e-3) * 100) / 100;
    };
}
const load1 = () => Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

const server = await startStaticServer(webDir, 0, '127.0.0.1');
const origin = `http://127.0.0.1:${server.address().port}`;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-timing-'));
const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const page = context.pages()[0] ?? (await context.newPage());
const chrome = browserPid(profile);
const records = [];
try {
    for (const spec of args) {
        const [model, imatrix] = spec.split(':');
        for (const workers of workerCounts) {
            await page.goto(`${origin}/?workers=${workers}`);
            await page.waitForSelector('html[data-ready="true"]');
            await page.setInputFiles('[data-testid=file-input]', model);
            await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
            const types = (await page.$$eval('[data-testid=type-select] option', (os) => os.map((o) => o.value)))
                .filter((t) => !onlyTypes.length || onlyTypes.includes(t));
            for (const pass of imatrix ? ['plain', 'imatrix'] : ['plain']) {
                if (pass === 'imatrix') {
                    await page.setInputFiles('[data-testid=imatrix-input]', imatrix);
                    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=type-select] option')].every((o) => !o.disabled));
                }
                for (const type of types) {
                    const needs = await page.$eval(`[data-testid=estimate-table] tr[data-ftype="${type}"]`, (tr) => tr.dataset.imatrix === 'required');
                    if ((pass === 'plain') === needs) continue;  // imatrix types in the imatrix pass only
                    const calibrating = contention(chrome);
                    await page.selectOption('[data-testid=type-select]', type);
                    await page.waitForFunction((t) => JSON.parse(document.getElementById('time-estimate').dataset.prior ?? '{}').type === t, type,
                                               { timeout: 60_000 });
                    const prior = JSON.parse(await page.$eval('#time-estimate', (e) => e.dataset.prior));
                    const calibrationOthers = calibrating();
                    await page.$eval('#progress-box', (e) => { delete e.dataset.timing; });
                    const loadAtStart = load1();
                    const running = contention(chrome);
                    await page.click('[data-testid=quantize-button]');
                    await page.waitForFunction(() => document.getElementById('progress-box').dataset.timing, null, { timeout: 600_000 });
                    const others = running();
                    const timing = JSON.parse(await page.$eval('#progress-box', (e) => e.dataset.timing));
                    const record = { model: path.basename(model), imatrix: pass === 'imatrix' ? path.basename(imatrix) : null,
                                     type, workers: timing.workers, seconds: Math.round(timing.seconds * 1000) / 1000, prior,
                                     samples: timing.samples, plan: timing.plan,
                                     others, calibration_others: calibrationOthers, load1: loadAtStart };
                    records.push(record);
                    process.stderr.write(`${record.model} ${type} workers ${workers}: ${record.seconds} s (prior ${prior.seconds.toFixed(3)} s; ` +
                                         `others ${others} cores, ${calibrationOthers} in the calibration, load ${loadAtStart})\n`);
                }
            }
        }
    }
} finally {
    await context.close();
    await new Promise((r) => server.close(r));
    fs.rmSync(profile, { recursive: true, force: true });
}
fs.mkdirSync(path.dirname(out), { recursive: true });
const key = (r) => `${r.model} ${r.imatrix} ${r.type} ${r.workers}`;
let all = records, command = `node tools/record_quantize_times.mjs ${process.argv.slice(2).join(' ')}`;
let recorded = new Date().toISOString();
if (merge && fs.existsSync(out)) {
    // The new records take the place of the old ones for the same run, in the same order.
    const old = JSON.parse(fs.readFileSync(out, 'utf8'));
    const fresh = new Map(records.map((r) => [key(r), r]));
    all = old.records.map((r) => fresh.get(key(r)) ?? r);
    const known = new Set(old.records.map(key));
    all.push(...records.filter((r) => !known.has(key(r))));
    command = old.command;
    recorded = `${old.recorded}; re-recorded ${records.length} runs ${recorded} (${process.argv.slice(2).join(' ')})`;
}
// One record per line: the file stays small and a re-recorded run is a one-line change.
const meta = {
    command,
    bench_model: 'build/native/make-bench-model /tmp/bench-small-f16.gguf --n-embd 1024 --layers 4 --n-ff 2816 --vocab 4096 --heads 16 --kv-heads 4 --seed 1',
    machine: `${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores (shared), Chromium headless`,
    recorded,
};
fs.writeFileSync(out, JSON.stringify(meta, null, 1).replace(/\n}$/, ',\n "records": [\n') +
                      all.map((r) => JSON.stringify(r)).join(',\n') + '\n]}\n');
process.stderr.write(`wrote ${records.length} records to ${out}\n`);
