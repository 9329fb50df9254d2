// The page in real Chromium: reading a model, the overview, tensor table and metadata viewer,
// errors for broken files (the page stays usable), a 141 GB (sparse) file read by its header
// alone, and no request leaving the origin.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { fixturePath, launch, webDir } from './harness.mjs';

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
    assert.equal(await page.locator('#tensor-table tbody tr[data-tensor]').count(), 75);
    await page.fill('#tensor-search', 'attn_k');
    assert.equal(await page.locator('#tensor-table tbody tr[data-tensor]').count(), 8);
    await page.fill('#tensor-search', '');
    await page.click('#tensor-table button[data-sort=nbytes]');
    await page.click('#tensor-table button[data-sort=nbytes]');
    const first = await page.locator('#tensor-table tbody tr').first().locator('td').nth(1).innerText();
    assert.equal(first, 'token_embd.weight');  // the largest tensor (4096 x 256 F16, like output)
    // Metadata: 21 keys; the token array is truncated and expands.
    assert.equal(await page.locator('#metadata-table tbody tr[data-key]').count(), 21);
    const tokens = page.locator('#metadata-table tr[data-key="tokenizer.ggml.tokens"]');
    assert.match(await tokens.innerText(), /STRING\[4,096\]/);
    await tokens.locator('button.expand').click();
    // The next items come from the metadata worker, asynchronously.
    await page.waitForFunction(() => document.querySelector('tr[data-key="tokenizer.ggml.tokens"] .value').textContent.length > 2000);
});

for (const [label, mutate, pattern] of [
    ['bad magic', (b) => { b.set([0x47, 0x47, 0x55, 0x58], 0); return b; }, /magic/i],
    ['a truncated file', (b) => b.subarray(0, 5000), /looks incomplete/i],  // not a raw offset (issue 14)
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
    await page.waitForFunction(() => document.querySelectorAll('#metadata-table tbody tr[data-key]').length === 20);
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
    assert.equal(await page.locator('#metadata-table tbody tr[data-key]').count(), 1);
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
});

// A GGUF v3 header with Llama-3-70B's shapes in F16 (141 GB of weights), written here; the
// tensor data is a sparse tail (ftruncate), so the file claims its full size without using disk.
function writeSparseLlama70B(file) {
    const parts = [];
    const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
    const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
    const str = (t) => { const b = Buffer.from(t); u64(b.length); parts.push(b); };
    const [nEmbd, nFf, nHead, nKv, nLayer, nVocab] = [8192, 28672, 64, 8, 80, 128256];
    const kv = [
        ['general.architecture', 8, 'llama'], ['general.name', 8, 'sparse-70b'], ['general.file_type', 4, 1],
        ['llama.block_count', 4, nLayer], ['llama.context_length', 4, 131072], ['llama.embedding_length', 4, nEmbd],
        ['llama.feed_forward_length', 4, nFf], ['llama.attention.head_count', 4, nHead],
        ['llama.attention.head_count_kv', 4, nKv], ['llama.vocab_size', 4, nVocab],
    ];
    const tensors = [['token_embd.weight', [nEmbd, nVocab], 1]];
    for (let i = 0; i < nLayer; i++) {
        const p = `blk.${i}.`;
        tensors.push([p + 'attn_norm.weight', [nEmbd], 0], [p + 'attn_q.weight', [nEmbd, nEmbd], 1],
            [p + 'attn_k.weight', [nEmbd, nEmbd / nHead * nKv], 1], [p + 'attn_v.weight', [nEmbd, nEmbd / nHead * nKv], 1],
            [p + 'attn_output.weight', [nEmbd, nEmbd], 1], [p + 'ffn_norm.weight', [nEmbd], 0],
            [p + 'ffn_gate.weight', [nEmbd, nFf], 1], [p + 'ffn_up.weight', [nEmbd, nFf], 1],
            [p + 'ffn_down.weight', [nFf, nEmbd], 1]);
    }
    tensors.push(['output_norm.weight', [nEmbd], 0], ['output.weight', [nEmbd, nVocab], 1]);
    parts.push(Buffer.from('GGUF'));
    u32(3);
    u64(tensors.length);
    u64(kv.length + 1);
    for (const [k, type, v] of kv) {
        str(k);
        u32(type);
        if (type === 8) str(v); else u32(v);
    }
    // A vocabulary as long as the real one: the header is then over a megabyte, read in slices.
    str('tokenizer.ggml.tokens');
    u32(9);
    u32(8);
    u64(nVocab);
    for (let i = 0; i < nVocab; i++) str(`tok${i}`);
    let offset = 0n;
    for (const [name, shape, type] of tensors) {
        str(name);
        u32(shape.length);
        for (const d of shape) u64(d);
        u32(type);
        u64(offset);
        const bytes = BigInt(shape.reduce((a, b) => a * b, 1) * (type === 1 ? 2 : 4));
        offset += (bytes + 31n) / 32n * 32n;
    }
    let header = Buffer.concat(parts);
    header = Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32)]);
    fs.writeFileSync(file, header);
    fs.truncateSync(file, header.length + Number(offset));
    return { headerBytes: header.length, size: header.length + Number(offset), tensors: tensors.length };
}

