// `node wasm/cli.mjs quantize URL` from the Hub emulator (tests/support/hub_emulator.mjs): Q4_K_M
// on 1 and 2 threads and IQ2_XXS with --imatrix URL, each through a dropped connection and a 503,
// give llama-quantize's reference sha256 while the emulator sends at most the file's size + its
// header + 2%; every error case gives its message and leaves no file; the token opens a gated
// repo and never reaches the CDN.
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
const models = path.join(root, 'tests/fixtures/models');
const cli = path.join(root, 'wasm/cli.mjs');
const reference = JSON.parse(fs.readFileSync(path.join(models, 'llama-gqa.reference.json')));
const ref = (name) => reference.runs.find((r) => r.name === name);
const modelSize = fs.statSync(path.join(models, 'llama-gqa.gguf')).size;
const imatrixSize = fs.statSync(path.join(models, 'llama-gqa.imatrix.gguf')).size;

let emu, hubRoot;
before(async () => {
    hubRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-hub-'));
    const files = { 'llama-gqa.gguf': path.join(models, 'llama-gqa.gguf'),
                    'llama-gqa.imatrix.gguf': path.join(models, 'llama-gqa.imatrix.gguf') };
    makeRepo(hubRoot, 'test/llama-gqa', files);
    makeRepo(hubRoot, 'test/gated', files);
    emu = await startHubEmulator({ root: hubRoot, gated: ['test/gated'] });
});
after(async () => {
    await emu?.close();
    fs.rmSync(hubRoot, { recursive: true, force: true });
});

// Asynchronous: the emulator runs in this process.
function run(args, { cwd, env = {} }) {
    return new Promise((resolve) => {
        const p = spawn(process.execPath, [cli, 'quantize', ...args], { cwd, env: { ...process.env, HF_TOKEN: '', ...env } });
        let stderr = '';
        p.stderr.on('data', (d) => { stderr += d; });
        p.stdout.resume();
        p.on('close', (status) => resolve({ status, stderr }));
    });
}

const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
// The input's header size (its data offset; the reference records the output's), from info --json.
let header = 0;
const headerSize = () => {
    header ||= JSON.parse(spawnSync(process.execPath, [cli, 'info', '--json', path.join(models, 'llama-gqa.gguf')],
                                    { encoding: 'utf8' }).stdout).data_offset;
    return header;
};

