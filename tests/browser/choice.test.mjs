// Issue 14's contract, in Chromium: after a model loads the drop zone folds to "model: NAME ·
// change"; the sticky action bar (type, exact size, saving, Quantize/Cancel/Save, the choice's
// error) stays in view at every scroll position, on a laptop and a phone; the plan view gives
// every tensor the type the quantizer's plan gives it; the memory bar splits the need into
// weights, KV cache and the rest against the budget; the command lines reproduce the choice; the
// GPU formats table; an imatrix made for another model is refused on load, next to its control,
// and can be removed. Screenshots of these states go to build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { fixturePath, launch, reference, root } from './harness.mjs';

const shots = path.join(root, 'build/screenshots');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-choice-'));
let b;
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    b = await launch();
    await b.open();
});
after(async () => b?.close());

async function loadModel(page) {
    await page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await page.waitForSelector('[data-testid=plan-table] tr[data-tensor][data-type]');
}

// `scrollTo`: a selector brought into view at each size (a resize moves what is in view).
async function screenshot(page, name, scrollTo = null) {
    for (const [label, width, height] of [['laptop', 1366, 900], ['phone', 390, 844]]) {
        for (const scheme of ['light', 'dark']) {
            await page.setViewportSize({ width, height });
            await page.emulateMedia({ colorScheme: scheme });
            if (scrollTo) await page.locator(scrollTo).evaluate((e) => e.scrollIntoView({ block: 'start' }));
            await page.waitForTimeout(250);  // the theme's colour transitions
            await page.screenshot({ path: path.join(shots, `${name}-${label}-${scheme}.png`) });
        }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
}

// The reference run for a type without imatrix (llama-quantize's own output size).
const runFor = (type) => reference.runs.find((r) => r.name === type);

test('after load: the drop zone folds to "model: NAME · change", which opens it again', async () => {
    const { page } = b;
    await loadModel(page);
    const bar = page.locator('[data-testid=loaded-bar]');
    assert.equal(await bar.isVisible(), true);
    assert.match(await bar.innerText(), /model:\s*llama-gqa\.gguf\s*·\s*change/);
    assert.equal(await page.locator('#drop-title').isVisible(), false);
    await page.click('[data-testid=change-model]');
    assert.equal(await page.locator('#drop-title').isVisible(), true);
    await page.click('[data-testid=change-model]');
    assert.equal(await page.locator('#drop-title').isVisible(), false);
    await screenshot(page, 'loaded');
});

test('the action bar is in view at every scroll position, laptop and phone, with the exact size and saving', async () => {
    const { page } = b;
    const bar = page.locator('[data-testid=action-bar]');
    const type = await page.locator('#type-select').inputValue();
    const run = runFor(type);
    assert.ok(run, `a reference run for ${type}`);
    for (const [width, height] of [[1366, 900], [390, 844]]) {
        await page.setViewportSize({ width, height });
        const max = await page.evaluate(() => document.documentElement.scrollHeight - innerHeight);
        assert.ok(max > 200, 'the page scrolls');
        for (const y of [0, max / 3, max * 2 / 3, max]) {
            await page.evaluate((top) => window.scrollTo(0, top), y);
            const box = await bar.boundingBox();
            assert.ok(box && box.y >= 0 && box.y + box.height <= height + 0.5, `bar in view at ${width}x${height}, scroll ${y}: ${JSON.stringify(box)}`);
            const qb = await page.locator('[data-testid=quantize-button]').boundingBox();
            assert.ok(qb.y >= 0 && qb.y + qb.height <= height + 0.5, 'Quantize in view');
        }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    const text = await bar.innerText();
    assert.match(text, new RegExp(run.file_size.toLocaleString('en-US')));
    const inSize = fs.statSync(fixturePath('models/llama-gqa.gguf')).size;
    const pct = Math.round((run.file_size - inSize) / inSize * 100);
    assert.match(text, new RegExp(`\u2212${-pct}%`));
    for (const name of ['Quantize', 'Cancel', 'Save']) assert.match(text, new RegExp(name));
    // The choice's error shows in the bar: an imatrix-only type without an imatrix.
    await page.selectOption('#type-select', { value: 'Q4_K_M' });
    const needsImatrix = await page.$$eval('#type-select option', (os) => os.filter((o) => o.disabled).map((o) => o.value));
    assert.ok(needsImatrix.length > 0);
    await page.evaluate(() => { window.scrollTo(0, document.documentElement.scrollHeight); });
    await screenshot(page, 'action-bar-bottom');
});

test('plan view: every tensor has the plan\'s type for the chosen type, spelled as ggml does, grouped by block, with totals', async () => {
    const { page } = b;
    for (const type of ['Q4_K_M', 'Q8_0', 'IQ4_XS']) {
        await page.selectOption('#type-select', { value: type });
        await page.waitForFunction((t) => document.getElementById('tensor-count').textContent.includes(`plan for ${t}`), type);
        const rows = await page.$$eval('[data-testid=plan-table] tr[data-tensor]', (trs) => trs.map((tr) => [tr.dataset.tensor, tr.dataset.type]));
        assert.equal(rows.length, 75);
        const run = runFor(type);
        const want = new Map(run.tensors.map((t) => [t.name, t.type]));
        let compared = 0;
        for (const [name, got] of rows) {
            assert.ok(want.has(name), name);
            // The reference lists gguf-py's names (Q4_K); the page ggml's (q4_K): the same type.
            assert.equal(got.toUpperCase(), want.get(name).toUpperCase(), `${type} ${name}`);
            compared++;
        }
        assert.equal(compared, 75);
        // The Q4_K_M plan is mostly q4_K with some q6_K: ggml's spelling, not gguf-py's Q4_K.
        if (type === 'Q4_K_M') {
            assert.ok(rows.some(([, t]) => t === 'q4_K') && rows.some(([, t]) => t === 'q6_K'));
            await page.locator('[data-testid=plan-table] tr[data-group="blk.0"]').waitFor();
            const totals = await page.$$eval('#plan-totals tr[data-type]', (trs) => trs.map((tr) => [tr.dataset.type, Number(tr.dataset.bytes)]));
            const sum = totals.reduce((a, [, n]) => a + n, 0);
            assert.equal(sum, run.tensors.reduce((a, t) => a + t.nbytes, 0));
            await screenshot(page, 'plan', '#tensor-section');
            // Every column in view on a laptop and a phone: the table does not scroll sideways in
            // its box and its last heading ends inside the box and the window (it was clipped at
            // 1366 px when the card took half the width).
            for (const [width, height] of [[1366, 900], [390, 844]]) {
                await page.setViewportSize({ width, height });
                const fit = await page.evaluate(() => {
                    const table = document.querySelector('[data-testid=plan-table]');
                    const box = table.closest('.table-wrap');
                    const last = [...table.tHead.rows[0].cells].filter((c) => c.offsetParent).at(-1).getBoundingClientRect();
                    return { scroll: box.scrollWidth, client: box.clientWidth, right: last.right,
                             boxRight: box.getBoundingClientRect().right, window: document.documentElement.clientWidth };
                });
                assert.ok(fit.scroll <= fit.client, `${width}px: the plan table scrolls sideways (${fit.scroll} > ${fit.client})`);
                assert.ok(fit.right <= fit.boxRight + 0.5 && fit.right <= fit.window, `${width}px: last column ends at ${fit.right} (box ${fit.boxRight}, window ${fit.window})`);
            }
            await page.setViewportSize({ width: 1366, height: 900 });
        }
    }
    await page.selectOption('#type-select', { value: 'Q4_K_M' });
});

test('memory bar: weights + KV + other in bytes against the budget, following context, cache and presets', async () => {
    const { page } = b;
    const bar = page.locator('[data-testid=memory-bar]');
    await page.waitForFunction(() => document.querySelector('[data-testid=memory-bar]').dataset.weights);
    const read = () => bar.evaluate((e) => ({ ...e.dataset }));
    const summary = () => page.locator('#memory-summary').evaluate((e) => ({ ...e.dataset }));
    let d = await read();
    const s = await summary();
    assert.equal(Number(d.budget), 8 * 2 ** 30);
    assert.equal(Number(d.weights) + Number(d.kv) + Number(d.other), Number(s.totalBytes));
    assert.equal(Number(d.kv), Number(s.kvBytes));
    assert.equal(await bar.locator('svg[role=img]').count(), 1);
    assert.match(await bar.locator('svg').getAttribute('aria-label'), /weights/);
    // Twice the context: more KV cache, the same weights.
    const kv0 = Number(d.kv), w0 = Number(d.weights);
    await page.fill('#mem-context', '8192');
    await page.waitForFunction((k) => Number(document.querySelector('[data-testid=memory-bar]').dataset.kv) > k, kv0);
    d = await read();
    assert.equal(Number(d.weights), w0);
    // A preset sets the budget.
    await page.selectOption('#mem-preset', { value: '24' });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=memory-bar]').dataset.budget) === 24 * 2 ** 30);
    await page.selectOption('#mem-preset', { value: '64u' });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=memory-bar]').dataset.budget) === 64 * 2 ** 30);
    assert.equal(await page.inputValue('#mem-device'), '64');
    await page.selectOption('#mem-preset', { value: '8' });
    await page.fill('#mem-context', '4096');
    await page.waitForFunction((k) => Number(document.querySelector('[data-testid=memory-bar]').dataset.kv) === k, kv0);
    await page.locator('#memory-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'memory-bar');
});

test('command: llama-quantize [options] IN OUT TYPE and gguf-squash, following options and imatrix', async () => {
    const { page } = b;
    const cmd = () => page.locator('[data-testid=command]').textContent();
    assert.equal(await cmd(), 'llama-quantize llama-gqa.gguf llama-gqa-Q4_K_M.gguf Q4_K_M');
    assert.equal(await page.locator('[data-testid=command-squash]').textContent(),
                 'gguf-squash quantize llama-gqa.gguf llama-gqa-Q4_K_M.gguf Q4_K_M');
    await page.click('#options summary');
    await page.check('#opt-pure');
    await page.fill('#opt-override-kv', 'general.name=str:my model');
    await page.waitForFunction(() => /--override-kv/.test(document.querySelector('[data-testid=command]').textContent));
    assert.equal(await cmd(), "llama-quantize --pure --override-kv 'general.name=str:my model' llama-gqa.gguf llama-gqa-Q4_K_M.gguf Q4_K_M");
    await page.uncheck('#opt-pure');
    await page.fill('#opt-override-kv', '');
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.gguf'));
    await page.waitForFunction(() => /--imatrix llama-gqa\.imatrix\.gguf llama-gqa\.gguf/.test(document.querySelector('[data-testid=command]').textContent));
    await page.selectOption('#type-select', { value: 'IQ2_XXS' });
    await page.waitForFunction(() => / IQ2_XXS$/.test(document.querySelector('[data-testid=command]').textContent));
    assert.equal(await cmd(), 'llama-quantize --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf llama-gqa-IQ2_XXS.gguf IQ2_XXS');
    await page.click('[data-testid=imatrix-remove]');
    await page.waitForFunction(() => !/--imatrix/.test(document.querySelector('[data-testid=command]').textContent));
    await page.selectOption('#type-select', { value: 'Q4_K_M' });
});

test('GPU formats: AWQ, GPTQ, EXL2 at the chosen bpw, FP8 and NF4, marked estimates, with fits and hardware', async () => {
    const { page } = b;
    const rows = () => page.$$eval('[data-testid=gpu-table] tr[data-format]', (trs) => trs.map((tr) => ({ ...tr.dataset, text: tr.innerText })));
    let r = await rows();
    assert.deepEqual(r.map((x) => x.format), ['awq', 'gptq', 'exl2', 'fp8', 'nf4']);
    for (const x of r) {
        assert.equal(x.estimate, 'true');
        assert.ok(Number(x.bytes) > 0);
        assert.ok(x.fits === 'true' || x.fits === 'false');
        assert.match(x.text, /GPU|CUDA|NVIDIA/);
    }
    // FP8 stores the linear layers at 8 bits: larger than the 4-bit formats, smaller than F16.
    const by = Object.fromEntries(r.map((x) => [x.format, Number(x.bytes)]));
    const f16 = await page.$eval('[data-testid=estimate-table] tr[data-ftype=F16]', (tr) => Number(tr.dataset.bytes));
    assert.ok(by.awq < by.fp8 && by.fp8 < f16, JSON.stringify(by));
    assert.ok(by.gptq > by.awq);  // GPTQ's group index
    assert.match(await page.locator('#gpu-formats').innerText(), /estimate/i);
    await page.fill('#exl2-bpw', '6');
    r = await rows();
    assert.ok(Number(r[2].bytes) > by.exl2);
    assert.match(r[2].text, /EXL2 6 bpw/);
    await page.fill('#exl2-bpw', '4');
});

test('an imatrix made for another model is refused on load next to its control, and removed by its button', async () => {
    const { page } = b;
    // The fixture's imatrix with one tensor renamed (same length, so the file stays valid).
    const bytes = Buffer.from(fs.readFileSync(fixturePath('models/llama-gqa.imatrix.gguf')));
    const from = Buffer.from('blk.0.attn_k.weight'), to = Buffer.from('blk.0.attn_z.weight');
    let at = 0, replaced = 0;
    while ((at = bytes.indexOf(from, at)) >= 0) { to.copy(bytes, at); at += from.length; replaced++; }
    assert.ok(replaced >= 1);
    const file = path.join(tmp, 'other-model.imatrix.gguf');
    fs.writeFileSync(file, bytes);
    await page.setInputFiles('[data-testid=imatrix-input]', file);
    const err = page.locator('[data-testid=imatrix-error]');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.innerText(), /blk\.0\.attn_z\.weight/);
    assert.match(await err.innerText(), /not applied/);
    // Not applied: imatrix types stay disabled, the rest are not refused, the command has no --imatrix.
    const refused = await page.$$eval('[data-testid=estimate-table] tr[data-ftype]', (trs) =>
        trs.filter((tr) => !tr.dataset.imatrix && tr.dataset.disabled === 'true').map((tr) => tr.dataset.ftype));
    assert.deepEqual(refused.filter((t) => t !== 'COPY' && t !== 'MXFP4_MOE'), []);
    assert.doesNotMatch(await page.locator('[data-testid=command]').textContent(), /--imatrix/);
    // The error box sits next to the imatrix control, which is visible.
    assert.equal(await page.locator('[data-testid=imatrix-input]').locator('xpath=..').isVisible(), true);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'error-imatrix');
    await page.click('[data-testid=imatrix-remove]');
    assert.equal(await err.isHidden(), true);
    assert.equal(await page.locator('[data-testid=imatrix-remove]').isHidden(), true);
    // A matching imatrix is applied and can be removed too.
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.dat'));
    await page.waitForFunction(() => /--imatrix llama-gqa\.imatrix\.dat/.test(document.querySelector('[data-testid=command]').textContent));
    assert.equal(await err.isHidden(), true);
    await page.click('[data-testid=imatrix-remove]');
    await page.waitForFunction(() => !/--imatrix/.test(document.querySelector('[data-testid=command]').textContent));
});

