// estimate() in JS (wasm/estimate.mjs): exact sizes for every plain and +imatrix reference run,
// requires_imatrix for every refused type, the same JSON as the native CLI, URLs read with Range
// requests (same result as the file, at most the header plus one read), and the parameter-count
// model's measured error against the exact plan.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startStaticServer } from '../../scripts/static-server.mjs';
import { estimate, estimateFromParams, parseParams } from '../../wasm/estimate.mjs';
import { paramsRecipe } from '../../wasm/estimate_params.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const models = path.join(root, 'tests/fixtures/models');
const reference = JSON.parse(fs.readFileSync(path.join(models, 'llama-gqa.reference.json')));
const model = fs.readFileSync(path.join(models, 'llama-gqa.gguf'));
const imatrix = fs.readFileSync(path.join(models, 'llama-gqa.imatrix.gguf'));
const native = path.resolve(root, process.env.GGUF_SQUASH_NATIVE ?? 'build/native/gguf-squash');
const kFirstRead = 256 * 1024;

const byName = (r) => Object.fromEntries(r.ftypes.map((f) => [f.name, f]));

test('exact sizes for every plain run, requires_imatrix for every refusal', async () => {
    const r = byName(await estimate(new Blob([model])));
    let sizes = 0, refusals = 0;
    for (const run of reference.runs) {
        if (run.args.length) continue;
        if (run.error) {
            assert.equal(r[run.ftype].requires_imatrix, true, run.name);
            ++refusals;
        } else {
            assert.equal(r[run.ftype].file_size, run.file_size, run.name);
            ++sizes;
        }
    }
    assert.equal(sizes, 27);
    assert.equal(refusals, 9);
});

test('exact sizes for every +imatrix run', async () => {
    const r = byName(await estimate(new Blob([model]), { imatrix, imatrixName: 'llama-gqa.imatrix.gguf' }));
    let n = 0;
    for (const run of reference.runs) {
        if (run.args.join(' ') !== '--imatrix llama-gqa.imatrix.gguf') continue;
        assert.equal(r[run.ftype].file_size, run.file_size, run.name);
        ++n;
    }
    assert.equal(n, 32);
});

test('JSON and text are the native CLI output', { skip: !fs.existsSync(native) && 'no native build' }, async () => {
    for (const [args, opts] of [[['--json'], { format: 'json' }],
                                [['--json', '--ctx', '8192', '--kv-type', 'q8_0', '--memory', '0.03'],
                                 { format: 'json', ctx: 8192, kvType: 'q8_0', memoryGb: 0.03 }],
                                [[], { format: 'text' }]]) {
        const cli = spawnSync(native, ['estimate', ...args, 'llama-gqa.gguf'], { cwd: models, encoding: 'utf8' });
        assert.equal(cli.status, 0, cli.stderr);
        assert.equal(await estimate(new Blob([model]), opts), cli.stdout, args.join(' '));
    }
});

async function withServer(dir, fn) {
    const server = await startStaticServer(dir, 0, '127.0.0.1');
    const base = `http://127.0.0.1:${server.address().port}/`;
    const log = [];
    const countingFetch = async (url, init) => {
        const res = await fetch(url, init);
        const body = new Uint8Array(await res.arrayBuffer());
        log.push({ url: String(url), range: init?.headers?.Range, bytes: body.length });
        return new Response(body, { status: res.status, headers: res.headers });
    };
    try {
        return await fn(base, countingFetch, log);
    } finally {
        await new Promise((r) => server.close(r));
    }
}

test('a URL gives the file result, reading only the header plus one read', async () => {
    const fromFile = await estimate(new Blob([model]), { ctx: 8192 });
    await withServer(models, async (base, fetchFn, log) => {
        const fromUrl = await estimate(base + 'llama-gqa.gguf', { ctx: 8192, fetch: fetchFn });
        assert.deepEqual({ ...fromUrl, http: undefined }, { ...fromFile, http: undefined });
        const header = fromFile.http.headerBytes;
        assert.equal(fromUrl.http.headerBytes, header);
        assert.equal(log.length, 1);
        assert.ok(fromUrl.http.bytes <= header + kFirstRead);
        assert.equal(log[0].range, `bytes=0-${kFirstRead - 1}`);
    });
});

