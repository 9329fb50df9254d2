// The JS API's header parsing: from a Blob read by slices, from async iterables of any chunking,
// with both WebAssembly builds, against the fixtures' documented contents; and refusals of
// malformed files with the field and byte offset.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { GgufError, loadGgufSquash, readGgufHeader, simdSupported } from '../../wasm/gguf_squash.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (p) => fs.readFileSync(path.join(root, 'tests/fixtures', p));

// From tests/fixtures/README.md.
const kVocab = {
    'vocab/ggml-vocab-llama-spm.gguf': { keys: 22, arrays: { 'tokenizer.ggml.tokens': 32000, 'tokenizer.ggml.scores': 32000, 'tokenizer.ggml.token_type': 32000 } },
    'vocab/ggml-vocab-gpt-2.gguf': { keys: 16, arrays: { 'tokenizer.ggml.tokens': 50257, 'tokenizer.ggml.token_type': 50257, 'tokenizer.ggml.merges': 50000 } },
    'vocab/ggml-vocab-qwen2.gguf': { keys: 20, arrays: { 'tokenizer.ggml.tokens': 151936, 'tokenizer.ggml.token_type': 151936, 'tokenizer.ggml.merges': 151387 } },
};

// Async iterable over `bytes` in chunks whose sizes come from `sizes()`.
async function* chunked(bytes, sizes) {
    for (let pos = 0; pos < bytes.length;) {
        const n = Math.max(1, sizes());
        yield bytes.subarray(pos, pos + n);
        pos += n;
    }
}

