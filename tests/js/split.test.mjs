// `node wasm/cli.mjs quantize` on split models. llama-gqa.gguf is cut into 3 gguf-split shards
// (tests/js/split_shards.mjs), then:
//  - naming the first shard gives llama-quantize's bytes for the whole model (Q4_K_M and an
//    imatrix IQ type): llama-quantize drops the input's split.* keys, so nothing differs;
//  - --keep-split writes OUT-0000K-of-00003.gguf, each re-read by the core with the split keys
//    llama-quantize writes, each holding its input shard's tensors; merged they equal the single
//    output's tensors;
//  - another shard named as the model, or a NaN in the last shard, fails with no file left.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadGgufSquash } from '../../wasm/gguf_squash.mjs';
import { splitGguf, splitPath } from './split_shards.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const models = path.join(root, 'tests/fixtures/models');
const cli = path.join(root, 'wasm/cli.mjs');
const reference = JSON.parse(fs.readFileSync(path.join(models, 'llama-gqa.reference.json')));
const source = fs.readFileSync(path.join(models, 'llama-gqa.gguf'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-split-'));
const shards = splitGguf(new Uint8Array(source.buffer, source.byteOffset, source.length), (i) => Math.floor(i / 25));
const shardPaths = shards.map((s, i) => {
    const p = splitPath(path.join(tmp, 'm'), i, shards.length);
    fs.writeFileSync(p, s.bytes);
    return p;
});
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const quantize = (args) => spawnSync(process.execPath, [cli, 'quantize', ...args], { cwd: models, encoding: 'utf8' });
const listing = () => fs.readdirSync(tmp).sort();

// The core's view of a GGUF file: its info JSON (metadata in order, tensors with offsets).
const core = await loadGgufSquash({ variant: process.env.GGUF_SQUASH_WASM_VARIANT ?? 'auto' });
async function inspect(bytes) {
    const src = { size: bytes.length, read: async (o, n) => bytes.subarray(o, Math.min(bytes.length, o + n)) };
    const model = await core.openModel([src]);
    model.free();
    return model.info;
}
function tensorBytes(bytes, info) {
    const out = new Map();
    for (const t of info.tensors) {
        const at = info.data_offset + t.offset;
        out.set(t.name, sha(bytes.subarray(at, at + t.nbytes)));
    }
    return out;
}

let matched = 0;
test('the split fixture: 3 shards that the core reads as llama-gqa.gguf', async () => {
    assert.equal(shards.length, 3);
    assert.deepEqual(shards.map((s) => s.tensors.length), [25, 25, 25]);
    const core0 = await inspect(shards[0].bytes);
    assert.equal(core0.metadata['split.count'].value, 3);
});

for (const name of ['Q4_K_M', 'IQ3_XXS+imatrix']) {
    const run = reference.runs.find((r) => r.name === name);
    test(`cli.mjs quantize ${name} from 3 shards is llama-quantize's file for the whole model`, () => {
        const out = path.join(tmp, `${name}.gguf`);
        const r = quantize([...run.args, shardPaths[0], out, run.ftype, '1']);
        assert.equal(r.status, 0, r.stderr);
        const bytes = fs.readFileSync(out);
        assert.equal(bytes.length, run.file_size);
        assert.equal(sha(bytes), run.file_sha256);
        fs.unlinkSync(out);
        matched++;
    });
}

test('cli.mjs quantize --keep-split writes the input shards', async () => {
    const run = reference.runs.find((r) => r.name === 'IQ3_XXS+imatrix');
    const single = path.join(tmp, 'single.gguf');
    let r = quantize([...run.args, shardPaths[0], single, run.ftype, '1']);
    assert.equal(r.status, 0, r.stderr);
    const singleBytes = fs.readFileSync(single);
    assert.equal(sha(singleBytes), run.file_sha256);
    const singleInfo = await inspect(singleBytes);
    const expected = tensorBytes(singleBytes, singleInfo);

    // OUT with .gguf: stripped, as llama-quantize does, then -0000K-of-00003.gguf.
    r = quantize(['--keep-split', ...run.args, shardPaths[0], path.join(tmp, 'q.gguf'), run.ftype, '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(path.join(tmp, 'q.gguf')));
    const merged = new Map();
    const singleKeys = Object.keys(singleInfo.metadata);
    for (let k = 0; k < 3; k++) {
        const bytes = fs.readFileSync(splitPath(path.join(tmp, 'q'), k, 3));
        const info = await inspect(bytes);
        const keys = Object.keys(info.metadata);
        // llama-quantize appends the split keys (gguf_set_val_*) after shard 0's metadata.
        assert.deepEqual(keys, [...(k === 0 ? singleKeys : []), 'split.no', 'split.count', 'split.tensors.count']);
        assert.equal(info.metadata['split.no'].type, 'UINT16');
        assert.equal(info.metadata['split.no'].value, k);
        assert.equal(info.metadata['split.count'].type, 'UINT16');
        assert.equal(info.metadata['split.count'].value, 3);
        assert.equal(info.metadata['split.tensors.count'].type, 'INT32');
        assert.equal(info.metadata['split.tensors.count'].value, 75);
        assert.deepEqual(info.tensors.map((t) => t.name), shards[k].tensors);
        for (const [n, h] of tensorBytes(bytes, info)) merged.set(n, h);
    }
    assert.deepEqual([...merged.entries()].sort(), [...expected.entries()].sort());
    for (const f of listing()) assert.ok(!f.includes('.tmp'), f);
    console.log(`cli.mjs --keep-split: 3 shards, ${merged.size} tensors equal to the single output`);
});

test('cli.mjs quantize: another shard as the model, or a NaN in the last shard, leaves no file', () => {
    const before = listing();
    let r = quantize([shardPaths[1], path.join(tmp, 'o.gguf'), 'Q8_0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /first split/);
    assert.deepEqual(listing(), before);

    // A NaN weight in the last F16 tensor of shard 3: with --keep-split shards 1 and 2 are
    // complete before shard 3 fails.
    const bytes = Buffer.from(shards[2].bytes);
    const info = shards[2];
    fs.writeFileSync(shardPaths[2], bytes);
    return inspect(new Uint8Array(bytes)).then((h) => {
        const t = h.tensors.filter((x) => x.type === 'F16').at(-1);
        assert.ok(t, `an F16 tensor in ${info.tensors}`);
        const at = h.data_offset + t.offset + 200;
        bytes[at] = 0x00;
        bytes[at + 1] = 0x7e;
        fs.writeFileSync(shardPaths[2], bytes);
        r = quantize(['--keep-split', shardPaths[0], path.join(tmp, 'o'), 'Q8_0']);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /NaN/);
        assert.match(r.stderr, /writing shard 3 of 3/);
        assert.deepEqual(listing(), before);
        fs.writeFileSync(shardPaths[2], shards[2].bytes);
    });
});

test('both reference runs on 3 shards matched', () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.equal(matched, 2, `${matched}/2 reference runs matched`);
});
