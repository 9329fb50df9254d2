// The page's WebAssembly worker: the page's main thread runs no wasm; it reaches this file only
// through web/bridge.mjs. Two instances run: the model worker (opens a model's headers once and
// answers the views: info, estimates, memory, metadata arrays, imatrix summaries, kernel
// calibration) and the quantize worker (reads the model by Blob slices or streams it from its
// URL, runs the core's streaming job or spreads its row chunks over a pool of nested workers,
// wasm/row_pool.mjs, and writes the output in order: to an OPFS file through a sync access
// handle, disk-backed and past 4 GB, or to memory when OPFS is missing).
// Messages: {id, method, params} in; {id, message} for progress and {id, result | error} at the
// end (errors as wasm/errors.mjs serialises them).
import { openEstimate } from './wasm/estimate.mjs';
import { blobReader, errorToMessage, GgufError, HeaderReader, loadGgufSquash, sourceChunks } from './wasm/gguf_squash.mjs';
import { parseQualityArg } from './wasm/quality.mjs';
import { checkShards } from './shard_check.mjs';
import { kTaskBytes, RowPool, runPool } from './wasm/row_pool.mjs';
import { fetchUrlBytes, jobReadSchedule, SpareBuffers, urlFileName, UrlSource } from './wasm/url_source.mjs';

let corePromise = null;
const core = () => (corePromise ??= loadGgufSquash());

// The page redraws the progress line and bar for each message: at 10 per second (and at every new
// tensor) that drawing cost the renderer ~1.5 s of CPU per 755 MB run, taken from the pool on a
// 2-core machine; at 4 per second, ~0.6 s (docs/PERFORMANCE.md, issue 17).
const kProgressIntervalMs = 250;
const kMaxBufferBytes = 32 << 20;  // one slab of rows: keeps the heap far below 512 MiB
const kChunkBytes = 4 << 20;
// Metadata keys whose whole value the overview shows (per-layer arrays included).
const kOverviewSuffixes = ['context_length', 'block_count', 'embedding_length', 'attention.head_count',
                           'attention.head_count_kv', 'expert_count', 'expert_used_count', 'vocab_size'];

// A checkpoint folder as the page describes it ({checkpoint: {folderName, outtype, entries}},
// each entry {name, file} for a dropped File or {name, url, size} for a Hub file; names relative
// to the folder) as the virtual GGUF convert_hf_to_gguf.py would write (wasm/checkpoint_source.mjs):
// the files are read when the core asks, by Blob slices or Range requests.
async function openCheckpointSource(desc, { token = '', signal = null, onBytes = null, stallMs } = {}) {
    const c = await core();
    const entries = desc.entries.map((e) => {
        if (e.file) {
            return { name: e.name, size: e.file.size,
                     read: async (offset, length) => new Uint8Array(await e.file.slice(offset, offset + length).arrayBuffer()) };
        }
        const src = new UrlSource(e.url, { token, signal, onBytes, stallMs });
        src.size = e.size;
        return { name: e.name, size: e.size, read: (offset, length) => src.fetchRange(offset, length) };
    });
    return c.openCheckpoint(entries, { folderName: desc.folderName, displayPath: desc.folderName, outtype: desc.outtype ?? 'auto', signal });
}

// A model source as the page describes it: a File (or Blob), or {url} with the token for its
// origin; or, for the quantize worker, {url, state} with what the model worker already read; or
// a checkpoint folder ({checkpoint}: openCheckpointSource).
// stallMs: the URL reader's stall timeout (undefined: its default, 30 s; the page's ?stall=MS).
async function openSources(files, { token = '', signal = null, onBytes = null, stallMs } = {}) {
    return Promise.all(files.map((f) => {
        if (typeof Blob !== 'undefined' && f instanceof Blob) return f;
        if (f?.checkpoint) return openCheckpointSource(f.checkpoint, { token, signal, onBytes, stallMs });
        if (f?.state) return UrlSource.fromState(f.state, { token, signal, onBytes, stallMs });
        return UrlSource.open(f.url, { token, signal, onBytes, stallMs });
    }));
}

