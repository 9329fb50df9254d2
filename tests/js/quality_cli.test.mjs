// `node wasm/cli.mjs quality` and `fit` give the native CLI's output byte for byte (stdout,
// stderr, exit status and the -o types file) on the fixture model: text and --json, with and
// without an imatrix, sampled and every row, a split model, a model read from a URL, and the
// usage errors and impossible targets. The fit's types file, given to `quantize
// --tensor-type-file`, makes a file of exactly the size fit predicted.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { makeRepo, startHubEmulator } from '../support/hub_emulator.mjs';
import { splitGguf, splitPath } from './split_shards.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const models = path.join(root, 'tests/fixtures/models');
const cli = path.join(root, 'wasm/cli.mjs');
const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');
const haveNative = fs.existsSync(native);
const reference = JSON.parse(fs.readFileSync(path.join(models, 'llama-gqa.reference.json')));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-quality-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const source = fs.readFileSync(path.join(models, 'llama-gqa.gguf'));
const shards = splitGguf(new Uint8Array(source.buffer, source.byteOffset, source.length), (i) => Math.floor(i / 30));
const shardPaths = shards.map((s, i) => {
    const p = splitPath(path.join(tmp, 'split'), i, shards.length);
    fs.writeFileSync(p, s.bytes);
    return p;
});

const runNode = (args, cwd = models) => spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'buffer', maxBuffer: 1 << 28 });
const runNative = (args, cwd = models) => spawnSync(native, args, { cwd, encoding: 'buffer', maxBuffer: 1 << 28 });

// Both CLIs on `args`; each gets its own -o file (TYPES is replaced by a path per CLI). Returns
// both results and the two types files' bytes (null when not written).
function both(args) {
    const out = (who) => path.join(tmp, `${who}-${Math.random().toString(36).slice(2)}.txt`);
    const ours = out('node'), theirs = out('native');
    const r = { ours: runNode(args.map((a) => (a === 'TYPES' ? ours : a))) };
    r.oursFile = fs.existsSync(ours) ? fs.readFileSync(ours) : null;
    if (haveNative) {
        r.theirs = runNative(args.map((a) => (a === 'TYPES' ? theirs : a)));
        r.theirsFile = fs.existsSync(theirs) ? fs.readFileSync(theirs) : null;
        // The files' names appear in the output: make them the same for the comparison.
        r.theirs.stdout = Buffer.from(r.theirs.stdout.toString().replaceAll(theirs, ours));
    }
    return r;
}

function assertSame(r, t, args = []) {
    if (!haveNative) {
        t.diagnostic(`no native CLI at ${native}: checking the node CLI alone`);
        return false;
    }
    assert.equal(r.ours.status, r.theirs.status, `exit status; node stderr: ${r.ours.stderr}`);
    assert.equal(r.ours.stderr.toString(), r.theirs.stderr.toString());
    assert.equal(r.ours.stdout.toString(), r.theirs.stdout.toString());
    assert.deepEqual(r.oursFile, r.theirsFile, 'types files differ');
    // A successful fit given -o wrote its file (both did: they are equal).
    if (r.ours.status === 0 && args[0] === 'fit' && args.includes('-o')) assert.ok(r.oursFile?.length > 0, 'no types file');
    return true;
}

const q4kmSize = reference.runs.find((x) => x.name === 'Q4_K_M').file_size;

