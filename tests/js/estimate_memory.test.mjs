// The memory options of estimate in JS (issue 16): flash attention, micro-batch and parallel
// sequences reach the core through wasm/estimate.mjs and `node wasm/cli.mjs estimate`.
//   - Against llama.cpp's own allocation log (tests/fixtures/memory/*.json, recorded by
//     tools/record_llama_memory.mjs with the command beside each figure): on the llama-gqa fixture,
//     an MLA model (deepseek2), a hybrid (granitehybrid), a pure recurrent model (mamba2) and a
//     sliding-window model (gemma3), the JS estimate's KV cache and recurrent state equal
//     llama.cpp's 2-decimal MiB, its compute buffer is within 10%, and a context llama.cpp
//     refused is refused with llama.cpp's reason.
//   - Against the native CLI: `node wasm/cli.mjs estimate` prints the same bytes (text and --json)
//     and the same usage errors for the same arguments.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { estimate } from '../../wasm/estimate.mjs';
import { kLlamaHd16, writeArchModelFile } from '../support/arch_model_file.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');
const noNative = !fs.existsSync(native) && 'no native build';
const cli = path.join(root, 'wasm/cli.mjs');

const records = [
    ...JSON.parse(fs.readFileSync(path.join(fixtures, 'memory/llama_cpp_memory.json'))).records,
    ...JSON.parse(fs.readFileSync(path.join(fixtures, 'memory/llama_cpp_memory_archs.json'))).records,
];
const kArchModels = ['deepseek2-moe', 'granitehybrid-dense', 'mamba2-dense', 'gemma3-dense'];

let dir;
const files = {};
before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'estimate-memory-'));
    files['llama-gqa'] = path.join(fixtures, 'models/llama-gqa.gguf');
    for (const name of kArchModels) files[name] = await writeArchModelFile(name, dir);
    files['llama-hd16'] = await writeArchModelFile('llama-dense', dir, kLlamaHd16);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const mib2 = (bytes) => (bytes / 2 ** 20).toFixed(2);
function near2(bytes, partsMib, what) {
    const logged = partsMib.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(bytes / 2 ** 20 - logged) <= 0.005 * partsMib.length + 1e-9,
              `${what}: ${bytes / 2 ** 20} MiB vs llama.cpp's ${partsMib.join(' + ')}`);
}
const blobOf = async (name) => fs.openAsBlob(files[name]);

test("memory parts equal llama.cpp's log for every recorded ctx, cache, flash attention and parallel", async () => {
    let compared = 0, refusals = 0, recurrent = 0, mla = 0;
    for (const name of ['llama-gqa', ...kArchModels]) {
        const blob = await blobOf(name);
        const mine = records.filter((r) => r.model === name);
        assert.ok(mine.length >= 8, `${name}: ${mine.length} records`);
        for (const r of mine) {
            const what = `${name} ${r.command}`;
            const m = (await estimate(blob, { ctx: r.ctx, kvType: r.cache, flashAttn: r.flash_attn,
                                              parallel: r.parallel })).memory;
            assert.equal(m.flash_attn, r.flash_attn, what);
            assert.equal(m.parallel, r.parallel, what);
            if (r.error) {
                assert.equal(m.error, r.error, what);
                assert.equal(m.total_bytes, 0, what);
                ++refusals;
                continue;
            }
            assert.equal(m.error, undefined, what);
            // llama.cpp logs each cache's K and V (and R and S) rounded to 2 decimals of MiB: the
            // totals are exact to within half a unit of the last place per logged part.
            const kvParts = r.kv_caches.flatMap((c) => [c.k_mib, c.v_mib]);
            near2(m.kv_bytes, kvParts, `${what}: KV`);
            near2(m.recurrent_bytes, r.recurrent ? [r.recurrent.r_mib, r.recurrent.s_mib] : [], `${what}: recurrent`);
            assert.ok(Math.abs(m.compute_bytes / 2 ** 20 - r.compute_mib) <= 0.1 * r.compute_mib,
                      `${what}: compute ${mib2(m.compute_bytes)} MiB vs ${r.compute_mib}`);
            assert.equal(m.other_bytes, m.output_bytes + m.compute_bytes, what);
            assert.equal(m.total_bytes, m.weights_bytes + m.kv_bytes + m.recurrent_bytes + m.other_bytes, what);
            if (r.recurrent) ++recurrent;
            if (r.kv_caches.some((c) => c.v_mib === 0 && c.k_mib > 0)) ++mla;
            ++compared;
        }
    }
    assert.ok(compared >= 30, `${compared} compared`);
    assert.ok(refusals >= 8, `${refusals} refusals`);
    assert.ok(recurrent >= 10, `${recurrent} with recurrent state`);
    assert.ok(mla >= 5, `${mla} K-only (MLA) caches`);
});

