// The estimate table in Chromium: one row per ftype, and every row's data-bytes equals the
// file_size of llama-quantize's matching reference run, without and with the imatrix loaded.
// Types that need an imatrix are marked and disabled until one is given.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { fixturePath, launch, reference } from './harness.mjs';

let b;
before(async () => {
    b = await launch();
    await b.open();
});
after(async () => b?.close());

async function rows(page) {
    return page.$$eval('[data-testid=estimate-table] tbody tr[data-ftype]', (trs) => trs.map((tr) => ({
        ftype: tr.dataset.ftype, bytes: Number(tr.dataset.bytes), disabled: tr.dataset.disabled === 'true',
        imatrix: tr.dataset.imatrix === 'required', recommended: tr.classList.contains('recommended'),
    })));
}

const runsByName = new Map(reference.runs.map((r) => [r.name, r]));
const kFtypes = [...new Set(reference.runs.map((r) => r.ftype))];

test('without an imatrix: exact sizes, imatrix-only types disabled, Q4_K_M highlighted', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
    const got = await rows(page);
    assert.deepEqual(got.map((r) => r.ftype).sort(), [...kFtypes].sort(), 'one row per ftype');
    let compared = 0;
    for (const r of got) {
        const run = runsByName.get(r.ftype);
        if (run.error) {
            // llama-quantize refuses this type without an imatrix: the row says so.
            assert.ok(r.imatrix && r.disabled, `${r.ftype} is marked and disabled`);
            const opt = page.locator(`[data-testid=type-select] option[value="${r.ftype}"]`);
            assert.equal(await opt.isDisabled(), true, `${r.ftype} cannot be chosen`);
            continue;
        }
        assert.equal(r.bytes, run.file_size, r.ftype);
        assert.equal(r.disabled, false, r.ftype);
        compared++;
    }
    console.log(`estimate without imatrix: ${compared} sizes equal the reference`);
    assert.ok(compared >= 25);
    assert.deepEqual(got.filter((r) => r.recommended).map((r) => r.ftype), ['Q4_K_M']);
    assert.equal(await page.locator('[data-testid=type-select]').inputValue(), 'Q4_K_M');
});

test('with the imatrix: every row matches its +imatrix run and nothing is disabled', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.gguf'));
    await page.waitForFunction(() => !document.querySelector('[data-testid=estimate-table] tr[data-disabled=true]'));
    const got = await rows(page);
    let compared = 0;
    for (const r of got) {
        const run = runsByName.get(`${r.ftype}+imatrix`);
        if (!run) continue;  // F16, BF16, F32 and COPY have no imatrix run
        assert.equal(r.bytes, run.file_size, r.ftype);
        compared++;
    }
    console.log(`estimate with imatrix: ${compared} sizes equal the reference`);
    assert.equal(compared, reference.runs.filter((r) => r.name.endsWith('+imatrix')).length);
    assert.equal(await page.locator('[data-testid=type-select] option[value=IQ2_XXS]').isDisabled(), false);
});

test('the legacy .dat imatrix gives the same sizes', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.dat'));
    await page.waitForFunction(() => /\.dat/.test(document.getElementById('imatrix-summary')?.textContent ?? ''));
    const got = await rows(page);
    const iq2 = got.find((r) => r.ftype === 'IQ2_XXS');
    assert.equal(iq2.bytes, runsByName.get('IQ2_XXS+imatrix-dat').file_size);
    const q4 = got.find((r) => r.ftype === 'Q4_K_M');
    assert.equal(q4.bytes, runsByName.get('Q4_K_M+imatrix-dat').file_size);
    assert.deepEqual(b.foreignRequests(), []);
});

test('the memory panel answers for the chosen type', async () => {
    const { page } = b;
    await page.fill('#mem-device', '0.001');
    await page.waitForFunction(() => /does not fit/.test(document.getElementById('memory-summary').textContent));
    await page.fill('#mem-device', '8');
    await page.waitForFunction(() => /fits/.test(document.getElementById('memory-summary').textContent));
    assert.match(await page.locator('#memory-summary').innerText(), /KV cache at 4,096 tokens/);
});
