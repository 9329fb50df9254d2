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

const methods = {
    async quantize({ files, args, type, imatrix, imatrixName, outName }, post) {
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
            let last = 0, lastTensor = -1;
            await job.run({
                read: blobReader(files[0]),
                write: (bytes) => sink.write(bytes),
                chunkSize: kChunkBytes,
                onProgress: (p) => {
                    const now = performance.now();
                    if (now - last < kProgressIntervalMs && p.tensorIndex === lastTensor) return;
                    last = now;
                    lastTensor = p.tensorIndex;
                    post({ type: 'progress', done: p.bytesOut, total: p.totalOut, inputDone: p.bytesIn,
                           tensor: p.tensor, tensorType: p.tensorType, tensorIndex: p.tensorIndex,
                           tensorCount: p.tensorCount });
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