const cases = [
    ['quality', 'llama-gqa.gguf'],
    ['quality', '--json', '--types', 'all', 'llama-gqa.gguf'],
    ['quality', '--json', '--rows', 'all', '--imatrix', 'llama-gqa.imatrix.gguf', '--types', 'Q4_K_M,IQ2_XXS,Q6_K', 'llama-gqa.gguf'],
    ['quality', '--rows', '3', '--imatrix', 'llama-gqa.imatrix.dat', 'llama-gqa.gguf'],
    ['fit', '--target-size', String(q4kmSize), '-o', 'TYPES', 'llama-gqa.gguf'],
    ['fit', '--json', '--target-size', '4.5MiB', '--imatrix', 'llama-gqa.imatrix.gguf', '-o', 'TYPES', 'llama-gqa.gguf'],
    ['fit', '--json', '--target-bpw', '3.5', '--rows', 'all', 'llama-gqa.gguf'],
    ['fit', '--memory', '40MB', '--ctx', '4096', '--kv-type', 'q8_0', '--base', 'Q3_K_M', 'llama-gqa.gguf'],
    // usage errors (exit 2) and refusals (exit 1)
    ['quality', '--types', 'Q4_K_M,Q9_X', 'llama-gqa.gguf'],
    ['quality', '--rows', '0', 'llama-gqa.gguf'],
    ['quality', '--bogus', 'llama-gqa.gguf'],
    ['quality'],
    ['quality', 'missing.gguf'],
    ['fit', 'llama-gqa.gguf'],
    ['fit', '--target-size', '5MB', '--target-bpw', '4', 'llama-gqa.gguf'],
    ['fit', '--target-size', '4.5XB', 'llama-gqa.gguf'],
    ['fit', '--target-bpw', '-1', 'llama-gqa.gguf'],
    ['fit', '--target-size', '5MB', '--ctx', '512', 'llama-gqa.gguf'],
    ['fit', '--memory', '20MB', '--kv-type', 'q5_1', 'llama-gqa.gguf'],
    ['fit', '--target-size', '5MB', '--base', 'Q9', 'llama-gqa.gguf'],
    ['fit', '--target-size', '1000', '-o', 'TYPES', 'llama-gqa.gguf'],
    ['fit', '--memory', '16MB', '--ctx', '65536', 'llama-gqa.gguf'],
    ['quality', '--help'],
    ['fit', '--help'],
];

for (const args of cases) {
    test(`cli.mjs ${args.join(' ')} matches the native CLI`, (t) => {
        const r = both(args);
        if (!assertSame(r, t, args)) assert.ok([0, 1, 2].includes(r.ours.status), r.ours.stderr.toString());
        if (args.includes('--json') && r.ours.status === 0) {
            const doc = JSON.parse(r.ours.stdout.toString());
            assert.ok(args[0] === 'quality' ? doc.ftypes.length > 0 : doc.tensor_types.length > 0);
        }
    });
}

test('quality --json: node and native agree on every ftype and tensor, and the sizes are llama-quantize\'s', (t) => {
    const args = ['quality', '--json', '--imatrix', 'llama-gqa.imatrix.gguf', 'llama-gqa.gguf'];
    const ours = runNode(args);
    assert.equal(ours.status, 0, ours.stderr.toString());
    const doc = JSON.parse(ours.stdout.toString());
    // The file sizes are the plan's: those llama-quantize wrote with the same imatrix.
    let compared = 0;
    for (const f of doc.ftypes) {
        const run = reference.runs.find((x) => x.ftype === f.name && !x.error &&
                                        x.args.join(' ') === '--imatrix llama-gqa.imatrix.gguf');
        if (!run) continue;
        assert.equal(f.file_size, run.file_size, f.name);
        compared++;
    }
    assert.ok(compared >= 20, `compared ${compared} ftypes with the reference`);
    if (!haveNative) return t.diagnostic('no native CLI: JSON compared with the reference sizes only');
    const theirs = JSON.parse(runNative(args).stdout.toString());
    assert.equal(doc.ftypes.length, theirs.ftypes.length);
    assert.deepEqual(doc, theirs);
});

test('fit: impossible targets name the smallest size that works, and that size works', (t) => {
    const tooSmall = runNode(['fit', '--target-size', '1000', 'llama-gqa.gguf']);
    assert.equal(tooSmall.status, 1);
    const m = /no mix fits in 1000 bytes: the smallest file the plan allows is (\d+) bytes/.exec(tooSmall.stderr.toString());
    assert.ok(m, tooSmall.stderr.toString());
    const smallest = Number(m[1]);
    // No standard type llama-quantize wrote without an imatrix is smaller than the smallest mix.
    const plain = reference.runs.filter((x) => !x.error && x.args.length === 0);
    assert.ok(plain.length > 20);
    for (const x of plain) assert.ok(x.file_size >= smallest, `${x.name} ${x.file_size} < ${smallest}`);
    const at = runNode(['fit', '--json', '--target-size', String(smallest), 'llama-gqa.gguf']);
    assert.equal(at.status, 0, at.stderr.toString());
    assert.equal(JSON.parse(at.stdout.toString()).file_size, smallest);
    const below = runNode(['fit', '--target-size', String(smallest - 1), 'llama-gqa.gguf']);
    assert.equal(below.status, 1);
    assert.match(below.stderr.toString(), new RegExp(`the smallest file the plan allows is ${smallest} bytes`));
    if (haveNative) assert.equal(tooSmall.stderr.toString(), runNative(['fit', '--target-size', '1000', 'llama-gqa.gguf']).stderr.toString());
    else t.diagnostic('no native CLI');
});

