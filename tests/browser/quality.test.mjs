// The Quality view in Chromium (issue 13): the chart is an <svg role=img> with an aria-label, and
// after measuring (in workers, with progress) its points are the core's figures — the same as
// `node wasm/cli.mjs quality --json` on the fixture; the layer map's cells carry the plan table's
// type for the chosen ftype, and follow it when the choice changes; cancelling a measurement stops
// it; "Fit to a size" gives node's `fit --json` result and, used, a choice that quantizes in the
// page to exactly the predicted size with the fit's types; "Fit to my memory" and an impossible
// size. Screenshots of the view go to build/screenshots/ (laptop and phone, light and dark).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { fixturePath, launch, root } from './harness.mjs';

const shots = path.join(root, 'build/screenshots');
const models = path.join(root, 'tests/fixtures/models');
const cli = path.join(root, 'wasm/cli.mjs');
const nodeCli = (args) => {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: models, encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
};

let b;
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    b = await launch();
    await b.open();
    await b.page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await b.page.waitForSelector('[data-testid=plan-table] tr[data-tensor][data-type]');
    await b.page.waitForSelector('[data-testid=quality-section]:not([hidden])');
});
after(async () => b?.close());

async function screenshot(page, name, selector = '[data-testid=quality-chart]') {
    await page.locator('[data-testid=quality-section]').scrollIntoViewIfNeeded();
    for (const [label, width, height] of [['laptop', 1366, 900], ['phone', 390, 844]]) {
        for (const scheme of ['light', 'dark']) {
            await page.setViewportSize({ width, height });
            await page.emulateMedia({ colorScheme: scheme });
            await page.waitForTimeout(250);
            await page.locator(selector).evaluate((n) => n.scrollIntoView({ block: 'center', behavior: 'instant' }));
            await page.screenshot({ path: path.join(shots, `${name}-${label}-${scheme}.png`) });
        }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
}

// The layer map's cells and the plan table's rows, as {name: type}.
async function mapAndPlan(page) {
    return page.evaluate(() => {
        const cells = Object.fromEntries([...document.querySelectorAll('[data-testid=layer-map] [data-tensor][data-type]')]
            .map((c) => [c.dataset.tensor, c.dataset.type]));
        const plan = Object.fromEntries([...document.querySelectorAll('[data-testid=plan-table] tr[data-tensor][data-type]')]
            .map((r) => [r.dataset.tensor, r.dataset.type]));
        return { cells, plan };
    });
}

async function waitMapFor(page, type) {
    await page.waitForFunction((t) => document.getElementById('layer-map-type').textContent === t &&
        document.querySelector('[data-testid=layer-map] [data-tensor]') &&
        document.getElementById('tensor-count').textContent.includes(`plan for ${t}`), type);
}

test('the layer map has the plan table\'s type for every tensor of the chosen ftype', async () => {
    const { page } = b;
    for (const type of ['Q4_K_M', 'Q2_K', 'Q6_K']) {
        await page.selectOption('[data-testid=type-select]', type);
        await waitMapFor(page, type);
        const { cells, plan } = await mapAndPlan(page);
        const names = Object.keys(cells);
        // Every 2D weight of the 8-layer model: 7 per layer plus token_embd and output.
        assert.equal(names.length, 8 * 7 + 2, type);
        for (const n of names) assert.equal(cells[n], plan[n], `${type} ${n}`);
        // Rows are layers, columns roles.
        assert.equal(await page.locator('[data-testid=layer-map] tbody tr[data-layer^="blk."]').count(), 8);
    }
    // The Q4_K_M mix is not uniform: the map shows more than one type.
    await page.selectOption('[data-testid=type-select]', 'Q4_K_M');
    await waitMapFor(page, 'Q4_K_M');
    assert.ok(new Set(Object.values((await mapAndPlan(page)).cells)).size > 1);
});

test('the chart: role=img with an aria-label; measuring fills it with the core\'s figures, with progress', async () => {
    const { page } = b;
    const chart = page.locator('[data-testid=quality-chart]');
    assert.equal(await chart.evaluate((n) => n.tagName.toLowerCase()), 'svg');
    assert.equal(await chart.getAttribute('role'), 'img');
    assert.match(await chart.getAttribute('aria-label'), /not measured yet/);
    // Progress is seen before the end.
    await page.evaluate(() => {
        window.__qualityProgress = [];
        window.__qualityPoints = [];
        new MutationObserver(() => window.__qualityProgress.push(document.getElementById('quality-progress').value))
            .observe(document.getElementById('quality-status'), { childList: true, characterData: true, subtree: true });
        // The chart as each worker group's report arrives.
        new MutationObserver(() => window.__qualityPoints.push(Number(document.querySelector('[data-testid=quality-chart]').dataset.points)))
            .observe(document.getElementById('quality-chart-box'), { childList: true });
    });
    await page.click('[data-testid=quality-measure]');
    await page.waitForFunction(() => document.getElementById('quality-section').dataset.measuring === 'false' &&
                                     /types measured/.test(document.getElementById('quality-status').textContent), null, { timeout: 120_000 });
    const progress = await page.evaluate(() => window.__qualityProgress);
    assert.ok(progress.length >= 2, `${progress.length} progress updates`);
    const filled = await page.evaluate(() => window.__qualityPoints);
    const points = await page.$$eval('[data-testid=quality-chart] [data-ftype]', (gs) => gs.map((g) => ({
        name: g.dataset.ftype, size: Number(g.dataset.size), error: Number(g.dataset.error), label: g.getAttribute('aria-label') })));
    const expected = JSON.parse(nodeCli(['quality', '--json', 'llama-gqa.gguf']));
    const byName = new Map(expected.ftypes.map((f) => [f.name, f]));
    // Without an imatrix the page measures what `quality` measures by default that needs none.
    assert.ok(points.length >= 20, `${points.length} points`);
    for (const p of points) {
        const f = byName.get(p.name);
        assert.ok(f, p.name);
        assert.equal(p.size, f.file_size, p.name);
        assert.equal(p.error, f.rel_rmse, p.name);
    }
    assert.match(await chart.getAttribute('aria-label'), /Q4_K_M/);
    // It filled in: some drawing had more than none and fewer than all the points.
    assert.ok(filled.some((n) => n > 0 && n < points.length), `point counts drawn: ${filled.join(',')}`);
    // The sampled measurement says so.
    assert.match(await page.locator('[data-testid=quality-status]').textContent(), /a sample of 16 evenly spaced rows per matrix \([\d,]+ rows measured/);
    // Chosen and recommended are marked; focus on a point shows its numbers.
    assert.equal(await page.locator('[data-testid=quality-chart] .quality-chosen').getAttribute('data-ftype'), 'Q4_K_M');
    assert.ok(await page.locator('[data-testid=quality-chart] .quality-rec').count() <= 1);
    await page.locator('[data-testid=quality-chart] [data-ftype=Q8_0]').focus();
    assert.match(await page.locator('#quality-tip').textContent(), /^Q8_0: .*relative RMSE/);
    // The table says the same, the lossless types (off the log scale) included.
    const rows = await page.$$eval('[data-testid=quality-table] tbody tr', (trs) => trs.map((r) => ({ name: r.dataset.ftype, error: Number(r.dataset.error) })));
    assert.deepEqual(rows.filter((r) => r.error > 0).map((r) => r.name).sort(), points.map((p) => p.name).sort());
    for (const r of rows) assert.equal(r.error, byName.get(r.name)?.rel_rmse, r.name);
    assert.ok(rows.some((r) => r.name === 'F16' && r.error === 0));
    // Device memory line (the page's 8 GiB default budget).
    assert.equal(await page.locator('[data-testid=quality-memory-line]').count(), 1);
    // Once measured, the layer map can colour by error, and its cells carry the error.
    await page.selectOption('#layer-map-colour', 'error');
    const errs = await page.$$eval('[data-testid=layer-map] [data-error]', (cs) => cs.map((c) => ({ n: c.dataset.tensor, e: Number(c.dataset.error) })));
    const q4 = new Map(byName.get('Q4_K_M').tensors.map((t) => [t.name, t.rel_rmse]));
    assert.equal(errs.length, 58);
    for (const { n, e } of errs) assert.equal(e, q4.get(n), n);
    await screenshot(page, 'quality');
    await page.selectOption('#layer-map-colour', 'type');
});

test('cancel stops a measurement: no more points arrive, the controls are back', async () => {
    const { page } = b;
    await page.selectOption('[data-testid=quality-rows]', 'all');
    await page.click('[data-testid=quality-measure]');
    await page.waitForFunction(() => document.getElementById('quality-section').dataset.measuring === 'true');
    await page.click('[data-testid=quality-cancel]');
    await page.waitForFunction(() => document.getElementById('quality-section').dataset.measuring === 'false');
    assert.match(await page.locator('[data-testid=quality-status]').textContent(), /^Cancelled: \d+ of \d+ types measured/);
    const n = await page.locator('[data-testid=quality-chart] [data-ftype]').count();
    await page.waitForTimeout(1500);
    assert.equal(await page.locator('[data-testid=quality-chart] [data-ftype]').count(), n);
    assert.equal(await page.locator('[data-testid=quality-measure]').isDisabled(), false);
    await page.selectOption('[data-testid=quality-rows]', '16');
});

test('fit to a size: node\'s fit result, used as the choice it quantizes to exactly the predicted size', async () => {
    const { page } = b;
    await page.fill('[data-testid=fit-size]', '4.5MiB');
    await page.click('[data-testid=fit-size-button]');
    await page.waitForSelector('[data-testid=fit-result][data-state=done]', { timeout: 120_000 });
    const expected = JSON.parse(nodeCli(['fit', '--json', '--target-size', '4.5MiB', 'llama-gqa.gguf']));
    const predicted = Number(await page.locator('[data-testid=fit-result]').getAttribute('data-bytes'));
    assert.equal(predicted, expected.file_size);
    assert.equal(await page.locator('[data-testid=fit-result]').getAttribute('data-base'), expected.base);
    assert.equal(await page.locator('[data-testid=fit-command]').textContent(), expected.command);
    await page.click('[data-testid=fit-use]');
    // The choice: the fit's base type with its tensor types as options; the page's exact size is the prediction.
    await page.waitForFunction((n) => document.querySelector('[data-testid=bar-size]')?.dataset.bytes === String(n), predicted);
    assert.equal(await page.locator('[data-testid=type-select]').inputValue(), expected.base);
    await waitMapFor(page, expected.base);
    const { cells, plan } = await mapAndPlan(page);
    for (const t of expected.tensor_types) {
        assert.equal(plan[t.name], t.type, t.name);
        assert.equal(cells[t.name], t.type, t.name);
    }
    await page.click('[data-testid=quantize-button]');
    const save = page.locator('[data-testid=save-button]');
    await save.waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 300_000 });
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
    const file = await download.path();
    assert.equal(fs.statSync(file).size, predicted);
    const info = JSON.parse(nodeCli(['info', '--json', file]));
    const typeOf = new Map(info.tensors.map((t) => [t.name, t.type.toLowerCase()]));
    for (const t of expected.tensor_types) assert.equal(typeOf.get(t.name), t.type.toLowerCase(), t.name);
    await screenshot(page, 'quality-fit', '[data-testid=fit-result]');
});

