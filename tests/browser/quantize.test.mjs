// Quantizing in Chromium: Q4_K_M, and IQ2_XXS with the imatrix, downloaded through the save
// button, byte-identical to llama-quantize's reference (sha256); cancelling mid-way gives no
// download and leaves the UI ready; no request leaves the origin meanwhile.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { fixturePath, launch, reference } from './harness.mjs';

let b;
before(async () => {
    b = await launch();
    await b.open();
    await b.page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await b.page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
});
after(async () => b?.close());

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const run = (name) => reference.runs.find((r) => r.name === name);

async function quantizeAndDownload(page, type) {
    await page.selectOption('[data-testid=type-select]', type);
    await page.click('[data-testid=quantize-button]');
    const save = page.locator('[data-testid=save-button]');
    await save.waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 300_000 });
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    assert.equal(await page.locator('[data-testid=progress]').evaluate((p) => p.value / p.max), 1);
    const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
    const file = await download.path();
    return { file, name: download.suggestedFilename() };
}

test('Q4_K_M: the download is byte-identical to llama-quantize', async () => {
    const { file, name } = await quantizeAndDownload(b.page, 'Q4_K_M');
    assert.match(name, /Q4_K_M\.gguf$/);
    assert.equal(fs.statSync(file).size, run('Q4_K_M').file_size);
    assert.equal(sha256(file), run('Q4_K_M').file_sha256);
});

test('the row chunks ran on a pool of workers', async () => {
    const workers = Number(await b.page.locator('#progress-box').getAttribute('data-workers'));
    const cores = await b.page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(workers, Math.min(Math.max(cores, 1), 8));
});

test('IQ2_XXS with the imatrix: byte-identical', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.gguf'));
    await page.waitForFunction(() => !document.querySelector('[data-testid=type-select] option[value=IQ2_XXS]').disabled);
    const { file } = await quantizeAndDownload(page, 'IQ2_XXS');
    assert.equal(sha256(file), run('IQ2_XXS+imatrix').file_sha256);
});

test('cancel mid-way: no download, the UI is ready again', async () => {
    const { page } = b;
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.selectOption('[data-testid=type-select]', 'IQ2_XXS');  // slow enough to catch mid-way
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => {
        const p = document.querySelector('[data-testid=progress]');
        return p.value > 0 && p.value < p.max;
    }, null, { timeout: 60_000, polling: 20 });
    await page.click('[data-testid=cancel-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled);
    assert.equal(await page.locator('[data-testid=cancel-button]').isDisabled(), true);
    assert.equal(await page.locator('[data-testid=save-button]').isDisabled(), true);
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    assert.match(await page.locator('#progress-stats').innerText(), /Cancelled/);
    // Nothing half-written is left in OPFS.
    const left = await page.evaluate(async () => {
        const names = [];
        for await (const n of (await navigator.storage.getDirectory()).keys()) names.push(n);
        return names;
    });
    assert.deepEqual(left, []);
    await page.waitForTimeout(500);
    assert.equal(downloads, 0);
    // And it works again afterwards.
    const { file } = await quantizeAndDownload(page, 'Q4_K_M');
    assert.equal(sha256(file), run('Q4_K_M+imatrix').file_sha256);
});

test('?workers=1 runs the core streaming job alone: same bytes', async () => {
    const { page } = b;
    await page.goto(b.origin + '/?workers=1');
    await page.waitForSelector('html[data-ready="true"]');
    await page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
    const { file } = await quantizeAndDownload(page, 'Q6_K');
    assert.equal(await page.locator('#progress-box').getAttribute('data-workers'), '1');
    assert.equal(sha256(file), run('Q6_K').file_sha256);
});

test('no request left the origin during quantization', async () => {
    assert.deepEqual(b.foreignRequests(), []);
    assert.deepEqual(b.errors, []);
});
