// gguf-squash's JavaScript API: loads the WebAssembly core (the SIMD build when the engine
// validates SIMD, else the baseline build) and wraps its C ABI in a few plain functions.
//
//   import { readGgufHeader } from './gguf_squash.mjs';
//   const info = await readGgufHeader(file);          // a Blob/File, read by slices
//   const info = await readGgufHeader(asyncChunks);   // any async iterable of Uint8Array chunks
//
// Works in browsers, workers and node. Bytes go in, plain objects or a GgufError come out; all
// parsing and formatting happens in the C++ core.

import { GgufError, setStatusNames } from './errors.mjs';

export { errorFromMessage, errorToMessage, GgufError } from './errors.mjs';

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string' &&
               typeof window === 'undefined' && typeof importScripts !== 'function';

// A module using one SIMD opcode (i32.const 0; i8x16.splat; i8x16.popcnt; end), the usual probe:
// an engine that validates it runs everything clang's -msimd128 emits.
const kSimdProbe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported() {
    try {
        return WebAssembly.validate(kSimdProbe);
    } catch {
        return false;
    }
}

// Where the built modules are: next to this file in the deployed site (build/web/wasm/), or in
// a build directory when running from the source tree.
function candidateDirs(explicitDir) {
    const dirs = [];
    if (explicitDir) dirs.push(new URL(explicitDir.endsWith('/') ? explicitDir : explicitDir + '/',
                                       isNode ? `file://${process.cwd()}/` : location.href));
    if (isNode && process.env.GGUF_SQUASH_WASM_DIR) {
        const d = process.env.GGUF_SQUASH_WASM_DIR;
        dirs.push(new URL(d.endsWith('/') ? d : d + '/', `file://${process.cwd()}/`));
    }
    dirs.push(new URL('./', import.meta.url));
    if (isNode) dirs.push(new URL('../build/wasm/', import.meta.url));
    return dirs;
}

async function instantiate(dirUrl, variant) {
    const jsUrl = new URL(`gguf_squash_${variant}.mjs`, dirUrl);
    const wasmUrl = new URL(`gguf_squash_${variant}.wasm`, dirUrl);
    const opts = {};
    if (isNode) {
        const fs = await import('node:fs');
        const { fileURLToPath } = await import('node:url');
        const path = await import('node:path');
        const wasmPath = fileURLToPath(wasmUrl);
        if (!fs.existsSync(wasmPath) || !fs.existsSync(fileURLToPath(jsUrl))) return null;
        // Emscripten's ES6 output looks up CommonJS globals when it sees node.
        if (typeof globalThis.require === 'undefined') {
            const { createRequire } = await import('node:module');
            globalThis.require = createRequire(import.meta.url);
        }
        if (typeof globalThis.__dirname === 'undefined') globalThis.__dirname = path.dirname(wasmPath);
        opts.wasmBinary = fs.readFileSync(wasmPath);
    } else {
        opts.locateFile = (name) => new URL(name, dirUrl).href;
    }
    opts.print = () => {};
    opts.printErr = () => {};
    const { default: factory } = await import(jsUrl.href);
    return factory(opts);
}

// Items of each metadata array that openModel's info holds (the rest is read on demand with
// Model.arrayItems): enough for a first view, and a 150k-token vocabulary stays in the core.
export const kPreviewArrayItems = 64;
// How often QuantizeJob.run, given an abort signal, lets the event loop run (a macrotask, so
// that signal handlers and messages are served; setImmediate where there is one: no 1 ms clamp).
const kYieldMs = 50;
// Steady calls calibrateType makes at least, whatever its time budget, and how far past its
// budget it may go while its calls still get faster.
const kMinCalibrationCalls = 3;
const kCalibrationStretch = 5;
// A timed batch of calls lasts at least this long: a page that is not cross-origin isolated
// reads performance.now() to 0.1 ms (with jitter), longer than one call of a fast kernel
// (Q8_0 on the sample takes ~0.02 ms), which then timed as 0 and made the whole run look
// instantaneous. Ten ticks, and no longer: the longer a batch, the likelier the scheduler
// interrupts it on a busy machine.
export const kMinBatchMs = 1;

