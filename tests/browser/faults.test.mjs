// Hostile files and faults in Chromium (issue 7): every malformed file shows its error (field and
// byte offset) and the page keeps working; while quantizing, a pool worker that crashes, the coordinating
// worker crashing, and the source File disappearing mid-read each end with an error shown, the UI
// ready again, no download and nothing left in OPFS; afterwards a normal run still gives
// llama-quantize's bytes. (Cancel is covered by quantize.test.mjs.)
//
// The crashes are forced by test hooks prepended to the workers of a private copy of the built
// site: a model whose file name contains "crash-pool" makes a pool worker throw instead of
// converting its first row chunk; "crash-main" makes the coordinating worker throw 300 ms into the
// run. The shipped site has no hooks.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const builtSite = path.resolve(root, process.env.GGUF_SQUASH_WEB_DIR ?? 'build/web');
const site = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-faults-site-'));
fs.cpSync(builtSite, site, { recursive: true });

const poolHook = `// test hook (tests/browser/faults.test.mjs)
let __crashPool = false;
self.addEventListener('message', (ev) => {
    const m = ev.data;
    if (m?.type === 'init' && String(m.files?.[0]?.name).includes('crash-pool')) __crashPool = true;
    if (m?.type === 'convert' && __crashPool) {
        ev.stopImmediatePropagation();  // the chunk is never answered
        throw new Error('forced pool worker crash');
    }
});
`;
const mainHook = `// test hook (tests/browser/faults.test.mjs)
self.addEventListener('message', (ev) => {
    const p = ev.data?.params;
    if (ev.data?.method === 'quantize' && String(p?.files?.[0]?.name).includes('crash-main')) {
        setTimeout(() => { throw new Error('forced coordinator crash'); }, 300);
    }
});
`;
for (const [file, hook] of [['pool-worker.mjs', poolHook], ['worker.mjs', mainHook]]) {
    const p = path.join(site, file);
    fs.writeFileSync(p, hook + fs.readFileSync(p, 'utf8'));
}
process.env.GGUF_SQUASH_WEB_DIR = site;
const { fixturePath, launch, reference } = await import('./harness.mjs');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-faults-'));
const model = fixturePath('models/llama-gqa.gguf');
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const run = (name) => reference.runs.find((r) => r.name === name);

let b;
let downloads = 0;
before(async () => {
    b = await launch();
    await b.open();
    b.page.on('download', () => downloads++);
});
after(async () => {
    await b?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(site, { recursive: true, force: true });
});

async function load(file) {
    const { page } = b;
    await page.setInputFiles('[data-testid=file-input]', file);
    try {
        await page.waitForFunction((name) => {
            const summary = document.getElementById('file-summary').textContent;
            return summary.startsWith(name + ' · ') && !document.getElementById('estimate-section').hidden &&
                document.querySelector('[data-testid=estimate-table] tbody tr[data-ftype]') !== null;
        }, path.basename(file), { timeout: 60_000 });
    } catch (e) {
        // Say where the page stopped (seen once in a full run, never alone: the summary, the
        // error banner and the estimate section tell which step did not finish).
        const where = await page.evaluate(() => ({
            summary: document.getElementById('file-summary').textContent,
            error: document.querySelector('[data-testid=error]')?.innerText ?? '',
            estimatesHidden: document.getElementById('estimate-section').hidden,
            rows: document.querySelectorAll('[data-testid=estimate-table] tbody tr[data-ftype]').length,
        })).catch(() => ({}));
        throw new Error(`${path.basename(file)} did not load: ${e.message}; page: ${JSON.stringify(where)}`, { cause: e });
    }
}

async function opfsNames() {
    return b.page.evaluate(async () => {
        const names = [];
        for await (const n of (await navigator.storage.getDirectory()).keys()) names.push(n);
        return names;
    });
}

