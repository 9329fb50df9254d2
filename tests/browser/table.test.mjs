// Issue 14's estimate table, in Chromium: sorted by size by default and by any column on a
// click, its header in view while it scrolls, the selected row marked, one Tab stop with the
// arrow keys moving within (a visible focus ring), and one recommendation that the table's badge,
// the memory panel and the action bar agree on and that moves with the budget and the context.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { fixturePath, launch, root } from './harness.mjs';

const shots = path.join(root, 'build/screenshots');
let b;
before(async () => {
    b = await launch();
    await b.open();
    await b.page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await b.page.waitForFunction(() => document.getElementById('memory-summary').dataset.recommended !== undefined);
});
after(async () => b?.close());

const order = () => b.page.$$eval('[data-testid=estimate-table] tbody tr[data-ftype]', (trs) => trs.map((tr) => ({
    ftype: tr.dataset.ftype, bytes: Number(tr.dataset.bytes), bpw: Number(tr.cells[3].textContent) })));

test('sorted by size by default, by any column on a click (again: the other way)', async () => {
    const { page } = b;
    let rows = await order();
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].bytes <= rows[i].bytes, `${rows[i - 1].ftype} before ${rows[i].ftype}`);
    assert.equal(await page.getAttribute('[data-testid=estimate-table] th:nth-child(2)', 'aria-sort'), 'ascending');
    await page.click('[data-testid=estimate-table] button[data-sort=bpw]');
    rows = await order();
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].bpw <= rows[i].bpw);
    await page.click('[data-testid=estimate-table] button[data-sort=bpw]');
    rows = await order();
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].bpw >= rows[i].bpw);
    assert.equal(await page.getAttribute('[data-testid=estimate-table] th:nth-child(4)', 'aria-sort'), 'descending');
    await page.click('[data-testid=estimate-table] button[data-sort=name]');
    rows = await order();
    const names = rows.map((r) => r.ftype);
    assert.deepEqual(names, [...names].sort((x, y) => x.localeCompare(y, 'en', { numeric: true })));
    await page.click('[data-testid=estimate-table] button[data-sort=file_size]');
});

test('the header stays in view while the table scrolls', async () => {
    const { page } = b;
    const wrap = page.locator('.estimates-wrap');
    await wrap.evaluate((e) => { e.scrollTop = e.scrollHeight; });
    const head = await page.locator('[data-testid=estimate-table] thead th').first().boundingBox();
    const box = await wrap.boundingBox();
    assert.ok(Math.abs(head.y - box.y) < 3, `header at ${head.y}, table top at ${box.y}`);
    await wrap.evaluate((e) => { e.scrollTop = 0; });
});

test('one Tab stop; arrows move the focus, Enter chooses, the selected row is marked', async () => {
    const { page } = b;
    const stops = await page.$$eval('[data-testid=estimate-table] tbody tr[data-ftype]', (trs) => trs.filter((t) => t.tabIndex === 0).map((t) => t.dataset.ftype));
    assert.deepEqual(stops, [await page.inputValue('#type-select')]);
    await page.focus(`[data-testid=estimate-table] tr[data-ftype="${stops[0]}"]`);
    await page.keyboard.press('ArrowDown');
    const next = await page.evaluate(() => document.activeElement.dataset.ftype);
    assert.notEqual(next, stops[0]);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(ring, 'solid');
    await page.keyboard.press('Enter');
    assert.equal(await page.inputValue('#type-select'), next);
    assert.equal(await page.getAttribute(`[data-testid=estimate-table] tr[data-ftype="${next}"]`, 'aria-selected'), 'true');
    assert.match(await page.getAttribute(`[data-testid=estimate-table] tr[data-ftype="${next}"]`, 'class'), /selected/);
    await page.keyboard.press('Home');
    await page.keyboard.press('Tab');
    const after = await page.evaluate(() => document.activeElement.closest('[data-testid=estimate-table] tbody'));
    assert.equal(after, null, 'Tab leaves the table');
    await page.screenshot({ path: path.join(shots, 'table-focus-laptop-light.png') });
    await page.selectOption('#type-select', 'Q4_K_M');
});

async function recommendations() {
    return b.page.evaluate(() => ({
        table: [...document.querySelectorAll('[data-testid=estimate-table] tr.recommended')].map((t) => t.dataset.ftype),
        memory: document.getElementById('memory-summary').dataset.recommended,
        bar: document.querySelector('[data-testid=action-bar]').dataset.recommended,
    }));
}