// A split model given by its first shard's URL: the other shards, named as llama.cpp names them.
async function openModelWithShards(c, files, options) {
    const sources = await openSources(files, options);
    let model = await c.openModel(sources, { signal: options.signal });
    const meta = model.info.metadata ?? {};
    const count = Number(meta['split.count']?.value ?? 1);
    if (count > 1 && sources.length === 1 && sources[0] instanceof UrlSource) {
        const url = sources[0].url;
        const no = Number(meta['split.no']?.value ?? 0);
        const q = url.indexOf('?');
        const base = q >= 0 ? url.slice(0, q) : url;
        const query = q >= 0 ? url.slice(q) : '';
        const prefix = c.splitPrefix(base, no, count);
        if (prefix === null)
            throw new GgufError('invalid_file', `${url} is shard ${no + 1} of ${count} but is not named ${c.splitPath('PREFIX', no, count)}`);
        for (let k = 0; k < count; k++) {
            if (k !== no) sources.push(await UrlSource.open(c.splitPath(prefix, k, count) + query, options));
        }
        model.free();
        model = await c.openModel(sources, { signal: options.signal });
    }
    return model;
}

const isUrlSource = (s) => s instanceof UrlSource;

// What the page shows of an open model (and keeps to quantize it).
function describeModel(c, model, ms, folderName = '') {
    const info = model.info;
    const full = (key) => {
        const e = info.metadata[key];
        if (!e) return undefined;
        return e.truncated ? model.arrayItems(key) : e.value;
    };
    const arch = full('general.architecture');
    const overview = {};
    for (const key of ['general.architecture', 'general.name', 'general.file_type'])
        if (info.metadata[key]) overview[key] = full(key);
    if (arch) for (const s of kOverviewSuffixes) if (info.metadata[`${arch}.${s}`]) overview[`${arch}.${s}`] = full(`${arch}.${s}`);
    const fileType = overview['general.file_type'];
    const first = model.files[0];
    const name = first.name ?? 'model.gguf';
    const split = c.splitPrefix(name, 0, model.files.length);
    // A checkpoint folder: shown by its folder; the output is named after the converted file.
    const checkpoint = model.checkpoint ? { folder: folderName, convertedName: model.checkpoint.defaultName,
                                            shards: model.checkpoint.shards.map((e) => e.name) } : null;
    return {
        info,
        checkpoint,
        names: checkpoint ? [checkpoint.folder] : model.files.map((f) => f.name),
        fileSize: model.fileSize,
        nParams: model.nParams,
        tensorBytes: model.tensorBytes,
        headerBytes: model.parts.reduce((a, p) => a + (p.info.bytesRead ?? 0), 0),
        fileTypeName: fileType !== undefined ? c.ftypeName(fileType) : null,
        overview,
        // The output's name: the input's without .gguf (and without a split suffix).
        outputBase: model.files.length > 1 && split !== null ? split : name.replace(/\.gguf$/i, ''),
        // URL models: what the quantize worker needs to stream them without reading the header again.
        urls: model.files.every(isUrlSource) ? model.files.map((s) => ({ url: s.url, state: s.state() })) : null,
        ms,
    };
}

// The model worker's open model (one at a time), under the page's modelId.
const open = { id: null, model: null, estimate: null };

function closeModel() {
    open.estimate?.close();
    open.model?.free();
    open.id = null;
    open.model = null;
    open.estimate = null;
    delete open.sample;  // the calibration rows (calibrationSample) were this model's
}

