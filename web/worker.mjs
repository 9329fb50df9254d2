// The quantization worker. It loads the WebAssembly core lazily (SIMD build when the browser
// validates SIMD), reads the model by Blob slices, runs the core's streaming quantize job (or
// spreads its row chunks over a pool of nested workers, wasm/row_pool.mjs) and writes the output
// in order: to an OPFS file through a sync access handle (disk-backed, works past 4 GB), or to
// memory when OPFS is missing. Messages: {id, method, params} in; {id, message} for progress and
// {id, result | error} at the end.
import { blobReader, errorToMessage, loadGgufSquash } from './wasm/gguf_squash.mjs';
import { RowPool, runPool } from './wasm/row_pool.mjs';

let corePromise = null;
const core = () => (corePromise ??= loadGgufSquash());

const kProgressIntervalMs = 100;
const kMaxBufferBytes = 32 << 20;  // one slab of rows: keeps the heap far below 512 MiB
const kChunkBytes = 4 << 20;

async function openOpfsSink(name) {
    if (!name || !globalThis.navigator?.storage?.getDirectory) return null;
    try {
        const root = await navigator.storage.getDirectory();
        const handle = await root.getFileHandle(name, { create: true });
        if (typeof handle.createSyncAccessHandle !== 'function') return null;
        const access = await handle.createSyncAccessHandle();
        access.truncate(0);
        let pos = 0;
        return {
            kind: 'opfs',
            write(bytes) {
                let off = 0;
                while (off < bytes.length) {
                    const n = access.write(bytes.subarray(off), { at: pos });
                    if (n <= 0) throw new Error('OPFS write failed (disk full?)');
                    off += n;
                    pos += n;
                }
            },
            close() {
                access.flush();
                access.close();
                return { kind: 'opfs', name, size: pos };
            },
            abandon() {
                try { access.close(); } catch { /* already closed */ }
                return root.removeEntry(name).catch(() => {});
            },
        };
    } catch {
        return null;
    }
}

function memorySink() {
    const parts = [];
    let size = 0;
    return {
        kind: 'blob',
        write(bytes) {
            parts.push(bytes);
            size += bytes.length;
        },
        close() {
            return { kind: 'blob', blob: new Blob(parts, { type: 'application/octet-stream' }), size };
        },
        abandon() {
            parts.length = 0;
        },
    };
}

// A pool worker: a nested Web Worker running pool-worker.mjs (the `spawn` of RowPool.start).
function spawnPoolWorker(index, { onMessage, onError }) {
    const worker = new Worker(new URL('./pool-worker.mjs', import.meta.url), { type: 'module', name: `gguf-squash pool ${index}` });
    worker.onmessage = (ev) => onMessage(ev.data);
    worker.onerror = (ev) => {
        ev.preventDefault();  // handled: the run fails with this error
        onError(new Error(ev.message || 'a pool worker failed'));
    };
    return worker;
}

const methods = {
    // Kernel throughput per tensor type (weights/s), from short synthetic runs.
    async calibrate({ types, budgetMs = 60 }) {
        const c = await core();
        const rates = {};
        for (const t of types) rates[t] = c.calibrate(t, budgetMs);
        return { rates, variant: c.variant };
    },

    // Items [start, start + count) of a metadata array, for the page's metadata viewer (the
    // page's own info holds a preview). The model read last stays open here, under the page's
    // modelId, so that further pages of it cost one core call rather than a header read.
    async arrayItems({ files, modelId, key, start, count }) {
        const c = await core();
        const open = methods.arrayItems;
        if (!open.model || open.modelId !== modelId) {
            open.model?.free();
            open.model = null;
            open.model = await c.openModel(files, { maxArrayItems: 0 });
            open.modelId = modelId;
        }
        return open.model.arrayItems(key, start, count);
    },

    async quantize({ files, args, type, imatrix, imatrixName, outName, workers = 1 }, post) {
        const c = await core();
        const model = await c.openModel(files);
        let job = null, sink = null;
        try {
            // llama-quantize's command line; the imatrix name is recorded in the output's metadata.
            const argv = [...(imatrix ? ['--imatrix', imatrixName || 'imatrix.gguf'] : []), ...args,
                          files[0].name, outName, type];
            job = c.createJob(model, argv, { imatrix, maxBufferBytes: kMaxBufferBytes });
            sink = (await openOpfsSink(outName)) ?? memorySink();
            post({ type: 'plan', plan: job.plan, sink: sink.kind, variant: c.variant });
            // A pool pays off even for small models: a worker's instantiation is ~0.1 s.
            const usePool = workers > 1 && typeof Worker === 'function';
            post({ type: 'mode', workers: usePool ? workers : 1 });
            // Progress at most every kProgressIntervalMs, and at each new tensor.
            let last = 0, lastTensor = -1;
            const onProgress = (p) => {
                const now = performance.now();
                if (now - last < kProgressIntervalMs && p.tensorIndex === lastTensor) return;
                last = now;
                lastTensor = p.tensorIndex;
                post({ type: 'progress', done: p.bytesOut, total: p.totalOut, inputDone: p.bytesIn,
                       tensor: p.tensor, tensorType: p.tensorType, tensorIndex: p.tensorIndex,
                       tensorCount: p.tensorCount, heap: Math.max(c.mod.HEAPU8.length, p.workerHeap ?? 0) });
            };
            const write = (bytes) => sink.write(bytes);
            if (usePool) {
                const pool = await RowPool.start(workers, { files, argv, imatrix, variant: c.variant }, spawnPoolWorker);
                try {
                    // The pool workers read their chunks from the Files themselves: several Blob
                    // reads at once, none on this worker's thread.
                    await runPool(job, pool, { write, onProgress });
                } finally {
                    pool.terminate();
                }
            } else {
                const read = blobReader(model.files);  // a split model's shards, in order
                await job.run({ read, write, chunkSize: kChunkBytes, onProgress });
            }
            const result = sink.close();
            sink = null;
            return result;
        } finally {
            if (sink) await sink.abandon();
            job?.free();
            model.free();
        }
    },
};

self.onmessage = async (ev) => {
    const { id, method, params } = ev.data;
    const post = (message) => self.postMessage({ id, message });
    try {
        const fn = methods[method];
        if (!fn) throw new Error(`unknown method ${method}`);
        const result = await fn(params, post);
        self.postMessage({ id, result });
    } catch (e) {
        self.postMessage({ id, error: errorToMessage(e) });
    }
};
