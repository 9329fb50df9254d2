// How the page looks and is reached: screenshots at laptop and phone widths in light and dark
// (saved to build/screenshots for people to look at), no sideways scrolling on a phone, every
// control labelled, and the main path usable from the keyboard alone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { fixturePath, launch, root } from './harness.mjs';

const shots = path.join(root, 'build/screenshots');
let b;
before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    b = await launch();
    await b.open();
    await b.page.setInputFiles('[data-testid=file-input]', fixturePath('models/llama-gqa.gguf'));
    await b.page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype]');
});
after(async () => b?.close());

for (const [name, width, height] of [['laptop', 1366, 900], ['phone', 390, 844]]) {
    for (const scheme of ['light', 'dark']) {
        test(`${name} ${scheme}: screenshot, nothing wider than the screen`, async () => {
            const { page } = b;
            await page.setViewportSize({ width, height });
            await page.emulateMedia({ colorScheme: scheme });
            await page.evaluate(() => window.scrollTo(0, 0));
            await page.screenshot({ path: path.join(shots, `${name}-${scheme}.png`), fullPage: true });
            const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
            const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
            const [r, g, bl] = bg.match(/\d+/g).map(Number);
            const light = (r + g + bl) / 3 > 128;
            assert.equal(light, scheme === 'light', `background ${bg}`);
        });
    }
}

test('every form control has a label', async () => {
    const unlabeled = await b.page.$$eval('input, select, textarea, button', (els) => els.filter((e) => {
        if (e.type === 'hidden') return false;
        const text = (e.labels?.[0]?.textContent ?? '') + (e.getAttribute('aria-label') ?? '') +
                     (e.tagName === 'BUTTON' ? e.textContent : '');
        return !text.trim();
    }).map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabeled, []);
});

test('keyboard: reach the file picker, choose a type from the table, reach Quantize', async () => {
    const { page } = b;
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.focus('body');
    await page.keyboard.press('Tab');  // skip link
    await page.keyboard.press('Tab');
    const focused = async () => page.evaluate(() => document.activeElement?.dataset?.testid ?? document.activeElement?.id);
    const seen = [];
    // With a model loaded the drop zone is folded to "model: NAME · change": change opens it
    // and moves the focus to the file picker.
    for (let i = 0; i < 8 && !seen.includes('change-model'); i++) {
        await page.keyboard.press('Tab');
        seen.push(await focused());
    }
    assert.ok(seen.includes('change-model'), `focus order: ${seen.join(', ')}`);
    await page.keyboard.press('Enter');
    assert.equal(await focused(), 'file-input');
    await page.keyboard.press('Escape');
    await page.focus('[data-testid=estimate-table] tr[data-ftype=Q6_K]');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('[data-testid=type-select]').inputValue(), 'Q6_K');
    await page.focus('[data-testid=quantize-button]');
    assert.equal(await focused(), 'quantize-button');
});

test('after a quantization: the progress card, and the empty page at laptop and phone widths', async () => {
    const { page } = b;
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.selectOption('[data-testid=type-select]', 'Q4_K_M');
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 300_000 });
    const stats = await page.locator('#progress-stats').innerText();
    assert.match(stats, /Done/);
    assert.match(stats, /MB\/s/);
    await page.locator('#quantize-section').screenshot({ path: path.join(shots, 'laptop-quantized.png') });
    for (const [name, width, height] of [['laptop', 1366, 900], ['phone', 390, 844]]) {
        await page.setViewportSize({ width, height });
        await page.goto(b.origin + '/');
        await page.waitForSelector('html[data-ready="true"]');
        await page.screenshot({ path: path.join(shots, `${name}-empty.png`) });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `empty page scrolls sideways by ${overflow}px`);
    }
});
