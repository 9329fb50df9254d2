// Hostile files through the WebAssembly command line (issue 7): `node wasm/cli.mjs info` and
// `quantize` on every file of tests/fixtures/malformed exit with status 1 and one line on stderr
// naming the field and the byte offset that tests/fixtures/malformed/README.md records for it,
// within a time limit, and quantize leaves no output file. Also run under a V8 heap cap, so that
// an allocation in proportion to a claimed count would fail the test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const malformed = path.join(root, 'tests/fixtures/malformed');
const cli = path.join(root, 'wasm/cli.mjs');

// The README's table: | `file.gguf` | field text | offset |
const cases = [];
for (const line of fs.readFileSync(path.join(malformed, 'README.md'), 'utf8').split('\n')) {
    const m = /^\| `([^`]+\.gguf)` \| (.+?) \| (\d+) \|$/.exec(line);
    if (m) cases.push({ file: m[1], field: m[2], offset: Number(m[3]) });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-faults-'));

function run(args) {
    return spawnSync(process.execPath, ['--max-old-space-size=256', cli, ...args], {
        cwd: malformed,
        encoding: 'utf8',
        timeout: 20000,
    });
}

function assertOneLineRefusal(r, c) {
    assert.equal(r.error, undefined, `did not finish: ${r.error}`);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines.length, 2, `one line expected: ${JSON.stringify(r.stderr)}`);
    assert.equal(lines[1], '');
    assert.ok(lines[0].includes(c.field), `names '${c.field}': ${lines[0]}`);
    assert.ok(lines[0].includes(`at byte offset ${c.offset}:`), `offset ${c.offset}: ${lines[0]}`);
}

test('the README lists every generated malformed file', () => {
    // fuzz-*.gguf: regression files from fuzzing findings (docs/RELIABILITY.md), not generated.
    const files = fs.readdirSync(malformed).filter((f) => f.endsWith('.gguf') && !f.startsWith('fuzz-')).sort();
    assert.ok(cases.length >= 40, `${cases.length} cases`);
    assert.deepEqual(cases.map((c) => c.file).sort(), files);
});

for (const c of cases) {
    test(`cli.mjs info ${c.file}: exit 1, one line naming ${c.field} at ${c.offset}`, () => {
        assertOneLineRefusal(run(['info', c.file]), c);
        assertOneLineRefusal(run(['info', '--json', c.file]), c);
    });
    test(`cli.mjs quantize ${c.file}: exit 1, one line, no output file`, () => {
        const out = path.join(tmp, `${c.file}.out`);
        assertOneLineRefusal(run(['quantize', c.file, out, 'Q4_K_M']), c);
        assert.deepEqual(fs.readdirSync(tmp), []);
    });
}

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
