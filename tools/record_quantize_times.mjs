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
if (!out || !args.length) {
    process.stderr.write('usage: node tools/record_quantize_times.mjs --out FILE.json MODEL[:IMATRIX]...\n');
    process.exit(2);
}

const server = await startStaticServer(webDir, 0, '127.0.0.1');
const origin = `http://127.0.0.1:${server.address().port}`;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-timing-'));
const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const page = context.pages()[0] ?? (await context.newPage());
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
                    await page.selectOption('[data-testid=type-select]', type);
                    await page.waitForFunction((t) => JSON.parse(document.getElementById('time-estimate').dataset.prior ?? '{}').type === t, type,
                                               { timeout: 60_000 });
                    const prior = JSON.parse(await page.$eval('#time-estimate', (e) => e.dataset.prior));
                    await page.$eval('#progress-box', (e) => { delete e.dataset.timing; });
                    await page.click('[data-testid=quantize-button]');
                    await page.waitForFunction(() => document.getElementById('progress-box').dataset.timing, null, { timeout: 600_000 });
                    const timing = JSON.parse(await page.$eval('#progress-box', (e) => e.dataset.timing));
                    const record = { model: path.basename(model), imatrix: pass === 'imatrix' ? path.basename(imatrix) : null,
                                     type, workers: timing.workers, seconds: Math.round(timing.seconds * 1000) / 1000, prior,
                                     samples: timing.samples, work: timing.work };
                    records.push(record);
                    process.stderr.write(`${record.model} ${type} workers ${workers}: ${record.seconds} s (prior ${prior.seconds.toFixed(3)} s)\n`);
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
fs.writeFileSync(out, JSON.stringify({
    command: `node tools/record_quantize_times.mjs ${process.argv.slice(2).join(' ')}`,
    bench_model: 'build/native/make-bench-model /tmp/bench-small-f16.gguf --n-embd 1024 --layers 4 --n-ff 2816 --vocab 4096 --heads 16 --kv-heads 4 --seed 1',
    machine: `${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores (shared), Chromium headless`,
    recorded: new Date().toISOString(),
    records,
}, null, 1) + '\n');
process.stderr.write(`wrote ${records.length} records to ${out}\n`);