test('fit to my memory uses the memory budget; an impossible size names the smallest that works', async () => {
    const { page } = b;
    await page.fill('#mem-device', '0.02');
    await page.dispatchEvent('#mem-device', 'input');
    await page.click('[data-testid=fit-button]');
    await page.waitForSelector('[data-testid=fit-result]:is([data-state=done],[data-state=error])', { timeout: 120_000 });
    const ctx = await page.locator('#mem-context').inputValue();
    const mib = 0.02 * 2 ** 30;
    const r = spawnSync(process.execPath, [cli, 'fit', '--json', '--memory', String(Math.round(mib)), '--ctx', ctx || '4096', 'llama-gqa.gguf'],
                        { cwd: models, encoding: 'utf8' });
    if (r.status === 0) {
        assert.equal(await page.locator('[data-testid=fit-result]').getAttribute('data-state'), 'done');
        assert.equal(Number(await page.locator('[data-testid=fit-result]').getAttribute('data-bytes')), JSON.parse(r.stdout).file_size);
    } else {
        assert.equal(await page.locator('[data-testid=fit-result]').getAttribute('data-state'), 'error');
        assert.equal(await page.locator('[data-testid=fit-error]').textContent(), r.stderr.replace(/^gguf-squash fit: /, '').trim());
    }
    await page.fill('[data-testid=fit-size]', '1000');
    await page.click('[data-testid=fit-size-button]');
    await page.waitForSelector('[data-testid=fit-result][data-state=error]', { timeout: 120_000 });
    assert.match(await page.locator('[data-testid=fit-error]').textContent(), /no mix fits in 1000 bytes: the smallest file the plan allows is \d+ bytes/);
    assert.deepEqual(b.errors, []);
    assert.deepEqual(b.foreignRequests(), []);
});

