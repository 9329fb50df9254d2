// Issue 14's input checks, in Chromium: files picked together are shards only if their split keys
// say so (else an error naming the file); a vocabulary-only file shows its overview and metadata
// and a notice instead of estimates and Quantize; a truncated file says it looks incomplete (with
// the expected and actual size and what could be read) and leaves the previous model's views; the
// options are checked as they are typed, the error next to the field and Quantize disabled; an
// empty numeric field is its default; after Cancel the focus is back on Quantize; changing the type
// after a run marks the output stale and Save names its file and size. Screenshots of the error
// states go to build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { splitGguf, splitPath } from '../js/split_shards.mjs';
import { fixturePath, launch, reference, root } from './harness.mjs';

const shots = path.join(root, 'build/screenshots');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-inputs-'));
const modelFile = fixturePath('models/llama-gqa.gguf');
const modelBytes = fs.readFileSync(modelFile);
let b;
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
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
            await page.waitForTimeout(250);  // the theme's colour transitions
            await page.screenshot({ path: path.join(shots, `${name}-${label}-${scheme}.png`) });
        }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
}

async function loadModel(page) {
    await page.setInputFiles('[data-testid=file-input]', modelFile);
    await page.waitForSelector('[data-testid=plan-table] tr[data-tensor][data-type]');
    await page.waitForFunction(() => document.querySelector('[data-testid=error]').hidden);
}

const errorText = () => b.page.locator('[data-testid=error]').innerText();

test('two unrelated models picked together are refused at load, naming the file that does not fit', async () => {
    const { page } = b;
    await loadModel(page);
    await page.setInputFiles('[data-testid=file-input]', [modelFile, fixturePath('vocab/ggml-vocab-gpt-2.gguf')]);
    await page.locator('[data-testid=error]').waitFor({ state: 'visible' });
    assert.match(await errorText(), /ggml-vocab-gpt-2\.gguf/);
    assert.match(await errorText(), /not a shard/);
    // The previous model is still there, whole.
    assert.equal(await page.locator('[data-testid=plan-table] tr[data-tensor]').count(), 75);
    await screenshot(page, 'error-shards');
});

test('shards of one model are accepted only complete: a missing shard is named', async () => {
    const { page } = b;
    const shards = splitGguf(new Uint8Array(modelBytes.buffer, modelBytes.byteOffset, modelBytes.length), (i) => Math.floor(i / 25));
    const files = shards.map((s, i) => {
        const p = splitPath(path.join(tmp, 'llama-gqa'), i, shards.length);
        fs.writeFileSync(p, s.bytes);
        return p;
    });
    await page.setInputFiles('[data-testid=file-input]', [files[0], files[2]]);
    // (the previous test's error may still show: wait for this one's)
    await page.waitForFunction(() => /shard 2 of 3 missing/.test(document.querySelector('[data-testid=error]').textContent));
    assert.match(await errorText(), /llama-gqa-00001-of-00003\.gguf|3 shards make this model/);
    // A shard of this model with a shard of another split model (another tensor total).
    const other = splitGguf(new Uint8Array(modelBytes.buffer, modelBytes.byteOffset, modelBytes.length), (i) => (i < 40 ? 0 : 1));
    const otherFile = path.join(tmp, 'other-00002-of-00002.gguf');
    fs.writeFileSync(otherFile, other[1].bytes);
    await page.setInputFiles('[data-testid=file-input]', [files[0], otherFile]);
    await page.waitForFunction(() => /other-00002-of-00002\.gguf/.test(document.querySelector('[data-testid=error]').textContent));
    // All three load as one model.
    await page.setInputFiles('[data-testid=file-input]', files);
    await page.waitForFunction(() => /\+2 shards/.test(document.getElementById('loaded-bar').textContent));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=plan-table] tr[data-tensor][data-type]').length === 75);
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    assert.match(await page.locator('#overview-sub').innerText(), /3 shards/);
});

test('a vocabulary-only file: overview and metadata, and a notice instead of estimates and Quantize', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', fixturePath('vocab/ggml-vocab-llama-spm.gguf'));
    await page.locator('[data-testid=no-tensors]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#overview-section').isVisible(), true);
    assert.equal(await page.locator('#metadata-section').isVisible(), true);
    assert.ok(await page.locator('#metadata-table tbody tr[data-key]').count() > 5);
    assert.equal(await page.locator('#estimate-section').isVisible(), false);
    assert.equal(await page.locator('#quantize-section').isVisible(), false);
    assert.equal(await page.locator('[data-testid=quantize-button]').isDisabled(), true);
    assert.match(await page.locator('[data-testid=action-bar]').innerText(), /nothing to quantize/i);
    // No empty type menu in the bar, and the notice said once.
    assert.equal(await page.locator('[data-testid=bar-type]').isVisible(), false);
    assert.equal((await page.locator('[data-testid=action-bar]').innerText()).match(/nothing to quantize/gi).length, 1);
    await screenshot(page, 'vocab-only');
});