// The steady time of one call of `call` (which returns false on failure), by the clock `now`
// (ms): {firstMs, steadyMs, calls, settled}, or null when a call failed. firstMs is the first call alone
// (a type's lookup tables are built then). The calls are then timed in batches of at least
// kMinBatchMs (the batch doubles until it is), and steadyMs is the mean per call of the faster
// half of the batches, going on (up to kCalibrationStretch times the budget) while the batches
// still get faster. A kernel's first calls run in the engine's baseline code until its optimised
// code arrives (compiled in the background, late on a busy machine), and a batch the scheduler
// interrupted says nothing about the kernel: either would make the run look several times slower.
// settled: the batches had stopped getting faster; false when the stretch ran out first (the
// optimised code had not arrived: a later calibration will be faster).
export function steadyCallTime(call, { budgetMs = 60, now = () => performance.now(), minBatchMs = kMinBatchMs } = {}) {
    const t00 = now();
    if (!call()) return null;
    const firstMs = now() - t00;
    let reps = 1, calls = 1;
    const times = [];  // ms per call, one per batch
    const t0 = now();
    let best = Infinity, bestAt = 0, settled = false;
    for (;;) {
        const t1 = now();
        for (let i = 0; i < reps; ++i) if (!call()) return null;
        const t = now();
        calls += reps;
        const spent = t - t0;
        if (t - t1 < minBatchMs && spent < budgetMs * kCalibrationStretch) {
            reps *= 2;  // too short to time: a longer batch, this one not counted
            continue;
        }
        const per = (t - t1) / reps;
        times.push(per);
        // Still getting faster: 10% better than the best so far.
        if (per < best * 0.9) bestAt = times.length;
        best = Math.min(best, per);
        if (spent >= budgetMs * kCalibrationStretch) break;
        // Stop once the budget is spent and the last few batches brought no new best.
        if (times.length >= kMinCalibrationCalls && spent >= budgetMs && times.length - bestAt >= kMinCalibrationCalls - 1) {
            settled = true;
            break;
        }
    }
    const fast = [...times].sort((a, b) => a - b).slice(0, Math.ceil(times.length / 2));
    const steadyMs = fast.reduce((a, b) => a + b, 0) / fast.length;
    return { firstMs, steadyMs, calls, settled };
}

const yieldToEventLoop = typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

// The C functions return pointers as signed i32; above 2 GiB they must be read unsigned.
const u32 = (p) => p >>> 0;

// One instance of the core. Every call is synchronous inside; the async parts are the reads.
export class GgufSquash {
    constructor(mod, variant) {
        this.mod = mod;
        this.variant = variant;
        this.staging = 0;
        this.stagingSize = 0;
        // The core's constants (status names, type table, recommendation ladder): JS keeps no
        // copy of its own.
        this.coreConstants = JSON.parse(this.takeString(mod._gs_constants_json()));
        setStatusNames(this.coreConstants.status);
    }

    // {status, types: [{id, name, ggml_name, block_size, type_size, quantized}], ladder,
    // ladder_large, default_ftype}: see wasm/constants_binding.cpp.
    constants() {
        return this.coreConstants;
    }

    // A tensor type's id from its name ('Q4_K', 'q8_0'), or -1.
    typeId(name) {
        const [ptr] = this.allocString(name);
        try {
            return this.mod._gs_type_id(ptr);
        } finally {
            this.mod._free(ptr);
        }
    }

    // 'PREFIX-00002-of-00005.gguf' for shard `no` (0-based) of `count` (llama_split_path).
    splitPath(prefix, no, count) {
        const [ptr] = this.allocString(prefix);
        try {
            return this.takeString(this.mod._gs_split_path(ptr, no, count));
        } finally {
            this.mod._free(ptr);
        }
    }

    // PREFIX when `path` ends with shard `no` of `count`'s suffix, else null (llama_split_prefix).
    splitPrefix(path, no, count) {
        const [ptr] = this.allocString(path);
        try {
            const out = u32(this.mod._gs_split_prefix(ptr, no, count));
            return out ? this.takeString(out) : null;
        } finally {
            this.mod._free(ptr);
        }
    }

    // A heap buffer that JS copies input chunks into (reused; grown when needed).
    stage(bytes) {
        const m = this.mod;
        if (bytes.length > this.stagingSize) {
            if (this.staging) m._free(this.staging);
            this.stagingSize = Math.max(bytes.length, 1 << 20);
            this.staging = u32(m._malloc(this.stagingSize));
            if (!this.staging) {
                this.stagingSize = 0;
                throw new GgufError('out_of_memory', 'cannot allocate an input buffer');
            }
        }
        m.HEAPU8.set(bytes, this.staging);
        return this.staging;
    }

    string(ptr) {
        return this.mod.UTF8ToString(u32(ptr));
    }

    // Takes a malloc'd C string from the core and frees it.
    takeString(ptr) {
        ptr = u32(ptr);
        if (!ptr) throw new GgufError('out_of_memory', 'the core returned no text');
        try {
            return this.mod.UTF8ToString(ptr);
        } finally {
            this.mod._gs_free_string(ptr);
        }
    }

    // Copies a string into the heap as UTF-8 (NUL-terminated); returns [ptr, byteLength].
    allocString(str) {
        const bytes = new TextEncoder().encode(str);
        const ptr = u32(this.mod._malloc(bytes.length + 1));
        if (!ptr) throw new GgufError('out_of_memory', 'cannot allocate a string');
        this.mod.HEAPU8.set(bytes, ptr);
        this.mod.HEAPU8[ptr + bytes.length] = 0;
        return [ptr, bytes.length];
    }

    // Copies bytes into a fresh heap buffer (freed by the caller).
    allocBytes(bytes) {
        const ptr = u32(this.mod._malloc(Math.max(1, bytes.length)));
        if (!ptr) throw new GgufError('out_of_memory', `cannot allocate ${bytes.length} bytes`);
        this.mod.HEAPU8.set(bytes, ptr);
        return ptr;
    }

