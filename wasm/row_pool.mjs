// Quantizing with a pool of workers, for the page (Web Workers, web/worker.mjs) and for node
// (worker_threads, wasm/cli.mjs): the same code, given a function that starts one worker.
//
// The coordinator holds the quantize job: it writes job.headerBytes(), cuts the input into row
// chunks that never cross a matrix, has a pool worker convert each chunk and writes the results in
// order with each tensor's padding. The workers read their chunks' input themselves (in parallel,
// off the coordinator's thread) unless the coordinator is given a `read` function. Every pool worker holds the same plan (core.createJob from
// the same headers, arguments and imatrix) and converts chunks with job.convertRows, which runs
// the core's own job over those rows: the output is the streaming job's bytes for any pool size.
//
// Messages between the coordinator and a pool worker (buffers are transferred, never copied):
//   {type: 'init', files, argv, imatrix, textFiles, variant}
//                                                      -> {type: 'ready'} | {type: 'error', error}
//   {type: 'convert', id, output, index, first, rows, dstSize, src, srcSize}   (input sent: the
//                                                      first srcSize bytes of the buffer src)
//   {type: 'convert', id, output, index, first, rows, dstSize, shard, offset, srcSize, name}
//                                                      (the worker reads the input itself)
//                                                      -> {type: 'done', id, dst, heap, src} | {type: 'error', id, error}
//                                                      (src: the input's buffer handed back, to be used again)
import { errorFromMessage, errorToMessage } from './errors.mjs';
import { GgufError, loadGgufSquash } from './gguf_squash.mjs';

export const kTaskBytes = 4 << 20;  // input bytes per row chunk: large enough to keep a worker busy
// Chunks sent to each worker and not yet written out: one converting, the next ones' input being
// read meanwhile, and enough slack that a slow chunk at the head of the output order (written in
// order) does not leave the other workers without work. Bounds the memory: at most this many
// chunks' input (in the workers) and output (here) per worker.
export const kChunksPerWorker = 4;

// Reads `size` bytes at `offset` of a Blob (a File the page was given): a fresh array, shorter
// only at the end of the Blob.
async function readBlobRange(blob, offset, size) {
    return new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + size)).arrayBuffer());
}

// The message the streaming job gives for input that ends inside a tensor.
export function inputEndedEarly(name, offset) {
    return new GgufError('invalid_file', `input ended early: tensor '${name}' needs bytes from offset ${offset}`);
}

// Lets the event loop deliver what is waiting (the coordinator's next chunks, whose reads then
// start) before the next synchronous conversion. A MessageChannel task: a zero-delay timer is
// clamped to 4 ms once nested, which would idle a worker for 4 ms per chunk.
function yieldToEvents() {
    if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0));
    const { port1, port2 } = new MessageChannel();
    return new Promise((resolve) => {
        port1.onmessage = () => {
            port1.close();
            resolve();
        };
        port2.postMessage(null);
    });
}

