// The only way the page reaches the WebAssembly workers (Squoosh's WorkerBridge, grown a pool):
//  - every call takes an AbortSignal; aborting a running call terminates its worker at once;
//  - calls are queued per worker and started in order;
//  - a worker idle for a while is released (idleMs; Infinity keeps it), and a new one starts
//    lazily on the next call;
//  - buffers are transferred, never copied;
//  - errors arrive as they left the worker (wasm/errors.mjs): a GgufError stays a GgufError.

import { errorFromMessage } from './wasm/errors.mjs';

const kIdleMs = 20_000;

function abortError(signal) {
    return signal?.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError');
}


export class WorkerBridge {
    constructor(url = new URL('./worker.mjs', import.meta.url), { idleMs = kIdleMs, name = 'gguf-squash' } = {}) {
        this.url = url;
        this.idleMs = idleMs;
        this.name = name;  // shows in devtools (and lets tests tell the workers apart)
        this.worker = null;
        this.queue = [];
        this.current = null;
        this.nextId = 1;
        this.idleTimer = 0;
        this.starts = 0;  // workers started so far: a new value means the old worker's state is gone
    }

    // Runs `method` in the worker with `params`; `transfer` lists buffers to move, not copy.
    // `onMessage` receives the worker's intermediate messages (progress, output chunks).
    call(method, params, { signal = null, transfer = [], onMessage = null } = {}) {
        if (signal?.aborted) return Promise.reject(abortError(signal));
        return new Promise((resolve, reject) => {
            const task = { id: this.nextId++, method, params, transfer, onMessage, resolve, reject, signal };
            task.onAbort = () => this.abortTask(task);
            signal?.addEventListener('abort', task.onAbort, { once: true });
            this.queue.push(task);
            this.pump();
        });
    }

    ensureWorker() {
        if (this.worker) return this.worker;
        const w = new Worker(this.url, { type: 'module', name: this.name });
        this.starts++;
        w.onmessage = (ev) => this.onWorkerMessage(ev.data);
        w.onerror = (ev) => {
            ev.preventDefault?.();
            // Stopped first: failing the call starts the next queued one, which must go to a new
            // worker, not to this dead one (where it would never be answered).
            if (this.worker === w) this.terminate();
            this.failCurrent(new Error(ev.message || 'the worker failed to start'));
        };
        this.worker = w;
        return w;
    }

    pump() {
        if (this.current || !this.queue.length) return;
        clearTimeout(this.idleTimer);
        const task = this.queue.shift();
        this.current = task;
        try {
            this.ensureWorker().postMessage({ id: task.id, method: task.method, params: task.params }, task.transfer);
        } catch (e) {
            this.failCurrent(e);
        }
    }

    onWorkerMessage(msg) {
        const task = this.current;
        if (!task || msg.id !== task.id) return;
        if ('message' in msg) {
            task.onMessage?.(msg.message);
            return;
        }
        this.finish(task);
        if (msg.error) task.reject(errorFromMessage(msg.error));
        else task.resolve(msg.result);
    }

    finish(task) {
        task.signal?.removeEventListener('abort', task.onAbort);
        if (this.current === task) this.current = null;
        this.pump();
        if (!this.current && !this.queue.length && Number.isFinite(this.idleMs)) {
            clearTimeout(this.idleTimer);
            this.idleTimer = setTimeout(() => this.terminate(), this.idleMs);
        }
    }

    failCurrent(err) {
        const task = this.current;
        if (!task) return;
        this.finish(task);
        task.reject(err);
    }

    abortTask(task) {
        const queued = this.queue.indexOf(task);
        if (queued >= 0) {
            this.queue.splice(queued, 1);
            task.reject(abortError(task.signal));
            return;
        }
        if (this.current === task) {
            // The worker may be deep inside a synchronous wasm call: only terminating stops it.
            this.terminate();
            this.current = null;
            task.reject(abortError(task.signal));
            this.pump();
        }
    }

    terminate() {
        clearTimeout(this.idleTimer);
        this.worker?.terminate();
        this.worker = null;
    }
}

// The model worker: a model's header(s) read once and kept open there, and every view's question
// about it (estimates, memory, metadata arrays) answered from that copy. The main thread holds
// only plain results. If the worker had to be stopped (an aborted call), the model is opened
// again from the same sources before the next call.
export class ModelBridge {
    constructor() {
        this.bridge = new WorkerBridge(undefined, { idleMs: Infinity, name: 'gguf-squash model' });
        this.opened = null;  // {modelId, files, token, starts}
        this.nextModelId = 1;
    }

    // The engine's {variant, writableTypes, constants}.
    hello() {
        return this.bridge.call('hello', {});
    }

    // Opens `files` (File objects, or {url} for URLs; `token` for their origin): the model's
    // description (see worker.mjs describeModel) with its modelId.
    async open(files, { token = '', signal = null } = {}) {
        const modelId = this.nextModelId++;
        // A failed open leaves the previous model open (worker.mjs closes it only on success),
        // unless the worker had to be stopped (then it is reopened on its next call, as usual).
        const described = await this.bridge.call('open', { modelId, files, token, stallMs: urlStallMs() }, { signal });
        this.opened = { modelId, files, token, starts: this.bridge.starts };
        return { ...described, modelId };
    }

