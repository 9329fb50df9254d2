// <gguf-estimator> embedded in a plain HTML page in Chromium: by src (exact bytes equal the
// reference), by params="8.03B" (at least 30 rows), with memory-gb and context (fits and does
// not fit marked, one row recommended), interactive inputs, the size budget, and screenshots in
// light and dark themes (build/screenshots/widget-*.png).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

import { chromium } from 'playwright-core';

import { startStaticServer } from '../../scripts/static-server.mjs';
import { kLlamaHd16, writeArchModelFile } from '../support/arch_model_file.mjs';
import { fixturePath, reference, root, webDir } from './harness.mjs';

const widget = path.join(webDir, 'widget/gguf-estimator.js');
const shots = path.join(root, 'build/screenshots');
let site, server, origin, context, page, requests;

before(async () => {
    if (!fs.existsSync(widget)) throw new Error(`no widget in ${webDir}: run scripts/build.sh web`);
    // A throwaway site: the built widget and wasm, the fixture model, and test pages.
    site = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-estimator-site-'));
    fs.symlinkSync(path.join(webDir, 'widget'), path.join(site, 'widget'));
    fs.symlinkSync(path.join(webDir, 'wasm'), path.join(site, 'wasm'));
    fs.mkdirSync(path.join(site, 'models'));
    fs.symlinkSync(fixturePath('models/llama-gqa.gguf'), path.join(site, 'models/llama-gqa.gguf'));
    await writeArchModelFile('granitehybrid-dense', path.join(site, 'models'));  // llama.cpp's hybrid test model
    await writeArchModelFile('llama-dense', path.join(site, 'models'), kLlamaHd16);  // heads of 16
    server = await startStaticServer(site, 0, '127.0.0.1');
    origin = `http://127.0.0.1:${server.address().port}`;
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-estimator-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        viewport: { width: 1100, height: 900 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    requests = [];
    context.on('request', (r) => requests.push(r.url()));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => { throw e; });
    fs.mkdirSync(shots, { recursive: true });
});

after(async () => {
    await context?.close();
    await new Promise((r) => server?.close(r));
    fs.rmSync(site, { recursive: true, force: true });
});

// A plain page: one module script and the given tags.
async function embed(name, body) {
    fs.writeFileSync(path.join(site, `${name}.html`), `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${name}</title><script type="module" src="/widget/gguf-estimator.js"></script>
<style>body{font-family:system-ui;margin:24px;background:Canvas;color:CanvasText}</style></head>
<body>${body}</body></html>`);
    requests.length = 0;
    await page.goto(`${origin}/${name}.html`);
}

const rows = (sel = 'gguf-estimator') => page.$$eval(`${sel} tr[data-ftype]`, (trs) => trs.map((tr) => ({
    ftype: tr.dataset.ftype, bytes: Number(tr.dataset.bytes), fits: tr.dataset.fits ?? null,
    recommended: tr.hasAttribute('data-recommended') })));

test('src: exact bytes for every plain reference run (Q4_K_M included)', async () => {
    await embed('by-src', '<gguf-estimator src="models/llama-gqa.gguf" memory-gb="0.03" context="4096"></gguf-estimator>');
    await page.waitForSelector('gguf-estimator tr[data-ftype="Q4_K_M"]', { timeout: 60000 });
    const got = Object.fromEntries((await rows()).map((r) => [r.ftype, r.bytes]));
    const q4 = reference.runs.find((r) => r.name === 'Q4_K_M');
    assert.equal(got.Q4_K_M, q4.file_size);
    for (const run of reference.runs) {
        if (run.args.length || run.error) continue;
        assert.equal(got[run.ftype], run.file_size, run.name);
    }
    // The wasm core was loaded, the model was read by Range requests only as far as the header.
    assert.ok(requests.some((u) => /gguf_squash_(simd|base)\.wasm$/.test(u)));
    await page.screenshot({ path: path.join(shots, 'widget-src.png'), fullPage: true });
});

