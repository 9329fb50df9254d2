// `quality` and `fit` on the WebAssembly core (wasm/quality_binding.cpp): the plans, the
// measurement, the optimiser and the reports are the core's; this file feeds the measure job the
// bytes it asks for, by (shard, offset), and reads its reports.
//
//   const report = await core.quality(model, { types: ['Q4_K_M'], onProgress, signal });
//   const fit = await core.fit(model, { target: { kind: 'file_size', bytes: 5e9 } });
//   fit.typeFile  // the --tensor-type-file for llama-quantize
//
// The model's files are read where the job runs: Blobs and {size, read} sources (node files,
// URLs) by positioned reads, only the measured rows.
import { GgufError } from './errors.mjs';

const u32 = (p) => p >>> 0;

// How often a run lets the event loop serve an abort (a macrotask; setImmediate where there is
// one, so no 1 ms clamp).
const kYieldMs = 50;
const yieldToEventLoop = typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

// The fit targets, as gs_fit_new numbers them.
export const kFitTargetKinds = ['file_size', 'bpw', 'memory'];
const kKvTypeIds = { f16: 1, q8_0: 8, q4_0: 2 };

// The native CLI's parse of one `quality` / `fit` argument (gs_quality_parse_arg): the value, or
// a GgufError with the core's message (empty for bpw, ctx and kv, which the CLI words itself).
export function parseQualityArg(core, what, text) {
    const [w] = core.allocString(what);
    const [t] = core.allocString(text);
    try {
        return core.takeJson(core.mod._gs_quality_parse_arg(w, t)).value;
    } finally {
        core.mod._free(w);
        core.mod._free(t);
    }
}

// The default of --rows (measured rows per matrix).
export function defaultMeasuredRows(core) {
    return core.mod._gs_quality_default_rows();
}

// A streaming measurement over a model's tensors (one `quality` or `fit` run).
export class MeasureJob {
    constructor(core, handle, kind, sources) {
        this.core = core;
        this.handle = handle;
        this.kind = kind;  // 'quality' or 'fit'
        this.sources = sources;
    }

    error() {
        const m = this.core.mod;
        return new GgufError(m._gs_measure_status(this.handle), this.core.string(m._gs_measure_error(this.handle)));
    }

    // {tensorIndex, tensorCount, bytesRead, bytesTotal}: requests (tensors) measured, input bytes.
    progress() {
        const p = JSON.parse(this.core.takeString(this.core.mod._gs_measure_progress_json(this.handle)));
        return { tensorIndex: p.tensor_index, tensorCount: p.tensor_count, bytesRead: p.bytes_read, bytesTotal: p.bytes_total };
    }

    done() {
        return this.core.mod._gs_measure_done(this.handle) !== 0;
    }

    // Measures to the end. `readInto(offset, view, shard)` fills a prefix of `view` (wasm memory)
    // and returns the count, or `read(offset, length, shard)` returns (a promise of) up to `length`
    // bytes; with neither, the model's sources are read (Blob.slice, or {read}). `onProgress`
    // gets progress() after each chunk; `signal` aborts between chunks.
    async run({ read = null, readInto = null, onProgress = null, signal = null, chunkSize = 4 << 20 } = {}) {
        if (!read && !readInto) read = sourcesReader(this.sources);
        const m = this.core.mod;
        const h = this.handle;
        let lastYield = performance.now();
        while (!this.done()) {
            if (m._gs_measure_status(h) !== 0) throw this.error();
            if (signal && performance.now() - lastYield >= kYieldMs) {
                await yieldToEventLoop();
                lastYield = performance.now();
            }
            signal?.throwIfAborted();
            const want = m._gs_measure_input_wanted(h);
            if (want <= 0) throw m._gs_measure_status(h) !== 0 ? this.error() : new GgufError('internal', 'measure job made no progress');
            const offset = m._gs_measure_input_offset(h);
            const shard = m._gs_measure_input_shard(h);
            const len = Math.min(want, chunkSize);
            let got;
            if (readInto) {
                const ptr = u32(m._gs_measure_input_buffer(h));
                if (!ptr) throw this.error();
                got = readInto(offset, m.HEAPU8.subarray(ptr, ptr + len), shard);
            } else {
                const bytes = await read(offset, len, shard);
                signal?.throwIfAborted();
                got = bytes ? Math.min(bytes.length, len) : 0;
                if (got > 0) {
                    // Asked for after the await: the heap may have grown (a new buffer) meanwhile.
                    const ptr = u32(m._gs_measure_input_buffer(h));
                    if (!ptr) throw this.error();
                    m.HEAPU8.set(got === bytes.length ? bytes : bytes.subarray(0, got), ptr);
                }
            }
            if (!got) {
                const name = this.sources?.[shard]?.name ?? this.sources?.[shard]?.path ?? `shard ${shard}`;
                throw new GgufError('truncated', `${name}: the file ends at byte ${offset}, inside the tensor data`);
            }
            if (m._gs_measure_commit(h, got) !== 0) throw this.error();
            onProgress?.(this.progress());
        }
    }

