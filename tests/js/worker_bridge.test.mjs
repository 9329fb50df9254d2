// web/bridge.mjs WorkerBridge, with a stand-in Worker: a worker that crashes fails its call and
// the next queued call runs in a new worker (it used to be posted to the crashed one, which was
// then terminated, so it was never answered); an aborted call stops its worker and the queue goes
// on. Loaded from the built site (scripts/build.sh web), where the page's ./wasm/ modules sit.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.resolve(root, process.env.GGUF_SQUASH_WEB_DIR ?? 'build/web');

// Each stand-in worker records what it was sent; the test answers, crashes or checks it.
const workers = [];
class FakeWorker {
    constructor() {
        this.sent = [];
        this.terminated = false;
        workers.push(this);
    }
    postMessage(msg) {
        if (this.terminated) return;  // as a real terminated worker: the message goes nowhere
        this.sent.push(msg);
    }
    terminate() {
        this.terminated = true;
    }
    answer(result) {
        const msg = this.sent.shift();
        this.onmessage({ data: { id: msg.id, result } });
    }
    crash(message) {
        this.onerror({ message, preventDefault() {} });
    }
}
globalThis.Worker = FakeWorker;
const { WorkerBridge } = await import(pathToFileURL(path.join(site, 'bridge.mjs')).href);

const settled = (p) => p.then((v) => ({ ok: v }), (e) => ({ error: e }));
const tick = () => new Promise((r) => setTimeout(r, 0));

test('a worker that crashes fails its call; the call queued behind it runs in a new worker', async () => {
    workers.length = 0;
    const bridge = new WorkerBridge('worker.mjs', { idleMs: Infinity });
    const first = settled(bridge.call('estimate', { n: 1 }));
    const second = settled(bridge.call('open', { n: 2 }));
    assert.equal(workers.length, 1);
    assert.deepEqual(workers[0].sent.map((m) => m.method), ['estimate']);
    workers[0].crash('forced crash');
    const a = await first;
    assert.match(a.error?.message ?? '', /forced crash/);
    assert.equal(workers[0].terminated, true);
    assert.equal(workers.length, 2, 'a new worker for the queued call');
    assert.deepEqual(workers[1].sent.map((m) => m.method), ['open']);
    workers[1].answer('opened');
    assert.deepEqual(await second, { ok: 'opened' });
    assert.equal(bridge.starts, 2);
});

test('an aborted running call stops its worker; the next call starts a new one and is answered', async () => {
    workers.length = 0;
    const bridge = new WorkerBridge('worker.mjs', { idleMs: Infinity });
    const controller = new AbortController();
    const first = settled(bridge.call('calibrate', {}, { signal: controller.signal }));
    const second = settled(bridge.call('open', {}));
    controller.abort();
    assert.equal((await first).error?.name, 'AbortError');
    await tick();
    assert.equal(workers[0].terminated, true);
    assert.equal(workers.length, 2);
    workers[1].answer(7);
    assert.deepEqual(await second, { ok: 7 });
});
