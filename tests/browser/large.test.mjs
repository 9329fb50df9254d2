// Slow: a generated 1.5 GB F16 model quantizes in Chromium and saves through the OPFS path
// without a crash, with every worker's wasm heap under 512 MiB; the download equals the native
// CLI's output for the same model (when build/native is there), else the planned size.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launch, root } from './harness.mjs';

const dir = path.join(root, 'build/bench-web');
const model = path.join(dir, 'big-f16.gguf');
const nativeDir = path.resolve(root, process.env.GGUF_SQUASH_NATIVE_DIR ?? 'build/native');
const kHeapLimit = 512 * 1024 * 1024;

function sha256File(file) {
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(8 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
    fs.closeSync(fd);
    return hash.digest('hex');
}

let b;
before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(model)) {
        // 17 layers of the benchmark shape: 1.57 GB of F16 weights.
        const r = spawnSync(path.join(nativeDir, 'make-bench-model'), [model, '--layers', '17'], { stdio: 'inherit' });
        assert.equal(r.status, 0, 'make-bench-model');
    }
    b = await launch();
    await b.open();
});
after(async () => b?.close());

test('a 1.5 GB model quantizes to Q4_0 through OPFS and downloads intact', { timeout: 1_200_000 }, async () => {
    const { page } = b;
    assert.ok(fs.statSync(model).size > 1.5e9);
    await page.setInputFiles('[data-testid=file-input]', model);
    await page.waitForSelector('[data-testid=estimate-table] tbody tr[data-ftype=Q4_0]');
    const planned = Number(await page.locator('[data-testid=estimate-table] tr[data-ftype=Q4_0]').getAttribute('data-bytes'));
    await page.selectOption('[data-testid=type-select]', 'Q4_0');
    await page.click('[data-testid=quantize-button]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=save-button]').disabled ||
                                     !document.querySelector('[data-testid=error]').hidden, null, { timeout: 1_100_000, polling: 500 });
    assert.equal(await page.locator('[data-testid=error]').isHidden(), true, await page.locator('[data-testid=error]').innerText());
    assert.equal(await page.locator('#progress-box').getAttribute('data-sink'), 'opfs');
    const heap = Number(await page.locator('#progress-box').getAttribute('data-max-heap'));
    console.log(`largest wasm heap: ${(heap / 1048576).toFixed(0)} MiB`);
    assert.ok(heap > 0 && heap < kHeapLimit, `heap ${heap}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-button]')]);
    const file = await download.path();
    assert.equal(fs.statSync(file).size, planned);
    const native = path.join(nativeDir, 'gguf-squash');
    if (fs.existsSync(native)) {
        const out = path.join(dir, 'big-q4_0.native.gguf');
        const r = spawnSync(native, ['quantize', model, out, 'Q4_0', '2'], { stdio: 'ignore' });
        assert.equal(r.status, 0);
        assert.equal(sha256File(file), sha256File(out));
        fs.unlinkSync(out);
    }
    assert.deepEqual(b.foreignRequests(), []);
});