// After a fault: the error is shown, the UI is ready for another run, nothing was saved.
async function expectFailedCleanly(pattern) {
    const { page } = b;
    await page.waitForFunction(() => !document.querySelector('[data-testid=quantize-button]').disabled,
        null, { timeout: 120_000 });
    const error = page.locator('[data-testid=error]');
    assert.equal(await error.isVisible(), true, 'an error is shown');
    assert.match(await error.innerText(), pattern);
    assert.equal(await page.locator('[data-testid=cancel-button]').isDisabled(), true);
    assert.equal(await page.locator('[data-testid=save-button]').isDisabled(), true);
    // The temporary OPFS file may still be closing for a moment after a worker is stopped.
    let left = await opfsNames();
    for (let i = 0; i < 40 && left.length; i++) {
        await page.waitForTimeout(100);
        left = await opfsNames();
    }
    assert.deepEqual(left, [], 'nothing left in OPFS');
    assert.equal(downloads, 0, 'nothing downloaded');
}

async function startQuantize(type) {
    await b.page.selectOption('[data-testid=type-select]', type);
    await b.page.click('[data-testid=quantize-button]');
}

// Every malformed file: the page shows the reader's error naming the field and byte offset that
// tests/fixtures/malformed/README.md records, and a good file loads afterwards.
test('every malformed file shows its error, and the page still works', { timeout: 600_000 }, async () => {
    const { page } = b;
    const dir = fixturePath('malformed');
    const cases = [];
    for (const line of fs.readFileSync(path.join(dir, 'README.md'), 'utf8').split('\n')) {
        const m = /^\| `([^`]+\.gguf)` \| (.+?) \| (\d+) \|$/.exec(line);
        if (m) cases.push({ file: m[1], field: m[2], offset: m[3] });
    }
    assert.ok(cases.length >= 40);
    const error = page.locator('[data-testid=error]');
    for (const c of cases) {
        await page.setInputFiles('[data-testid=file-input]', path.join(dir, c.file));
        await error.waitFor({ state: 'visible' });
        const text = await error.innerText();
        assert.ok(text.includes(c.file), `${c.file}: ${text}`);
        assert.ok(text.includes(c.field), `${c.file} names '${c.field}': ${text}`);
        assert.ok(text.includes(`at byte offset ${c.offset}:`), `${c.file} offset ${c.offset}: ${text}`);
        await load(model);
        assert.equal(await error.isHidden(), true);
    }
});

test('a pool worker that crashes: error shown, UI ready, nothing saved', { timeout: 300_000 }, async () => {
    const file = path.join(tmp, 'crash-pool.gguf');
    fs.copyFileSync(model, file);
    await load(file);
    await startQuantize('Q4_K_M');
    await expectFailedCleanly(/fail|crash|worker/i);
});

test('the coordinating worker crashes: error shown, UI ready, nothing saved', { timeout: 300_000 }, async () => {
    const file = path.join(tmp, 'crash-main.gguf');
    fs.copyFileSync(model, file);
    await load(file);
    await startQuantize('IQ4_NL');
    await expectFailedCleanly(/crash|fail/i);
});

test('the source file disappears mid-read: error shown, UI ready, nothing saved', { timeout: 300_000 }, async (t) => {
    const { page } = b;
    const file = path.join(tmp, 'vanishing.gguf');
    fs.copyFileSync(model, file);
    await load(file);
    await startQuantize('IQ4_NL');
    await page.waitForFunction(() => {
        const p = document.querySelector('[data-testid=progress]');
        return (p.value > 0 && p.value < p.max) || !document.querySelector('[data-testid=quantize-button]').disabled;
    }, null, { timeout: 120_000, polling: 10 });
    fs.rmSync(file);
    if (!(await page.locator('[data-testid=quantize-button]').isDisabled())) {
        t.skip('the run finished before the file was removed');
        return;
    }
    await expectFailedCleanly(/fail|read|found|file/i);
});

test('afterwards a normal run gives the reference bytes', { timeout: 300_000 }, async () => {
    const { page } = b;
    await load(model);
    await startQuantize('Q4_K_M');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled, null, { timeout: 300_000 });
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-button]')]);
    assert.equal(sha256(await download.path()), run('Q4_K_M').file_sha256);
    // The forced crashes propagate to the page as uncaught worker errors; nothing else may.
    assert.deepEqual(b.errors.filter((e) => !/forced (pool worker|coordinator) crash/.test(e)), []);
});
