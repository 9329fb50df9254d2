// The JS API: core.quality(model, options) and core.fit(model, options) give what the native CLI
// gives (`quality --json`, `fit --json` and its -o file) for a model opened from a Blob or a
// {size, read} source; onProgress reports the measurement going forward to its end; an
// AbortSignal stops it between chunks (before any read when already aborted), and the core goes
// on working after an abort.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadGgufSquash } from '../../wasm/gguf_squash.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const models = path.join(root, 'tests/fixtures/models');
const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');
const cli = path.join(root, 'wasm/cli.mjs');
// The reference output: the native CLI's, else (no native build) the node CLI's.
const [refCmd, refPre] = fs.existsSync(native) ? [native, []] : [process.execPath, [cli]];
const reference = (args) => {
    const r = spawnSync(refCmd, [...refPre, ...args], { cwd: models, encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
};

const core = await loadGgufSquash({ variant: process.env.GGUF_SQUASH_WASM_VARIANT ?? 'auto' });
const bytes = fs.readFileSync(path.join(models, 'llama-gqa.gguf'));
const imatrix = fs.readFileSync(path.join(models, 'llama-gqa.imatrix.gguf'));

// A {size, read} source that counts its reads.
function countingSource() {
    const src = {
        size: bytes.length, reads: 0, bytes: 0,
        read: async (offset, length) => {
            src.reads++;
            src.bytes += Math.min(length, bytes.length - offset);
            return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, Math.max(0, Math.min(length, bytes.length - offset)));
        },
    };
    return src;
}

test('core.quality on a Blob equals quality --json, with and without an imatrix', async () => {
    const model = await core.openModel([new Blob([bytes])]);
    try {
        const plain = await core.quality(model, { types: ['Q4_K_M', 'Q2_K', 'Q8_0'] });
        assert.deepEqual(plain, JSON.parse(reference(['quality', '--json', '--types', 'Q4_K_M,Q2_K,Q8_0', 'llama-gqa.gguf'])));
        assert.equal(plain.ftypes.length, 3);
        const weighted = await core.quality(model, { types: 'IQ2_XXS,Q4_K_S', rows: 'all', imatrix, imatrixName: 'llama-gqa.imatrix.gguf' });
        assert.deepEqual(weighted, JSON.parse(reference(['quality', '--json', '--types', 'IQ2_XXS,Q4_K_S', '--rows', 'all',
                                                         '--imatrix', 'llama-gqa.imatrix.gguf', 'llama-gqa.gguf'])));
        assert.ok(weighted.ftypes.every((f) => f.rows === 'all' && typeof f.weighted_mse === 'number'));
    } finally {
        model.free();
    }
});

test('core.fit equals fit --json and its -o file', async () => {
    const types = path.join(os.tmpdir(), `gguf-squash-fit-api-${process.pid}.txt`);
    try {
        const expected = JSON.parse(reference(['fit', '--json', '--target-size', '4.8MB', '--imatrix', 'llama-gqa.imatrix.gguf',
                                               '-o', types, 'llama-gqa.gguf']));
        const model = await core.openModel([countingSource()]);
        try {
            const fit = await core.fit(model, {
                target: { kind: 'file_size', bytes: 4_800_000 }, imatrix, imatrixName: 'llama-gqa.imatrix.gguf',
                typesFile: types, imatrixFile: 'llama-gqa.imatrix.gguf', modelName: 'llama-gqa.gguf', outName: 'llama-gqa-fit.gguf',
            });
            const { typeFile, ...doc } = fit;
            assert.deepEqual(doc, expected);
            assert.equal(typeFile, fs.readFileSync(types, 'utf8'));
            assert.ok(fit.file_size <= 4_800_000);
        } finally {
            model.free();
        }
    } finally {
        fs.rmSync(types, { force: true });
    }
});

test('core.quality: onProgress goes forward to the whole input; only measured rows are read', async () => {
    const src = countingSource();
    const model = await core.openModel([src]);
    try {
        const headerReads = src.reads, headerBytes = src.bytes;
        const seen = [];
        const report = await core.quality(model, { types: ['Q4_K_M'], onProgress: (p) => seen.push(p) });
        assert.ok(seen.length > 10, `${seen.length} progress calls`);
        for (let i = 1; i < seen.length; i++) {
            assert.ok(seen[i].bytesRead >= seen[i - 1].bytesRead);
            assert.ok(seen[i].tensorIndex >= seen[i - 1].tensorIndex);
        }
        const last = seen.at(-1);
        assert.equal(last.bytesRead, last.bytesTotal);
        assert.equal(last.tensorIndex, last.tensorCount);
        // Every quantized tensor measured (rows_measured > 0) is one request of the job.
        const measured = report.ftypes[0].tensors.filter((t) => t.rows_measured > 0).length;
        assert.equal(last.tensorCount, measured);
        // Sampled: the job read what it says, far less than the tensor data.
        assert.equal(src.bytes - headerBytes, last.bytesTotal);
        assert.ok(src.reads > headerReads);
        assert.ok(last.bytesTotal < model.tensorBytes / 10, `${last.bytesTotal} of ${model.tensorBytes}`);
    } finally {
        model.free();
    }
});

test('core.quality and core.fit: an AbortSignal stops the measurement; the core still works after', async () => {
    const model = await core.openModel([new Blob([bytes])]);
    try {
        // Aborted midway, from onProgress: rejects with the signal's reason.
        const ac = new AbortController();
        let calls = 0, total = 0;
        await assert.rejects(core.quality(model, {
            rows: 'all', signal: ac.signal,
            onProgress: (p) => {
                calls++;
                total = p.bytesTotal;
                if (p.bytesRead > p.bytesTotal / 3 && !ac.signal.aborted) ac.abort(new Error('stop here'));
                assert.ok(!ac.signal.aborted || p.bytesRead < p.bytesTotal, 'ran to the end after the abort');
            },
        }), /stop here/);
        assert.ok(calls > 1 && total > 0);
        // Already aborted: nothing is read.
        const src = countingSource();
        const m2 = await core.openModel([src]);
        const readsBefore = src.reads;
        try {
            const pre = AbortSignal.abort();
            await assert.rejects(core.fit(m2, { target: { kind: 'bpw', bpw: 4 }, signal: pre }), (e) => e.name === 'AbortError');
            assert.equal(src.reads, readsBefore);
        } finally {
            m2.free();
        }
        // A timeout signal, as a page would use: an AbortError-like TimeoutError.
        await assert.rejects(core.quality(model, { rows: 'all', types: 'all', signal: AbortSignal.timeout(30) }),
                             (e) => e.name === 'TimeoutError');
        // The same core measures again, with the same figures as before.
        const again = await core.quality(model, { types: ['Q4_K_M', 'Q2_K', 'Q8_0'] });
        assert.deepEqual(again, JSON.parse(reference(['quality', '--json', '--types', 'Q4_K_M,Q2_K,Q8_0', 'llama-gqa.gguf'])));
    } finally {
        model.free();
    }
});

test('core.quality / core.fit: bad options are GgufErrors with the core\'s message', async () => {
    const model = await core.openModel([new Blob([bytes])]);
    try {
        await assert.rejects(core.quality(model, { types: 'Q4_K_M,Q9' }), (e) => e.name === 'GgufError' && /unknown type 'Q9'/.test(e.message));
        await assert.rejects(core.fit(model, { target: { kind: 'file_size', bytes: 1000 } }),
                             (e) => e.name === 'GgufError' && /the smallest file the plan allows is \d+ bytes/.test(e.message));
        await assert.rejects(core.fit(model, { target: { kind: 'memory', bytes: 40e6, kvType: 'q5_1' } }), (e) => e.name === 'GgufError');
    } finally {
        model.free();
    }
});
