// estimate(source, options): exact output sizes for every llama-quantize type, memory at a
// context, the largest context that fits and a recommendation.
//
//   import { estimate } from './estimate.mjs';
//   await estimate(file)                                   // a File/Blob, read by slices
//   await estimate('https://host/model.gguf', {ctx: 8192, kvType: 'q8_0', memoryGb: 16})
//   await estimate([shard1, shard2])                        // the shards of a split model
//   await estimate({params: '8.03B', arch: 'llama'})        // no header: the parameter-count model
//   await openEstimate(model, {core})                      // a Model core.openModel opened (no read)
//
// Exact modes read only the header (URLs with HTTP Range requests via fetch: a small first read,
// grown as the parser asks) and hand it to the WebAssembly core, which plans every ftype with
// make_quant_plan and renders the result, exactly as `gguf-squash estimate --json` does. The
// result is that JSON object plus {mode: 'exact', http: {requests, bytes, headerBytes}}.
// Parameter-count mode needs no WebAssembly (see estimate_params.mjs).
//
// options: {ctx = 4096, kvType = 'f16'|'q8_0'|'q4_0', flashAttn = true (or 'on'|'off'),
// ubatch = 512, parallel = 1, memoryGb, memoryBytes, imatrix (bytes or Blob), imatrixName,
// aliases, format: 'object' | 'json' | 'text', fetch, signal, core}
// (flashAttn, ubatch, parallel are the native CLI's --flash-attn, --ubatch, --parallel.)
import { estimateFromParams } from './estimate_params.mjs';
import { GgufError, HeaderReader, kPreviewArrayItems, loadGgufSquash } from './gguf_squash.mjs';

export { estimateFromParams, parseParams } from './estimate_params.mjs';

const kFirstRead = 256 * 1024;  // as the native CLI (core/cli/http_range_reader.h)
const kMaxRead = 64 * 1024 * 1024;
// KV cache types the memory model knows (the core refuses others with its own message).
const kKvTypes = ['f16', 'q8_0', 'q4_0'];

let defaultCore = null;
const getCore = (options) => options.core ?? (defaultCore ??= loadGgufSquash());

const isUrl = (s) => s instanceof URL || (typeof s === 'string' && /^(https?:|blob:|data:|\.{0,2}\/)/.test(s));