test('a 141 GB model: only the header is read, by slices, and every type is priced', async () => {
    const { page } = b;
    const file = path.join(tmp, 'sparse-70b-F16.gguf');
    const made = writeSparseLlama70B(file);
    assert.ok(made.size > 100e9);
    try {
        await page.setInputFiles('[data-testid=file-input]', file);
        await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype=Q4_K_M]');
        await page.waitForFunction(() => /sparse-70b/.test(document.getElementById('overview').textContent));
        assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
        // Only the header was read (the page reports how much), not the 141 GB behind it.
        const summary = page.locator('#file-summary');
        const headerBytes = Number(await summary.getAttribute('data-header-bytes'));
        console.log(`100+ GB file: ${await summary.innerText()}`);
        assert.ok(headerBytes > made.headerBytes - 32 && headerBytes < made.headerBytes + (16 << 20), `read ${headerBytes}`);
        const overview = await page.locator('#overview').innerText();
        assert.match(overview, /70\.55B/);
        assert.match(overview, /Layers\s+80/i);
        assert.match(overview, /64 \/ 8/);
        assert.equal(await page.locator('#tensor-table tbody tr[data-tensor]').count(), made.tensors);
        // The page's sizes are the estimate API's for the same file, read here in node.
        const { estimate } = await import(pathToFileURL(path.join(webDir, 'wasm/estimate.mjs')).href);
        // (A positioned reader: Node 20's fs.openAsBlob reports sizes past 4 GiB modulo 2^32.)
        const fh = await fs.promises.open(file);
        const api = await estimate({
            size: made.size,
            read: async (offset, length) => {
                const buf = Buffer.alloc(length);
                const { bytesRead } = await fh.read(buf, 0, length, offset);
                return buf.subarray(0, bytesRead);
            },
        }).finally(() => fh.close());
        for (const name of ['Q4_K_M', 'Q8_0', 'Q2_K']) {
            const bytes = Number(await page.locator(`[data-testid=estimate-table] tr[data-ftype=${name}]`).getAttribute('data-bytes'));
            assert.equal(bytes, api.ftypes.find((f) => f.name === name).file_size, name);
        }
        // At 8 GiB nothing this size fits; at 64 GiB Q4_K_M does.
        await page.fill('#mem-device', '8');
        await page.waitForFunction(() => document.getElementById('memory-summary').dataset.fits === 'false');
        await page.fill('#mem-device', '64');
        await page.waitForFunction(() => document.getElementById('memory-summary').dataset.fits === 'true');
        await page.fill('#mem-device', '8');
    } finally {
        fs.rmSync(file, { force: true });
    }
});

test('no request leaves the origin, and the page says nothing is uploaded', async () => {
    assert.deepEqual(b.foreignRequests(), []);
    assert.match(await b.page.locator('.privacy').innerText(), /Nothing is uploaded/);
    assert.deepEqual(b.errors, []);
});