    // Parses JSON from the core; an {error, code} object becomes a GgufError.
    takeJson(ptr) {
        const value = JSON.parse(this.takeString(ptr));
        if (value && !Array.isArray(value) && typeof value.error === 'string' && 'code' in value)
            throw new GgufError(value.code, value.error);
        return value;
    }

    // Parses a GGUF header from `source` (see sourceChunks) and returns its description in the
    // shape of `gguf-squash info --json` (every array complete), plus `bytesRead`.
    async readHeader(source, options = {}) {
        const model = await this.openModel([source], { maxArrayItems: Infinity, ...options });
        model.free();
        return model.info;
    }

    // Reads the headers of a model (one file, or the shards of a split model, in any order) and
    // keeps them in the core for estimates. Call free() when done. `model.info` is a preview:
    // each array has its true `len` but at most `maxArrayItems` items in `value` (default
    // kPreviewArrayItems; Infinity for all), and `truncated: true` when cut; the rest comes from
    // model.arrayItems(key, start, count).
    async openModel(sources, options = {}) {
        const maxItems = options.maxArrayItems ?? kPreviewArrayItems;
        // URLs (http/https strings) are read with Range requests (wasm/url_source.mjs); `token`
        // goes to their own origin only.
        if (sources.some((s) => typeof s === 'string' && /^https?:\/\//i.test(s))) {
            const { UrlSource } = await import('./url_source.mjs');
            sources = await Promise.all(sources.map((s) => (typeof s === 'string'
                ? UrlSource.open(s, { token: options.token ?? '', fetch: options.fetch, signal: options.signal }) : s)));
        }
        const parts = [];
        try {
            for (const source of sources) {
                const reader = new HeaderReader(this, sizeOf(source));
                try {
                    // A checkpoint folder's virtual GGUF is read up to its header's end only:
                    // past it, a read converts weights.
                    const from = typeof source?.headerSource === 'function' ? source.headerSource() : source;
                    for await (const chunk of sourceChunks(from, () => reader.wanted(), options)) {
                        if (reader.push(chunk)) break;
                    }
                    reader.end();
                    const handle = reader.takeModel();
                    const info = this.takeJson(this.mod._gs_model_info_json_preview(handle, maxItems));
                    info.bytesRead = reader.position();
                    parts.push({ source, handle, info });
                } finally {
                    reader.free();
                }
            }
        } catch (e) {
            for (const p of parts) this.mod._gs_model_free(p.handle);
            throw e;
        }
        const splitNo = (p) => Number(p.info.metadata['split.no']?.value ?? 0);
        parts.sort((a, b) => splitNo(a) - splitNo(b));
        return new Model(this, parts);
    }

    // A Hugging Face checkpoint folder as the GGUF convert_hf_to_gguf.py would write for it
    // (wasm/checkpoint_source.mjs): a {size, read(offset, length), name, close()} source whose
    // reads convert the tensors from the folder's shards. `files`: the folder's files (Files, or
    // {name, size, read}), named relative to it; options: outtype ('auto' default, 'f32', 'f16',
    // 'bf16', 'q8_0'), folderName (the converter names the model by it), displayPath (for
    // messages), signal. Errors name the file and field (config.json: missing, ...).
    async openCheckpoint(files, options = {}) {
        const { CheckpointSource } = await import('./checkpoint_source.mjs');
        return CheckpointSource.open(this, files, options);
    }

    // openModel for a checkpoint folder: the Model of the GGUF `convert --outtype auto` (or
    // options.outtype) would write, with the same info and estimates as that file, and a job of
    // it (createJob, then run() with no `read`) quantizes in one pass. Only the small files and
    // the shards' headers are read here. model.files[0] is the CheckpointSource (freed with the
    // model).
    async openModelFolder(files, options = {}) {
        const src = await this.openCheckpoint(files, options);
        try {
            return await this.openModel([src], options);
        } catch (e) {
            src.close();
            throw e;
        }
    }

    // Summary of an importance matrix ({entries, chunk_count, chunk_size, legacy, datasets}).
    inspectImatrix(bytes) {
        const ptr = this.allocBytes(bytes);
        try {
            return this.takeJson(this.mod._gs_imatrix_summary_json(ptr, bytes.length));
        } finally {
            this.mod._free(ptr);
        }
    }

    // Every ftype's exact output size for `args` (llama-quantize options) and an optional
    // imatrix: [{name, ftype, note, description, needs_imatrix, file_size, bpw, fallbacks, error?}].
    estimate(model, { args = [], imatrix = null, imatrixName = 'imatrix.gguf' } = {}) {
        const [argPtr, argLen] = this.allocString(args.join('\0'));
        const [namePtr] = this.allocString(imatrixName);
        const imPtr = imatrix ? this.allocBytes(imatrix) : 0;
        try {
            return this.takeJson(this.mod._gs_estimate_json(model.mergedHandle(), argPtr, argLen, imPtr,
                                                            imatrix ? imatrix.length : 0, namePtr));
        } finally {
            this.mod._free(argPtr);
            this.mod._free(namePtr);
            if (imPtr) this.mod._free(imPtr);
        }
    }

    ftypeName(id) {
        return this.takeString(this.mod._gs_ftype_name(id >>> 0));
    }

    // llama-quantize's arguments, parsed by the core: {input, output, imatrix_file, ftype,
    // nthreads, help, keep_split, dry_run}; a GgufError for a usage error.
    parseQuantizeArgs(args) {
        const [ptr, len] = this.allocString(args.join('\0'));
        try {
            return this.takeJson(this.mod._gs_parse_quantize_args_json(ptr, len));
        } finally {
            this.mod._free(ptr);
        }
    }

    // Where llama-quantize writes when OUT is not given, for input `input` and type `ftypeName`
    // (plan/quantize_args.h's default_output_name).
    defaultOutputName(input, ftypeName, keepSplit = false) {
        const [inPtr] = this.allocString(input);
        const [typePtr] = this.allocString(ftypeName);
        try {
            return this.takeString(this.mod._gs_default_output_name(inPtr, typePtr, keepSplit ? 1 : 0));
        } finally {
            this.mod._free(inPtr);
            this.mod._free(typePtr);
        }
    }

    // An --outtype name's error message, or '' when `convert` knows it.
    outtypeError(name) {
        const [ptr] = this.allocString(name);
        try {
            return this.takeString(this.mod._gs_checkpoint_outtype_error(ptr));
        } finally {
            this.mod._free(ptr);
        }
    }

    // Makes a text file's contents available to the argument parser (--tensor-type-file).
    provideTextFile(name, bytes) {
        const [namePtr] = this.allocString(name);
        const dataPtr = this.allocBytes(bytes);
        try {
            this.mod._gs_provide_text_file(namePtr, dataPtr, bytes.length);
        } finally {
            this.mod._free(namePtr);
            this.mod._free(dataPtr);
        }
    }

    quantizeUsage() {
        return this.takeString(this.mod._gs_quantize_usage());
    }

    // Items [start, start + count) of the metadata array `key` of `model` (its first shard),
    // clamped to the array; a GgufError for an unknown key or one that is not an array.
    arrayItems(model, key, start = 0, count = Infinity) {
        if (!model.handle) throw new GgufError('invalid_argument', 'the model was freed');
        const [ptr, len] = this.allocString(key);
        try {
            return this.takeJson(this.mod._gs_model_array_items_json(model.handle, ptr, len, start, count));
        } finally {
            this.mod._free(ptr);
        }
    }

    // `gguf-squash info` output for one model: the human text, or JSON with --json.
    infoText(model, { json = false, path = '' } = {}) {
        const [ptr] = this.allocString(path);
        try {
            return this.takeString(this.mod._gs_model_info_text(model.handle, json ? 1 : 0, ptr));
        } finally {
            this.mod._free(ptr);
        }
    }

    // A streaming quantize job for `model` (one file, or every shard of a split model) from
    // llama-quantize's arguments ([options] IN [OUT] TYPE [NTHREADS]); `imatrix` holds the bytes
    // of the --imatrix file. Throws a GgufError for bad arguments and refusals.
    createJob(model, args, { imatrix = null, maxBufferBytes = 0 } = {}) {
        const [argPtr, argLen] = this.allocString(args.join('\0'));
        const imPtr = imatrix ? this.allocBytes(imatrix) : 0;
        const handles = model.parts.map((p) => p.handle);
        const partsPtr = u32(this.mod._malloc(4 * handles.length));
        let handle;
        try {
            new Uint32Array(this.mod.HEAPU8.buffer, partsPtr, handles.length).set(handles);
            handle = this.mod._gs_job_new(partsPtr, handles.length, argPtr, argLen, imPtr,
                                          imatrix ? imatrix.length : 0, maxBufferBytes);
        } finally {
            this.mod._free(argPtr);
            this.mod._free(partsPtr);
            if (imPtr) this.mod._free(imPtr);
        }
        if (!handle) throw new GgufError('out_of_memory', 'cannot allocate a quantize job');
        const code = this.mod._gs_job_status(handle);
        if (code !== 0) {
            const message = this.string(this.mod._gs_job_error(handle));
            this.mod._gs_job_free(handle);
            throw new GgufError(code, message);
        }
        const job = new QuantizeJob(this, handle);
        job.sources = model.files;  // URL sources stream themselves when run() gets no `read`
        return job;
    }

    // What each ftype does to the model's weights, measured (wasm/quality.mjs): `gguf-squash
    // quality --json`'s object. options: types, rows, imatrix (bytes), imatrixName, onProgress,
    // signal (an AbortSignal), and read / readInto to read the model's data yourself.
    async quality(model, options = {}) {
        const { runQuality } = await import('./quality.mjs');
        return runQuality(this, model, options);
    }

    // One type per tensor for a target (wasm/quality.mjs): `gguf-squash fit --json`'s object and
    // typeFile, the --tensor-type-file for llama-quantize. options.target: {kind: 'file_size' |
    // 'bpw' | 'memory', bytes, bpw, ctx, kvType}; the rest as quality(), and base.
    async fit(model, options = {}) {
        const { runFit } = await import('./quality.mjs');
        return runFit(this, model, options);
    }

    // Kernel throughput for a tensor type on this machine: weights per second of one thread
    // quantizing to `typeName`, from a short synthetic run of about `budgetMs` (for time
    // estimates; never exact), with a flat importance matrix when `imatrix` (types that need one
    // always get one), as a run with or without --imatrix quantizes.
    calibrate(typeName, budgetMs = 60, { imatrix = false } = {}) {
        return this.calibrateType(typeName, budgetMs, { imatrix }).rate;
    }

    // {rate (weights/s), initSeconds}: initSeconds is what the first call cost beyond a steady
    // one: some types build lookup tables on their first use in a thread (the IQ grids), which a
    // run pays once per worker, not per block (0 when this thread had built them already).
    // sample: {type, bytes, rows, perRow}, rows of one of the model's own tensors (F16, BF16 or
    // F32), quantized instead of synthetic rows when the type's blocks divide its rows: some
    // kernels' speed depends on the data (the IQ grid searches).
    // The rate is the steady one (steadyCallTime: batches long enough for the page's clock).
    calibrateType(typeName, budgetMs = 60, { imatrix = false, sample = null } = {}) {
        const id = this.typeId(typeName);
        if (id < 0) throw new GgufError('invalid_argument', `unknown type ${typeName}`);
        const im = imatrix ? 1 : 0;
        const srcId = sample ? this.typeId(sample.type) : -1;
        let rows = 8, perRow = 4096, call = () => this.mod._gs_quantize_synthetic(id, rows, perRow, im);
        let ptr = 0;
        if (srcId >= 0 && sample.rows > 0 && sample.perRow % 256 === 0) {
            ptr = this.allocBytes(sample.bytes);
            rows = sample.rows;
            perRow = sample.perRow;
            call = () => this.mod._gs_quantize_sample(id, srcId, ptr, rows, perRow, im);
        }
        try {
            const t = steadyCallTime(() => call() === 0, { budgetMs });
            if (!t || !(t.steadyMs > 0)) return { rate: 0, initSeconds: 0 };
            return { rate: rows * perRow / (t.steadyMs / 1000), initSeconds: Math.max(0, t.firstMs - t.steadyMs) / 1000, sampled: !!ptr,
                     settled: t.settled };
        } finally {
            if (ptr) this.mod._free(ptr);
        }
    }

    // Tensor type names this build can write (for --output-tensor-type and friends).
    quantizableTypes() {
        return this.takeString(this.mod._gs_writable_types()).split('\n').filter(Boolean);
    }
}

// A model whose header(s) live in the core: `info` is the (first) header's info JSON with every
// shard's tensors, `files` the sources in shard order.
export class Model {
    constructor(core, parts) {
        this.core = core;
        this.parts = parts;
        this.handle = parts[0].handle;
        this.files = parts.map((p) => p.source);
        // A checkpoint folder's virtual GGUF (openModelFolder, or openModel on a CheckpointSource):
        // closed with the model.
        this.checkpoint = this.files.find((f) => f?.isCheckpoint) ?? null;
        this.info = parts.length === 1 ? parts[0].info
            : { ...parts[0].info, tensors: parts.flatMap((p, shard) => p.info.tensors.map((t) => ({ ...t, shard }))) };
        this.fileSize = parts.reduce((a, p) => a + (sizeOf(p.source) ?? 0), 0);
        this.nParams = 0;
        this.tensorBytes = 0;
        for (const t of this.info.tensors) {
            this.nParams += t.shape.reduce((a, b) => a * b, 1);
            this.tensorBytes += t.nbytes;
        }
    }

