#!/usr/bin/env node
// Browser throughput (issue 8): the benchmark model quantized in headless Chromium from a File,
// with the page's worker pool at N, into the OPFS-backed output, then saved as a download.
// A benchmark, not a test (scripts/bench.sh runs it; ./scripts/test.sh does not):
//   node tests/browser/perf_browser.mjs --model build/bench/bench-model-f16.gguf
//        [--type Q4_K_M] [--workers 2] [--json FILE] [--url URL]
// With --url the page opens the model as ?model=URL (scripts/bench_url.sh serves the same file
// from tests/support/hub_emulator.mjs on loopback) instead of a picked File; --model still names
// the local copy, for its size.
// Uses the site in GGUF_SQUASH_WEB_DIR (default build/web). Reports the seconds from the click on
// "Quantize" until the result is ready to save, MB/s of input, the save (download) time, the
// largest worker heap, the output sink and the download's size against the plan.
import fs from 'node:fs';
import os from 'node:os';

import { launch } from './harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
};
const model = opt('--model', 'build/bench/bench-model-f16.gguf');
const type = opt('--type', 'Q4_K_M');
const workers = Number(opt('--workers', '2'));
const jsonOut = opt('--json', null);
const url = opt('--url', null);

// CPU seconds of every thread of the Chromium processes started for this run (the descendants of
// this process; other Chromiums on the machine are left out), from /proc: where the
// page's CPU goes (browser process, renderer main thread, each worker thread), for the bench
// report's work-division figures. Linux only; empty elsewhere.
function chromiumThreads() {
    const ticks = new Map();
    let pids;
    try {
        pids = fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d));
    } catch {
        return ticks;
    }
    const info = new Map();
    for (const pid of pids) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);  // Chromium rewrites it space-separated
            info.set(pid, { ppid, cmd });
        } catch { /* exited */ }
    }
    const ours = new Set([String(process.pid)]);  // this run's Chromium descends from this process
    for (let grew = true; grew;) {
        grew = false;
        for (const [pid, v] of info) if (!ours.has(pid) && ours.has(v.ppid)) { ours.add(pid); grew = true; }
    }
    ours.delete(String(process.pid));
    for (const pid of ours) {
        const kind = (info.get(pid).cmd.find((a) => a.startsWith('--type=')) ?? '--type=browser').slice(7);
        let tids = [];
        try {
            tids = fs.readdirSync(`/proc/${pid}/task`);
        } catch { /* exited */ }
        for (const tid of tids) {
            try {
                const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
                const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
                ticks.set(`${pid}/${tid}`, { kind, pid, comm, ticks: Number(f[11]) + Number(f[12]) });
            } catch { /* exited */ }
        }
    }
    return ticks;
}

// The CPU seconds spent between two chromiumThreads() snapshots, per process kind and thread
// name (a renderer's worker threads one by one, largest first).
function cpuBetween(before, after) {
    const hz = 100;  // USER_HZ on Linux
    const groups = {};
    const workers = [];
    for (const [key, t] of after) {
        const s = (t.ticks - (before.get(key)?.ticks ?? 0)) / hz;
        if (s <= 0) continue;
        if (t.kind === 'renderer' && /DedicatedWorker/.test(t.comm)) workers.push(s);
        else groups[`${t.kind}: ${t.comm}`] = (groups[`${t.kind}: ${t.comm}`] ?? 0) + s;
    }
    const total = [...Object.values(groups), ...workers].reduce((a, b) => a + b, 0);
    const top = Object.entries(groups).sort((a, b) => b[1] - a[1]).slice(0, 8)
        .map(([k, v]) => [k, Number(v.toFixed(2))]);
    return { total_s: Number(total.toFixed(2)), worker_threads_s: workers.sort((a, b) => b - a).map((v) => Number(v.toFixed(2))),
             other_threads_s: Object.fromEntries(top) };
}

const b = await launch();
try {
    const { page } = b;
    const query = new URLSearchParams({ workers: String(workers), ...(url ? { model: url, save: 'download' } : {}) });
    await page.goto(`${b.origin}/?${query}`);
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForFunction(() => /engine: wasm/.test(document.getElementById('engine').textContent));
    const modelBytes = fs.statSync(model).size;
    if (!url) await page.setInputFiles('[data-testid=file-input]', model);
    const row = `[data-testid=estimate-table] tr[data-ftype=${type}]`;
    await page.waitForSelector(row, { timeout: 300_000 });
    const planned = Number(await page.locator(row).getAttribute('data-bytes'));
    await page.selectOption('[data-testid=type-select]', type);
    const load = os.loadavg()[0];
    // Sampled every 200 ms: the pool's threads exit at the end of the run, before a last look
    // (up to 200 ms of each one's CPU is missed).
    const cpu0 = chromiumThreads();
    const seen = new Map(cpu0);
    const sampler = setInterval(() => { for (const [k, v] of chromiumThreads()) seen.set(k, v); }, 200);
    const t0 = performance.now();
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled ||
                                     !document.querySelector('[data-testid=error]').hidden,
                               null, { timeout: 3_600_000, polling: 100 });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    for (const [k, v] of chromiumThreads()) seen.set(k, v);
    const cpu = cpuBetween(cpu0, seen);
    if (!(await page.locator('[data-testid=error]').isHidden()))
        throw new Error(`the page reported: ${await page.locator('[data-testid=error]').innerText()}`);
    const box = page.locator('#progress-box');
    const sink = await box.getAttribute('data-sink');
    const maxHeap = Number(await box.getAttribute('data-max-heap'));
    const usedWorkers = Number(await box.getAttribute('data-workers'));
    const t1 = performance.now();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-button]')]);
    const file = await download.path();
    const downloadSeconds = (performance.now() - t1) / 1000;
    const size = fs.statSync(file).size;
    const result = {
        model, source: url ?? 'file', type, workers: usedWorkers || workers, seconds, load: Number(load.toFixed(2)), mb_per_s: modelBytes / 1e6 / seconds,
        download_s: downloadSeconds, max_heap: maxHeap, sink, output_bytes: size, planned_bytes: planned, cpu,
        note: `${usedWorkers || workers} workers, sink ${sink}; save took ${downloadSeconds.toFixed(1)} s more` +
              (size === planned ? '' : `; DOWNLOAD SIZE ${size} != planned ${planned}`),
    };
    process.stderr.write(`browser (${url ? 'URL' : 'file'}): ${type} in ${seconds.toFixed(1)} s = ${result.mb_per_s.toFixed(1)} MB/s, ` +
                         `${result.note}, largest heap ${(maxHeap / 1048576).toFixed(0)} MiB\n` +
                         `  CPU ${cpu.total_s} s: worker threads ${cpu.worker_threads_s.join(' + ')} s; ` +
                         `${Object.entries(cpu.other_threads_s).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 1) + '\n');
    // A URL model is read from the emulator's origin, by design.
    if (!url && b.foreignRequests().length) throw new Error(`requests left the page's origin: ${b.foreignRequests()}`);
} finally {
    await b.close();
}
