// The quantization worker. It loads the WebAssembly core lazily (SIMD build when the browser
// validates SIMD), reads the model by Blob slices, runs the core's streaming quantize job and
// writes the output in order: to an OPFS file through a sync access handle (disk-backed, works
// past 4 GB), or to memory when OPFS is missing. Messages: {id, method, params} in;
// {id, message} for progress and {id, result | error} at the end.
import { blobReader, loadGgufSquash } from './wasm/gguf_squash.mjs';

let corePromise = null;
const core = () => (corePromise ??= loadGgufSquash());

const kProgressIntervalMs = 100;
const kMaxBufferBytes = 32 << 20;  // one slab of rows: keeps the heap far below 512 MiB
const kChunkBytes = 4 << 20;
const kTaskBytes = 4 << 20;        // input bytes per row chunk sent to a pool worker
const kPoolMinBytes = 0;           // a pool pays off even for small models: instantiation is ~0.1 s

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

// Pool workers, each with its own copy of the plan, converting row chunks in parallel.
class RowPool {
    static async start(n, init) {
        const pool = new RowPool();
        pool.workers = [];
        pool.pending = new Map();
        pool.nextId = 1;
        const ready = [];
        for (let i = 0; i < n; i++) {
            const w = new Worker(new URL('./pool-worker.mjs', import.meta.url), { type: 'module', name: `gguf-squash pool ${i}` });
            const slot = { worker: w, busy: 0 };
            pool.workers.push(slot);
            ready.push(new Promise((resolve, reject) => {
                w.onmessage = (ev) => {
                    const m = ev.data;
                    if (m.type === 'ready') { w.onmessage = (e) => pool.onMessage(slot, e.data); resolve(); }
                    else reject(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
                };
                w.onerror = (e) => reject(new Error(e.message || 'a pool worker failed to start'));
            }));
            w.postMessage({ type: 'init', ...init, imatrix: init.imatrix ? init.imatrix.slice() : null });
        }
        try {
            await Promise.all(ready);
        } catch (e) {
            pool.terminate();
            throw e;
        }
        return pool;
    }

    onMessage(slot, m) {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        slot.busy--;
        if (m.type === 'done') {
            this.maxHeap = Math.max(this.maxHeap ?? 0, m.heap ?? 0);
            p.resolve(new Uint8Array(m.dst));
        }
        else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
    }

    // Converts one row chunk on the least busy worker; the input buffer is transferred.
    convert(task, src) {
        const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
        slot.busy++;
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            slot.worker.postMessage({ type: 'convert', id, index: task.index, first: task.first, rows: task.rows,
                                      src: src.buffer, dstSize: task.dstSize }, [src.buffer]);
        });
    }

    terminate() {
        for (const s of this.workers) s.worker.terminate();
        for (const p of this.pending.values()) p.reject(new Error('pool stopped'));
        this.pending.clear();
    }
}

// Row chunks in output order: never crossing a matrix (each has its own imatrix slice), each
// followed in the stream by its tensor's padding once the tensor's last chunk is out.
function* rowTasks(layout) {
    for (const [index, t] of layout.tensors.entries()) {
        const perTask = Math.max(1, Math.floor(kTaskBytes / Math.max(1, t.src_row)));
        for (let first = 0; first < t.rows;) {
            const toBoundary = t.rows_per_matrix - (first % t.rows_per_matrix);
            const rows = Math.min(perTask, t.rows - first, toBoundary);
            yield { index, first, rows, offset: t.offset + first * t.src_row, srcSize: rows * t.src_row,
                    dstSize: rows * t.dst_row, last: first + rows === t.rows, tensor: t };
            first += rows;
        }
        if (t.rows === 0 && t.padding) yield { index, rows: 0, padding: t.padding, tensor: t, last: true };
    }
}

async function runPool(job, { files, argv, imatrix, workers, read, write, post, heap }) {
    const layout = job.layout();
    const pool = await RowPool.start(workers, { files, argv, imatrix });
    try {
        const header = job.headerBytes();
        write(header);
        let bytesOut = header.length, bytesIn = 0, last = 0;
        const inflight = [];
        const maxInflight = workers * 2;
        const report = (t, index) => {
            const now = performance.now();
            if (now - last < kProgressIntervalMs) return;
            last = now;
            post({ type: 'progress', done: bytesOut, total: layout.file_size, inputDone: bytesIn,
                   tensor: t.name, tensorType: t.type, tensorIndex: index, tensorCount: layout.tensors.length,
                   heap: Math.max(heap(), pool.maxHeap ?? 0) });
        };
        const flushOne = async () => {
            const { task, result } = inflight.shift();
            const bytes = await result;
            if (bytes.length) write(bytes);
            bytesOut += bytes.length;
            if (task.last && task.tensor.padding && task.rows > 0) {
                write(new Uint8Array(task.tensor.padding));
                bytesOut += task.tensor.padding;
            }
            report(task.tensor, task.index);
        };
        for (const task of rowTasks(layout)) {
            while (inflight.length >= maxInflight) await flushOne();
            if (task.rows === 0) {
                inflight.push({ task, result: Promise.resolve(new Uint8Array(task.padding)) });
                continue;
            }
            const src = await read(task.offset, task.srcSize, task.tensor.shard ?? 0);
            if (src.length !== task.srcSize) throw new Error(`input ended early in tensor '${task.tensor.name}'`);
            bytesIn += src.length;
            const result = pool.convert(task, src);
            result.catch(() => {});  // observed in order by flushOne
            inflight.push({ task, result });
        }
        while (inflight.length) await flushOne();
        if (bytesOut !== layout.file_size) throw new Error(`wrote ${bytesOut} bytes, planned ${layout.file_size}`);
    } finally {
        pool.terminate();
    }
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
            const usePool = workers > 1 && typeof Worker === 'function' && job.plan.file_size >= kPoolMinBytes;
            post({ type: 'mode', workers: usePool ? workers : 1 });
            if (usePool) {
                const read = blobReader(model.files);  // a split model's shards, in order
                await runPool(job, { files, argv, imatrix, workers, read, write: (b) => sink.write(b), post,
                                     heap: () => c.mod.HEAPU8.length });
                const result = sink.close();
                sink = null;
                return result;
            }
            let last = 0, lastTensor = -1;
            await job.run({
                read: blobReader(model.files),
                write: (bytes) => sink.write(bytes),
                chunkSize: kChunkBytes,
                onProgress: (p) => {
                    const now = performance.now();
                    if (now - last < kProgressIntervalMs && p.tensorIndex === lastTensor) return;
                    last = now;
                    lastTensor = p.tensorIndex;
                    post({ type: 'progress', done: p.bytesOut, total: p.totalOut, inputDone: p.bytesIn,
                           tensor: p.tensor, tensorType: p.tensorType, tensorIndex: p.tensorIndex,
                           tensorCount: p.tensorCount, heap: c.mod.HEAPU8.length });
                },
            });
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
        self.postMessage({ id, error: { name: e?.name ?? 'Error', code: e?.code, message: e?.message ?? String(e) } });
    }
};