    ftypeName(id) {
        return this.core.ftypeName(id);
    }

    // Items [start, start + count) of a metadata array (clamped to its `len`): what info's
    // preview left out. Numbers, strings and nested {type: 'ARRAY', ...} objects, as in info.
    arrayItems(key, start = 0, count = Infinity) {
        return this.core.arrayItems(this, key, start, count);
    }

    // The whole model's header, as llama-quantize plans it: the one file's, or the shards' merged
    // (made once, freed with the model).
    mergedHandle() {
        if (!this.handle) throw new GgufError('invalid_argument', 'the model was freed');
        if (this.parts.length === 1) return this.handle;
        if (!this.merged) {
            const m = this.core.mod;
            const n = this.parts.length;
            const arr = u32(m._malloc(4 * n)), errPtr = u32(m._malloc(4));
            try {
                new Uint32Array(m.HEAPU8.buffer, arr, n).set(this.parts.map((p) => p.handle));
                new Uint32Array(m.HEAPU8.buffer, errPtr, 1)[0] = 0;
                const merged = m._gs_estimate_merge_shards(arr, n, errPtr);
                if (!merged) this.core.takeJson(new Uint32Array(m.HEAPU8.buffer, errPtr, 1)[0]);  // throws
                this.merged = merged;
            } finally {
                m._free(arr);
                m._free(errPtr);
            }
        }
        return this.merged;
    }