test('a URL model (Hub emulator): measured in the page by ranges, the same figures as the local file', { timeout: 300_000 }, async () => {
    const { makeRepo, startHubEmulator } = await import('../support/hub_emulator.mjs');
    const hubRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-quality-hub-'));
    makeRepo(hubRoot, 'test/llama-gqa', { 'llama-gqa.gguf': fixturePath('models/llama-gqa.gguf') });
    const emu = await startHubEmulator({ root: hubRoot });
    try {
        const { page } = b;
        const url = emu.resolveUrl('test/llama-gqa', 'llama-gqa.gguf');
        await page.goto(b.origin + '/?' + new URLSearchParams({ model: url, hub: emu.hub }).toString());
        await page.waitForSelector('html[data-ready="true"]');
        await page.waitForSelector('[data-testid=quality-section]:not([hidden]) [data-testid=quality-measure]:not([disabled])', { timeout: 120_000 });
        await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
        const before = emu.stats().bytes;
        await page.click('[data-testid=quality-measure]');
        await page.waitForFunction(() => /types measured/.test(document.getElementById('quality-status').textContent), null, { timeout: 90_000 })
            .catch(async (e) => {
                const why = await page.evaluate(() => ({ status: document.getElementById('quality-status').textContent,
                                                         error: document.getElementById('error').textContent,
                                                         measuring: document.getElementById('quality-section').dataset.measuring }));
                throw new Error(`${e.message}: ${JSON.stringify(why)}; emulator ${JSON.stringify(emu.stats())}`);
            });
        const fetched = emu.stats().bytes - before;
        const points = await page.$$eval('[data-testid=quality-chart] [data-ftype]', (gs) => gs.map((g) => ({
            name: g.dataset.ftype, size: Number(g.dataset.size), error: Number(g.dataset.error) })));
        const byName = new Map(JSON.parse(nodeCli(['quality', '--json', 'llama-gqa.gguf'])).ftypes.map((f) => [f.name, f]));
        assert.ok(points.length >= 20);
        for (const p of points) {
            assert.equal(p.size, byName.get(p.name)?.file_size, p.name);
            assert.equal(p.error, byName.get(p.name)?.rel_rmse, p.name);
        }
        // Only the sampled rows came over the network, not the tensor data.
        assert.ok(fetched > 0 && fetched < fs.statSync(fixturePath('models/llama-gqa.gguf')).size / 2, `fetched ${fetched}`);
        assert.deepEqual(b.errors, []);
    } finally {
        await emu.close();
        fs.rmSync(hubRoot, { recursive: true, force: true });
    }
});