// A pool worker's message handler: `post(message, transfer)` answers the coordinator;
// `openSources(files)` turns the init message's files into sources for core.openModel (the
// page sends File objects as they are; node sends paths and closes what it opened once the
// headers are read); `readInput(file, offset, size)` reads a chunk's input from one of those
// files (Blob slices by default); `readInputInto(file, offset, view)`, when given, instead fills
// a view of the wasm heap synchronously and returns the count (node's positioned reads: no copy
// through JS). Returns the function to call with each message's data.
//
// Chunks are converted one at a time in arrival order, but each chunk's input read starts as its
// message arrives: while this thread converts one chunk, the reads of the chunks queued behind it
// proceed (in the browser they are served by other threads), so the worker does not wait for its
// input between chunks as long as the coordinator keeps a few chunks queued here (runPool does).
export function poolWorkerHandler(post, { openSources = (files) => files, readInput = readBlobRange, readInputInto = null } = {}) {
    let core = null;
    let job = null;
    let files = [];
    let output = 0;  // the job's selected output file (--keep-split writes several)
    const queue = [];  // {msg, input}: chunks received, not yet converted
    let converting = false;
    const fileOf = (msg) => {
        const file = files[msg.shard ?? 0];
        if (!file) throw new GgufError('invalid_argument', `no input shard ${msg.shard}`);
        return file;
    };
    const startInput = async (msg) => {
        if (msg.src) return new Uint8Array(msg.src, 0, msg.srcSize ?? msg.src.byteLength);
        const file = fileOf(msg);
        if (readInputInto) return null;  // read at conversion time, straight into the heap
        const src = await readInput(file, msg.offset, msg.srcSize);
        if (src.length !== msg.srcSize) throw inputEndedEarly(msg.name, msg.offset + src.length);
        return src;
    };
    const convertOne = async ({ msg, input }) => {
        try {
            const src = await input;
            if ((msg.output ?? 0) !== output) {
                job.selectOutput(msg.output);
                output = msg.output;
            }
            const fill = (view) => {
                const n = readInputInto(fileOf(msg), msg.offset, view);
                if (n !== msg.srcSize) throw inputEndedEarly(msg.name, msg.offset + n);
            };
            const dst = job.convertRows(msg.index, msg.first, msg.rows, src ?? fill, msg.dstSize, msg.srcSize ?? src.length);
            // The input was copied into the heap: its buffer goes back for the next chunk's input.
            const back = msg.src ? [msg.src] : [];
            post({ type: 'done', id: msg.id, dst: dst.buffer, heap: core.mod.HEAPU8.length, src: msg.src }, [dst.buffer, ...back]);
        } catch (e) {
            post({ type: 'error', id: msg.id, error: errorToMessage(e) });
        }
    };
    const drain = async () => {
        if (converting) return;
        converting = true;
        try {
            while (queue.length) {
                await convertOne(queue.shift());
                await yieldToEvents();
            }
        } finally {
            converting = false;
        }
    };
    return async (msg) => {
        if (msg.type === 'init') {
            try {
                core = await loadGgufSquash({ variant: msg.variant ?? 'auto' });
                // Files the arguments name (--tensor-type-file), read by the coordinator.
                for (const f of msg.textFiles ?? []) core.provideTextFile(f.name, f.bytes);
                const sources = await openSources(msg.files);
                let model;
                try {
                    model = await core.openModel(sources);
                } finally {
                    for (const s of sources) s.close?.();
                }
                // In shard order (openModel sorts a split model's files): the layout's `shard`.
                files = model.files.map((src) => msg.files[sources.indexOf(src)]);
                try {
                    job = core.createJob(model, msg.argv, { imatrix: msg.imatrix });
                } finally {
                    model.free();  // the job holds its own copy of the plan
                }
                post({ type: 'ready', variant: core.variant });
            } catch (e) {
                post({ type: 'error', error: errorToMessage(e) });
            }
            return;
        }
        if (msg.type === 'convert') {
            const input = startInput(msg);
            input.catch(() => {});  // reported by convertOne, in order
            queue.push({ msg, input });
            await drain();
        }
    };
}

// Pool workers, each with its own copy of the plan, converting row chunks in parallel.
// `spawn(index, {onMessage, onError})` starts one worker and returns it ({postMessage(message,
// transfer), terminate()}); onMessage takes a message's data, onError an Error for a worker that
// crashed or exited.
export class RowPool {
    static async start(count, { files, argv, imatrix = null, textFiles = [], variant = 'auto' }, spawn) {
        const pool = new RowPool();
        const ready = [];
        for (let i = 0; i < count; i++) {
            const slot = { worker: null, busy: 0, busyBytes: 0, ready: null };
            ready.push(new Promise((resolve, reject) => { slot.ready = { resolve, reject }; }));
            slot.worker = spawn(i, {
                onMessage: (m) => pool.onMessage(slot, m),
                onError: (e) => pool.onWorkerError(slot, e),
            });
            pool.workers.push(slot);
            // Each worker gets its own copy of the imatrix, transferred.
            const own = imatrix ? new Uint8Array(imatrix) : null;
            slot.worker.postMessage({ type: 'init', files, argv, imatrix: own, textFiles, variant }, own ? [own.buffer] : []);
        }
        try {
            await Promise.all(ready);
        } catch (e) {
            pool.terminate(e);
            throw e;
        }
        return pool;
    }

    constructor() {
        this.workers = [];
        this.pending = new Map();
        this.nextId = 1;
        this.maxHeap = 0;       // the largest wasm heap a worker reported
        this.stopped = null;    // the reason, once terminated
        this.release = null;    // takes each input buffer a worker hands back (runPool's `release`)
    }