test('a file error is visible in [data-testid=error], and the loaded model stays', async () => {
    const { page } = b;
    const file = path.join(tmp, 'broken.gguf');
    const bytes = new Uint8Array(fs.readFileSync(fixturePath('models/llama-gqa.gguf')));
    bytes.set([0x47, 0x47, 0x55, 0x58], 0);
    fs.writeFileSync(file, bytes);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.setInputFiles('[data-testid=file-input]', file);
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible' });
    const box = await error.boundingBox();
    assert.ok(box.y >= 0 && box.y < 900, `error in view: ${JSON.stringify(box)}`);
    assert.match(await error.innerText(), /broken\.gguf/);
    // The previous model's views are still there.
    assert.equal(await page.locator('[data-testid=plan-table] tr[data-tensor]').count(), 75);
    assert.match(await page.locator('[data-testid=loaded-bar]').innerText(), /llama-gqa\.gguf/);
    await screenshot(page, 'error-file');
});

test('the <gguf-estimator> widget with formats="gguf,gpu" shows the GPU formats as estimates, with fits', async () => {
    const { page } = b;
    await page.goto(b.origin + '/widget/demo.html');
    const rows = page.locator('#gpu-demo [data-testid=gpu-table] tr[data-format]');
    await rows.first().waitFor();
    const r = await rows.evaluateAll((trs) => trs.map((tr) => ({ ...tr.dataset })));
    assert.deepEqual(r.map((x) => x.format), ['awq', 'gptq', 'exl2', 'fp8', 'nf4']);
    assert.ok(r.every((x) => x.estimate === 'true' && Number(x.bytes) > 0));
    // 8 GiB at 8192 tokens: the 4-bit formats of an 8B model fit, FP8 (about 9 GB of weights) does not.
    const fits = Object.fromEntries(r.map((x) => [x.format, x.fits]));
    assert.equal(fits.awq, 'true');
    assert.equal(fits.fp8, 'false');
    assert.match(await page.locator('#gpu-demo [data-testid=gpu-table] caption').innerText(), /estimate/i);
    // Without formats, no GPU table.
    assert.equal(await page.locator('gguf-estimator:not(#gpu-demo) [data-testid=gpu-table]').count(), 0);
    await page.locator('#gpu-demo').screenshot({ path: path.join(shots, 'widget-gpu.png') });
    await b.open();
});