    free() {
        for (const p of this.parts) if (p.handle) this.core.mod._gs_model_free(p.handle);
        for (const p of this.parts) p.handle = 0;
        if (this.merged) this.core.mod._gs_model_free(this.merged);
        this.merged = 0;
        this.handle = 0;
        this.checkpoint?.close();
    }
}

// A running quantize job: the core asks for input at (shard, offset) and produces the output in
// order. With --keep-split there are several output files (plan.output_files, each {name,
// file_size, tensors}): run() writes the selected one (selectOutput; file 0 at first).
export class QuantizeJob {
    constructor(core, handle) {
        this.core = core;
        this.handle = handle;
        this.plan = JSON.parse(core.string(core.mod._gs_job_plan_json(handle)));
        this.progressBuf = 0;
    }

    // Switches to output file `index` of plan.output_files (its layout, header and run()).
    selectOutput(index) {
        if (this.core.mod._gs_job_select_output(this.handle, index) !== 0) throw this.error();
    }

    // The output layout for spreading row chunks over workers: {header_size, file_size,
    // tensors: [{name, type, offset, rows, rows_per_matrix, src_row, dst_row, padding}]}.
    layout() {
        return JSON.parse(this.core.takeString(this.core.mod._gs_job_layout_json(this.handle)));
    }

