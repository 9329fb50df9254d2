// A split model in Chromium: llama-gqa.gguf cut into 3 gguf-split shards (tests/js/split_shards.mjs)
// and dropped on the page together, in a scrambled order. The page reads them as one model and
// quantizes them to one file, byte-identical to llama-quantize's file for the whole model: Q4_K_M
// through the pool of workers, and IQ3_XXS with the imatrix through the single streaming job.
// No request leaves the origin.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { splitGguf, splitPath } from '../js/split_shards.mjs';
import { fixturePath, launch, reference } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-split-browser-'));
const source = fs.readFileSync(fixturePath('models/llama-gqa.gguf'));
const shards = splitGguf(new Uint8Array(source.buffer, source.byteOffset, source.length), (i) => Math.floor(i / 25));
const shardPaths = shards.map((s, i) => {
    const p = splitPath(path.join(tmp, 'llama-gqa'), i, shards.length);
    fs.writeFileSync(p, s.bytes);
    return p;
});

let b;
before(async () => {
    b = await launch();
});
after(async () => {
    await b?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
});

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const run = (name) => reference.runs.find((r) => r.name === name);

async function openShards(page, query) {
    await page.goto(`${b.origin}/${query}`);
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForFunction(() => /engine: wasm/.test(document.getElementById('engine').textContent));
    await page.setInputFiles('[data-testid=file-input]', [shardPaths[2], shardPaths[0], shardPaths[1]]);
    await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
}

async function quantizeAndDownload(page, type) {
    await page.selectOption('[data-testid=type-select]', type);
    assert.equal(await page.locator('[data-testid=quantize-button]').isDisabled(), false, 'split models can be quantized');
    await page.click('[data-testid=quantize-button]');
    const save = page.locator('[data-testid=save-button]');
    await save.waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled ||
                                     !document.querySelector('[data-testid=error]').hidden, null, { timeout: 300_000 });
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true,
                 await page.locator('[data-testid=error]').textContent());
    const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
    return { file: await download.path(), name: download.suggestedFilename() };
}

test('3 shards with 2 pool workers: Q4_K_M is llama-quantize\'s file for the whole model', async () => {
    const { page } = b;
    await openShards(page, '?workers=2');
    assert.match(await page.locator('#overview-sub').textContent(), /75 tensors .* 3 shards/);
    const { file, name } = await quantizeAndDownload(page, 'Q4_K_M');
    assert.equal(name, 'llama-gqa-Q4_K_M.gguf');
    assert.equal(await page.locator('#progress-box').getAttribute('data-workers'), '2');
    assert.equal(fs.statSync(file).size, run('Q4_K_M').file_size);
    assert.equal(sha256(file), run('Q4_K_M').file_sha256);
});

test('3 shards, one streaming job: IQ3_XXS with the imatrix is byte-identical', async () => {
    const { page } = b;
    await openShards(page, '?workers=1');
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.gguf'));
    await page.waitForFunction(() => !document.querySelector('[data-testid=type-select] option[value=IQ3_XXS]').disabled);
    const { file } = await quantizeAndDownload(page, 'IQ3_XXS');
    assert.equal(await page.locator('#progress-box').getAttribute('data-workers'), '1');
    // The page records the imatrix under its file name, as llama-quantize records the path given.
    assert.equal(sha256(file), run('IQ3_XXS+imatrix').file_sha256);
    assert.deepEqual(b.foreignRequests(), []);
    assert.deepEqual(b.errors, []);
    console.log('browser split: Q4_K_M (2 workers) and IQ3_XXS+imatrix (1 worker) from 3 shards byte-identical');
});