    // The quality report once measured: `gguf-squash quality --json`'s text (with its newline),
    // or its table with `text`.
    qualityReport({ text = false } = {}) {
        return this.core.takeString(this.core.mod._gs_quality_report(this.handle, text ? 1 : 0));
    }

    // The fit once measured: `gguf-squash fit --json`'s text (with its newline), or its text. The
    // command names typesFile (TYPES.txt when empty), imatrixFile, modelName and outName; the
    // text says typesFile was written when it is given.
    fitReport({ typesFile = '', imatrixFile = '', modelName = '', outName = '', text = false } = {}) {
        const strs = [typesFile, imatrixFile, modelName, outName].map((s) => this.core.allocString(s)[0]);
        try {
            return this.core.takeString(this.core.mod._gs_fit_report(this.handle, ...strs, text ? 1 : 0));
        } finally {
            for (const p of strs) this.core.mod._free(p);
        }
    }

    // The --tensor-type-file of the fit (one ^name$=type per line).
    fitTypeFile() {
        const s = this.core.takeString(this.core.mod._gs_fit_type_file(this.handle));
        if (s.startsWith('{')) throwIfErrorDocument(JSON.parse(s));  // lines start with ^
        return s;
    }

    free() {
        if (this.handle) this.core.mod._gs_measure_free(this.handle);
        this.handle = 0;
    }
}

// The core's {error, code} document as a GgufError; anything else is returned.
function throwIfErrorDocument(value) {
    if (value && typeof value.error === 'string' && 'code' in value) throw new GgufError(value.code, value.error);
    return value;
}

// A (offset, length, shard) reader over the model's sources: Blob slices, or {read} sources.
function sourcesReader(sources) {
    return async (offset, length, shard = 0) => {
        const src = sources?.[shard];
        if (!src) throw new GgufError('invalid_argument', `no input shard ${shard}`);
        if (typeof Blob !== 'undefined' && src instanceof Blob)
            return new Uint8Array(await src.slice(offset, Math.min(src.size, offset + length)).arrayBuffer());
        // A URL source: each measured range on its own (UrlSource.read would keep them all).
        if (typeof src.fetchRange === 'function') return src.fetchRange(offset, Math.min(length, src.size - offset));
        if (typeof src.read === 'function') return src.read(offset, length);
        throw new GgufError('invalid_argument', `input shard ${shard} cannot be read at an offset`);
    };
}