// About 32K weights of the open model's largest F16/BF16/F32 matrix whose rows divide into
// 256-weight blocks, from its first file, read once per model: {type, bytes, rows, perRow}.
async function calibrationSample(o) {
    if ('sample' in o) return o.sample;
    o.sample = null;
    const file = o.model?.files[0];
    if (!(typeof Blob !== 'undefined' && file instanceof Blob)) return null;
    const width = { F16: 2, BF16: 2, F32: 4 };
    const info = o.model.parts[0].info;
    let best = null;
    for (const t of info.tensors) {
        if (!(t.type in width) || t.shape.length < 2 || t.shape[0] % 256 !== 0) continue;
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (!best || n > best.n) best = { t, n };
    }
    if (!best) return null;
    const perRow = best.t.shape[0];
    const rows = Math.max(1, Math.min(best.t.shape[1], Math.floor(32768 / perRow)));
    const start = info.data_offset + best.t.offset;
    const bytes = new Uint8Array(await file.slice(start, start + rows * perRow * width[best.t.type]).arrayBuffer());
    o.sample = { type: best.t.type, bytes, rows, perRow };
    return o.sample;
}

function modelFor(modelId) {
    if (open.id !== modelId || !open.model) throw new GgufError('invalid_argument', 'the model is not open in this worker');
    return open.model;
}

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

// A measure job's progress, posted at most every kProgressIntervalMs (and at its end).
function measureProgress(post) {
    let last = 0;
    return (p) => {
        const now = performance.now();
        if (now - last < kProgressIntervalMs && p.bytesRead < p.bytesTotal) return;
        last = now;
        post({ type: 'progress', bytesRead: p.bytesRead, bytesTotal: p.bytesTotal, tensorIndex: p.tensorIndex, tensorCount: p.tensorCount });
    };
}