test('fit -o: the types file quantizes (node quantize --tensor-type-file) to exactly the predicted size', () => {
    const types = path.join(tmp, 'fit-types.txt');
    const fit = runNode(['fit', '--json', '--target-size', '4.5MiB', '--imatrix', 'llama-gqa.imatrix.gguf', '-o', types, 'llama-gqa.gguf']);
    assert.equal(fit.status, 0, fit.stderr.toString());
    const doc = JSON.parse(fit.stdout.toString());
    assert.ok(doc.file_size <= 4.5 * 2 ** 20);
    const lines = fs.readFileSync(types, 'utf8').trim().split('\n');
    assert.equal(lines.length, doc.tensor_types.length);
    assert.deepEqual(lines, doc.tensor_types.map((x) => `^${x.name.replaceAll('.', '\\.')}$=${x.type}`));
    // The command it prints, run by our quantize (byte-identical to llama-quantize's).
    assert.equal(doc.command, `llama-quantize --tensor-type-file ${types} --imatrix llama-gqa.imatrix.gguf llama-gqa.gguf llama-gqa-fit.gguf ${doc.base}`);
    const out = path.join(tmp, 'fit-out.gguf');
    const q = runNode(['quantize', '--tensor-type-file', types, '--imatrix', 'llama-gqa.imatrix.gguf', 'llama-gqa.gguf', out, doc.base, '1']);
    assert.equal(q.status, 0, q.stderr.toString());
    assert.equal(fs.statSync(out).size, doc.file_size);
    const info = JSON.parse(runNode(['info', '--json', out]).stdout.toString());
    const typeOf = new Map(info.tensors.map((x) => [x.name, x.type]));
    for (const x of doc.tensor_types) assert.equal(typeOf.get(x.name)?.toLowerCase(), x.type.toLowerCase(), x.name);
});

test('quality and fit on a split model match the native CLI', (t) => {
    assert.ok(shards.length >= 3);
    for (const args of [['quality', '--json', '--types', 'Q4_K_M,Q8_0', shardPaths[0]],
                        ['fit', '--target-size', '5MB', '-o', 'TYPES', shardPaths[0]]]) {
        const r = both(args);
        assert.equal(r.ours.status, 0, r.ours.stderr.toString());
        if (!assertSame(r, t, args)) return;
    }
    // Not the first shard: refused as the native CLI refuses it.
    assertSame(both(['quality', shardPaths[1]]), t);
});

let emu, hubRoot;
before(async () => {
    hubRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-quality-hub-'));
    makeRepo(hubRoot, 'test/llama-gqa', { 'llama-gqa.gguf': path.join(models, 'llama-gqa.gguf') });
    emu = await startHubEmulator({ root: hubRoot });
});
after(async () => {
    await emu?.close();
    fs.rmSync(hubRoot, { recursive: true, force: true });
});

// Asynchronous: the emulator runs in this process.
const runNodeAsync = (args) => new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: models, env: { ...process.env, HF_TOKEN: '' } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
});

test('quality --json on a URL gives what the local file gives (reading only the measured rows)', async () => {
    const url = emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf');
    const before = emu.stats().bytes;
    const r = await runNodeAsync(['quality', '--json', '--types', 'Q4_K_M,Q6_K', url]);
    assert.equal(r.status, 0, r.stderr);
    const fetched = emu.stats().bytes - before;
    const local = runNode(['quality', '--json', '--types', 'Q4_K_M,Q6_K', 'llama-gqa.gguf']);
    assert.equal(r.stdout, local.stdout.toString());
    assert.ok(fetched < source.length / 2, `fetched ${fetched} of ${source.length} bytes`);
});