// One Range GET: {bytes, total} (total from Content-Range, or the length of a 200 answer).
async function getRange(fetchFn, url, offset, length, stats, signal) {
    const res = await fetchFn(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` }, signal });
    stats.requests += 1;
    if (!res.ok) throw new GgufError('io_error', `${url}: HTTP ${res.status}`);
    let total = null;
    const cr = res.headers.get('content-range');
    if (res.status === 206 && cr && /\/(\d+)$/.test(cr)) total = Number(/\/(\d+)$/.exec(cr)[1]);
    if (res.status === 200) {
        if (offset !== 0) throw new GgufError('io_error', `${url}: the server does not answer Range requests`);
        total = Number(res.headers.get('content-length')) || null;
        // Read only what was asked for, then stop the download.
        const reader = res.body.getReader();
        const parts = [];
        let got = 0;
        while (got < length) {
            const { done, value } = await reader.read();
            if (done) break;
            parts.push(value);
            got += value.length;
        }
        reader.cancel().catch(() => {});
        const bytes = new Uint8Array(Math.min(got, length));
        let pos = 0;
        for (const p of parts) {
            const n = Math.min(p.length, bytes.length - pos);
            bytes.set(p.subarray(0, n), pos);
            pos += n;
        }
        stats.bytes += bytes.length;
        return { bytes, total };
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    stats.bytes += bytes.length;
    return { bytes, total };
}

// Reads one header over HTTP into a model handle part {source, handle, info}.
async function readUrlHeader(core, url, stats, options) {
    const fetchFn = options.fetch ?? globalThis.fetch;
    let want = kFirstRead;
    let { bytes, total } = await getRange(fetchFn, url, 0, want, stats, options.signal);
    const reader = new HeaderReader(core, total);
    try {
        let pos = 0;
        for (;;) {
            if (reader.push(bytes)) break;
            pos += bytes.length;
            if (bytes.length < want || (total != null && pos >= total)) reader.end();  // throws
            want = Math.min(kMaxRead, Math.max(want * 2, reader.wanted()));
            if (total != null) want = Math.min(want, total - pos);
            ({ bytes } = await getRange(fetchFn, url, pos, want, stats, options.signal));
        }
        stats.headerBytes += reader.position();
        const handle = reader.takeModel();
        // Only split.no / split.count and data_offset are read here: a preview of the arrays is
        // enough, and skips turning the whole vocabulary into JS strings.
        const info = core.takeJson(core.mod._gs_model_info_json_preview(handle, kPreviewArrayItems));
        return { source: url, handle, info };
    } finally {
        reader.free();
    }
}

const splitOf = (info) => ({
    no: Number(info.metadata['split.no']?.value ?? 0),
    count: Number(info.metadata['split.count']?.value ?? 1),
});

// Opens the model's header(s) in the core: one handle, merged across shards.
async function openModel(core, source, stats, options) {
    const parts = [];
    // A model already open in this core (core.openModel's Model) is used as it is: its owner frees it.
    const owned = source?.core === core && Array.isArray(source.parts);
    const free = () => { if (!owned) for (const p of parts) core.mod._gs_model_free(p.handle); };
    try {
        if (owned) {
            if (!source.handle) throw new GgufError('invalid_argument', 'the model was freed');
            parts.push(...source.parts);
        } else if (isUrl(source)) {
            const url = String(source);
            parts.push(await readUrlHeader(core, url, stats, options));
            const { no, count } = splitOf(parts[0].info);
            if (count > 1) {
                const [path, query = ''] = url.split(/(?=\?)/);
                // The other shards' names, as llama.cpp makes them (gguf_split_path in the core).
                const prefix = core.splitPrefix(path, no, count);
                if (prefix === null) throw new GgufError('invalid_file', `${url} is shard ${no + 1} of ${count} but is not named ${core.splitPath('PREFIX', no, count)}`);
                for (let i = 0; i < count; ++i) {
                    if (i === no) continue;
                    const shard = core.splitPath(prefix, i, count) + query;
                    parts.push(await readUrlHeader(core, shard, stats, options));
                }
            }
        } else {
            const sources = Array.isArray(source) ? source : [source];
            const model = await core.openModel(sources, { signal: options.signal });
            for (const p of model.parts) parts.push(p);
            stats.headerBytes += parts.reduce((a, p) => a + (p.info.data_offset ?? 0), 0);
        }
        if (parts.length === 1) return { handle: parts[0].handle, free };
        const n = parts.length;
        const arr = core.mod._malloc(4 * n);
        const errPtr = core.mod._malloc(4);
        try {
            const view = new Uint32Array(core.mod.HEAPU8.buffer, arr, n);
            parts.forEach((p, i) => { view[i] = p.handle; });
            new Uint32Array(core.mod.HEAPU8.buffer, errPtr, 1)[0] = 0;
            const merged = core.mod._gs_estimate_merge_shards(arr, n, errPtr);
            if (!merged) core.takeJson(new Uint32Array(core.mod.HEAPU8.buffer, errPtr, 1)[0]);  // throws
            return { handle: merged, free: () => { free(); core.mod._gs_model_free(merged); } };
        } finally {
            core.mod._free(arr);
            core.mod._free(errPtr);
        }
    } catch (e) {
        free();
        throw e;
    }
}

// Opens a model's header(s) once for repeated estimates (say, as the user edits the context):
// {run(options) -> result, http, close()}.
export async function openEstimate(source, options = {}) {
    const core = await getCore(options);
    const stats = { requests: 0, bytes: 0, headerBytes: 0 };
    let model = await openModel(core, source, stats, options);
    return {
        http: stats,
        run: async (runOptions = {}) => {
            if (!model) throw new GgufError('invalid_argument', 'the estimate was closed');
            return runReport(core, model.handle, stats, { ...options, ...runOptions });
        },
        close: () => { model?.free(); model = null; },
    };
}

// flashAttn, ubatch and parallel checked as the native CLI checks --flash-attn, --ubatch and
// --parallel (the core checks the ranges again).
function runOptions(options) {
    const fa = options.flashAttn ?? true;
    if (![true, false, 'on', 'off'].includes(fa)) throw new GgufError('invalid_argument', "flashAttn must be true, false, 'on' or 'off'");
    const count = (v, name, max) => {
        const n = v ?? (name === 'ubatch' ? 512 : 1);
        if (!Number.isInteger(n) || n < 1 || n > max) throw new GgufError('invalid_argument', `${name} must be an integer from 1 to ${max}`);
        return n;
    };
    return { flashAttn: fa === true || fa === 'on', ubatch: count(options.ubatch, 'ubatch', 65536),
             parallel: count(options.parallel, 'parallel', 256) };
}

async function runReport(core, handle, stats, options) {
    let imatrix = options.imatrix ?? null;
    const imatrixName = options.imatrixName ?? imatrix?.name ?? 'imatrix.gguf';
    if (imatrix && typeof Blob !== 'undefined' && imatrix instanceof Blob) imatrix = new Uint8Array(await imatrix.arrayBuffer());
    const memoryBytes = options.memoryBytes ?? (options.memoryGb != null && options.memoryGb !== ''
        ? Math.round(Number(options.memoryGb) * 2 ** 30) : -1);
    const kvName = options.kvType ?? 'f16';
    const kv = kKvTypes.includes(kvName) ? core.typeId(kvName) : -1;
    if (kv < 0) throw new GgufError('invalid_argument', 'kvType must be f16, q8_0 or q4_0');
    const { flashAttn, ubatch, parallel } = runOptions(options);
    const [namePtr] = core.allocString(imatrixName);
    const imPtr = imatrix ? core.allocBytes(imatrix) : 0;
    const text = options.format === 'text';
    try {
        const out = core.takeString(core.mod._gs_estimate_report(handle, imPtr, imatrix ? imatrix.length : 0,
            namePtr, options.ctx ?? 4096, kv, flashAttn ? 1 : 0, ubatch, parallel, memoryBytes, options.aliases ? 1 : 0, text ? 1 : 0));
        if (out.startsWith('{"error":')) {
            const e = JSON.parse(out);
            throw new GgufError(e.code, e.error);
        }
        if (text || options.format === 'json') return out;
        const result = JSON.parse(out);
        result.mode = 'exact';
        result.http = { ...stats };
        return result;
    } finally {
        core.mod._free(namePtr);
        if (imPtr) core.mod._free(imPtr);
    }
}

export async function estimate(source, options = {}) {
    if (source && typeof source === 'object' && !isUrl(source) && !Array.isArray(source) &&
        'params' in source && !(typeof Blob !== 'undefined' && source instanceof Blob)) {
        const r = estimateFromParams(source.params, { ...options, arch: source.arch ?? options.arch });
        return options.format === 'json' ? JSON.stringify(r) + '\n' : r;
    }
    const opened = await openEstimate(source, options);
    try {
        return await opened.run();
    } finally {
        opened.close();
    }
}