    async call(method, params, options = {}) {
        const o = this.opened;
        if (!o || o.modelId !== params.modelId) throw new Error('that model is no longer open');
        if (this.bridge.starts !== o.starts || !this.bridge.worker) {
            await this.bridge.call('open', { modelId: o.modelId, files: o.files, token: o.token, stallMs: urlStallMs() });
            o.starts = this.bridge.starts;
        }
        // Buffers the page keeps (an imatrix) are copied once and the copy moved.
        const transfer = [];
        if (params.imatrix) {
            params = { ...params, imatrix: params.imatrix.slice() };
            transfer.push(params.imatrix.buffer);
        }
        return this.bridge.call(method, params, { ...options, transfer });
    }

    estimate(modelId, { args, imatrix, imatrixName }, options) {
        return this.call('estimate', { modelId, args, imatrix, imatrixName }, options);
    }
    memory(modelId, params, options) {
        return this.call('memory', { modelId, ...params }, options);
    }
    plan(modelId, { args, type, imatrix, imatrixName }, options) {
        return this.call('plan', { modelId, args, type, imatrix, imatrixName }, options);
    }
    arrayItems(modelId, key, start, count, options) {
        return this.call('arrayItems', { modelId, key, start, count }, options);
    }

    imatrix({ bytes = null, url = null, token = '' }, options = {}) {
        const transfer = [];
        if (bytes) {
            bytes = bytes.slice();
            transfer.push(bytes.buffer);
        }
        return this.bridge.call('imatrix', { bytes, url, token }, { ...options, transfer });
    }

    checkArgs(groups, options) {
        return this.bridge.call('checkArgs', { groups }, options);
    }

    // A file that failed to open: cut short? (worker.mjs inspectIncomplete)
    inspectIncomplete(file, options) {
        return this.bridge.call('inspectIncomplete', { file }, options);
    }

    calibrate(types, options, { imatrix = false, modelId = null } = {}) {
        return this.bridge.call('calibrate', { types, imatrix, modelId }, options);
    }
    readRate(modelId, options) {
        return this.call('readRate', { modelId }, options);
    }
}

// Pool size: one worker per core, capped (each holds a wasm heap of up to a few tens of MiB).
// `?workers=N` in the page's URL overrides it (1 runs the core's streaming job on its own).
// The URL reader's stall timeout in ms: ?stall=MS (tests shorten it; without it the reader's
// default, 30 s, applies).
export function urlStallMs() {
    const ms = Number(new URLSearchParams(globalThis.location?.search ?? '').get('stall'));
    return ms >= 100 ? Math.floor(ms) : undefined;
}

export function poolSize() {
    const forced = Number(new URLSearchParams(globalThis.location?.search ?? '').get('workers'));
    if (forced >= 1) return Math.min(Math.floor(forced), 16);
    const n = Number(globalThis.navigator?.hardwareConcurrency) || 2;
    return Math.max(1, Math.min(n, 8));
}

// Quantization behind the bridge. The coordinator worker reads the input by slices, runs the
// core's streaming job and writes the output to OPFS (or memory when OPFS is missing); see
// worker.mjs. Resolves with {kind: 'opfs', name, size} or {kind: 'blob', blob, size}.
export class QuantizeBridge {
    constructor() {
        this.bridge = new WorkerBridge(undefined, { name: 'gguf-squash quantize' });
        this.warm = { starts: -1, types: new Set() };
    }

    // For the time estimate: whether the coordinator is running now, and the tensor types it has
    // quantized itself (a one-worker run): their lookup tables are built and their code compiled,
    // so a one-worker run pays no first-use cost for them. Forgotten when the worker stops
    // (released when idle, or terminated by a cancel).
    warmth() {
        const alive = !!this.bridge.worker;
        if (!alive || this.warm.starts !== this.bridge.starts) return { alive, types: new Set() };
        return { alive, types: this.warm.types };
    }

    // A one-worker run quantized `types` in the coordinator.
    ranTypes(types) {
        if (!this.bridge.worker) return;
        if (this.warm.starts !== this.bridge.starts) this.warm = { starts: this.bridge.starts, types: new Set() };
        for (const t of types) this.warm.types.add(t);
    }

    // `files`: File objects, or {url, state} (a URL model, with what the model worker read of it).
    async quantize({ files, token = '', args, type, imatrix = null, imatrixName, inputName, outName, signal, onProgress, onPlan, onMode }) {
        const imatrixCopy = imatrix ? imatrix.slice() : null;  // the page keeps its own copy
        let completed = false;
        try {
            const result = await this.bridge.call('quantize', {
                files, token, args, type, imatrix: imatrixCopy, imatrixName, inputName, outName, workers: poolSize(), stallMs: urlStallMs(),
            }, {
                signal,
                transfer: imatrixCopy ? [imatrixCopy.buffer] : [],
                onMessage: (m) => {
                    if (m.type === 'progress') onProgress?.(m);
                    else if (m.type === 'plan') onPlan?.(m);
                    else if (m.type === 'mode') onMode?.(m);
                },
            });
            completed = true;
            return result;
        } finally {
            // A worker that crashed (or was terminated) cannot remove its half-written file.
            if (!completed || signal?.aborted) await removeOpfsFile(outName);
        }
    }

