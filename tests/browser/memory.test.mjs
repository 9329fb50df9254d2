// The memory parts in the page and the widget (issue 16): the memory bar splits what llama.cpp
// allocates into weights, KV cache, recurrent state, output and compute, in bytes equal to the
// core's estimate (wasm/estimate.mjs run here in node on the same file with the same options);
// the flash attention, micro-batch and sequence options reach it; a context llama.cpp refuses
// shows llama.cpp's reason as an error (page and widget). Models: the llama-gqa fixture, and
// llama.cpp's own hybrid (granitehybrid) and recurrent (mamba2) test models (their headers in
// tests/fixtures/memory/llama-archs, made whole by tests/support/arch_model_file.mjs).
// Screenshots: build/screenshots/memory-{hybrid,refused}-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { fixturePath, launch, root, webDir } from './harness.mjs';
import { kLlamaHd16, writeArchModelFile } from '../support/arch_model_file.mjs';

const shots = path.join(root, 'build/screenshots');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-memory-'));
// llama.cpp's reasons, as its log recorded them: a quantized V cache without flash attention, and
// a q8_0 K cache for heads of 16.
const kMemoryRecords = JSON.parse(fs.readFileSync(fixturePath('memory/llama_cpp_memory.json'))).records;
const kRefusal = kMemoryRecords.find((r) => r.model === 'llama-gqa' && r.cache === 'q8_0' && !r.flash_attn).error;
const kHd16Refusal = kMemoryRecords.find((r) => r.model === 'llama-hd16' && r.cache === 'q8_0' && r.flash_attn).error;
let b, estimate;
const files = {};
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    ({ estimate } = await import(pathToFileURL(path.join(webDir, 'wasm/estimate.mjs')).href));
    files.gqa = fixturePath('models/llama-gqa.gguf');
    files.hybrid = await writeArchModelFile('granitehybrid-dense', tmp);
    files.recurrent = await writeArchModelFile('mamba2-dense', tmp);
    files.hd16 = await writeArchModelFile('llama-dense', tmp, kLlamaHd16);
    b = await launch();
    await b.open();
});
after(async () => {
    await b?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
});

async function screenshot(page, name) {
    for (const [label, width, height] of [['laptop', 1366, 900], ['phone', 390, 844]]) {
        for (const scheme of ['light', 'dark']) {
            await page.setViewportSize({ width, height });
            await page.emulateMedia({ colorScheme: scheme });
            await page.waitForTimeout(250);
            await page.locator('#memory-panel').scrollIntoViewIfNeeded();
            await page.screenshot({ path: path.join(shots, `${name}-${label}-${scheme}.png`) });
        }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
}

async function load(page, file) {
    if (await page.locator('[data-testid=change-model]').isVisible()) await page.click('[data-testid=change-model]');
    await page.setInputFiles('[data-testid=file-input]', file);
    await page.waitForFunction((name) => document.querySelector('[data-testid=loaded-bar]')?.textContent.includes(name),
                               path.basename(file));
    await page.waitForFunction(() => document.querySelector('[data-testid=memory-bar]').dataset.weights);
}

const barData = (page) => page.locator('[data-testid=memory-bar]').evaluate((e) => ({ ...e.dataset }));

// The figures the core gives for `type` with these options: the same weights as the page's own
// report (memory.ftype is the default type without a budget, so each type is asked by name).
async function expected(file, type, options) {
    const blob = await fs.openAsBlob(file);
    const r = await estimate(blob, { ...options, memoryBytes: 8 * 2 ** 30 });
    const m = r.memory;
    const row = r.ftypes.find((f) => f.name === type);
    const fixed = m.kv_bytes + m.recurrent_bytes + m.output_bytes + m.compute_bytes;
    assert.equal(m.total_bytes - m.weights_bytes, fixed);
    // The type's own weights from a report whose memory is for that type.
    const own = (await estimate(blob, { ...options })).memory;
    if (type === own.ftype) assert.equal(row.memory_bytes - fixed, own.weights_bytes);
    return { weights: row.memory_bytes - fixed, kv: m.kv_bytes, recurrent: m.recurrent_bytes,
             other: m.output_bytes + m.compute_bytes, total: row.memory_bytes, compute: m.compute_bytes };
}

async function setOptions(page, { flashAttn = 'on', ubatch = '', parallel = '', cache = 'f16' } = {}) {
    await page.selectOption('#mem-cache', cache);
    await page.selectOption('#mem-flash-attn', flashAttn);
    await page.fill('#mem-ubatch', ubatch);
    await page.fill('#mem-parallel', parallel);
}

// Waits (up to 10 s) for the bar to show `want`, then compares, so that a wrong figure fails
// with the values rather than with a timeout.
async function barShows(page, want, what) {
    await page.waitForFunction((w) => {
        const d = document.querySelector('[data-testid=memory-bar]').dataset;
        return Number(d.weights) === w.weights && Number(d.kv) === w.kv && Number(d.recurrent) === w.recurrent &&
            Number(d.other) === w.other;
    }, want, { timeout: 10000 }).catch(() => {});
    const d = await barData(page);
    assert.equal(Number(d.weights), want.weights, `${what}: weights`);
    assert.equal(Number(d.kv), want.kv, `${what}: kv`);
    assert.equal(Number(d.recurrent), want.recurrent, `${what}: recurrent`);
    assert.equal(Number(d.other), want.other, `${what}: other`);
    assert.equal(Number(d.budget), 8 * 2 ** 30, what);
    return d;
}

test('memory bar parts equal the core\'s, following flash attention, micro-batch and sequences', async () => {
    const { page } = b;
    await load(page, files.gqa);
    const type = await page.locator('#type-select').inputValue();
    assert.equal(type, 'Q4_K_M');
    let n = 0;
    for (const o of [{}, { flashAttn: 'off' }, { flashAttn: 'off', ubatch: '128' }, { parallel: '4' },
                     { flashAttn: 'on', ubatch: '2048', parallel: '2', cache: 'q8_0' }]) {
        const want = await expected(files.gqa, type, { ctx: 4096, kvType: o.cache ?? 'f16', flashAttn: (o.flashAttn ?? 'on') === 'on',
                                                       ubatch: Number(o.ubatch || 512), parallel: Number(o.parallel || 1) });
        assert.equal(want.recurrent, 0);
        await setOptions(page, o);
        const what = JSON.stringify(o);
        await barShows(page, want, what);
        const legend = await page.$$eval('[data-testid=memory-bar] li[data-part]', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.part, Number(li.dataset.bytes)])));
        assert.deepEqual(Object.keys(legend), ['weights', 'kv', 'output', 'compute'], what);
        assert.equal(legend.compute, want.compute, what);
        ++n;
    }
    assert.equal(n, 5);
    await setOptions(page, {});
});