test('a truncated file says it looks incomplete, with the sizes and what was read; the previous model stays', async () => {
    const { page } = b;
    await loadModel(page);
    assert.equal(await page.locator('[data-testid=bar-type]').isVisible(), true);  // back after the vocabulary file
    // Cut in the tensor data: the header is whole, its tensors need the full size.
    const cut = path.join(tmp, 'cut-llama-gqa.gguf');
    fs.writeFileSync(cut, modelBytes.subarray(0, 10_000_000));
    await page.setInputFiles('[data-testid=file-input]', cut);
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.getAttribute('data-incomplete'), 'true');
    assert.equal(Number(await error.getAttribute('data-expected')), modelBytes.length);
    assert.equal(Number(await error.getAttribute('data-actual')), 10_000_000);
    const text = await errorText();
    assert.match(text, /cut-llama-gqa\.gguf looks incomplete/);
    assert.match(text, /10,000,000 bytes/);
    assert.match(text, new RegExp(modelBytes.length.toLocaleString('en-US')));
    assert.match(text, /again usually fixes/);
    assert.match(text, /75 tensors/);
    // The previous model's views are untouched.
    assert.equal(await page.locator('[data-testid=plan-table] tr[data-tensor]').count(), 75);
    assert.match(await page.locator('[data-testid=loaded-bar]').innerText(), /llama-gqa\.gguf/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'error-truncated');
    // Cut inside the header: what was read up to there.
    const head = path.join(tmp, 'head-llama-gqa.gguf');
    fs.writeFileSync(head, modelBytes.subarray(0, 5000));
    await page.setInputFiles('[data-testid=file-input]', head);
    await page.waitForFunction(() => /head-llama-gqa\.gguf looks incomplete/.test(document.querySelector('[data-testid=error]').textContent));
    assert.match(await errorText(), /ends inside its own header/);
    await page.locator('[data-testid=incomplete-header] summary').click();
    assert.match(await errorText(), /general\.architecture/);
    // Not every error is a truncation: a bad magic is said as it is.
    const bad = path.join(tmp, 'bad-magic.gguf');
    const badBytes = Buffer.from(modelBytes);
    badBytes.write('GGUX', 0);
    fs.writeFileSync(bad, badBytes);
    await page.setInputFiles('[data-testid=file-input]', bad);
    await page.waitForFunction(() => /bad-magic\.gguf/.test(document.querySelector('[data-testid=error]').textContent));
    assert.doesNotMatch(await errorText(), /incomplete/);
});

test('options are checked as typed: the error next to the field, Quantize disabled until fixed', async () => {
    const { page } = b;
    await loadModel(page);
    await page.click('#options summary');
    await page.fill('#opt-tensor-types', 'attn_v=q9_9');
    const fieldError = page.locator('#opt-tensor-types-error');
    await fieldError.waitFor({ state: 'visible' });
    assert.match(await fieldError.innerText(), /q9_9/);
    assert.equal(await page.locator('#opt-tensor-types').getAttribute('aria-invalid'), 'true');
    await page.waitForFunction(() => document.querySelector('[data-testid=quantize-button]').disabled);
    assert.match(await page.locator('#bar-status').innerText(), /options/i);
    await screenshot(page, 'error-option');
    await page.fill('#opt-tensor-types', 'attn_v=q8_0');
    await fieldError.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled);
    // The estimate follows the valid option (the reference's Q4_K_M+tensor-type run uses it).
    const run = reference.runs.find((r) => r.name === 'Q4_K_M+tensor-type');
    if (run.args.join(' ') === '--tensor-type attn_v=q8_0') {
        await page.waitForFunction((n) => Number(document.querySelector('[data-testid=estimate-table] tr[data-ftype=Q4_K_M]').dataset.bytes) === n,
                                    run.file_size);
    }
    await page.fill('#opt-prune', '2,x');
    await page.locator('#opt-prune-error').waitFor({ state: 'visible' });
    await page.fill('#opt-prune', '');
    await page.locator('#opt-prune-error').waitFor({ state: 'hidden' });
    await page.fill('#opt-tensor-types', '');
    await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled);
});

test('an empty numeric field means its default, never 0 or 1', async () => {
    const { page } = b;
    await page.fill('#mem-context', '');
    await page.fill('#mem-device', '');
    await page.waitForTimeout(400);
    await page.waitForFunction(() => document.getElementById('memory-summary').dataset.ctx === '4096');
    assert.equal(await page.locator('[data-testid=memory-bar]').getAttribute('data-budget'), String(8 * 2 ** 30));
    await page.fill('#mem-context', '4096');
    await page.fill('#mem-device', '8');
});

test('after Cancel the focus is back on Quantize; after a run, another type marks the output stale; Save names file and size', async () => {
    const { page } = b;
    await page.selectOption('[data-testid=type-select]', 'Q6_K');
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=cancel-button]').disabled);
    await page.click('[data-testid=cancel-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'quantize-button');

    await page.selectOption('[data-testid=type-select]', 'Q4_K_M');
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 120_000 });
    const size = reference.runs.find((r) => r.name === 'Q4_K_M').file_size;
    const save = page.locator('[data-testid=save-button]');
    assert.match(await save.innerText(), /Save llama-gqa-Q4_K_M\.gguf \(4\.9 MiB\)/);
    assert.equal(await page.locator('[data-testid=action-bar]').getAttribute('data-stale'), 'false');
    await screenshot(page, 'done');
    await page.selectOption('[data-testid=type-select]', 'IQ4_XS');
    await page.waitForFunction(() => document.querySelector('[data-testid=action-bar]').dataset.stale === 'true');
    assert.match(await page.locator('#bar-status').innerText(), /Made for Q4_K_M — quantize again/);
    assert.match(await save.innerText(), /llama-gqa-Q4_K_M\.gguf/);  // the file it is, whatever is chosen now
    await screenshot(page, 'stale');
    await page.selectOption('[data-testid=type-select]', 'Q4_K_M');
    await page.waitForFunction(() => document.querySelector('[data-testid=action-bar]').dataset.stale === 'false');
    assert.ok(size > 0);
});
