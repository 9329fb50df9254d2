// `node wasm/cli.mjs info` gives the native CLI's output byte for byte (stdout, stderr and exit
// status), for text and --json, several files, broken files and usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const cli = path.join(root, 'wasm/cli.mjs');
const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-info-'));
const model = fs.readFileSync(path.join(fixtures, 'models/llama-gqa.gguf'));
const badMagic = Buffer.from(model);
badMagic.write('GGUX', 0);
fs.writeFileSync(path.join(tmp, 'bad-magic.gguf'), badMagic);
fs.writeFileSync(path.join(tmp, 'truncated.gguf'), model.subarray(0, 5000));

const cases = [
    ['info', 'models/llama-gqa.gguf'],
    ['info', '--json', 'models/llama-gqa.gguf'],
    ['info', 'vocab/ggml-vocab-qwen2.gguf', 'models/llama-gqa.gguf', 'kernels/golden-seed1.gguf'],
    ['info', '--json', 'vocab/ggml-vocab-gpt-2.gguf', 'vocab/ggml-vocab-llama-spm.gguf', 'kernels/golden-seed1.gguf'],
    ['info', path.join(tmp, 'bad-magic.gguf'), 'models/llama-gqa.gguf', path.join(tmp, 'truncated.gguf'), path.join(tmp, 'missing.gguf')],
    ['info', '--json', path.join(tmp, 'truncated.gguf')],
    ['info'],
    ['info', '--bogus', 'models/llama-gqa.gguf'],
    ['info', '--help'],
];

const run = (cmd, args) => spawnSync(cmd, args, { cwd: fixtures, encoding: 'buffer', maxBuffer: 1 << 28 });

for (const args of cases) {
    test(`cli.mjs ${args.join(' ').replaceAll(tmp, 'TMP')} matches the native CLI`, (t) => {
        const ours = run(process.execPath, [cli, ...args]);
        if (!fs.existsSync(native)) {
            t.diagnostic(`no native CLI at ${native}; checking exit status only`);
            assert.ok([0, 1, 2].includes(ours.status));
            return;
        }
        const theirs = run(native, args);
        assert.equal(ours.status, theirs.status, ours.stderr.toString());
        assert.equal(ours.stderr.toString(), theirs.stderr.toString());
        assert.ok(ours.stdout.equals(theirs.stdout), 'stdout differs');
    });
}

test('cli.mjs info: exit codes and JSON shape without the native CLI', () => {
    const ok = run(process.execPath, [cli, 'info', '--json', 'models/llama-gqa.gguf']);
    assert.equal(ok.status, 0);
    const info = JSON.parse(ok.stdout.toString());
    assert.equal(info.tensors.length, 75);
    assert.equal(Object.keys(info.metadata).length, 21);
    assert.equal(run(process.execPath, [cli, 'info', path.join(tmp, 'bad-magic.gguf')]).status, 1);
    assert.equal(run(process.execPath, [cli, 'info']).status, 2);
});
