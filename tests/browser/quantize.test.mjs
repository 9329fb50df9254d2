// Quantizing in Chromium: Q4_K_M, and IQ2_XXS with the imatrix, downloaded through the save
// button, byte-identical to llama-quantize's reference (sha256); cancelling mid-way gives no
// download, stops every worker and leaves the UI ready; the picker, a dismissed picker and a refused
// picker each save (or not) as they should; no request leaves the origin meanwhile.
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

// Names of the page's live dedicated workers, nested ones included (a worker closing meanwhile
// is skipped).
async function liveWorkers(page) {
    const names = await Promise.all(page.workers().map((w) => w.evaluate(() => self.name).catch(() => null)));
    return names.filter((n) => n !== null);
}

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

// The three ways out of the save button. Chromium under automation has no one to answer a
// picker, so these stub showSaveFilePicker and force the picker path with ?save=picker.
async function withPicker(page, behaviour) {
    await page.evaluate((behaviour) => {
        history.replaceState(null, '', '?save=picker');
        window.__saved = null;
        window.showSaveFilePicker = async ({ suggestedName }) => {
            if (behaviour !== 'accept') throw new DOMException('stubbed picker', behaviour);
            const chunks = [];
            return {
                createWritable: async () => new WritableStream({
                    write: (c) => { chunks.push(new Uint8Array(c)); },
                    close: async () => {
                        const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
                        const hex = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
                            .map((x) => x.toString(16).padStart(2, '0')).join('');
                        window.__saved = { name: suggestedName, size: bytes.length, sha256: hex };
                    },
                }),
            };
        };
    }, behaviour);
}

async function clickSave(page) {
    await page.evaluate(() => { delete document.getElementById('save-status').dataset.result; });
    await page.click('[data-testid=save-button]');
    await page.waitForFunction(() => document.getElementById('save-status').dataset.result);
    return page.locator('#save-status').getAttribute('data-result');
}

test('save through the picker: the output is streamed into the chosen file, no download', async () => {
    const { page } = b;
    let downloads = 0;
    const count = () => downloads++;
    page.on('download', count);
    try {
        await withPicker(page, 'accept');
        assert.equal(await clickSave(page), 'picker');
        const saved = await page.evaluate(() => window.__saved);
        assert.match(saved.name, /Q4_K_M\.gguf$/);
        assert.equal(saved.size, run('Q4_K_M').file_size);
        assert.equal(saved.sha256, run('Q4_K_M').file_sha256);
        // Dismissing the picker saves nothing and starts no download.
        await withPicker(page, 'AbortError');
        assert.equal(await clickSave(page), 'cancelled');
        assert.match(await page.locator('#save-status').innerText(), /Not saved/);
        await page.waitForTimeout(500);
        assert.equal(downloads, 0);
        // A picker the browser refuses falls back to the normal download.
        await withPicker(page, 'SecurityError');
        const [download] = await Promise.all([page.waitForEvent('download'), clickSave(page)]);
        assert.equal(sha256(await download.path()), run('Q4_K_M').file_sha256);
        assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    } finally {
        page.off('download', count);
        await page.evaluate(() => { history.replaceState(null, '', '/'); delete window.showSaveFilePicker; });
    }
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
    // The progress line: percentage, throughput, elapsed time, ETA and the current tensor.
    const line = await page.locator('#progress-stats').innerText();
    for (const part of [/\d+\.\d%/, /MB\/s/, /elapsed/, /ETA/, /blk\.\d+\.|token_embd|output/]) assert.match(line, part);
    const running = await liveWorkers(page);
    assert.ok(running.filter((n) => /pool/.test(n)).length >= 1, `workers while running: ${running}`);
    assert.ok(running.includes('gguf-squash quantize'), `workers while running: ${running}`);
    await page.click('[data-testid=cancel-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled);
    // The coordinator and every pool worker are gone (terminating the coordinator ends the pool
    // it started), and the progress bar no longer moves.
    const deadline = Date.now() + 20_000;
    let alive = await liveWorkers(page);
    while (alive.some((n) => /quantize|pool/.test(n)) && Date.now() < deadline) {
        await page.waitForTimeout(100);
        alive = await liveWorkers(page);
    }
    assert.deepEqual(alive.filter((n) => /quantize|pool/.test(n)), [], 'no quantization worker is left running');
    const before = await page.locator('[data-testid=progress]').evaluate((p) => p.value);
    await page.waitForTimeout(300);
    assert.equal(await page.locator('[data-testid=progress]').evaluate((p) => p.value), before);
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
