// openModel's info is a preview (each array's true len, its first kPreviewArrayItems items,
// "truncated" when cut) and Model.arrayItems reads the rest: checked against the native CLI's
// `info --json`, which writes every item through its own process and file reads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { GgufError, kPreviewArrayItems, loadGgufSquash } from '../../wasm/gguf_squash.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');

function nativeInfo(rel) {
    const r = spawnSync(native, ['info', '--json', path.join(fixtures, rel)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
}

const arrayKeys = (info) => Object.keys(info.metadata).filter((k) => info.metadata[k].type === 'ARRAY');

for (const rel of ['vocab/ggml-vocab-qwen2.gguf', 'vocab/ggml-vocab-llama-spm.gguf', 'models/llama-gqa.gguf']) {
    test(`${rel}: openModel gives true lengths and a preview, arrayItems the native CLI's items`, async (t) => {
        if (!fs.existsSync(native)) {
            t.skip(`no native CLI at ${native}`);
            return;
        }
        const want = nativeInfo(rel);
        const core = await loadGgufSquash();
        const model = await core.openModel([new Blob([fs.readFileSync(path.join(fixtures, rel))])]);
        try {
            const info = model.info;
            assert.deepEqual(info.tensors, want.tensors);
            assert.deepEqual(Object.keys(info.metadata), Object.keys(want.metadata));
            assert.ok(arrayKeys(want).length >= 3);
            for (const [key, full] of Object.entries(want.metadata)) {
                const got = info.metadata[key];
                if (full.type !== 'ARRAY') {
                    assert.deepEqual(got, full, key);
                    continue;
                }
                assert.equal(got.len, full.len, key);
                assert.equal(got.item_type, full.item_type, key);
                assert.deepEqual(got.value, full.value.slice(0, kPreviewArrayItems), key);
                assert.equal(got.truncated, full.len > kPreviewArrayItems ? true : undefined, key);
                // The whole array at once, and in the page's steps of 500.
                assert.deepEqual(model.arrayItems(key), full.value, key);
                const pieces = [];
                for (let start = 0; start < full.len; start += 500) pieces.push(...model.arrayItems(key, start, 500));
                assert.deepEqual(pieces, full.value, key);
                // At and past the end: clamped, never an error.
                assert.deepEqual(model.arrayItems(key, full.len - 2, 10), full.value.slice(-2), key);
                assert.deepEqual(model.arrayItems(key, full.len, 10), [], key);
                assert.deepEqual(model.arrayItems(key, full.len + 1e6, 10), [], key);
                assert.deepEqual(model.arrayItems(key, 3, 0), [], key);
            }
            if (rel.includes('qwen2')) assert.equal(info.metadata['tokenizer.ggml.tokens'].len, 151936);
        } finally {
            model.free();
        }
    });
}

test('arrayItems: unknown keys, scalars and freed models are GgufErrors naming the problem', async () => {
    const core = await loadGgufSquash();
    const model = await core.openModel([new Blob([fs.readFileSync(path.join(fixtures, 'models/llama-gqa.gguf'))])]);
    const isError = (pattern) => (e) => e instanceof GgufError && e.code === 'invalid_argument' && pattern.test(e.message);
    assert.throws(() => model.arrayItems('no.such.key', 0, 1), isError(/no metadata key "no\.such\.key"/));
    assert.throws(() => model.arrayItems('general.architecture'), isError(/"general\.architecture" is not an array/));
    model.free();
    assert.throws(() => model.arrayItems('tokenizer.ggml.tokens'), isError(/freed/));
});

test('openModel({maxArrayItems}) and readHeader: complete arrays when asked, as info --json has them', async () => {
    const core = await loadGgufSquash();
    const bytes = fs.readFileSync(path.join(fixtures, 'models/llama-gqa.gguf'));
    const header = await core.readHeader(new Blob([bytes]));
    assert.equal(header.metadata['tokenizer.ggml.tokens'].value.length, 4096);
    assert.equal(header.metadata['tokenizer.ggml.tokens'].truncated, undefined);
    const model = await core.openModel([new Blob([bytes])], { maxArrayItems: 3 });
    try {
        assert.deepEqual(model.info.metadata['tokenizer.ggml.tokens'].value, header.metadata['tokenizer.ggml.tokens'].value.slice(0, 3));
        assert.equal(model.info.metadata['tokenizer.ggml.tokens'].truncated, true);
    } finally {
        model.free();
    }
});