const methods = {
    // The engine: which build runs, the types it can write (the options panel) and the core's
    // constants the page needs (the recommended default).
    async hello() {
        const c = await core();
        return { variant: c.variant, writableTypes: c.quantizableTypes(), constants: c.constants() };
    },

    // Reads a model's header(s) (Files, or URLs by Range requests) and keeps it open here.
    // The previous model stays open until the new one has been read (a file that cannot be read
    // leaves the page's views of the previous one working).
    async open({ modelId, files, token = '', stallMs }) {
        const c = await core();
        const t0 = performance.now();
        const model = await openModelWithShards(c, files, { token, stallMs });
        const names = model.files.map((f, i) => f.name ?? f.url ?? `file ${i + 1}`);
        const misfit = checkShards(model.parts.map((p, i) => ({ name: names[i], info: p.info })));
        if (misfit) {
            model.free();
            throw new GgufError('invalid_file', misfit);
        }
        closeModel();
        open.id = modelId;
        open.model = model;
        return describeModel(c, model, performance.now() - t0, files[0]?.checkpoint?.folderName);
    },

    close() {
        closeModel();
        return null;
    },

    // A file that could not be opened, looked at again: is it cut short? The header is read
    // without the file's size (so tensor data past the end is no error) and, when it completes,
    // the size its tensors need is compared with the file's; when the file ends inside the header,
    // what was read up to there is returned. {actual, expected, headerComplete, endsInHeader,
    // position, info}; expected is null when the header itself is cut.
    async inspectIncomplete({ file }) {
        const c = await core();
        const reader = new HeaderReader(c, null);
        try {
            let failed = null;
            try {
                for await (const chunk of sourceChunks(file, () => reader.wanted())) if (reader.push(chunk)) break;
            } catch (e) {
                failed = e;
            }
            const position = reader.position();
            if (reader.done) {
                const handle = reader.takeModel();
                try {
                    const info = c.takeJson(c.mod._gs_model_info_json_preview(handle, 8));
                    let expected = info.data_offset;
                    for (const t of info.tensors) expected = Math.max(expected, info.data_offset + t.offset + t.nbytes);
                    return { actual: file.size, expected, headerComplete: true, endsInHeader: false, position, info };
                } finally {
                    c.mod._gs_model_free(handle);
                }
            }
            const info = c.takeJson(c.mod._gs_reader_partial_json(reader.handle, 8));
            // Cut inside the header only if the reader ran out of bytes, not into a bad field.
            return { actual: file.size, expected: null, headerComplete: false, endsInHeader: !failed && position >= file.size,
                     position, info };
        } finally {
            reader.free();
        }
    },

    // Every ftype's exact size for llama-quantize's options and an optional imatrix.
    async estimate({ modelId, args, imatrix = null, imatrixName }) {
        const c = await core();
        return c.estimate(modelFor(modelId), { args, imatrix, imatrixName });
    },

    // Memory at a context, per type, and the recommendation (wasm/estimate.mjs on the open model).
    async memory({ modelId, ctx, kvType, flashAttn, ubatch, parallel, memoryBytes, imatrix = null, imatrixName }) {
        const c = await core();
        const model = modelFor(modelId);
        open.estimate ??= await openEstimate(model, { core: c });
        return open.estimate.run({ ctx, kvType, flashAttn, ubatch, parallel, memoryBytes, imatrix, imatrixName });
    },

    // The quantizer's plan for one type: every tensor's target type and bytes (the plan view).
    async plan({ modelId, args, type, imatrix = null, imatrixName }) {
        const c = await core();
        const model = modelFor(modelId);
        const argv = [...(imatrix ? ['--imatrix', imatrixName || 'imatrix.gguf'] : []), ...args,
                      model.files[0].name ?? 'model.gguf', 'plan.gguf', type];
        const job = c.createJob(model, argv, { imatrix });
        try {
            const p = job.plan;
            // Types as ggml spells them (q4_K, iq2_xxs), from the core's type table.
            const ggml = new Map(c.constants().types.map((t) => [t.name, t.ggml_name]));
            const spell = (name) => ggml.get(name) ?? name;
            return { type, file_size: p.file_size, header_size: p.header_size,
                     tensors: p.tensors.map((t) => ({ name: t.name, source_type: spell(t.source_type), target_type: spell(t.target_type),
                                                      source_bytes: t.source_bytes, target_bytes: t.target_bytes,
                                                      fallback: t.fallback })) };
        } finally {
            job.free();
        }
    },

    // Items [start, start + count) of a metadata array (the page's info holds a preview).
    async arrayItems({ modelId, key, start, count }) {
        return modelFor(modelId).arrayItems(key, start, count);
    },

    // An importance matrix's summary; from a URL, its bytes too (the page keeps them for runs).
    async imatrix({ bytes = null, url = null, token = '' }) {
        const c = await core();
        if (url) bytes = await fetchUrlBytes(url, { token });
        return { summary: c.inspectImatrix(bytes), bytes: url ? bytes : null, name: url ? urlFileName(url) : null };
    },

    // llama-quantize's options checked by the core's own parser, one group (a page field) at a
    // time, so that each error lands next to its field: {field: message | null}.
    async checkArgs({ groups }) {
        const c = await core();
        const out = {};
        for (const [field, args] of Object.entries(groups)) {
            try {
                c.parseQuantizeArgs([...args, 'in.gguf', 'out.gguf', 'Q4_K_M']);
                out[field] = null;
            } catch (e) {
                out[field] = e?.message ?? String(e);
            }
        }
        return out;
    },

    // Kernel throughput per tensor type (weights/s), from short synthetic runs: {rates, inits
    // (first-call costs, s), settled (the calls had stopped getting faster), sampled}. With modelId, on rows of the open model's own weights (a local file only: a URL is not read
    // for this).
    async calibrate({ types, budgetMs = 60, imatrix = false, modelId = null }) {
        const c = await core();
        const sample = modelId !== null && open.id === modelId ? await calibrationSample(open) : null;
        const rates = {}, inits = {}, settled = {};
        let sampled = false;
        for (const t of types) {
            const r = c.calibrateType(t, budgetMs, { imatrix, sample });
            rates[t] = r.rate;
            inits[t] = r.initSeconds;
            settled[t] = !!r.settled;
            sampled ||= !!r.sampled;
        }
        return { rates, inits, settled, sampled, variant: c.variant };
    },

    // The quality worker (views/quality.mjs through bridge.mjs QualityBridge): `gguf-squash
    // quality --json` for `types` (wasm/quality.mjs), measuring the model's sampled rows by Blob
    // slices or URL ranges; progress as {type: 'progress', bytesRead, bytesTotal, tensorIndex,
    // tensorCount}.
    async quality({ files, token = '', types, rows, imatrix = null, imatrixName }, post) {
        const c = await core();
        const model = await c.openModel(await openSources(files, { token }));
        try {
            return await c.quality(model, { types, rows, imatrix, imatrixName, onProgress: measureProgress(post) });
        } finally {
            model.free();
        }
    },

    // `gguf-squash fit --json` plus typeFile for `target` ({kind, bytes | bpw, ctx, kvType}).
    async fit({ files, token = '', target, base = '', rows, imatrix = null, imatrixName, modelName, outName }, post) {
        const c = await core();
        // "4.5GiB", "4800MB", bytes: parsed as the command line's --target-size.
        if (typeof target?.size === 'string') target = { kind: 'file_size', bytes: parseQualityArg(c, 'size', target.size) };
        const model = await c.openModel(await openSources(files, { token }));
        try {
            return await c.fit(model, { target, base, rows, imatrix, imatrixName, imatrixFile: imatrix ? imatrixName : '',
                                        modelName, outName, onProgress: measureProgress(post) });
        } finally {
            model.free();
        }
    },

    // How fast the open model's file reads here, for the time estimate's input and output terms:
    // {bytesPerSecond (from its first 16 MiB), secondsPerRead}, null for a URL.
    async readRate({ modelId, bytes = 16 << 20, probes = 8, probeBytes = 64 << 10 }) {
        const file = modelFor(modelId).files[0];
        if (!(typeof Blob !== 'undefined' && file instanceof Blob)) return null;
        const n = Math.min(bytes, file.size);
        const t0 = performance.now();
        await file.slice(0, n).arrayBuffer();
        const secs = (performance.now() - t0) / 1000;
        const bytesPerSecond = secs > 0 ? n / secs : null;
        // What one read costs beyond its bytes: a run reads every tensor (and each 4 MiB of
        // one) by its own Blob slice, and on a small model these costs are most of its time.
        // Small reads spread over the file, the median (one slow read says little).
        const each = [];
        const span = Math.max(1, file.size - probeBytes);
        for (let k = 0; k < probes; ++k) {
            const at = Math.floor(span * (k + 0.5) / probes);
            const t = performance.now();
            await file.slice(at, at + probeBytes).arrayBuffer();
            each.push((performance.now() - t) / 1000);
        }
        each.sort((a, b) => a - b);
        const secondsPerRead = Math.max(0, each[Math.floor(each.length / 2)] - (bytesPerSecond ? probeBytes / bytesPerSecond : 0));
        return { bytesPerSecond, secondsPerRead };
    },

    // The 16-bit GGUF of a checkpoint folder (`convert --outtype OUTTYPE`): the virtual GGUF
    // copied in file order to OPFS (or memory), converted on the way. Progress {type: 'progress',
    // done, total}; resolves as quantize does.
    async convert({ files, token = '', outName, stallMs }, post) {
        const [src] = await openSources(files, { token, stallMs });
        let sink = null;
        try {
            if (!src?.isCheckpoint) throw new GgufError('invalid_argument', 'only a checkpoint folder is converted');
            sink = (await openOpfsSink(outName)) ?? memorySink();
            let last = 0;
            for (let offset = 0; offset < src.size;) {
                const bytes = await src.read(offset, kChunkBytes);
                if (!bytes.length) throw new GgufError('internal', `${src.name}: the planned file ended early`);
                sink.write(bytes);
                offset += bytes.length;
                const now = performance.now();
                if (now - last >= kProgressIntervalMs || offset >= src.size) {
                    last = now;
                    post({ type: 'progress', done: offset, total: src.size });
                }
            }
            const result = sink.close();
            sink = null;
            result.convertedName = src.defaultName;
            return result;
        } finally {
            if (sink) await sink.abandon();
            src?.close?.();
        }
    },

    async quantize({ files, token = '', args, type, imatrix, imatrixName, inputName, outName, workers = 1, stallMs }, post) {
        const c = await core();
        let downloaded = 0;
        const sources = await openSources(files, { token, stallMs, onBytes: (n) => { downloaded += n; } });
        const model = await c.openModel(sources);
        const fromUrl = model.files.every(isUrlSource);
        let job = null, sink = null;
        try {
            // llama-quantize's command line; the imatrix name is recorded in the output's metadata.
            const argv = [...(imatrix ? ['--imatrix', imatrixName || 'imatrix.gguf'] : []), ...args,
                          inputName ?? model.files[0].name, outName, type];
            job = c.createJob(model, argv, { imatrix, maxBufferBytes: kMaxBufferBytes });
            sink = (await openOpfsSink(outName)) ?? memorySink();
            post({ type: 'plan', plan: job.plan, sink: sink.kind, variant: c.variant });
            // A pool pays off even for small models: a worker's instantiation is ~0.1 s. A
            // checkpoint's tensors are converted by this worker's core as the job reads them.
            const usePool = workers > 1 && typeof Worker === 'function' && !model.checkpoint;
            post({ type: 'mode', workers: usePool ? workers : 1 });
            // Progress at most every kProgressIntervalMs (the tensor shown is the one at that moment).
            let last = 0;
            const onProgress = (p) => {
                const now = performance.now();
                if (now - last < kProgressIntervalMs) return;
                last = now;
                post({ type: 'progress', done: p.bytesOut, total: p.totalOut, inputDone: p.bytesIn,
                       downloaded: fromUrl ? downloaded : null, tensor: p.tensor, tensorType: p.tensorType,
                       tensorIndex: p.tensorIndex, tensorCount: p.tensorCount,
                       heap: Math.max(c.mod.HEAPU8.length, p.workerHeap ?? 0) });
            };
            const write = (bytes) => sink.write(bytes);
            if (usePool) {
                // Pool workers open a URL model from the header bytes already here, and get each
                // chunk's input from this worker, which streams each file over one connection.
                const poolFiles = fromUrl ? model.files.map((s) => ({ name: s.name, size: s.size, head: s.headerBytes() })) : files;
                let read = null, buffers = null;
                if (fromUrl) {
                    // The pool's own reads, each answered with a buffer of its own (no copy).
                    const schedule = jobReadSchedule(job.layout(), model.files.length, { taskBytes: kTaskBytes });
                    // The pieces' buffers are used again once the pool workers have copied them.
                    buffers = new SpareBuffers();
                    const readers = model.files.map((s, k) => s.streamReader(schedule[k], { buffers }));
                    read = (offset, size, shard) => readers[shard](offset, size);
                }
                const pool = await RowPool.start(workers, { files: poolFiles, argv, imatrix, variant: c.variant }, spawnPoolWorker);
                try {
                    // From Files, the pool workers read their chunks themselves: several Blob
                    // reads at once, none on this worker's thread.
                    await runPool(job, pool, { read, release: buffers && ((b) => buffers.put(b)), write, onProgress });
                } finally {
                    pool.terminate();
                }
            } else if (fromUrl || model.checkpoint) {
                // A URL streams in the job's order; a checkpoint's virtual GGUF is read at the
                // job's offsets (run() reads {size, read} sources itself).
                await job.run({ write, chunkSize: kChunkBytes, onProgress });
            } else {
                const read = blobReader(model.files);  // a split model's shards, in order
                await job.run({ read, write, chunkSize: kChunkBytes, onProgress });
            }
            const result = sink.close();
            sink = null;
            result.downloaded = fromUrl ? downloaded : null;
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
        // Buffers in the result (an imatrix fetched from its URL) are moved, not copied.
        const transfer = result?.bytes?.buffer ? [result.bytes.buffer] : [];
        self.postMessage({ id, result }, transfer);
    } catch (e) {
        self.postMessage({ id, error: errorToMessage(e) });
    }
};