    // The selected output file's header bytes (what comes before its first tensor).
    headerBytes() {
        const m = this.core.mod;
        const size = m._gs_job_header_size(this.handle);  // plan.header_size is the whole plan's
        const ptr = u32(m._malloc(size));
        try {
            if (m._gs_job_header(this.handle, ptr) !== 0) throw this.error();
            return m.HEAPU8.slice(ptr, ptr + size);
        } finally {
            m._free(ptr);
        }
    }

    // Converts rows [firstRow, firstRow + nrows) of tensor `index` (inside one matrix) from their
    // input bytes; returns the output bytes (a fresh array), exactly as the streaming job writes
    // them. `src`: the input (a Uint8Array of at least srcSize bytes), or a function that fills the
    // view of wasm memory it is given with it (a node file read straight into the heap).
    convertRows(index, firstRow, nrows, src, dstSize, srcSize = src.length) {
        const m = this.core.mod;
        const srcPtr = this.rowBuffer('src', srcSize);
        const dstPtr = this.rowBuffer('dst', dstSize);
        if (typeof src === 'function') src(m.HEAPU8.subarray(srcPtr, srcPtr + srcSize));
        else m.HEAPU8.set(src.subarray(0, srcSize), srcPtr);
        if (m._gs_job_convert_rows(this.handle, index, firstRow, nrows, srcPtr, dstPtr) !== 0) throw this.error();
        return m.HEAPU8.slice(dstPtr, dstPtr + dstSize);
    }

    // A block of wasm memory kept for the job's life (`slot`: 'src' or 'dst' of convertRows), grown
    // when a chunk needs more: a pool worker converts hundreds of chunks through the same two
    // blocks instead of allocating (and the allocator touching) fresh ones per chunk.
    rowBuffer(slot, size) {
        const m = this.core.mod;
        this.rowBuffers ??= {};
        const b = this.rowBuffers[slot];
        if (b && b.size >= size) return b.ptr;
        if (b) m._free(b.ptr);
        delete this.rowBuffers[slot];
        const ptr = u32(m._malloc(Math.max(1, size)));
        if (!ptr) throw new GgufError('out_of_memory', `cannot allocate ${size} bytes`);
        this.rowBuffers[slot] = { ptr, size };
        return ptr;
    }

    error() {
        const m = this.core.mod;
        return new GgufError(m._gs_job_status(this.handle), this.core.string(m._gs_job_error(this.handle)));
    }

    progress() {
        const m = this.core.mod;
        this.progressBuf ||= u32(m._malloc(8 * 8));
        m._gs_job_progress(this.handle, this.progressBuf);
        const f = new Float64Array(m.HEAPU8.buffer, this.progressBuf, 7);
        const tensorIndex = f[0];
        return {
            tensorIndex, tensorCount: f[1], tensorRowsDone: f[2], tensorRows: f[3],
            bytesIn: f[4], bytesOut: f[5], totalOut: f[6],
            tensor: this.core.string(m._gs_job_tensor_name(this.handle)),
            tensorType: this.core.string(m._gs_job_tensor_type(this.handle, tensorIndex)),
        };
    }

