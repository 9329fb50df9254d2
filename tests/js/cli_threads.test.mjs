// `node wasm/cli.mjs quantize ... NTHREADS` on worker threads (wasm/row_pool.mjs, issue 8):
//  - 2 and 3 threads, and NTHREADS left out (one per core), give llama-quantize's reference
//    sha256 (k-quants, imatrix GGUF and legacy .dat, an IQ type, renamed tensors, tensor types);
//  - a split input with 2 threads gives the reference file, and --keep-split with 2 threads writes
//    the same shard files as the single-threaded streaming job;
//  - a NaN weight with 2 threads fails with the 1-thread message naming tensor, row and column,
//    and leaves no file; Ctrl-C stops the workers and leaves no file; the process always exits;
//  - through the JS API with small row chunks (chunks start inside matrices): the reference
//    bytes, and a NaN's message names the row in the whole tensor, as the streaming job does.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadGgufSquash } from '../../wasm/gguf_squash.mjs';
import { RowPool, runPool } from '../../wasm/row_pool.mjs';
import { fileSource, spawnPoolThread } from '../../wasm/row_pool_node.mjs';
import { splitGguf, splitPath } from './split_shards.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const models = path.join(root, 'tests/fixtures/models');
const cli = path.join(root, 'wasm/cli.mjs');
const reference = JSON.parse(fs.readFileSync(path.join(models, 'llama-gqa.reference.json')));
const referenceRun = (name) => reference.runs.find((r) => r.name === name);
const source = fs.readFileSync(path.join(models, 'llama-gqa.gguf'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-threads-'));
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const listing = () => fs.readdirSync(tmp).sort();
const kTimeoutMs = 120_000;  // a run that does not end (a worker left running) fails here

function quantize(args) {
    const r = spawnSync(process.execPath, [cli, 'quantize', ...args], { cwd: models, encoding: 'utf8', timeout: kTimeoutMs });
    assert.equal(r.error, undefined, `the process exits: ${r.error}`);
    return r;
}

function assertReference(file, run) {
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.length, run.file_size);
    assert.equal(sha(bytes), run.file_sha256);
    fs.unlinkSync(file);
}

const kRuns = ['Q4_K_M', 'Q4_K_M+imatrix', 'IQ2_XXS+imatrix', 'IQ2_XXS+imatrix-dat', 'Q4_K_M+prune',
               'Q4_K_M+tensor-type'];
const cases = [...kRuns.map((name) => [name, '2']), ['Q4_K_M', '3'], ['IQ2_XXS+imatrix', '3'],
               ['Q4_K_M', null], ['Q4_K_M', '0']];
for (const [name, threads] of cases) {
    test(`cli.mjs quantize ${name} with NTHREADS ${threads ?? '(none)'}: the reference bytes`, () => {
        const run = referenceRun(name);
        const out = path.join(tmp, `${name}.gguf`);
        const r = quantize([...run.args, 'llama-gqa.gguf', out, run.ftype, ...(threads ? [threads] : [])]);
        assert.equal(r.status, 0, r.stderr);
        assertReference(out, run);
        assert.deepEqual(listing(), []);
    });
}

// The 3 gguf-split shards of split.test.mjs.
const shards = splitGguf(new Uint8Array(source.buffer, source.byteOffset, source.length), (i) => Math.floor(i / 25));
const shardDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-threads-shards-'));
const shardPaths = shards.map((s, i) => {
    const p = splitPath(path.join(shardDir, 'm'), i, shards.length);
    fs.writeFileSync(p, s.bytes);
    return p;
});

test('cli.mjs quantize Q4_K_M from 3 shards with 2 threads: the reference bytes', () => {
    const run = referenceRun('Q4_K_M');
    const out = path.join(tmp, 'split.gguf');
    const r = quantize([shardPaths[0], out, run.ftype, '2']);
    assert.equal(r.status, 0, r.stderr);
    assertReference(out, run);
});

test('cli.mjs quantize --keep-split with 2 threads: the shards of the 1-thread streaming job', () => {
    const run = referenceRun('IQ3_XXS+imatrix');
    const files = {};
    for (const threads of ['1', '2']) {
        const r = quantize(['--keep-split', ...run.args, shardPaths[0], path.join(tmp, `k${threads}`), run.ftype, threads]);
        assert.equal(r.status, 0, r.stderr);
        files[threads] = shards.map((s, k) => fs.readFileSync(splitPath(path.join(tmp, `k${threads}`), k, 3)));
    }
    assert.deepEqual(files['2'].map(sha), files['1'].map(sha));
    assert.ok(files['2'].every((b) => b.length > 0));
    for (const f of listing()) fs.unlinkSync(path.join(tmp, f));
});

// llama-gqa.gguf with a NaN (F16 0x7e00) at `row`, `column` of an F16 tensor.
async function withNaN(core, tensorName, row, column) {
    const model = await core.openModel([new Uint8Array(source)]);
    model.free();
    const t = model.info.tensors.find((x) => x.name === tensorName);
    assert.equal(t.type, 'F16');
    const bytes = Buffer.from(source);
    bytes.writeUInt16LE(0x7e00, model.info.data_offset + t.offset + 2 * (row * t.shape[0] + column));
    const file = path.join(shardDir, `nan-${tensorName}-${row}.gguf`);
    fs.writeFileSync(file, bytes);
    return file;
}

const core = await loadGgufSquash({ variant: process.env.GGUF_SQUASH_WASM_VARIANT ?? 'auto' });

test('cli.mjs quantize with a NaN weight and 2 threads: the 1-thread message, no file, the process exits', async () => {
    const input = await withNaN(core, 'blk.1.ffn_down.weight', 100, 7);
    const stderr = {};
    for (const threads of ['1', '2', '3']) {
        const r = quantize([input, path.join(tmp, 'nan.gguf'), 'Q4_K_M', threads]);
        assert.equal(r.status, 1, r.stderr);
        stderr[threads] = r.stderr;
        assert.deepEqual(listing(), [], 'no output or temporary file');
    }
    assert.equal(stderr['1'], "gguf-squash quantize: tensor 'blk.1.ffn_down.weight' has NaN or Inf at row 100, " +
                              'column 7 (use --allow-non-finite to quantize it anyway)\n');
    assert.equal(stderr['2'], stderr['1']);
    assert.equal(stderr['3'], stderr['1']);
    // --allow-non-finite reaches the workers too: the same bytes as the streaming job.
    const outs = ['1', '2'].map((threads) => {
        const out = path.join(tmp, `allow-${threads}.gguf`);
        const r = quantize(['--allow-non-finite', input, out, 'Q4_K_M', threads]);
        assert.equal(r.status, 0, r.stderr);
        return fs.readFileSync(out);
    });
    assert.equal(sha(outs[1]), sha(outs[0]));
    for (const f of listing()) fs.unlinkSync(path.join(tmp, f));
});

for (const threads of ['1', '2']) test(`cli.mjs quantize with ${threads} thread(s), interrupted: exit 130, work stopped, no file`, async (t) => {
    const run = referenceRun('IQ2_XXS+imatrix');
    const out = path.join(tmp, 'int.gguf');
    const child = spawn(process.execPath, [cli, 'quantize', ...run.args, 'llama-gqa.gguf', out, run.ftype, threads],
                        { cwd: models, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Signal once the temporary file exists: the workers are converting.
    let status = null;
    exited.then((s) => { status = s; });
    while (!status && !listing().some((f) => f.startsWith('int.gguf.tmp'))) await new Promise((r) => setTimeout(r, 5));
    if (status) {
        t.skip('the run ended before the signal');
        return;
    }
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), kTimeoutMs);
    const { code, signal } = await exited;
    clearTimeout(timer);
    if (code === 0) {
        fs.unlinkSync(out);
        t.skip('the run ended before the signal');
        return;
    }
    assert.equal(signal, null, 'exits by itself');
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted by signal 2; no output written/);
    assert.deepEqual(listing(), []);
});