test('one recommendation in the table, the memory panel and the action bar, moving with budget and context', async () => {
    const { page } = b;
    let r = await recommendations();
    assert.ok(r.memory);
    assert.deepEqual(r.table, [r.memory]);
    assert.equal(r.bar, r.memory);
    const roomy = r.memory;
    // A budget that only a smaller type fits.
    const need = await page.$$eval('[data-testid=estimate-table] tr[data-ftype=Q4_K_M]', (t) => Number(t[0].dataset.bytes));
    await page.fill('#mem-device', String((need + 8 * 2 ** 20 + 12 * 2 ** 20) / 2 ** 30));
    await page.waitForFunction((old) => document.getElementById('memory-summary').dataset.recommended !== old, roomy);
    r = await recommendations();
    assert.deepEqual(r.table, r.memory ? [r.memory] : []);
    assert.equal(r.bar, r.memory);
    const tight = r.memory;
    // A longer context at the same budget: the recommendation moves again (or nothing fits).
    await page.fill('#mem-context', '65536');
    await page.waitForFunction((old) => document.getElementById('memory-summary').dataset.recommended !== old, tight);
    r = await recommendations();
    assert.deepEqual(r.table, r.memory ? [r.memory] : []);
    assert.equal(r.bar, r.memory);
    // The chart says the context asked for is beyond the training context (512 for this model).
    await page.locator('[data-testid=ctx-beyond]').waitFor();
    assert.match(await page.locator('[data-testid=ctx-beyond]').innerText(), /65,536 tokens\) is beyond the 512/);
    await page.fill('#mem-context', '4096');
    await page.fill('#mem-device', '8');
    await page.waitForFunction((old) => document.getElementById('memory-summary').dataset.recommended === old, roomy);
});

test('the context chart: an SVG (role=img, aria-label) of the largest context per type, capped at the training context, with its table', async () => {
    const { page } = b;
    const chart = page.locator('[data-testid=ctx-chart] svg[role=img]');
    await chart.waitFor();
    const label = await chart.getAttribute('aria-label');
    assert.match(label, /Largest context that fits in 8\.00 GiB/);
    assert.match(label, /training context of 512/);
    const rows = await page.$$eval('[data-testid=ctx-chart] table tr[data-ftype]', (trs) => trs.map((t) => [t.dataset.ftype, Number(t.dataset.maxCtx)]));
    assert.ok(rows.length >= 5);
    // The table's figures are the memory model's (the estimate table's "≤ N ctx" column).
    const mem = await page.evaluate(() => document.getElementById('memory-summary').dataset);
    const q4 = rows.find(([n]) => n === 'Q4_K_M');
    assert.equal(q4[1], Number(mem.maxCtx));
    // Each bar is capped at the training context: none is wider than the line marking it.
    const [maxBar, line] = await page.evaluate(() => {
        const svgEl = document.querySelector('[data-testid=ctx-chart] svg');
        const bars = [...svgEl.querySelectorAll('rect.bar')].map((r) => Number(r.getAttribute('x')) + Number(r.getAttribute('width')));
        return [Math.max(...bars), Number(svgEl.querySelector('line.trained').getAttribute('x1'))];
    });
    assert.ok(maxBar <= line + 0.05, `${maxBar} <= ${line}`);
    for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.waitForTimeout(250);
        await page.locator('#memory-panel').screenshot({ path: path.join(shots, `ctx-chart-laptop-${scheme}.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
});

test('metadata: keys grouped by prefix, fixed column widths, a chat template in a collapsible block with its line breaks, the filter back at the top', async () => {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', fixturePath('vocab/ggml-vocab-qwen2.gguf'));
    await page.waitForSelector('#metadata-table tr[data-key="tokenizer.chat_template"]');
    const groups = await page.$$eval('#metadata-table tr.group', (trs) => trs.map((t) => t.dataset.group));
    assert.equal(groups[0], 'general');
    assert.ok(groups.includes('tokenizer'));
    // Every key sits under its own prefix's heading.
    const misplaced = await page.$$eval('#metadata-table tbody tr', (trs) => {
        let group = null;
        const bad = [];
        for (const tr of trs) {
            if (tr.classList.contains('group')) group = tr.dataset.group;
            else if (tr.dataset.key.split('.')[0] !== group && group !== '(no prefix)') bad.push(tr.dataset.key);
        }
        return bad;
    });
    assert.deepEqual(misplaced, []);
    assert.equal(await page.$eval('#metadata-table', (t) => getComputedStyle(t).tableLayout), 'fixed');
    const tpl = page.locator('#metadata-table tr[data-key="tokenizer.chat_template"] details.long-string');
    assert.equal(await tpl.locator('pre').isVisible(), false);
    await tpl.locator('summary').click();
    const text = await tpl.locator('pre').innerText();
    assert.ok(text.split('\n').length > 3, 'real line breaks');
    assert.doesNotMatch(text, /\\n/);
    assert.equal(await tpl.locator('pre').evaluate((e) => getComputedStyle(e).fontFamily.includes('mono')), true);
    await page.locator('#metadata-section').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(shots, 'metadata-template-laptop-light.png') });
    // The filter resets the list's scroll.
    const wrap = page.locator('#metadata-section .table-wrap');
    await wrap.evaluate((e) => { e.scrollTop = e.scrollHeight; });
    assert.ok(await wrap.evaluate((e) => e.scrollTop) > 0);
    await page.fill('#metadata-search', 'token');
    assert.equal(await wrap.evaluate((e) => e.scrollTop), 0);
    await page.fill('#metadata-search', '');
});