test('params="8.03B": at least 30 rows, no WebAssembly loaded', async () => {
    await embed('by-params', '<gguf-estimator params="8.03B"></gguf-estimator>');
    await page.waitForSelector('gguf-estimator tr[data-ftype="Q4_K_M"]');
    const r = await rows();
    assert.ok(r.length >= 30, `${r.length} rows`);
    assert.ok(r.every((x) => x.bytes > 0));
    assert.ok(!requests.some((u) => /\.wasm$|estimate\.mjs$/.test(u)), requests.join('\n'));
    assert.equal(r.filter((x) => x.recommended).map((x) => x.ftype).join(), 'Q4_K_M');
});

test('memory-gb and context mark what fits; interactive inputs update it', async () => {
    await embed('fits', `<gguf-estimator id="a" params="8.03B" memory-gb="8" context="8192" interactive></gguf-estimator>`);
    await page.waitForSelector('#a tr[data-ftype="Q4_K_M"][data-fits]');
    let r = await rows('#a');
    const fits = r.filter((x) => x.fits === 'true'), nofit = r.filter((x) => x.fits === 'false');
    assert.ok(fits.length > 0 && nofit.length > 0);
    assert.ok(fits.some((x) => x.ftype === 'Q4_K_M'));
    assert.ok(nofit.some((x) => x.ftype === 'F16'));
    // Everything that fits is smaller than everything that does not.
    assert.ok(Math.max(...fits.map((x) => x.bytes)) < Math.min(...nofit.map((x) => x.bytes)));
    assert.equal(r.filter((x) => x.recommended).length, 1);
    // The visible marks: text, not only colour.
    const badge = await page.$eval('#a tr[data-ftype="F16"] .badge', (b) => b.textContent);
    assert.equal(badge, 'too big');
    await page.screenshot({ path: path.join(shots, 'widget-fits-light.png'), fullPage: true });

    // Keyboard: raise the memory to 64 GiB; F16 now fits.
    await page.focus('#a input[name=memory]');
    await page.keyboard.press('Control+a');
    await page.keyboard.type('64');
    await page.keyboard.press('Tab');
    await page.waitForSelector('#a tr[data-ftype="F16"][data-fits="true"]');
    r = await rows('#a');
    assert.equal(r.find((x) => x.recommended).ftype, 'Q8_0');
    assert.equal(await page.$eval('#a', (el) => el.getAttribute('memory-gb')), '64');

    await page.emulateMedia({ colorScheme: 'dark' });
    await embed('fits-dark', `<gguf-estimator params="70B" memory-gb="48" context="16384" types="Q2_K,IQ3_M,Q3_K_M,Q4_K_M,Q5_K_M,Q6_K,Q8_0"></gguf-estimator>`);
    await page.waitForSelector('gguf-estimator tr[data-ftype="Q4_K_M"]');
    assert.equal((await rows()).length, 7);
    await page.screenshot({ path: path.join(shots, 'widget-fits-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
});

const parts = (sel) => page.$$eval(`${sel} li[data-part]`, (lis) => lis.map((li) => [li.dataset.part, Number(li.dataset.bytes)]));

test('memory parts: weights, KV cache, recurrent state, output, compute as the core gives them; flash-attn, ubatch, parallel', async () => {
    const { estimate } = await import(pathToFileURL(path.join(webDir, 'wasm/estimate.mjs')).href);
    const file = path.join(site, 'models/granitehybrid-dense.gguf');
    await embed('parts', `<gguf-estimator id="h" src="models/granitehybrid-dense.gguf" flash-attn="off" ubatch="256" parallel="2" context="8192"></gguf-estimator>
<gguf-estimator id="p" params="8.03B" context="8192"></gguf-estimator>`);
    await page.waitForSelector('#h li[data-part]', { timeout: 60000 });
    const m = (await estimate(await fs.openAsBlob(file), { ctx: 8192, flashAttn: false, ubatch: 256, parallel: 2 })).memory;
    assert.ok(m.recurrent_bytes > 0 && m.kv_bytes > 0);
    assert.deepEqual(await parts('#h'), [['weights', m.weights_bytes], ['kv', m.kv_bytes], ['recurrent', m.recurrent_bytes],
                                         ['output', m.output_bytes], ['compute', m.compute_bytes]]);
    assert.match(await page.$eval('#h', (e) => e.shadowRoot.querySelector('.foot').textContent), /flash attention off, 2 sequences/);
    // The parameter-count model: the same parts, no recurrent state; its own numbers.
    await page.waitForSelector('#p li[data-part]');
    const { estimateFromParams } = await import(pathToFileURL(path.join(webDir, 'wasm/estimate_params.mjs')).href);
    const pm = estimateFromParams('8.03B', { ctx: 8192 }).memory;
    assert.deepEqual(await parts('#p'), [['weights', pm.weights_bytes], ['kv', pm.kv_bytes], ['output', pm.output_bytes],
                                         ['compute', pm.compute_bytes]]);
    await page.screenshot({ path: path.join(shots, 'widget-memory-parts.png'), fullPage: true });
});

test("a cache llama.cpp refuses: the widget shows llama.cpp's reason and no fits column", async () => {
    const records = JSON.parse(fs.readFileSync(fixturePath('memory/llama_cpp_memory.json'))).records;
    const reason = records.find((r) => r.model === 'llama-gqa' && r.cache === 'q8_0' && !r.flash_attn).error;
    const hd16 = records.find((r) => r.model === 'llama-hd16' && r.cache === 'q8_0' && r.flash_attn).error;
    await embed('refused', `<gguf-estimator id="s" src="models/llama-gqa.gguf" kv-type="q8_0" flash-attn="off" memory-gb="8"></gguf-estimator>
<gguf-estimator id="p" params="8.03B" kv-type="q4_0" flash-attn="off" memory-gb="8" interactive></gguf-estimator>
<gguf-estimator id="h" src="models/llama-hd16.gguf" kv-type="q8_0" memory-gb="8"></gguf-estimator>`);
    for (const [id, why] of [['s', reason], ['p', reason], ['h', hd16]]) {
        await page.waitForSelector(`#${id} [data-testid=memory-error]`, { timeout: 60000 });
        assert.equal(await page.$eval(`#${id}`, (e) => e.shadowRoot.querySelector('[data-testid=memory-error]').textContent),
                     `llama.cpp would refuse this context: ${why}.`, id);
        assert.equal((await rows(`#${id}`)).filter((r) => r.fits !== null).length, 0, id);
        assert.equal(await page.$$eval(`#${id} li[data-part]`, (l) => l.length), 0, id);
    }
    assert.ok((await rows('#s')).length >= 30);
    // Flash attention on from the widget's own control: figures again.
    await page.selectOption('#p select[name=fa]', 'on');
    await page.waitForSelector('#p tr[data-fits]');
    assert.equal(await page.$eval('#p', (e) => e.getAttribute('flash-attn')), 'on');
    assert.equal(await page.$$eval('#p [data-testid=memory-error]', (l) => l.length), 0);
    await page.screenshot({ path: path.join(shots, 'widget-refused.png'), fullPage: true });
});

test('demo page renders its embeds', async () => {
    requests.length = 0;
    await page.goto(`${origin}/widget/demo.html`);
    await page.waitForFunction(() => document.querySelectorAll('gguf-estimator').length >= 4 &&
        [...document.querySelectorAll('gguf-estimator')].every((e) => e.shadowRoot?.querySelector('tr[data-ftype]')));
    await page.screenshot({ path: path.join(shots, 'widget-demo.png'), fullPage: true });
});

test('size budget: the widget is one module of at most 25 KB gzipped', () => {
    const js = fs.readFileSync(widget);
    const gz = zlib.gzipSync(js, { level: 9 }).length;
    console.log(`[widget] gguf-estimator.js: ${js.length} bytes, ${gz} gzipped`);
    assert.ok(gz <= 25 * 1024, `${gz} bytes gzipped`);
    assert.ok(!/^\s*import\s/m.test(js.toString()), 'no static imports');
});
