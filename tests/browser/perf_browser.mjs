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
    const t0 = performance.now();
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled ||
                                     !document.querySelector('[data-testid=error]').hidden,
                               null, { timeout: 3_600_000, polling: 100 });
    const seconds = (performance.now() - t0) / 1000;
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
        download_s: downloadSeconds, max_heap: maxHeap, sink, output_bytes: size, planned_bytes: planned,
        note: `${usedWorkers || workers} workers, sink ${sink}; save took ${downloadSeconds.toFixed(1)} s more` +
              (size === planned ? '' : `; DOWNLOAD SIZE ${size} != planned ${planned}`),
    };
    process.stderr.write(`browser (${url ? 'URL' : 'file'}): ${type} in ${seconds.toFixed(1)} s = ${result.mb_per_s.toFixed(1)} MB/s, ` +
                         `${result.note}, largest heap ${(maxHeap / 1048576).toFixed(0)} MiB\n`);
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 1) + '\n');
    // A URL model is read from the emulator's origin, by design.
    if (!url && b.foreignRequests().length) throw new Error(`requests left the page's origin: ${b.foreignRequests()}`);
} finally {
    await b.close();
}