test('a large header is read in a few growing Range requests', async () => {
    const vocab = path.join(root, 'tests/fixtures/vocab');
    await withServer(vocab, async (base, fetchFn, log) => {
        const r = await estimate(base + 'ggml-vocab-qwen2.gguf', { fetch: fetchFn });
        assert.ok(log.length > 1 && log.length <= 8, `${log.length} requests`);
        assert.equal(r.http.bytes, r.http.headerBytes);  // the file is all header
        const fromFile = await estimate(new Blob([fs.readFileSync(path.join(vocab, 'ggml-vocab-qwen2.gguf'))]));
        assert.deepEqual(r.ftypes, fromFile.ftypes);
    });
});

test('parameter-count mode: rows, memory, recommendation', () => {
    assert.equal(parseParams('8.03B'), 8.03e9);
    assert.equal(parseParams('70b'), 70e9);
    assert.equal(parseParams('500M'), 5e8);
    assert.ok(Number.isNaN(parseParams('lots')));
    const r = estimateFromParams('8.03B', { memoryGb: 6, ctx: 8192 });
    assert.ok(r.ftypes.length >= 30);
    const q4 = r.ftypes.find((f) => f.name === 'Q4_K_M');
    assert.ok(q4.file_size > 4.5e9 && q4.file_size < 5.2e9, String(q4.file_size));
    assert.equal(r.ftypes.find((f) => f.name === 'F16').fits, false);
    assert.equal(q4.fits, true);
    assert.equal(r.recommendation.name, 'Q4_K_M');
    assert.equal(estimateFromParams('8.03B', { memoryGb: 64 }).recommendation.name, 'Q8_0');
    assert.equal(estimateFromParams('70B', { memoryGb: 64 }).recommendation.name, 'Q6_K');
    assert.equal(estimateFromParams('8.03B').recommendation.name, 'Q4_K_M');
    assert.equal(r.ftypes.find((f) => f.name === 'IQ2_XXS').requires_imatrix, true);
});

test('parameter-count model: measured error against the exact plan', async () => {
    const recipe = paramsRecipe();
    // Holdout shapes: real architectures between the anchors, planned exactly by the C++ plan.
    // Compared: tensor bytes (the file size minus the tokenizer allowance, which the plan of a
    // header without a tokenizer does not have).
    const common = ['Q2_K', 'Q3_K_M', 'Q4_0', 'Q4_K_S', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0', 'IQ4_XS', 'F16'];
    const lines = [];
    let worstQ4 = 0, worstCommon = 0, worstAll = 0;
    for (const h of recipe.holdout) {
        const est = estimateFromParams(h.params);
        const err = {};
        for (const f of est.ftypes) {
            const exact = h.ftypes[f.name][0];
            err[f.name] = Math.abs(f.file_size - Math.round(est.model.vocab_size * 40) - exact) / exact;
        }
        const c = Math.max(...common.map((n) => err[n]));
        const a = Math.max(...Object.values(err));
        worstQ4 = Math.max(worstQ4, err.Q4_K_M);
        worstCommon = Math.max(worstCommon, c);
        worstAll = Math.max(worstAll, a);
        lines.push(`| ${h.name} | ${(h.params / 1e9).toFixed(2)}B | ${(err.Q4_K_M * 100).toFixed(1)}% | ` +
                   `${(c * 100).toFixed(1)}% | ${(a * 100).toFixed(1)}% (${Object.keys(err).find((k) => err[k] === a)}) |`);
    }
    // The fixture model (8M parameters, far below the smallest anchor): file sizes vs exact mode.
    const exactResult = await estimate(new Blob([model]));
    const exact = byName(exactResult);
    const est = byName(estimateFromParams(exactResult.model.params));
    const fixtureQ4 = Math.abs(est.Q4_K_M.file_size - exact.Q4_K_M.file_size) / exact.Q4_K_M.file_size;
    console.log(['[params model] tensor-bytes error vs the exact plan',
                 '| shape | params | Q4_K_M | worst of Q2_K..Q8_0, IQ4_XS, F16 | worst of all 36 |',
                 '|---|---|---|---|---|', ...lines,
                 `llama-gqa fixture (8.1M params, file size, Q4_K_M): ${(fixtureQ4 * 100).toFixed(0)}%`].join('\n'));
    assert.ok(worstQ4 < 0.03, `Q4_K_M holdout error ${worstQ4}`);
    assert.ok(worstCommon < 0.08, `common types holdout error ${worstCommon}`);
    assert.ok(worstAll < 0.3, `holdout error ${worstAll}`);
});