    // The 16-bit GGUF of a checkpoint folder (worker.mjs convert): `files` is the model's
    // [{checkpoint}]; resolves as quantize() does, plus convertedName.
    async convert({ files, token = '', outName, signal, onProgress }) {
        let completed = false;
        try {
            const result = await this.bridge.call('convert', { files, token, outName, stallMs: urlStallMs() }, {
                signal,
                onMessage: (m) => { if (m.type === 'progress') onProgress?.(m); },
            });
            completed = true;
            return result;
        } finally {
            if (!completed || signal?.aborted) await removeOpfsFile(outName);
        }
    }

    dispose() {
        this.bridge.terminate();
    }
}

// Measuring quality and fitting behind the bridge (views/quality.mjs): the ftypes are measured
// in groups spread over a few workers (worker.mjs `quality`), each group's report handed over as
// it arrives, so a chart can fill in; a fit runs in one worker (worker.mjs `fit`). Aborting the
// signal terminates the workers. A URL model is measured by one worker in one pass.
export class QualityBridge {
    constructor(size = Math.min(poolSize(), 4)) {
        this.bridges = Array.from({ length: Math.max(1, size) }, (_, i) => new WorkerBridge(undefined, { name: `gguf-squash quality ${i}` }));
    }

    // Measures `types` (ftype names). onResult(report) gets each group's `quality --json`
    // object; onProgress({done, total, groupsDone, groups}) the fraction measured. Resolves with
    // every ftype's report, in the order of `types`.
    async measure({ files, token = '', types, rows, imatrix = null, imatrixName, groupSize = 3, signal, onResult, onProgress }) {
        // A URL model: one worker, one pass (every group would fetch each sampled row again, one
        // Range request per row), so its results arrive together.
        const fromUrl = files.some((f) => !(typeof Blob !== 'undefined' && f instanceof Blob));
        if (fromUrl) groupSize = types.length;
        const groups = [];
        for (let i = 0; i < types.length; i += groupSize) groups.push(types.slice(i, i + groupSize));
        const workers = fromUrl ? 1 : Math.min(this.bridges.length, groups.length);
        const fraction = new Array(groups.length).fill(0);
        let groupsDone = 0;
        const report = () => onProgress?.({ done: fraction.reduce((a, b) => a + b, 0), total: groups.length, groupsDone, groups: groups.length });
        const byName = new Map();
        let next = 0;
        const runWorker = async (bridge) => {
            while (next < groups.length) {
                const g = next++;
                const copy = imatrix ? imatrix.slice() : null;  // each worker gets its own
                const result = await bridge.call('quality', { files, token, types: groups[g], rows, imatrix: copy, imatrixName }, {
                    signal, transfer: copy ? [copy.buffer] : [],
                    onMessage: (m) => {
                        if (m.type !== 'progress' || !m.bytesTotal) return;
                        fraction[g] = m.bytesRead / m.bytesTotal;
                        report();
                    },
                });
                fraction[g] = 1;
                groupsDone++;
                for (const f of result.ftypes) byName.set(f.name, f);
                onResult?.(result);
                report();
            }
        };
        await Promise.all(this.bridges.slice(0, workers).map(runWorker));
        return types.map((t) => byName.get(t)).filter(Boolean);
    }

    // One fit ({target, base, rows, imatrix, imatrixName, modelName, outName}): `fit --json`'s
    // object plus typeFile. onProgress({done, total}) as measure's.
    fit({ files, token = '', signal, onProgress, imatrix = null, ...params }) {
        const copy = imatrix ? imatrix.slice() : null;
        return this.bridges[0].call('fit', { files, token, imatrix: copy, ...params }, {
            signal, transfer: copy ? [copy.buffer] : [],
            onMessage: (m) => {
                if (m.type === 'progress' && m.bytesTotal) onProgress?.({ done: m.bytesRead / m.bytesTotal, total: 1 });
            },
        });
    }

    dispose() {
        for (const b of this.bridges) b.terminate();
    }
}

// Deletes an OPFS file, retrying while a terminated worker's access handle is still closing.
export async function removeOpfsFile(name) {
    if (!name || !navigator.storage?.getDirectory) return;
    const root = await navigator.storage.getDirectory();
    for (let attempt = 0; attempt < 20; attempt++) {
        try {
            await root.removeEntry(name);
            return;
        } catch (e) {
            if (e?.name === 'NotFoundError') return;
            await new Promise((r) => setTimeout(r, 50));
        }
    }
}
