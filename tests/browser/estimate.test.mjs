// The estimate table in Chromium: one row per ftype, and every row's data-bytes equals the
// file_size of llama-quantize's matching reference run, without and with the imatrix loaded.
// Types that need an imatrix are marked and disabled until one is given.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

import { fixturePath, launch, reference, webDir } from './harness.mjs';

let b;
before(async () => {
    b = await launch();
    await b.open();
});
after(async () => b?.close());

async function rows(page) {
    return page.$$eval('[data-testid=estimate-table] tbody tr[data-ftype]', (trs) => trs.map((tr) => ({
        ftype: tr.dataset.ftype, bytes: Number(tr.dataset.bytes), disabled: tr.dataset.disabled === 'true',
        imatrix: tr.dataset.imatrix === 'required', recommended: tr.classList.contains('recommended'),
    })));
}

const runsByName = new Map(reference.runs.map((r) => [r.name, r]));
const kFtypes = [...new Set(reference.runs.map((r) => r.ftype))];

test('without an imatrix: exact sizes, imatrix-only types disabled, Q4_K_M highlighted', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
    const got = await rows(page);
    assert.deepEqual(got.map((r) => r.ftype).sort(), [...kFtypes].sort(), 'one row per ftype');
    let compared = 0;
    for (const r of got) {
        const run = runsByName.get(r.ftype);
        if (run.error) {
            // llama-quantize refuses this type without an imatrix: the row says so.
            assert.ok(r.imatrix && r.disabled, `${r.ftype} is marked and disabled`);
            const opt = page.locator(`[data-testid=type-select] option[value="${r.ftype}"]`);
            assert.equal(await opt.isDisabled(), true, `${r.ftype} cannot be chosen`);
            continue;
        }
        assert.equal(r.bytes, run.file_size, r.ftype);
        assert.equal(r.disabled, false, r.ftype);
        compared++;
    }
    console.log(`estimate without imatrix: ${compared} sizes equal the reference`);
    assert.ok(compared >= 25);
    // One recommendation: the core's for the memory budget once the memory model answered (issue 14).
    await page.waitForFunction(() => document.getElementById('memory-summary').dataset.recommended !== undefined);
    const rec = await page.$eval('#memory-summary', (e) => e.dataset.recommended);
    assert.ok(rec);
    assert.deepEqual((await rows(page)).filter((r) => r.recommended).map((r) => r.ftype), [rec]);
    assert.equal(await page.locator('[data-testid=type-select]').inputValue(), 'Q4_K_M');  // the default choice
});

test('with the imatrix: every row matches its +imatrix run and nothing is disabled', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.gguf'));
    await page.waitForFunction(() => !document.querySelector('[data-testid=estimate-table] tr[data-disabled=true]'));
    const got = await rows(page);
    let compared = 0;
    for (const r of got) {
        const run = runsByName.get(`${r.ftype}+imatrix`);
        if (!run) continue;  // F16, BF16, F32 and COPY have no imatrix run
        assert.equal(r.bytes, run.file_size, r.ftype);
        compared++;
    }
    console.log(`estimate with imatrix: ${compared} sizes equal the reference`);
    assert.equal(compared, reference.runs.filter((r) => r.name.endsWith('+imatrix')).length);
    assert.equal(await page.locator('[data-testid=type-select] option[value=IQ2_XXS]').isDisabled(), false);
});

test('the legacy .dat imatrix gives the same sizes', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.dat'));
    await page.waitForFunction(() => /\.dat/.test(document.getElementById('imatrix-summary')?.textContent ?? ''));
    const got = await rows(page);
    const iq2 = got.find((r) => r.ftype === 'IQ2_XXS');
    assert.equal(iq2.bytes, runsByName.get('IQ2_XXS+imatrix-dat').file_size);
    const q4 = got.find((r) => r.ftype === 'Q4_K_M');
    assert.equal(q4.bytes, runsByName.get('Q4_K_M+imatrix-dat').file_size);
    assert.deepEqual(b.foreignRequests(), []);
});

test('the memory panel uses the core memory model (wasm/estimate.mjs) for the chosen type', async () => {
    const { page } = b;
    const summary = page.locator('#memory-summary');
    const data = () => summary.evaluate((n) => ({ ...n.dataset }));
    await page.fill('#mem-context', '4096');
    await page.selectOption('#mem-cache', 'f16');
    await page.fill('#mem-device', '0.001');
    await page.waitForFunction(() => document.getElementById('memory-summary').dataset.fits === 'false');
    assert.match(await summary.innerText(), /does not fit/);
    await page.fill('#mem-device', '8');
    await page.waitForFunction(() => document.getElementById('memory-summary').dataset.fits === 'true');
    const f16 = await data();
    assert.equal(f16.ftype, 'Q4_K_M');
    assert.equal(f16.ctx, '4096');
    assert.match(await summary.innerText(), /Q4_K_M at 4,096 tokens/);
    assert.match(await summary.innerText(), /Context that still fits/);
    // The same figures as the estimate API run here in node on the same file (the site's own copy).
    const { estimate } = await import(pathToFileURL(path.join(webDir, 'wasm/estimate.mjs')).href);
    const api = await estimate(new Blob([fs.readFileSync(fixturePath('models/llama-gqa.gguf'))]),
                               { ctx: 4096, kvType: 'f16', memoryGb: 8, imatrix: fs.readFileSync(fixturePath('models/llama-gqa.imatrix.dat')), imatrixName: 'llama-gqa.imatrix.dat' });
    const row = api.ftypes.find((f) => f.name === 'Q4_K_M');
    assert.equal(Number(f16.totalBytes), row.memory_bytes);
    assert.equal(Number(f16.maxCtx), row.max_ctx);
    assert.equal(Number(f16.kvBytes), api.memory.kv_bytes);
    // q8_0 and q4_0 caches: the ggml block sizes (34 and 18 bytes per 32 values against f16's 64).
    await page.selectOption('#mem-cache', 'q8_0');
    await page.waitForFunction((kv) => document.getElementById('memory-summary').dataset.kvBytes !== kv, f16.kvBytes);
    const q8 = await data();
    assert.equal(Number(q8.kvBytes) * 64, Number(f16.kvBytes) * 34);
    await page.selectOption('#mem-cache', 'q4_0');
    await page.waitForFunction((kv) => document.getElementById('memory-summary').dataset.kvBytes !== kv, q8.kvBytes);
    const q4 = await data();
    assert.equal(Number(q4.kvBytes) * 64, Number(f16.kvBytes) * 18);
    assert.ok(Number(q4.maxCtx) > Number(f16.maxCtx));
    // Every non-blocked row says whether it fits, from the same model.
    const fits = await page.$$eval('[data-testid=estimate-table] tbody tr[data-disabled=false] td[data-fits]', (tds) => tds.length);
    assert.ok(fits >= 25);
    await page.selectOption('#mem-cache', 'f16');
});