    // Runs the job to its end. `read(offset, length, shard)` returns (a promise of) up to `length`
    // input bytes at that absolute offset of input shard `shard` (0 for a single file; fewer
    // bytes only at the end of the input); `write(bytes)` is
    // awaited for each output chunk, in order (the chunk is a fresh copy the callee may keep or
    // transfer). `onProgress` gets progress() after each step; `signal` aborts between steps.
    // Synchronous sources and sinks (node files) can skip the copies through JS:
    // `readInto(offset, view, shard)` fills a prefix of `view` (wasm memory, the job's own input
    // buffer) and returns the count, 0 only at the end of the input; `writeView(view)` consumes a
    // view of wasm memory before it returns. Either replaces read / write.
    async run({ read, write, readInto = null, writeView = null, onProgress = null, signal = null,
                chunkSize = 1 << 20 }) {
        if (!read && !readInto && this.sources?.length && this.sources.every((src) => typeof src?.streamReader === 'function')) {
            // A model opened from URLs: each shard downloads in this job's read order.
            const ext = this.sources.map(() => []);
            // The layout holds each tensor's input offset and size, in the order the job reads them.
            for (const t of this.layout().tensors) ext[t.shard ?? 0]?.push({ offset: t.offset, size: t.rows * t.src_row });
            // This loop copies each read into the job (stage): views of the downloads will do.
            const readers = this.sources.map((src, k) => src.streamReader(ext[k], { fresh: false }));
            read = (offset, length, shard = 0) => readers[shard](offset, length);
        } else if (!read && !readInto && this.sources?.length && this.sources.every((src) => typeof src?.read === 'function')) {
            // {size, read} sources (a checkpoint folder's virtual GGUF): read at the job's offsets.
            read = (offset, length, shard = 0) => this.sources[shard].read(offset, length);
        }
        const m = this.core.mod;
        const h = this.handle;
        const out = u32(m._malloc(Math.max(chunkSize, 8)));
        if (!out) throw new GgufError('out_of_memory', 'cannot allocate an output buffer');
        // Synchronous I/O never returns to the event loop by itself: yield to it now and then so
        // that an abort (a signal handler, a cancel message) can run.
        let lastYield = performance.now();
        try {
            while (!m._gs_job_done(h)) {
                if (signal && performance.now() - lastYield >= kYieldMs) {
                    await yieldToEventLoop();
                    lastYield = performance.now();
                }
                signal?.throwIfAborted();
                const want = m._gs_job_input_wanted(h);
                if (want > 0) {
                    const offset = m._gs_job_input_offset(h);
                    const shard = m._gs_job_input_shard(h);
                    const len = Math.min(want, chunkSize);
                    let got;
                    if (readInto) {
                        const ptr = u32(m._gs_job_input_buffer(h));
                        got = readInto(offset, m.HEAPU8.subarray(ptr, ptr + len), shard);
                        if (got > 0 && m._gs_job_commit_input(h, got) !== 0) throw this.error();
                    } else {
                        const bytes = await read(offset, len, shard);
                        signal?.throwIfAborted();
                        got = bytes ? bytes.length : 0;
                        if (got > 0 && m._gs_job_feed(h, this.core.stage(bytes), got) !== 0) throw this.error();
                    }
                    if (!got) {
                        m._gs_job_finish(h);
                        throw this.error();  // names the tensor that was cut short
                    }
                }
                let wrote = 0;
                if (writeView) {
                    for (;;) {
                        const size = m._gs_job_output_view(h, out);
                        if (size < 0) throw this.error();
                        if (size === 0) break;
                        const n = Math.min(size, chunkSize);
                        const ptr = m.HEAPU32[out >>> 2];
                        writeView(m.HEAPU8.subarray(ptr, ptr + n));
                        if (m._gs_job_consume_output(h, n) !== 0) throw this.error();
                        wrote += n;
                    }
                } else {
                    wrote = m._gs_job_drain(h, out, chunkSize);
                    if (wrote < 0) throw this.error();
                    if (wrote > 0) await write(m.HEAPU8.slice(out, out + wrote));
                }
                if (want === 0 && wrote === 0 && !m._gs_job_done(h))
                    throw new GgufError('internal', 'quantize job made no progress');
                onProgress?.(this.progress());
            }
            if (m._gs_job_finish(h) !== 0) throw this.error();
        } finally {
            m._free(out);
        }
    }

    free() {
        if (this.progressBuf) this.core.mod._free(this.progressBuf);
        for (const b of Object.values(this.rowBuffers ?? {})) this.core.mod._free(b.ptr);
        this.rowBuffers = null;
        if (this.handle) this.core.mod._gs_job_free(this.handle);
        this.handle = 0;
        this.progressBuf = 0;
    }
}

// Positioned reads over the sources of a model: one Blob, or the shards of a split model in
// shard order (model.files), read at (offset, length, shard) as QuantizeJob.run asks.
export function blobReader(blobs) {
    const list = Array.isArray(blobs) ? blobs : [blobs];
    return async (offset, length, shard = 0) => {
        const blob = list[shard];
        if (!blob) throw new GgufError('invalid_argument', `no input shard ${shard}`);
        return new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + length)).arrayBuffer());
    };
}