// Small row chunks (about 40 rows of token_embd), through the same pool the command line uses.
// `readHere`: this thread reads each chunk and sends it (as for a URL); otherwise the workers read
// their chunks straight into their heaps.
async function poolRun(input, args, { imatrix = null, taskBytes, workers = 2, chunksPerWorker, readHere = true }) {
    const src = fileSource(input);
    const model = await core.openModel([src]);
    const argv = [...args, input, path.join(tmp, 'unused.gguf'), 'Q4_K_M'];
    const job = core.createJob(model, argv, { imatrix });
    const pool = await RowPool.start(workers, { files: [input], argv, imatrix, variant: core.variant }, spawnPoolThread);
    const parts = [];
    try {
        await runPool(job, pool, { read: readHere ? (offset, size) => src.readSync(offset, size) : null,
                                   write: (b) => parts.push(b), taskBytes, chunksPerWorker });
        return Buffer.concat(parts);
    } finally {
        pool.terminate();
        job.free();
        model.free();
        src.close();
    }
}

async function streamingError(input) {
    const src = fileSource(input);
    const model = await core.openModel([src]);
    const job = core.createJob(model, [input, path.join(tmp, 'unused.gguf'), 'Q4_K_M']);
    try {
        await job.run({ readInto: (offset, view) => src.readInto(offset, view), writeView: () => {} });
        return null;
    } catch (e) {
        return e;
    } finally {
        job.free();
        model.free();
        src.close();
    }
}

test('runPool with small row chunks: the reference bytes, and a NaN named by its row in the tensor', async () => {
    const run = referenceRun('Q4_K_M+imatrix');
    const imatrix = fs.readFileSync(path.join(models, 'llama-gqa.imatrix.gguf'));
    const bytes = await poolRun(path.join(models, 'llama-gqa.gguf'), run.args, { imatrix, taskBytes: 20_000 });
    assert.equal(bytes.length, run.file_size);
    assert.equal(sha(bytes), run.file_sha256);

    const input = await withNaN(core, 'token_embd.weight', 1000, 3);
    const expected = await streamingError(input);
    assert.match(expected?.message ?? '', /'token_embd\.weight' has NaN or Inf at row 1000, column 3 /);
    await assert.rejects(poolRun(input, [], { taskBytes: 20_000 }),
                         (e) => e.name === 'GgufError' && e.code === expected.code && e.message === expected.message);
});

// Many chunks per tensor (token_embd alone is about 200) on 1, 2 and 3 workers, with the workers
// reading their own input and a deep or a shallow queue: chunks finish out of order across
// workers, and one reordered, dropped or repeated chunk would change the file's sha256.
for (const workers of [1, 2, 3]) {
    for (const chunksPerWorker of [1, 4]) {
        test(`runPool on ${workers} worker(s), ${chunksPerWorker} chunk(s) queued per worker, small chunks: the reference bytes`, async () => {
            const run = referenceRun('Q4_K_M');
            const bytes = await poolRun(path.join(models, 'llama-gqa.gguf'), run.args,
                                        { taskBytes: 5_000, workers, chunksPerWorker, readHere: false });
            assert.equal(bytes.length, run.file_size);
            assert.equal(sha(bytes), run.file_sha256);
        });
    }
}

test.after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(shardDir, { recursive: true, force: true });
});