test("heads of 16: quantized K caches refused with llama.cpp's reason, flash attention or not", async () => {
    // The reason as llama.cpp logged it for its own head-16 model (a different model: only the
    // refusal is compared, not sizes).
    const logged = records.filter((r) => r.model === 'llama-hd16' && r.error);
    const blob = await blobOf('llama-hd16');
    let n = 0;
    for (const r of logged) {
        const m = (await estimate(blob, { ctx: r.ctx, kvType: r.cache, flashAttn: r.flash_attn })).memory;
        assert.equal(m.error, r.error, r.command);
        ++n;
    }
    assert.ok(n >= 4, `${n} refusals`);
    assert.ok(logged.some((r) => r.flash_attn && /does not divide n_embd_head_k=16/.test(r.error)));
    assert.equal((await estimate(blob, { kvType: 'f16' })).memory.error, undefined);
});

test('the micro-batch reaches the compute buffer', async () => {
    const blob = await blobOf('llama-gqa');
    const at = async (ubatch) => (await estimate(blob, { ctx: 4096, flashAttn: false, ubatch })).memory;
    const small = await at(64), dflt = await at(512);
    assert.equal(small.ubatch, 64);
    assert.equal(dflt.ubatch, 512);
    // llama.cpp's figure at the default micro-batch (42.76 MiB with -fa off); a smaller one needs less.
    assert.ok(Math.abs(dflt.compute_bytes / 2 ** 20 - 42.76) <= 4.276, mib2(dflt.compute_bytes));
    assert.ok(small.compute_bytes < dflt.compute_bytes / 2, `${mib2(small.compute_bytes)} vs ${mib2(dflt.compute_bytes)}`);
    assert.equal(small.kv_bytes, dflt.kv_bytes);
    await assert.rejects(estimate(blob, { ubatch: 0 }), /ubatch must be an integer from 1 to 65536/);
    await assert.rejects(estimate(blob, { parallel: 257 }), /parallel must be an integer from 1 to 256/);
    await assert.rejects(estimate(blob, { flashAttn: 'auto' }), /flashAttn must be/);
});

const kCliCases = [
    ['--json'],
    [],
    ['--json', '--flash-attn', 'off', '--ubatch', '128', '--parallel', '3'],
    ['--flash-attn', 'off', '--ubatch', '128', '--parallel', '3'],
    ['--json', '--kv-type', 'q8_0', '--flash-attn', 'off'],
    ['--kv-type', 'q8_0', '--flash-attn', 'off'],
    ['--ctx', '32768', '--parallel', '2', '--memory', '0.08', '--kv-type', 'q8_0'],
    ['--json', '--ctx', '32768', '--parallel', '2', '--memory', '0.08', '--flash-attn', 'on', '--ubatch', '1024'],
];

const run = (cmd, args) => spawnSync(cmd === 'node' ? process.execPath : native,
                                     cmd === 'node' ? [cli, 'estimate', ...args] : ['estimate', ...args],
                                     { encoding: 'utf8' });

test('node wasm/cli.mjs estimate prints what the native CLI prints', { skip: noNative }, () => {
    let n = 0;
    for (const name of ['llama-gqa', ...kArchModels, 'llama-hd16']) {
        for (const args of kCliCases) {
            const want = run('native', [...args, files[name]]);
            const got = run('node', [...args, files[name]]);
            const what = `${name}: estimate ${args.join(' ')}`;
            assert.equal(want.status, 0, `${what}: ${want.stderr}`);
            assert.equal(got.stderr, want.stderr, what);
            assert.equal(got.stdout, want.stdout, what);
            assert.equal(got.status, 0, what);
            ++n;
        }
    }
    assert.equal(n, 6 * kCliCases.length);
    // The refusal reaches both outputs (text: a message, JSON: memory.error).
    const text = run('node', ['--kv-type', 'q8_0', '--flash-attn', 'off', files['llama-gqa']]).stdout;
    assert.match(text, /llama\.cpp would refuse this context: quantized V cache requires flash_attn to be enabled/);
});

test('usage errors for the new options are the native CLI\'s', { skip: noNative }, () => {
    for (const args of [['--flash-attn', 'auto'], ['--flash-attn'], ['--ubatch', '0'], ['--ubatch', '65537'],
                        ['--ubatch', 'x'], ['--parallel', '0'], ['--parallel', '257'], ['--parallel']]) {
        const want = run('native', [...args, files['llama-gqa']]);
        const got = run('node', [...args, files['llama-gqa']]);
        assert.equal(want.status, 2, args.join(' '));
        assert.equal(got.status, 2, args.join(' '));
        assert.equal(got.stderr, want.stderr, args.join(' '));
    }
});