test('a cache llama.cpp refuses shows its reason, and no figures', async () => {
    const { page } = b;
    await setOptions(page, { cache: 'q8_0', flashAttn: 'off' });
    const err = page.locator('[data-testid=memory-error]');
    await err.waitFor({ state: 'visible' });
    assert.equal(await err.innerText(), `llama.cpp would refuse this context: ${kRefusal}.`);
    const d = await barData(page);
    assert.equal(d.weights, undefined);
    assert.equal(d.refused, kRefusal);
    assert.equal(await page.locator('[data-testid=memory-bar] svg').count(), 0);
    // The table says nothing fits or not (no figures), the GPU table the same.
    assert.equal(await page.locator('[data-testid=estimate-table] td[data-fits]').count(), 0);
    assert.equal(await page.locator('[data-testid=gpu-table] tr[data-fits]').count(), 0);
    await screenshot(page, 'memory-refused');
    // Flash attention on again: the figures come back and the error goes.
    await page.selectOption('#mem-flash-attn', 'on');
    await page.waitForFunction(() => document.querySelector('[data-testid=memory-bar]').dataset.weights);
    assert.equal(await err.isVisible(), false);
    await setOptions(page, {});
});

test('heads of 16: a q8_0 cache is refused even with flash attention, with llama.cpp\'s reason', async () => {
    const { page } = b;
    await load(page, files.hd16);
    await setOptions(page, { cache: 'q8_0', flashAttn: 'on' });
    const err = page.locator('[data-testid=memory-error]');
    await err.waitFor({ state: 'visible' });
    assert.match(kHd16Refusal, /does not divide n_embd_head_k=16/);
    assert.equal(await err.innerText(), `llama.cpp would refuse this context: ${kHd16Refusal}.`);
    assert.equal((await barData(page)).weights, undefined);
    // An f16 cache works for it.
    await page.selectOption('#mem-cache', 'f16');
    await page.waitForFunction(() => document.querySelector('[data-testid=memory-bar]').dataset.weights);
    assert.equal(await err.isVisible(), false);
    await load(page, files.gqa);
});

test('an out-of-range micro-batch or sequence count is an error next to its field; empty means the default', async () => {
    const { page } = b;
    await page.fill('#mem-ubatch', '0');
    const box = page.locator('#mem-ubatch-error');
    await box.waitFor({ state: 'visible' });
    assert.match(await box.innerText(), /Micro-batch must be a whole number from 1 to 65536/);
    assert.equal(await page.getAttribute('#mem-ubatch', 'aria-invalid'), 'true');
    await page.fill('#mem-parallel', '300');
    await page.locator('#mem-parallel-error').waitFor({ state: 'visible' });
    await page.fill('#mem-ubatch', '');
    await page.fill('#mem-parallel', '');
    await page.waitForFunction(() => document.getElementById('mem-ubatch-error').hidden && document.getElementById('mem-parallel-error').hidden);
    assert.equal(await page.getAttribute('#mem-ubatch', 'aria-invalid'), 'false');
});

test('hybrid and recurrent models: the recurrent state is its own part', async () => {
    const { page } = b;
    for (const [file, kind] of [[files.hybrid, 'hybrid'], [files.recurrent, 'recurrent']]) {
        await load(page, file);
        const type = await page.locator('#type-select').inputValue();
        const want = await expected(file, type, { ctx: 4096, kvType: 'f16' });
        assert.ok(want.recurrent > 0, kind);
        const d = await barShows(page, want, kind);
        assert.equal(Number(d.weights) + Number(d.kv) + Number(d.recurrent) + Number(d.other), want.total, kind);
        const parts = await page.$$eval('[data-testid=memory-bar] li[data-part]', (lis) => lis.map((li) => li.dataset.part));
        // A pure recurrent model has no KV cache: shown as no part, not as 0 B.
        assert.deepEqual(parts, kind === 'hybrid' ? ['weights', 'kv', 'recurrent', 'output', 'compute']
                                                  : ['weights', 'recurrent', 'output', 'compute'], kind);
        assert.match(await page.locator('[data-testid=memory-bar] svg').getAttribute('aria-label'), /recurrent state/);
        assert.match(await page.locator('#memory-summary').innerText(), /recurrent state/);
        if (kind === 'hybrid') await screenshot(page, 'memory-hybrid');
    }
    assert.deepEqual(b.foreignRequests(), []);
});
