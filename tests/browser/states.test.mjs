// The run's states as a user sees them (issue 14): quantizing (mid-run, with the progress bar,
// percentage, rate, elapsed time and ETA) and done (the size, the time, Save naming the file and
// its size), at 1366x900 and 390x844, light and dark, into build/screenshots/; and the GPU
// formats table on a phone: no sideways scrolling, every row's format, size and fit in view.
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { fixturePath, launch, reference, root } from './harness.mjs';

const shots = path.join(root, 'build/screenshots');
const kViews = [['laptop', 1366, 900], ['phone', 390, 844]];
let b;
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    b = await launch();
    await b.open();
    await b.page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await b.page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
});
after(async () => b?.close());

async function view(page, width, height, scheme) {
    await page.setViewportSize({ width, height });
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(250);  // the theme's colour transitions
}

// The progress box in the middle of the screen, clear of the fixed action bar.
const centre = (page, selector) => page.locator(selector).evaluate((e) => e.scrollIntoView({ block: 'center' }));

test('quantizing: mid-run screenshots with the progress bar, rate, elapsed time and ETA', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=imatrix-input]', fixturePath('models/llama-gqa.imatrix.gguf'));
    await page.waitForFunction(() => !document.querySelector('[data-testid=type-select] option[value=IQ2_XXS]').disabled);
    await page.selectOption('[data-testid=type-select]', 'IQ2_XXS');  // a few seconds: long enough to look at
    let n = 0;
    for (const [label, width, height] of kViews) {
        for (const scheme of ['light', 'dark']) {
            await view(page, width, height, scheme);
            await page.click('[data-testid=quantize-button]');
            await page.waitForFunction(() => {
                const p = document.querySelector('[data-testid=progress]');
                return p.value > 0.03 * p.max && p.value < 0.8 * p.max && /ETA \d/.test(document.getElementById('progress-stats').textContent);
            }, null, { timeout: 60_000, polling: 20 });
            await centre(page, '#progress-box');
            const line = await page.locator('#progress-stats').innerText();
            for (const part of [/\d+\.\d%/, /MB\/s/, /elapsed \d/, /ETA \d/]) assert.match(line, part, `${label} ${scheme}: ${line}`);
            assert.equal(await page.locator('[data-testid=cancel-button]').isEnabled(), true);
            await page.screenshot({ path: path.join(shots, `quantizing-${label}-${scheme}.png`) });
            await page.click('[data-testid=cancel-button]');
            await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled);
            ++n;
        }
    }
    assert.equal(n, 4);
});

test('done: screenshots with the size, the time and Save naming the file', async () => {
    const { page } = b;
    await view(page, 1366, 900, 'light');
    await page.selectOption('[data-testid=type-select]', 'Q4_K_M');
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 120_000 });
    // With the imatrix of the first test loaded: its name is in the output, llama-quantize's +imatrix run.
    const size = reference.runs.find((r) => r.name === 'Q4_K_M+imatrix').file_size;
    assert.match(await page.locator('#progress-stats').innerText(), /Done: 4\.9 MiB in \d/);
    assert.equal(await page.locator('[data-testid=save-button]').innerText(), 'Save llama-gqa-Q4_K_M.gguf (4.9 MiB)');
    assert.equal(JSON.parse(await page.locator('#progress-box').getAttribute('data-timing')).type, 'Q4_K_M');
    assert.equal(Number(await page.locator('#bar-size').getAttribute('data-bytes')), size);
    for (const [label, width, height] of kViews) {
        for (const scheme of ['light', 'dark']) {
            await view(page, width, height, scheme);
            await centre(page, '#progress-box');
            await page.screenshot({ path: path.join(shots, `done-${label}-${scheme}.png`) });
        }
    }
});

test('GPU formats table on a phone: no sideways scrolling, every row readable', async () => {
    const { page } = b;
    for (const [label, width, height] of kViews) {
        for (const scheme of ['light', 'dark']) {
            await view(page, width, height, scheme);
            await centre(page, '#gpu-table');
            const m = await page.locator('#gpu-table').evaluate((t) => {
                const wrap = t.closest('.table-wrap');
                return { table: t.scrollWidth, wrap: wrap.clientWidth, page: document.documentElement.scrollWidth,
                         rows: [...t.tBodies[0].rows].map((tr) => {
                             const box = (sel) => { const r = tr.querySelector(sel)?.getBoundingClientRect(); return r ? [r.left, r.right] : null; };
                             return { format: tr.dataset.format, name: box('th'), size: box('td.num'), fit: box('.tag'),
                                      note: box('td.note'), noteFont: parseFloat(getComputedStyle(tr.querySelector('td.note')).fontSize) };
                         }) };
            });
            assert.ok(m.table <= m.wrap + 1, `${label}: the table is ${m.table} px in a ${m.wrap} px box`);
            assert.ok(m.page <= width, `${label}: the page scrolls sideways (${m.page} px)`);
            assert.equal(m.rows.length, 5);
            for (const r of m.rows) {
                for (const part of ['name', 'size', 'fit', 'note']) {
                    assert.ok(r[part] && r[part][0] >= 0 && r[part][1] <= width, `${label} ${r.format}: ${part} at ${r[part]}`);
                }
                assert.ok(r.noteFont >= 12, `${label} ${r.format}: note at ${r.noteFont}px`);
            }
            await page.locator('#gpu-formats').screenshot({ path: path.join(shots, `gpu-table-${label}-${scheme}.png`) });
        }
    }
});
