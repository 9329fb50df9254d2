// A Hugging Face safetensors checkpoint in the page (issue 18, faces): the folder of the
// reference run `qwen3` (made by tools/convert/make_checkpoint.mjs from the real Qwen3 tokenizer,
// as tests/convert/convert_native_test.cpp makes it) is picked as a folder, and
//  - the overview, plan and estimates show the GGUF convert_hf_to_gguf.py would write (the
//    estimate's Q4_K_M size is llama-quantize's recorded output size);
//  - Quantize Q4_K_M writes, in one pass, the file `convert --outtype auto` + llama-quantize
//    wrote (tests/fixtures/convert/reference.json's sha256);
//  - "Save 16-bit GGUF" downloads the converter's own file, under its name;
//  - ?model=OWNER/REPO on the Hub emulator (tests/support/hub_emulator.mjs) opens a repo of
//    safetensors only as the same checkpoint and quantizes it to Q8_0 by Range requests;
//  - loose files without config.json fail with the core's message naming the file.
// Screenshots go to build/screenshots/checkpoint-*.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { makeRepo, startHubEmulator } from '../support/hub_emulator.mjs';
import { launch, root } from './harness.mjs';

const reference = JSON.parse(fs.readFileSync(path.join(root, 'tests/fixtures/convert/reference.json')));
const ref = (outtype, ftype = undefined) => {
    const r = reference.runs.find((x) => x.checkpoint === 'qwen3' && x.outtype === outtype && x.ftype === ftype);
    assert.ok(r, `reference run qwen3 ${outtype} ${ftype ?? ''}`);
    return r;
};
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const shots = path.join(root, 'build/screenshots');

let b, emu, tmp, dir;
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-checkpoint-page-'));
    const cmd = ref('auto').make_checkpoint.split(' ');
    const made = spawnSync(process.execPath, [path.join(root, cmd[1]), ...cmd.slice(2)], { cwd: tmp, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    dir = path.join(tmp, ref('auto').checkpoint);
    const hubRoot = path.join(tmp, 'hub');
    makeRepo(hubRoot, 'test/qwen3', Object.fromEntries(fs.readdirSync(dir).map((f) => [f, path.join(dir, f)])));
    emu = await startHubEmulator({ root: hubRoot });
    b = await launch();
});
after(async () => {
    await b?.close();
    await emu?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
});

async function waitForCheckpoint(name) {
    await b.page.waitForFunction((n) => document.getElementById('file-summary').textContent.startsWith(n + ' · ') &&
        document.querySelector('[data-testid=estimate-table] tbody tr[data-ftype]') !== null &&
        document.querySelector('[data-testid=plan-table] tr[data-tensor][data-type]') !== null, name, { timeout: 120_000 });
}

async function quantizeAndDownload(type) {
    const { page } = b;
    await page.selectOption('[data-testid=type-select]', type);
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled ||
        !document.querySelector('[data-testid=error]').hidden, null, { timeout: 300_000 });
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true, await page.locator('[data-testid=error]').innerText());
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-button]')]);
    return { file: await download.path(), name: download.suggestedFilename() };
}

test('a picked checkpoint folder: views of the converted GGUF, one-pass Q4_K_M and the 16-bit GGUF are the references\'', { timeout: 300_000 }, async () => {
    const { page } = b;
    await page.goto(b.origin + '/?save=download&workers=2');
    await page.waitForSelector('html[data-ready="true"]');
    await page.setInputFiles('[data-testid=folder-input]', dir);
    await waitForCheckpoint('qwen3');
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    const summary = await page.locator('#file-summary').innerText();
    assert.match(summary, new RegExp(`read as ${ref('auto').output_name.replace(/\./g, '\\.')}`));
    // The estimate prices the converted file: llama-quantize's recorded sizes.
    for (const ftype of ['Q4_K_M', 'Q8_0']) {
        const bytes = await page.locator(`[data-testid=estimate-table] tr[data-ftype="${ftype}"]`).getAttribute('data-bytes');
        assert.equal(Number(bytes), ref('auto', ftype).file_size, ftype);
    }
    // The overview names the converter's architecture; the plan lists the converter's tensors.
    assert.match(await page.locator('#overview-section').innerText(), /qwen3/);
    const planned = await page.locator('[data-testid=plan-table] tr[data-tensor]').evaluateAll((rows) => rows.map((r) => r.dataset.tensor));
    assert.equal(planned.length, ref('auto').tensors.length);
    assert.deepEqual([...planned].sort(), ref('auto').tensors.map((t) => t.name).sort());
    await page.screenshot({ path: path.join(shots, 'checkpoint-loaded.png'), fullPage: false });

    const q = await quantizeAndDownload('Q4_K_M');
    assert.equal(sha256(q.file), ref('auto', 'Q4_K_M').file_sha256, 'one-pass Q4_K_M is convert + llama-quantize\'s file');
    assert.equal(q.name, 'Qwen3-10M-BF16-Q4_K_M.gguf');
    // What llama.cpp needs for the same file: its converter first.
    assert.equal(await page.locator('[data-testid=command]').innerText(),
                 'python convert_hf_to_gguf.py qwen3 --outtype auto && llama-quantize qwen3/Qwen3-10M-BF16.gguf Qwen3-10M-BF16-Q4_K_M.gguf Q4_K_M');
    assert.match(await page.locator('#time-estimate').innerText(), /with 1 worker\b/);
    await page.locator('#quantize-section').screenshot({ path: path.join(shots, 'checkpoint-quantized.png') });

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click('[data-testid=convert-button]')]);
    assert.equal(download.suggestedFilename(), ref('auto').output_name);
    assert.equal(sha256(await download.path()), ref('auto').file_sha256, 'the 16-bit GGUF is the converter\'s');
    await page.waitForFunction(() => /Downloading/.test(document.querySelector('[data-testid=convert-status]').textContent));
    await page.locator('#loaded-bar').screenshot({ path: path.join(shots, 'checkpoint-converted.png') });
    assert.deepEqual(b.errors, []);
});

test('?model=OWNER/REPO of safetensors only opens the checkpoint and quantizes it by Range requests', { timeout: 300_000 }, async () => {
    const { page } = b;
    const q = new URLSearchParams({ model: 'test/qwen3', hub: emu.hub, save: 'download' });
    await page.goto(`${b.origin}/?${q}`);
    await page.waitForSelector('html[data-ready="true"]');
    await waitForCheckpoint('qwen3');
    const out = await quantizeAndDownload('Q8_0');
    assert.equal(sha256(out.file), ref('auto', 'Q8_0').file_sha256);
    // Only the page's origin and the Hub / CDN it was asked to read.
    const foreign = b.foreignRequests().filter((u) => !u.startsWith(emu.hub) && !u.startsWith(emu.cdn));
    assert.deepEqual(foreign, []);
});

test('loose checkpoint files without config.json: the core\'s error names the file', async () => {
    const { page } = b;
    await page.goto(b.origin + '/');
    await page.waitForSelector('html[data-ready="true"]');
    await page.setInputFiles('[data-testid=file-input]', ['model.safetensors', 'tokenizer.json'].map((f) => path.join(dir, f)));
    await page.locator('[data-testid=error]').waitFor({ state: 'visible' });
    assert.match(await page.locator('[data-testid=error]').innerText(), /config\.json: missing/);
    await page.screenshot({ path: path.join(shots, 'checkpoint-error.png') });
});
