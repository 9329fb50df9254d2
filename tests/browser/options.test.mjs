// The options panel mirrors llama-quantize's command line: each option changes the estimate to
// exactly the size of the matching reference run, a quantization with options is byte-identical,
// and impossible choices (requantizing without consent) are disabled with their reason.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { fixturePath, launch, reference } from './harness.mjs';

let b;
before(async () => {
    b = await launch();
    await b.open();
    await b.page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await b.page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
    await b.page.click('#options summary');
});
after(async () => b?.close());

const run = (name) => reference.runs.find((r) => r.name === name);
const q4kmBytes = () => b.page.locator('[data-testid=estimate-table] tr[data-ftype=Q4_K_M]').getAttribute('data-bytes').then(Number);

async function waitForQ4km(expected) {
    await b.page.waitForFunction((want) => Number(document.querySelector('[data-testid=estimate-table] tr[data-ftype=Q4_K_M]')?.dataset.bytes) === want, expected, { timeout: 10_000 }).catch(() => {});
    return q4kmBytes();
}

async function resetOptions() {
    const { page } = b;
    for (const id of ['opt-pure', 'opt-leave-output']) await page.locator('#' + id).setChecked(false);
    for (const id of ['opt-tensor-types', 'opt-override-kv', 'opt-prune']) await page.fill('#' + id, '');
    await page.selectOption('#opt-output-type', '');
    await page.selectOption('#opt-embd-type', '');
    await waitForQ4km(run('Q4_K_M').file_size);
}

for (const [name, apply] of [
    ['Q4_K_M+pure', (p) => p.locator('#opt-pure').check()],
    ['Q4_K_M+leave-output', (p) => p.locator('#opt-leave-output').check()],
    ['Q4_K_M+output-q8_0+embd-q3_k', async (p) => { await p.selectOption('#opt-output-type', 'Q8_0'); await p.selectOption('#opt-embd-type', 'Q3_K'); }],
    ['Q4_K_M+tensor-type', (p) => p.fill('#opt-tensor-types', 'attn_v=q8_0\n\\.([0-3])\\.ffn_up=q5_0')],
    ['Q4_K_M+override-kv', (p) => p.fill('#opt-override-kv', 'general.name=str:renamed model\ntest.answer=int:42')],
    ['Q4_K_M+prune', (p) => p.fill('#opt-prune', '2,5')],
]) {
    test(`${name}: the estimate equals the reference size`, async () => {
        await resetOptions();
        await apply(b.page);
        assert.equal(await waitForQ4km(run(name).file_size), run(name).file_size);
    });
}

test('a quantization with options is byte-identical (tensor-type overrides)', async () => {
    const { page } = b;
    await resetOptions();
    await page.fill('#opt-tensor-types', 'attn_v=q8_0\n\\.([0-3])\\.ffn_up=q5_0');
    await waitForQ4km(run('Q4_K_M+tensor-type').file_size);
    await page.selectOption('[data-testid=type-select]', 'Q4_K_M');
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 300_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-button]')]);
    const sha = crypto.createHash('sha256').update(fs.readFileSync(await download.path())).digest('hex');
    assert.equal(sha, run('Q4_K_M+tensor-type').file_sha256);
});

test('a quantized input: requantizing is disabled with its reason until allowed', async () => {
    const { page } = b;
    await resetOptions();
    // The Q4_K_M output made above is a quantized model; the page's own download is the input.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-button]')]);
    const file = await download.path();
    fs.renameSync(file, file + '.gguf');
    await page.setInputFiles('[data-testid=file-input]', file + '.gguf');
    // The previous model's table stays until the new one is loaded: wait for the quantized input's
    // rows (a plain waitForSelector matched the old table and raced the load under load).
    await page.waitForFunction(() => document.querySelector('[data-testid=estimate-table] tr[data-ftype=Q4_0]')?.dataset.disabled === 'true', null, { timeout: 60_000 });
    const row = page.locator('[data-testid=estimate-table] tr[data-ftype=Q4_0]');
    assert.equal(await row.getAttribute('data-disabled'), 'true');
    assert.match(await row.innerText(), /requantiz/i);
    assert.equal(await page.locator('[data-testid=type-select] option[value=Q4_0]').isDisabled(), true);
    await page.evaluate(() => { document.getElementById('options').open = true; });
    await page.locator('#opt-allow-requantize').check();
    await page.waitForFunction(() => document.querySelector('[data-testid=estimate-table] tr[data-ftype=Q4_0]')?.dataset.disabled === 'false');
    assert.deepEqual(b.foreignRequests(), []);
});
