// The page in real Chromium: reading a model, the overview, tensor table and metadata viewer,
// errors for broken files (the page stays usable), and no request leaving the origin.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { fixturePath, launch } from './harness.mjs';

let b;
before(async () => {
    b = await launch();
    await b.open();
});
after(async () => b?.close());

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-page-'));

test('loads llama-gqa.gguf and shows its overview, tensors and metadata', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await page.waitForSelector('#tensor-section:not([hidden])');
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    const overview = await page.locator('#overview').innerText();
    assert.match(overview, /llama/);
    assert.match(overview, /Layers\s+8/i);
    assert.match(overview, /Embedding size\s+256/i);
    assert.match(overview, /4 \/ 1/);      // heads / KV heads
    assert.match(overview, /4,096/);       // vocabulary
    // 75 tensors in the table; filtering and sorting work.
    assert.equal(await page.locator('#tensor-table tbody tr').count(), 75);
    await page.fill('#tensor-search', 'attn_k');
    assert.equal(await page.locator('#tensor-table tbody tr').count(), 8);
    await page.fill('#tensor-search', '');
    await page.click('#tensor-table button[data-sort=nbytes]');
    await page.click('#tensor-table button[data-sort=nbytes]');
    const first = await page.locator('#tensor-table tbody tr').first().locator('td').nth(1).innerText();
    assert.equal(first, 'token_embd.weight');  // the largest tensor (4096 x 256 F16, like output)
    // Metadata: 21 keys; the token array is truncated and expands.
    assert.equal(await page.locator('#metadata-table tbody tr').count(), 21);
    const tokens = page.locator('#metadata-table tr[data-key="tokenizer.ggml.tokens"]');
    assert.match(await tokens.innerText(), /STRING\[4,096\]/);
    await tokens.locator('button.expand').click();
    assert.ok((await tokens.locator('.value').innerText()).length > 2000);
});

for (const [label, mutate, pattern] of [
    ['bad magic', (b) => { b.set([0x47, 0x47, 0x55, 0x58], 0); return b; }, /magic/i],
    ['a truncated file', (b) => b.subarray(0, 5000), /truncated|byte offset/i],
]) {
    test(`${label} shows an error, and the page stays usable`, async () => {
        const { page } = b;
        const bytes = mutate(new Uint8Array(fs.readFileSync(fixturePath('models/llama-gqa.gguf'))));
        const file = path.join(tmp, 'broken.gguf');
        fs.writeFileSync(file, bytes);
        await page.setInputFiles('[data-testid=file-input]', file);
        const error = page.locator('[data-testid=error]');
        await error.waitFor({ state: 'visible' });
        assert.match(await error.innerText(), pattern);
        assert.match(await error.innerText(), /broken\.gguf/);
        // Still usable: a good file loads and clears the error.
        await page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
        await page.waitForSelector('#tensor-section:not([hidden])');
        assert.equal(await error.isHidden(), true);
    });
}

test('the vocab files load (large string arrays, no tensors)', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', fixturePath('vocab/ggml-vocab-qwen2.gguf'));
    await page.waitForFunction(() => document.querySelectorAll('#metadata-table tbody tr').length === 20);
    assert.match(await page.locator('#metadata-table tr[data-key="tokenizer.ggml.tokens"]').innerText(), /151,936/);
});

test('a file dropped anywhere on the page is read', async () => {
    const { page } = b;
    // A minimal GGUF written here: v3, no tensors, one key (general.architecture = "dropped").
    const dt = await page.evaluateHandle(() => {
        const enc = new TextEncoder();
        const key = enc.encode('general.architecture'), value = enc.encode('dropped');
        const buf = new ArrayBuffer(4 + 4 + 8 + 8 + 8 + key.length + 4 + 8 + value.length);
        const v = new DataView(buf);
        const u8 = new Uint8Array(buf);
        let o = 0;
        u8.set(enc.encode('GGUF'), o); o += 4;
        v.setUint32(o, 3, true); o += 4;
        v.setBigUint64(o, 0n, true); o += 8;
        v.setBigUint64(o, 1n, true); o += 8;
        v.setBigUint64(o, BigInt(key.length), true); o += 8;
        u8.set(key, o); o += key.length;
        v.setUint32(o, 8, true); o += 4;
        v.setBigUint64(o, BigInt(value.length), true); o += 8;
        u8.set(value, o);
        const data = new DataTransfer();
        data.items.add(new File([buf], 'dropped.gguf'));
        return data;
    });
    await page.dispatchEvent('#drop-zone', 'dragenter', { dataTransfer: dt });
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dt });
    await page.waitForFunction(() => /dropped/.test(document.getElementById('overview').textContent));
    assert.equal(await page.locator('#metadata-table tbody tr').count(), 1);
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
});

test('no request leaves the origin, and the page says nothing is uploaded', async () => {
    assert.deepEqual(b.foreignRequests(), []);
    assert.match(await b.page.locator('.privacy').innerText(), /Nothing is uploaded/);
    assert.deepEqual(b.errors, []);
});
