// The metadata viewer in real Chromium: the page holds only a preview of each array, and "show
// more" / "show all" fetch the next items from the model worker. What it shows is checked
// against the native CLI's `info --json` (an independent reader and emitter).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { fixturePath, launch, root } from './harness.mjs';

const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');

function nativeInfo(file) {
    const r = spawnSync(native, ['info', '--json', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
}

// The viewer's text for the first `n` items of a string array of `len` items.
const shownText = (items, n, len) => `[${items.slice(0, n).map((s) => JSON.stringify(s)).join(', ')}${n < len ? ', …' : ''}]`;

let b;
before(async () => {
    b = await launch();
    await b.open();
});
after(async () => b?.close());

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-metadata-'));

async function openRow(file, key, rows) {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', file);
    await page.waitForFunction((n) => document.querySelectorAll('#metadata-table tbody tr[data-key]').length === n &&
                                      !document.getElementById('metadata-section').hidden, rows);
    return page.locator(`#metadata-table tr[data-key="${key}"]`);
}

// Clicks the row's button and waits for the fetch to finish (the button is disabled meanwhile).
async function expand(row) {
    const before = await row.locator('.value > span').first().innerText();
    await row.locator('button.expand').click();
    await b.page.waitForFunction(({ el, before }) => !el.querySelector('button.expand').disabled &&
        (el.querySelector('.value > span').textContent !== before || !el.querySelector('.expand-error').hidden),
    { el: await row.elementHandle(), before });
}

test('qwen2 vocab: two "show more" clicks show tokens 0..1007, as the native CLI reads them', { skip: !fs.existsSync(native) && `no native CLI at ${native}` }, async () => {
    const file = fixturePath('vocab/ggml-vocab-qwen2.gguf');
    const want = nativeInfo(file).metadata['tokenizer.ggml.tokens'];
    assert.equal(want.len, 151936);
    const row = await openRow(file, 'tokenizer.ggml.tokens', Object.keys(nativeInfo(file).metadata).length);
    assert.match(await row.innerText(), /STRING\[151,936\]/);
    assert.match(await b.page.locator('#overview').innerText(), /Vocabulary\s+151,936/i);
    const text = row.locator('.value > span').first();
    assert.equal(await text.innerText(), shownText(want.value, 8, want.len));
    await expand(row);
    assert.equal(await text.innerText(), shownText(want.value, 508, want.len));
    assert.equal(await row.locator('button.expand').innerText(), `show 500 more (${(151936 - 508).toLocaleString('en-US')} hidden)`);
    await expand(row);
    assert.equal(await text.innerText(), shownText(want.value, 1008, want.len));
    assert.equal(await row.locator('.expand-error').isHidden(), true);
    assert.deepEqual(b.errors, []);
});

test('llama-gqa: "show all" ends with every token shown and no button', { skip: !fs.existsSync(native) && `no native CLI at ${native}` }, async () => {
    const file = fixturePath('models/llama-gqa.gguf');
    const want = nativeInfo(file).metadata['tokenizer.ggml.tokens'];
    const row = await openRow(file, 'tokenizer.ggml.tokens', 21);
    const button = row.locator('button.expand');
    let clicks = 0;
    while (await button.isVisible()) {
        const label = await button.innerText();
        await expand(row);
        clicks++;
        if (/show all/.test(label)) break;
    }
    assert.equal(clicks, Math.ceil((want.len - 8) / 500));
    assert.equal(await button.isHidden(), true);
    assert.equal(await row.locator('.value > span').first().innerText(), shownText(want.value, want.len, want.len));
});

test('a fetch that fails shows its error, and the button works again', async () => {
    const { page } = b;
    const file = path.join(tmp, 'vocab.gguf');
    fs.copyFileSync(fixturePath('vocab/ggml-vocab-qwen2.gguf'), file);
    const row = await openRow(file, 'tokenizer.ggml.tokens', 20);
    // The header stays in the model worker: the file changing on disk afterwards changes nothing.
    fs.appendFileSync(file, Buffer.alloc(16));
    await expand(row);
    assert.equal(await row.locator('.expand-error').isHidden(), true);
    assert.match(await row.locator('.value > span').first().innerText(), /^\["!", "\\"", .*, …\]$/);
    const shown = await row.locator('.value > span').first().innerText();
    // The next fetch fails (the message never reaches the worker): the error shows, nothing changes.
    await page.evaluate(() => {
        const post = Worker.prototype.postMessage;
        Worker.prototype.postMessage = function (message, transfer) {
            if (message?.method === 'arrayItems') throw new Error('forced failure');
            return post.call(this, message, transfer);
        };
        window.__restorePost = () => { Worker.prototype.postMessage = post; };
    });
    try {
        await expand(row);
    } finally {
        await page.evaluate(() => window.__restorePost());
    }
    const failure = row.locator('.expand-error');
    assert.equal(await failure.isVisible(), true);
    assert.match(await failure.innerText(), /Cannot read more items: forced failure/);
    assert.equal(await row.locator('button.expand').isEnabled(), true);
    assert.equal(await row.locator('.value > span').first().innerText(), shown);
    // And the button works again.
    await expand(row);
    assert.equal(await failure.isHidden(), true);
    assert.notEqual(await row.locator('.value > span').first().innerText(), shown);
});