// Calls `make(partsPtr, count, imPtr, imLen, namePtr)` with the model's shard handles and the
// imatrix in the heap, then checks the handle it returns.
function newJob(core, model, kind, { imatrix = null, imatrixName = '' }, make) {
    if (!model?.handle) throw new GgufError('invalid_argument', 'the model was freed');
    const m = core.mod;
    const handles = model.parts.map((p) => p.handle);
    const partsPtr = u32(m._malloc(4 * handles.length));
    const imPtr = imatrix ? core.allocBytes(imatrix) : 0;
    const [namePtr] = core.allocString(imatrixName ?? '');
    let handle;
    try {
        new Uint32Array(m.HEAPU8.buffer, partsPtr, handles.length).set(handles);
        handle = u32(make(partsPtr, handles.length, imPtr, imatrix ? imatrix.length : 0, namePtr));
    } finally {
        m._free(partsPtr);
        if (imPtr) m._free(imPtr);
        m._free(namePtr);
    }
    if (!handle) throw new GgufError('out_of_memory', `cannot allocate a ${kind} job`);
    const job = new MeasureJob(core, handle, kind, model.files);
    if (m._gs_measure_status(handle) !== 0) {
        const e = job.error();
        job.free();
        throw e;
    }
    return job;
}

const rowsArg = (core, rows) => (rows === undefined || rows === null ? defaultMeasuredRows(core)
    : rows === 'all' ? 0 : rows);

const typesArg = (types) => (Array.isArray(types) ? types.join(',') : (types ?? ''));

// A `quality` measurement of `model` (an opened Model). options: types (names, 'all' or a
// comma list; default all), rows (per matrix; 'all'; default 16), imatrix (bytes), imatrixName
// (as recorded in the file: changes the header, so the sizes).
export function createQualityJob(core, model, options = {}) {
    const [typesPtr] = core.allocString(typesArg(options.types));
    try {
        return newJob(core, model, 'quality', options, (parts, n, im, imLen, name) =>
            core.mod._gs_quality_new(parts, n, im, imLen, name, typesPtr, rowsArg(core, options.rows)));
    } finally {
        core.mod._free(typesPtr);
    }
}

// A `fit` measurement. options.target: {kind: 'file_size'|'bpw'|'memory', bytes, bpw, ctx,
// kvType ('f16', 'q8_0', 'q4_0')}; base (an ftype name, default chosen after the fit), rows,
// imatrix, imatrixName as createQualityJob.
export function createFitJob(core, model, options = {}) {
    const target = options.target ?? {};
    const kind = kFitTargetKinds.indexOf(target.kind ?? 'file_size');
    if (kind < 0) throw new GgufError('invalid_argument', `unknown fit target '${target.kind}'`);
    const value = target.kind === 'bpw' ? target.bpw : target.bytes;
    const kv = kKvTypeIds[String(target.kvType ?? 'f16').toLowerCase()];
    if (kv === undefined) throw new GgufError('invalid_argument', 'the KV cache type must be f16, q8_0 or q4_0');
    const [basePtr] = core.allocString(options.base ?? '');
    try {
        return newJob(core, model, 'fit', options, (parts, n, im, imLen, name) =>
            core.mod._gs_fit_new(parts, n, im, imLen, name, kind, Number(value), target.ctx ?? 4096, kv, basePtr,
                                 rowsArg(core, options.rows)));
    } finally {
        core.mod._free(basePtr);
    }
}

// core.quality: measures and returns the report, as `gguf-squash quality --json` gives it
// ({ftypes: [{name, file_size, rmse, rel_rmse, weighted_mse?, rows, tensors: [...]}], skipped}).
// options: those of createQualityJob and MeasureJob.run (onProgress, signal, read, readInto).
export async function runQuality(core, model, options = {}) {
    const job = createQualityJob(core, model, options);
    try {
        await job.run(options);
        return core.takeJson(core.mod._gs_quality_report(job.handle, 0));
    } finally {
        job.free();
    }
}

// core.fit: measures, optimises and returns `gguf-squash fit --json`'s object plus `typeFile`
// (the --tensor-type-file's text). options: those of createFitJob and MeasureJob.run, and
// typesFile, imatrixFile, modelName, outName for the command it prints.
export async function runFit(core, model, options = {}) {
    const job = createFitJob(core, model, options);
    try {
        await job.run(options);
        const result = throwIfErrorDocument(JSON.parse(job.fitReport(options)));
        result.typeFile = job.fitTypeFile();
        return result;
    } finally {
        job.free();
    }
}