// A push reader handle: feed chunks, learn what it wants next, then take the parsed model.
export class HeaderReader {
    constructor(core, fileSize) {
        this.core = core;
        this.fileSize = fileSize;
        this.handle = core.mod._gs_reader_new(fileSize ?? -1);
        if (!this.handle) throw new GgufError('out_of_memory', 'cannot allocate a reader');
        this.done = false;
    }

    wanted() {
        return this.core.mod._gs_reader_wanted(this.handle);
    }
    position() {
        return this.core.mod._gs_reader_position(this.handle);
    }

    // Feeds one chunk; true once the header is complete (the rest of the chunk is not needed).
    push(chunk) {
        if (this.done) return true;
        const m = this.core.mod;
        const ptr = this.core.stage(chunk);
        const code = m._gs_reader_feed(this.handle, ptr, chunk.length);
        if (code !== 0) throw new GgufError(code, this.core.string(m._gs_reader_error(this.handle)));
        this.done = m._gs_reader_finished(this.handle) !== 0;
        return this.done;
    }

    // The input ended: an incomplete header is a truncated file.
    end() {
        if (this.done) return;
        const m = this.core.mod;
        const code = m._gs_reader_end(this.handle);
        throw new GgufError(code || 1, this.core.string(m._gs_reader_error(this.handle)));
    }

    takeModel() {
        const handle = this.core.mod._gs_reader_take_model(this.handle);
        if (!handle) throw new GgufError('out_of_memory', 'cannot keep the header');
        return handle;
    }

    free() {
        if (this.handle) this.core.mod._gs_reader_free(this.handle);
        this.handle = 0;
    }
}

function sizeOf(source) {
    if (typeof Blob !== 'undefined' && source instanceof Blob) return source.size;
    if (source instanceof ArrayBuffer) return source.byteLength;
    if (ArrayBuffer.isView(source)) return source.byteLength;
    if (source && typeof source.read === 'function' && typeof source.size === 'number')
        return source.size;
    return null;  // an async iterable: the size is unknown
}

const kMinSlice = 1 << 20;   // 1 MiB: a small header arrives in one read
const kMaxSlice = 16 << 20;  // 16 MiB: big vocab arrays arrive in several reads

// Turns any supported source into an async iterator of Uint8Array chunks, reading positioned
// sources (Blob, {size, read(offset, length)}) only as far as the reader wants.
//   - Blob / File: read by slice()
//   - {size, read(offset, length) -> Promise<Uint8Array>}: e.g. a node file handle wrapper
//   - ArrayBuffer / TypedArray: one chunk
//   - an async (or sync) iterable of Uint8Array / ArrayBuffer chunks
export async function* sourceChunks(source, wanted = () => kMinSlice, options = {}) {
    const signal = options.signal;
    const toBytes = (c) => c instanceof Uint8Array ? c
        : ArrayBuffer.isView(c) ? new Uint8Array(c.buffer, c.byteOffset, c.byteLength)
        : new Uint8Array(c);
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
        yield toBytes(source);
        return;
    }
    const isBlob = typeof Blob !== 'undefined' && source instanceof Blob;
    if (isBlob || (source && typeof source.read === 'function' && typeof source.size === 'number')) {
        const size = source.size;
        let pos = 0;
        while (pos < size) {
            signal?.throwIfAborted();
            const want = Math.min(Math.max(wanted(), options.sliceSize ?? kMinSlice), kMaxSlice);
            const end = Math.min(size, pos + want);
            const bytes = isBlob ? new Uint8Array(await source.slice(pos, end).arrayBuffer())
                                 : toBytes(await source.read(pos, end - pos));
            if (bytes.length === 0) return;
            pos += bytes.length;
            yield bytes;
        }
        return;
    }
    if (source && (Symbol.asyncIterator in source || Symbol.iterator in source)) {
        for await (const c of source) {
            signal?.throwIfAborted();
            yield toBytes(c);
        }
        return;
    }
    throw new TypeError('unsupported source: pass a Blob, bytes, {size, read} or an async iterable');
}

let defaultCore = null;

// Loads the core once per realm. `variant`: 'simd', 'base' or 'auto' (SIMD when supported).
export async function loadGgufSquash(options = {}) {
    const wantSimd = (options.variant ?? 'auto') === 'auto' ? simdSupported()
                                                             : options.variant === 'simd';
    const variants = wantSimd ? ['simd', 'base'] : ['base'];
    const errors = [];
    for (const dir of candidateDirs(options.dir)) {
        for (const variant of variants) {
            try {
                const mod = await instantiate(dir, variant);
                if (mod) return new GgufSquash(mod, variant);
            } catch (e) {
                errors.push(`${variant} in ${dir.href}: ${e?.message ?? e}`);
            }
        }
    }
    throw new Error('cannot load the gguf-squash WebAssembly module' +
                    (errors.length ? ': ' + errors.join('; ') : ''));
}

async function core() {
    defaultCore ??= loadGgufSquash();
    return defaultCore;
}

// Parses a GGUF header; see GgufSquash.readHeader.
export async function readGgufHeader(source, options = {}) {
    return (await core()).readHeader(source, options);
}