    onMessage(slot, m) {
        if (slot.ready) {
            const { resolve, reject } = slot.ready;
            slot.ready = null;
            if (m.type === 'ready') resolve();
            else reject(errorFromMessage(m.error));
            return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        slot.busy--;
        slot.busyBytes -= p.bytes;
        if (m.type === 'done') {
            this.maxHeap = Math.max(this.maxHeap, m.heap ?? 0);
            if (m.src) this.release?.(m.src);
            p.resolve(new Uint8Array(m.dst));
        } else {
            p.reject(errorFromMessage(m.error));
        }
    }

    // A worker that crashed cannot answer its chunks: the whole pool fails with its error.
    onWorkerError(slot, e) {
        if (this.stopped) return;
        if (slot.ready) {
            slot.ready.reject(e);
            slot.ready = null;
        }
        this.terminate(e);
    }

    // Converts one row chunk of output file `output` on the least busy worker (the fewest input
    // bytes sent and not yet answered: chunks differ in size, the last of a tensor is often
    // small): from `src` (its buffer is transferred), or, when `src` is null, from the input the
    // worker reads itself (`src` may be a view at the start of a longer buffer: the whole buffer
    // goes, and comes back to `release`). Resolves with the chunk's output bytes.
    convert(task, src, output = 0) {
        if (this.stopped) return Promise.reject(this.stopped);
        const slot = this.workers.reduce((a, b) => (b.busyBytes < a.busyBytes ? b : a));
        slot.busy++;
        slot.busyBytes += task.srcSize;
        const id = this.nextId++;
        const msg = { type: 'convert', id, output, index: task.index, first: task.first, rows: task.rows,
                      dstSize: task.dstSize };
        if (src) {
            if (src.byteOffset !== 0) throw new GgufError('internal', 'a chunk\'s input must start its buffer');
            Object.assign(msg, { src: src.buffer, srcSize: src.length });
        }
        else Object.assign(msg, { shard: task.tensor.shard ?? 0, offset: task.offset, srcSize: task.srcSize,
                                  name: task.tensor.source_name ?? task.tensor.name });
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject, bytes: task.srcSize });
            slot.worker.postMessage(msg, src ? [src.buffer] : []);
        });
    }

    // Stops every worker (they may be inside a synchronous wasm call: only terminating stops
    // them); chunks not yet answered fail with `reason`.
    terminate(reason = new Error('pool stopped')) {
        if (this.stopped) return;
        this.stopped = reason;
        for (const s of this.workers) s.worker.terminate();
        for (const p of this.pending.values()) p.reject(reason);
        this.pending.clear();
    }
}

// Row chunks in output order: never crossing a matrix (each has its own imatrix slice), each
// followed in the stream by its tensor's padding once the tensor's last chunk is out.
export function* rowTasks(layout, taskBytes = kTaskBytes) {
    for (const [index, t] of layout.tensors.entries()) {
        const perTask = Math.max(1, Math.floor(taskBytes / Math.max(1, t.src_row)));
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

// Writes the job's selected output file (`output`, 0 unless --keep-split) through `pool`:
// without `read`, each worker reads its chunks' input itself (reads in parallel, and none on
// this thread); with `read(offset, size, shard)`, which returns (a promise of) a fresh
// Uint8Array of the input (a view at the start of its own buffer), this thread reads and
// transfers it, and `release(arrayBuffer)`, when given, gets each buffer back once its worker has
// copied it (for the next reads). `write(bytes)` is awaited for each piece, in order. `onProgress`
// gets {bytesOut, totalOut, bytesIn, tensor, tensorType, tensorIndex, tensorCount, workerHeap}
// after each chunk is written. Stop it with pool.terminate(reason): it then rejects with reason.
export async function runPool(job, pool, { read = null, release = null, write, onProgress = null, output = 0,
                                          taskBytes = kTaskBytes, chunksPerWorker = kChunksPerWorker }) {
    pool.release = release;
    const layout = job.layout();
    const header = job.headerBytes();
    await write(header);
    let bytesOut = header.length, bytesIn = 0;
    const inflight = [];
    const maxInflight = pool.workers.length * chunksPerWorker;
    const flushOne = async () => {
        const { task, result } = inflight.shift();
        const bytes = await result;
        if (bytes.length) await write(bytes);
        bytesOut += bytes.length;
        if (task.last && task.tensor.padding && task.rows > 0) {
            await write(new Uint8Array(task.tensor.padding));
            bytesOut += task.tensor.padding;
        }
        onProgress?.({ bytesOut, totalOut: layout.file_size, bytesIn, tensor: task.tensor.name,
                       tensorType: task.tensor.type, tensorIndex: task.index,
                       tensorCount: layout.tensors.length, workerHeap: pool.maxHeap });
    };
    try {
        for (const task of rowTasks(layout, taskBytes)) {
            while (inflight.length >= maxInflight) await flushOne();
            if (task.rows === 0) {
                inflight.push({ task, result: Promise.resolve(new Uint8Array(task.padding)) });
                continue;
            }
            if (pool.stopped) throw pool.stopped;
            let src = null;
            if (read) {
                src = await read(task.offset, task.srcSize, task.tensor.shard ?? 0);
                if (src.length !== task.srcSize) {
                    throw inputEndedEarly(task.tensor.source_name ?? task.tensor.name, task.offset + src.length);
                }
            }
            bytesIn += task.srcSize;
            const result = pool.convert(task, src, output);
            result.catch(() => {});  // observed in order by flushOne
            inflight.push({ task, result });
        }
        while (inflight.length) await flushOne();
    } finally {
        for (const { result } of inflight) result.catch(() => {});
    }
    if (bytesOut !== layout.file_size) throw new GgufError('internal', `wrote ${bytesOut} bytes, planned ${layout.file_size}`);
}
