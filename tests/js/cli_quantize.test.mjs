// `node wasm/cli.mjs quantize` against llama-quantize's reference runs: a representative subset
// (legacy, k-quants, IQ with the GGUF and the legacy imatrix, option mixes, metadata overrides,
// pruning, copies) must give the reference sha256, and refusals must leave no file behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const models = path.join(root, 'tests/fixtures/models');
const cli = path.join(root, 'wasm/cli.mjs');
const reference = JSON.parse(fs.readFileSync(path.join(models, 'llama-gqa.reference.json')));

const kRuns = [
    'Q4_0', 'Q8_0', 'Q4_K_M', 'Q6_K', 'Q3_K_S', 'IQ4_XS+imatrix', 'IQ2_XXS+imatrix',
    'IQ2_XXS+imatrix-dat', 'Q4_K_M+pure', 'Q4_K_M+tensor-type', 'Q4_K_M+override-kv',
    'Q4_K_M+prune', 'Q4_K_M+output-q8_0+embd-q3_k', 'F16', 'COPY',
    'IQ2_XXS', 'IQ3_XXS+imatrix+include',  // refusals
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-cli-'));
let passed = 0;

for (const name of kRuns) {
    const run = reference.runs.find((r) => r.name === name);
    test(`cli.mjs quantize ${name}`, () => {
        assert.ok(run, `reference run ${name}`);
        const out = path.join(tmp, `${name}.gguf`);
        const args = [cli, 'quantize', ...run.args, 'llama-gqa.gguf', out, run.ftype, '1'];
        const r = spawnSync(process.execPath, args, { cwd: models, encoding: 'utf8' });
        if (run.error) {
            assert.equal(r.status, 1, `refusal exits 1: ${r.stderr}`);
            assert.ok(r.stderr.length > 0, 'a message on stderr');
            assert.ok(!fs.existsSync(out), 'no output file');
            assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith(name + '.gguf')), [], 'no temporary file');
        } else {
            assert.equal(r.status, 0, r.stderr);
            const bytes = fs.readFileSync(out);
            assert.equal(bytes.length, run.file_size);
            assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), run.file_sha256);
            fs.unlinkSync(out);
        }
        passed++;
    });
}

test('cli.mjs quantize: usage errors exit 2, a missing input exits 1', () => {
    const usage = spawnSync(process.execPath, [cli, 'quantize', '--no-such-flag', 'a.gguf', 'Q4_0'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    const bad = spawnSync(process.execPath, [cli, 'quantize', 'llama-gqa.gguf', path.join(tmp, 'x.gguf'), 'NOT_A_TYPE'], { cwd: models, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    const missing = spawnSync(process.execPath, [cli, 'quantize', path.join(tmp, 'missing.gguf'), path.join(tmp, 'y.gguf'), 'Q4_0'], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.ok(!fs.existsSync(path.join(tmp, 'y.gguf')));
});

// One usage text: the node CLI's (wasm/job_binding.cpp) is the native CLI's, byte for byte.
test('cli.mjs quantize --help prints what gguf-squash quantize --help prints', (t) => {
    const native = process.env.GGUF_SQUASH_NATIVE ?? path.join(root, 'build/native/gguf-squash');
    if (!fs.existsSync(native)) {
        t.skip(`no native build at ${native}`);
        return;
    }
    const n = spawnSync(native, ['quantize', '--help'], { encoding: 'utf8' });
    const j = spawnSync(process.execPath, [cli, 'quantize', '--help'], { encoding: 'utf8' });
    assert.equal(n.status, 0, n.stderr);
    assert.equal(j.status, 0, j.stderr);
    assert.match(n.stdout, /--max-buffer-size/);
    assert.equal(j.stdout, n.stdout);
    // A usage error prints the same message and usage on stderr, and exits 2 in both.
    const nb = spawnSync(native, ['quantize', '--no-such-flag', 'a.gguf', 'Q4_0'], { encoding: 'utf8' });
    const jb = spawnSync(process.execPath, [cli, 'quantize', '--no-such-flag', 'a.gguf', 'Q4_0'], { encoding: 'utf8' });
    assert.equal(jb.status, nb.status);
    assert.equal(jb.stderr, nb.stderr);
});

// Runs after every reference run (node:test runs a file's tests in order): fails when one did
// not reach its end, so a run that was skipped or threw early cannot go unnoticed.
test('every reference run matched', () => {
    assert.equal(passed, kRuns.length, `${passed}/${kRuns.length} reference runs matched`);
});