for (const c of [
    { name: 'Q4_K_M 1 thread', run: 'Q4_K_M', args: (u) => [u.model, 'Q4_K_M', '1'], out: 'ggml-model-Q4_K_M.gguf', extra: 0 },
    { name: 'Q4_K_M 2 threads', run: 'Q4_K_M', args: (u) => [u.model, 'Q4_K_M', '2'], out: 'ggml-model-Q4_K_M.gguf', extra: 0 },
    { name: 'IQ2_XXS --imatrix URL', run: 'IQ2_XXS+imatrix', args: (u) => ['--imatrix', u.imatrix, u.model, 'IQ2_XXS', '1'],
      out: 'ggml-model-IQ2_XXS.gguf', extra: imatrixSize },
    { name: 'IQ2_XXS --imatrix URL 2 threads', run: 'IQ2_XXS+imatrix', args: (u) => ['--imatrix', u.imatrix, u.model, 'IQ2_XXS', '2'],
      out: 'ggml-model-IQ2_XXS.gguf', extra: imatrixSize },
]) {
    test(`cli.mjs quantize URL ${c.name} through a drop and a 503 equals the reference`, async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-url-'));
        try {
            const u = { model: emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf'),
                        imatrix: emu.resolveUrl('test/llama-gqa', 'llama-gqa.imatrix.gguf') };
            const before = emu.stats().bytes;
            emu.setFaults({ dropAfterBytes: 3_000_000, status503Once: true });
            const r = await run(c.args(u), { cwd: dir });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(fs.readdirSync(dir), [c.out]);
            assert.equal(sha(path.join(dir, c.out)), ref(c.run).file_sha256);
            const fetched = emu.stats().bytes - before;
            assert.ok(fetched >= modelSize, `fetched ${fetched}`);
            assert.ok(fetched <= modelSize + headerSize() + modelSize * 0.02 + c.extra, `fetched ${fetched} of ${modelSize}`);
            const left = emu.faults();
            assert.ok(!('dropAfterBytes' in left) && !('status503Once' in left), 'both faults fired');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
}

test('cli.mjs quantize URL: each error names its cause and leaves no file', async () => {
    const model = emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf');
    const gated = emu.resolveUrl('test/gated', 'llama-gqa.gguf');
    const cases = [
        [{}, [emu.resolveUrl('test/llama-gqa', 'missing.gguf'), 'Q4_K_M', '1'], {}, `${emu.resolveUrl('test/llama-gqa', 'missing.gguf')}: not found (HTTP 404)`],
        [{ notFound: true }, [model, 'Q4_K_M', '1'], {}, 'not found (HTTP 404)'],
        [{}, [gated, 'Q4_K_M', '1'], {}, 'the repository is gated or private'],
        [{}, ['--hf-token', 'wrong', gated, 'Q4_K_M', '1'], {}, 'the token was refused'],
        [{ ignoreRange: true }, [model, 'Q4_K_M', '1'], {}, 'ignores Range requests'],
        [{ html: true }, [model, 'Q4_K_M', '1'], {}, 'the server sent an HTML page'],
        [{ changeEtagAfter: 4 }, [model, 'Q4_K_M', '2'], {}, 'the file changed on the server while it was being read (ETag'],
        [{}, ['--imatrix', emu.resolveUrl('test/llama-gqa', 'none.imatrix'), model, 'IQ2_XXS', '1'], {}, 'none.imatrix: not found (HTTP 404)'],
    ];
    let checked = 0;
    for (const [faults, args, env, message] of cases) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-url-'));
        try {
            emu.setFaults(faults);
            const r = await run(args, { cwd: dir, env });
            assert.equal(r.status, 1, `${JSON.stringify(faults)} ${args.join(' ')}: ${r.stderr}`);
            assert.ok(r.stderr.includes(message), `expected "${message}" in: ${r.stderr}`);
            assert.deepEqual(fs.readdirSync(dir), [], 'no file left');
            checked++;
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    assert.equal(checked, cases.length);
    emu.setFaults({});
    // The token opens the gated repo and never reaches the CDN.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-url-'));
    try {
        const seen = emu.stats().authorizationSeenByCdn;
        const r = await run([gated, 'Q8_0', '1'], { cwd: dir, env: { HF_TOKEN: emu.token } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(sha(path.join(dir, 'ggml-model-Q8_0.gguf')), ref('Q8_0').file_sha256);
        assert.equal(emu.stats().authorizationSeenByCdn, seen);
        assert.ok(emu.log.some((e) => e.server === 'hub' && e.authorization === `Bearer ${emu.token}`), 'the Hub got the token');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('cli.mjs quantize URL: a stall resumes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-url-'));
    try {
        emu.setFaults({ stallAfterBytes: 5_000_000, stallMs: 20000 });
        const r = await run([emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf'), 'Q4_K_M', '1'],
                            { cwd: dir, env: { GGUF_SQUASH_HTTP_STALL_SECONDS: '1' } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(sha(path.join(dir, 'ggml-model-Q4_K_M.gguf')), ref('Q4_K_M').file_sha256);
        assert.ok(!('stallAfterBytes' in emu.faults()), 'the stall fired');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('cli.mjs estimate (a URL and a file) prints what the native CLI prints', async (t) => {
    const native = process.env.GGUF_SQUASH_NATIVE ?? path.join(root, 'build/native/gguf-squash');
    if (!fs.existsSync(native)) {
        t.skip(`no native build at ${native}`);
        return;
    }
    const url = emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf');
    const file = path.join(models, 'llama-gqa.gguf');
    const runNode = (args) => new Promise((resolve) => {
        const p = spawn(process.execPath, [cli, 'estimate', ...args]);
        let stdout = '';
        p.stdout.on('data', (d) => { stdout += d; });
        p.stderr.resume();
        p.on('close', (status) => resolve({ status, stdout }));
    });
    let compared = 0;
    for (const args of [[url], ['--json', '--ctx', '8192', '--memory', '0.02', url], ['--json', file]]) {
        const n = await new Promise((resolve) => {
            const p = spawn(native, ['estimate', ...args.map((a) => (a === url ? file : a))]);
            let stdout = '';
            p.stdout.on('data', (d) => { stdout += d; });
            p.on('close', (status) => resolve({ status, stdout }));
        });
        const w = await runNode(args);
        assert.equal(w.status, 0);
        assert.equal(w.stdout, n.stdout, args.join(' '));
        compared++;
    }
    const bad = await runNode(['--kv-type', 'q5_0', file]);
    assert.equal(bad.status, 2);
    assert.equal(compared, 3);
});

test('JS API: core.openModel([URL]) and job.run with no read stream from the URL', async () => {
    const { loadGgufSquash } = await import('../../wasm/gguf_squash.mjs');
    const core = await loadGgufSquash();
    const before = emu.stats().bytes;
    emu.setFaults({ dropAfterBytes: 2_000_000, status503Once: true });
    const model = await core.openModel([emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf')]);
    const job = core.createJob(model, ['in.gguf', 'out.gguf', 'Q4_K_M']);
    const hash = crypto.createHash('sha256');
    try {
        await job.run({ write: (bytes) => { hash.update(bytes); } });
    } finally {
        job.free();
        model.free();
    }
    assert.equal(hash.digest('hex'), ref('Q4_K_M').file_sha256);
    const fetched = emu.stats().bytes - before;
    assert.ok(fetched >= modelSize && fetched <= modelSize + headerSize() + modelSize * 0.02, `fetched ${fetched}`);
});