function rng(seed) {
    let s = seed >>> 0;
    return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

const reference = JSON.parse(fixture('models/llama-gqa.reference.json'));

test('llama-gqa.gguf from a Blob by slices: 21 keys, 75 tensors, matching the COPY run', async () => {
    const bytes = fixture('models/llama-gqa.gguf');
    const info = await readGgufHeader(new Blob([bytes]), { sliceSize: 4096 });
    assert.equal(Object.keys(info.metadata).length, 21);
    assert.equal(info.tensors.length, 75);
    assert.equal(info.version, 3);
    assert.equal(info.metadata['general.architecture'].value, 'llama');
    assert.equal(info.metadata['tokenizer.ggml.tokens'].len, 4096);
    assert.equal(info.metadata['tokenizer.ggml.tokens'].value.length, 4096);
    // COPY writes every tensor unchanged: names, types, shapes and sizes are the input's.
    const copy = reference.runs.find((r) => r.name === 'COPY');
    const byName = new Map(info.tensors.map((t) => [t.name, t]));
    assert.equal(copy.tensors.length, info.tensors.length);
    for (const t of copy.tensors) {
        const ours = byName.get(t.name);
        assert.ok(ours, t.name);
        assert.equal(ours.type, t.type, t.name);
        assert.deepEqual(ours.shape, t.shape, t.name);
        assert.equal(ours.nbytes, t.nbytes, t.name);
    }
    // The data section starts after the header, and the last tensor ends inside the file.
    const last = info.tensors.reduce((a, t) => (t.offset > a.offset ? t : a));
    assert.ok(info.data_offset + last.offset + last.nbytes <= bytes.length);
    assert.ok(info.bytesRead >= info.data_offset && info.bytesRead < bytes.length);
});

test('llama-gqa.gguf: 1-byte, random and whole chunkings give identical results', async () => {
    const bytes = new Uint8Array(fixture('models/llama-gqa.gguf'));
    const whole = await readGgufHeader(bytes);
    const one = await readGgufHeader(chunked(bytes, () => 1));
    const r = rng(7);
    const random = await readGgufHeader(chunked(bytes, () => r() % 3000));
    const blob = await readGgufHeader(new Blob([bytes]), { sliceSize: 1 });
    delete whole.bytesRead; delete one.bytesRead; delete random.bytesRead; delete blob.bytesRead;
    assert.deepEqual(one, whole);
    assert.deepEqual(random, whole);
    assert.deepEqual(blob, whole);
});

for (const [file, want] of Object.entries(kVocab)) {
    test(`${file}: keys and array lengths, from a Blob and from an async iterable`, async () => {
        const bytes = new Uint8Array(fixture(file));
        const r = rng(file.length);
        for (const info of [await readGgufHeader(new Blob([bytes])),
                            await readGgufHeader(chunked(bytes, () => 1 + (r() % 65536)))]) {
            assert.equal(Object.keys(info.metadata).length, want.keys);
            assert.equal(info.tensors.length, 0);
            for (const [key, len] of Object.entries(want.arrays)) {
                assert.equal(info.metadata[key].type, 'ARRAY', key);
                assert.equal(info.metadata[key].len, len, key);
                assert.equal(info.metadata[key].value.length, len, key);
            }
        }
    });
}

test('both WebAssembly builds parse identically', async (t) => {
    const bytes = new Uint8Array(fixture('vocab/ggml-vocab-gpt-2.gguf'));
    const base = await loadGgufSquash({ variant: 'base' });
    assert.equal(base.variant, 'base');
    const a = await base.readHeader(new Blob([bytes]));
    if (!simdSupported()) return t.skip('no wasm SIMD here');
    const simd = await loadGgufSquash({ variant: 'simd' });
    assert.equal(simd.variant, 'simd');
    assert.deepEqual(await simd.readHeader(new Blob([bytes])), a);
});

// --- malformed files: each refused with an error naming the field and byte offset ----------

async function refusal(bytes) {
    try {
        await readGgufHeader(new Blob([bytes]));
    } catch (e) {
        assert.ok(e instanceof GgufError, `expected a GgufError, got ${e}`);
        return e;
    }
    assert.fail('the file was accepted');
}

const good = () => new Uint8Array(fixture('models/llama-gqa.gguf'));

test('bad magic is refused at offset 0', async () => {
    const bytes = good();
    bytes.set([0x47, 0x47, 0x55, 0x58], 0);  // "GGUX"
    const e = await refusal(bytes);
    assert.equal(e.code, 'invalid_file');
    assert.match(e.message, /magic/i);
    assert.match(e.message, /byte offset 0\b/);
});

test('truncated files are refused wherever they end', async () => {
    const bytes = good();
    for (const cut of [0, 3, 10, 23, 100, 5000, 60000, 91935]) {
        const e = await refusal(bytes.subarray(0, cut));
        assert.equal(e.code, 'invalid_file', `cut at ${cut}: ${e.message}`);
        assert.match(e.message, /byte offset \d+/, `cut at ${cut}`);
    }
    // Truncated tensor data: the header is whole, but the tensors point past the end.
    const e = await refusal(bytes.subarray(0, bytes.length - 100));
    assert.equal(e.code, 'invalid_file');
});

test('truncated input from an async iterable (size unknown) is refused at its end', async () => {
    const bytes = good().subarray(0, 777);
    await assert.rejects(readGgufHeader(chunked(bytes, () => 64)), (e) => {
        assert.ok(e instanceof GgufError);
        assert.match(e.message, /truncated/);
        assert.match(e.message, /byte offset \d+/);
        assert.match(e.message, /\b777\b/);
        return true;
    });
});

test('version 1 and big-endian files are refused as unsupported', async () => {
    const v1 = good();
    v1.set([1, 0, 0, 0], 4);
    assert.equal((await refusal(v1)).code, 'unsupported');
    const be = good();
    be.set([0, 0, 0, 3], 4);
    const e = await refusal(be);
    assert.equal(e.code, 'unsupported');
    assert.match(e.message, /big-endian/i);
});

test('a hostile string length is refused before any allocation', async () => {
    // The first key's length field sits at offset 24 (magic, version, tensor count, kv count).
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(24, 0xffffffffffn, true);
    const e = await refusal(bytes);
    assert.equal(e.code, 'invalid_file');
    assert.match(e.message, /byte offset 24\b/);
});

test('an unknown value type names its key', async () => {
    const bytes = good();
    const dv = new DataView(bytes.buffer);
    const keyLen = Number(dv.getBigUint64(24, true));
    dv.setUint32(32 + keyLen, 99, true);
    const e = await refusal(bytes);
    assert.equal(e.code, 'invalid_file');
    assert.match(e.message, /value type 99/);
    assert.match(e.message, new RegExp(`byte offset ${32 + keyLen}\\b`));
});

test('the page-facing errors keep the reader usable afterwards', async () => {
    const core = await loadGgufSquash();
    const bad = good();
    bad[0] = 0;
    await assert.rejects(core.readHeader(new Blob([bad])));
    const info = await core.readHeader(new Blob([good()]));
    assert.equal(info.tensors.length, 75);
});
