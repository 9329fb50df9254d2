// `node wasm/cli.mjs quality …` and `node wasm/cli.mjs fit …`: the native CLI's commands
// (core/cli/cli_quality.cpp, cli_fit.cpp) on the WebAssembly core, with the same flags, messages,
// output and exit codes (0 success, 1 unreadable input or impossible target, 2 usage error). The
// core parses the arguments, measures, fits and formats; this file does the I/O. A MODEL may also
// be an http(s) URL (read by Range requests; HF_TOKEN is sent to its host).
import fs from 'node:fs';

import { GgufError } from './gguf_squash.mjs';
import { createFitJob, createQualityJob, defaultMeasuredRows, parseQualityArg } from './quality.mjs';
import { fileSource } from './row_pool_node.mjs';
import { UrlSource, fetchUrlBytes, isHttpUrl, urlFileName } from './url_source.mjs';

const writeOut = (text) => fs.writeSync(1, text);
const oneLine = (s) => String(s).replace(/[\r\n]/g, ' ');

const qualityUsage = (rows) => `usage: gguf-squash quality [options] MODEL
  Quantizes every tensor as each type's plan says (the quantizer's own mix and
  kernels), dequantizes it and measures the error against the source weights.
  This is weight reconstruction error, not perplexity.
  --imatrix FILE        quantize with this importance matrix (.gguf or .dat)
                        and report weighted_mse
  --types T1,T2,...     llama-quantize type names, or all (default: all)
  --rows N|all          evenly spaced rows measured per matrix, first and last
                        included (default ${rows}), or every row
  --json                one JSON object instead of the table
`;

const fitUsage = (rows) => `usage: gguf-squash fit TARGET [options] MODEL [-o TYPES.txt]
  Chooses one type per tensor (among those the plan allows it) that minimises the
  measured weight error within the target, and writes them as a --tensor-type-file
  for llama-quantize. TARGET is one of:
  --target-size SIZE    the output file's size: bytes, or 4.5GiB, 4800MB, 512M
  --target-bpw X        bits per weight of the tensor data
  --memory SIZE         memory to run it in (weights + KV cache + buffers, as
                        estimate counts them), with
    --ctx N             context length (default 4096)
    --kv-type TYPE      KV cache type: f16 (default), q8_0, q4_0
  options:
  --imatrix FILE        quantize and weigh the error with this importance matrix
  --base FTYPE          the type given to llama-quantize (default: the largest
                        standard type not above the fit)
  --rows N|all          rows measured per matrix (default ${rows})
  -o FILE               write the tensor types there (one ^name$=type per line)
  --json                one JSON object instead of the text
`;

// strerror's words for the errors a write can meet, as the native CLI prints them.
const kStrerror = {
    ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory', ENOSPC: 'No space left on device', EROFS: 'Read-only file system',
    EEXIST: 'File exists', EPERM: 'Operation not permitted',
};
const strerror = (e) => kStrerror[e?.code] ?? e?.message ?? String(e);

const urlOptions = () => ({ token: process.env.HF_TOKEN ?? '',
                            stallMs: 1000 * (Number(process.env.GGUF_SQUASH_HTTP_STALL_SECONDS) || 30) });

// The imatrix's bytes (a file or a URL), checked by the core's parser, and the name the output
// records: as typed, as llama-quantize does, and a URL by its file name (as quantize does). A
// GgufError names the file.
async function readImatrix(core, file) {
    let bytes;
    try {
        bytes = isHttpUrl(file) ? await fetchUrlBytes(file, urlOptions()) : fs.readFileSync(file);
    } catch (e) {
        if (e instanceof GgufError) throw new GgufError(e.code, `${file}: ${e.message}`);
        throw new GgufError('io_error', `${file}: ${strerror(e)}`);
    }
    try {
        core.inspectImatrix(bytes);
    } catch (e) {
        if (!(e instanceof GgufError)) throw e;
        throw new GgufError(e.code, `${file}: ${e.message}`);
    }
    return { bytes, name: isHttpUrl(file) ? urlFileName(file) : file };
}

// The model named `input` (a file or URL; a split model by its first shard, the others found by
// name): {model, sources}. Errors name the file, as the native CLI's model_files::open does.
async function openModelInput(core, input) {
    const url = isHttpUrl(input);
    const sources = [];
    const open = async (name) => {
        try {
            if (url) return await UrlSource.open(name, urlOptions());
            // A directory reads as no bytes at all, as it does to the native CLI's reader.
            if (fs.statSync(name).isDirectory()) return { path: name, size: 0, read: async () => new Uint8Array(0), readInto: () => 0, close() {} };
            return fileSource(name);
        } catch (e) {
            if (e instanceof GgufError) throw e;
            throw new GgufError('io_error', `${name}: cannot open '${name}'`);  // as the core's file reader says
        }
    };
    let model = null;
    try {
        sources.push(await open(input));
        try {
            model = await core.openModel([sources[0]]);
        } catch (e) {
            if (!(e instanceof GgufError)) throw e;
            throw new GgufError(e.code, url ? e.message : `${input}: ${e.message}`);
        }
        const count = Number(model.info.metadata?.['split.count']?.value ?? 1);
        if (count > 1) {
            const q = url ? input.indexOf('?') : -1;  // a signed URL's query stays after each name
            const base = q >= 0 ? input.slice(0, q) : input;
            const query = q >= 0 ? input.slice(q) : '';
            const prefix = core.splitPrefix(base, 0, count);
            if (prefix === null) throw new GgufError('refused', `invalid split file name: ${input}`);
            model.free();
            model = null;
            for (let k = 1; k < count; k++) sources.push(await open(core.splitPath(prefix, k, count) + query));
            model = await core.openModel(sources);
        }
        return { model, sources };
    } catch (e) {
        model?.free();
        for (const s of sources) s.close();
        throw e;
    }
}

// Runs a measure job over the sources, printing the native CLI's progress line on a terminal.
async function measure(job, sources, { withTensor }) {
    const tty = process.stderr.isTTY;
    let lastPercent = -1;
    const onProgress = tty ? (p) => {
        if (!p.bytesTotal) return;
        const percent = Math.floor(p.bytesRead * 100 / p.bytesTotal);
        if (percent === lastPercent) return;
        const tensor = withTensor ? ` (tensor ${Math.min(p.tensorIndex + 1, p.tensorCount)} of ${p.tensorCount})` : '';
        process.stderr.write(`\rmeasuring: ${String(percent).padStart(3)}%${tensor}`);
        lastPercent = percent;
    } : null;
    const local = sources.every((s) => typeof s.readInto === 'function');
    try {
        await job.run(local ? { readInto: (offset, view, shard = 0) => sources[shard].readInto(offset, view), onProgress }
                            : { onProgress });
    } finally {
        if (tty && lastPercent >= 0) process.stderr.write('\n');
    }
}

export async function runQualityCommand(core, args) {
    const rowsDefault = defaultMeasuredRows(core);
    const usageError = (msg) => {
        process.stderr.write(`gguf-squash quality: ${msg}\n${qualityUsage(rowsDefault)}`);
        return 2;
    };
    const fail = (msg) => {
        process.stderr.write(`gguf-squash quality: ${oneLine(msg)}\n`);
        return 1;
    };
    const opts = { types: '', rows: rowsDefault };
    let json = false, imatrixPath = '', input = '';
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const hasValue = i + 1 < args.length;
        if (a === '-h' || a === '--help') {
            writeOut(qualityUsage(rowsDefault));
            return 0;
        } else if (a === '--json') {
            json = true;
        } else if (a === '--imatrix') {
            if (!hasValue) return usageError('--imatrix needs a file');
            imatrixPath = args[++i];
        } else if (a === '--types') {
            if (!hasValue) return usageError('--types needs a list of types or all');
            try {
                opts.types = parseQualityArg(core, 'types', args[++i]);
            } catch (e) {
                if (!(e instanceof GgufError)) throw e;
                return usageError(e.message);
            }
        } else if (a === '--rows') {
            if (!hasValue) return usageError('--rows needs a number of rows or all');
            try {
                opts.rows = parseQualityArg(core, 'rows', args[++i]);
            } catch (e) {
                if (!(e instanceof GgufError)) throw e;
                return usageError(e.message);
            }
        } else if (a.length > 1 && a[0] === '-') {
            return usageError(`unknown option '${a}'`);
        } else if (input) {
            return usageError('one model at a time');
        } else {
            input = a;
        }
    }
    if (!input) return usageError('no model file');

    let opened, job;
    try {
        if (imatrixPath) {
            ({ bytes: opts.imatrix, name: opts.imatrixName } = await readImatrix(core, imatrixPath));
        }
        opened = await openModelInput(core, input);
        job = createQualityJob(core, opened.model, opts);
    } catch (e) {
        if (!(e instanceof GgufError)) throw e;
        return fail(e.message);
    }
    try {
        try {
            await measure(job, opened.sources, { withTensor: true });
        } catch (e) {
            if (!(e instanceof GgufError)) throw e;
            return fail(`${input}: ${e.message}`);
        }
        writeOut(job.qualityReport({ text: !json }));
        return 0;
    } finally {
        job.free();
        opened.model.free();
        for (const s of opened.sources) s.close();
    }
}

// stem + '-fit.gguf', as the native CLI names the output in the command it prints.
const fitOutputName = (model) => (model.length > 5 && model.endsWith('.gguf') ? model.slice(0, -5) : model) + '-fit.gguf';

export async function runFitCommand(core, args) {
    const rowsDefault = defaultMeasuredRows(core);
    const usageError = (msg) => {
        process.stderr.write(`gguf-squash fit: ${msg}\n${fitUsage(rowsDefault)}`);
        return 2;
    };
    const fail = (msg, code = 1) => {
        process.stderr.write(`gguf-squash fit: ${oneLine(msg)}\n`);
        return code;
    };
    const target = { kind: 'file_size', bytes: 0, bpw: 0, ctx: 4096, kvType: 'f16' };
    const opts = { target, rows: rowsDefault, base: '' };
    let targets = 0, json = false, ctxGiven = false, kvGiven = false;
    let imatrixPath = '', input = '', typesPath = '';
    // The core's parse of an argument; null (after printing the usage error) when it refuses.
    const parsed = (what, text, message) => {
        try {
            return { value: parseQualityArg(core, what, text) };
        } catch (e) {
            if (!(e instanceof GgufError)) throw e;
            return { error: usageError(message(e.message)) };
        }
    };
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const hasValue = i + 1 < args.length;
        if (a === '-h' || a === '--help') {
            writeOut(fitUsage(rowsDefault));
            return 0;
        } else if (a === '--json') {
            json = true;
        } else if (a === '--target-size' || a === '--memory') {
            if (!hasValue) return usageError(`${a} needs a size`);
            const p = parsed('size', args[++i], (m) => `${a}: ${m}`);
            if (p.error !== undefined) return p.error;
            target.kind = a === '--memory' ? 'memory' : 'file_size';
            target.bytes = p.value;
            ++targets;
        } else if (a === '--target-bpw') {
            if (!hasValue) return usageError('--target-bpw needs a number');
            const p = parsed('bpw', args[++i], () => '--target-bpw needs a positive number of bits per weight');
            if (p.error !== undefined) return p.error;
            target.kind = 'bpw';
            target.bpw = p.value;
            ++targets;
        } else if (a === '--ctx') {
            if (!hasValue) return usageError('--ctx needs a positive integer');
            const p = parsed('ctx', args[++i], () => '--ctx needs a positive integer');
            if (p.error !== undefined) return p.error;
            target.ctx = p.value;
            ctxGiven = true;
        } else if (a === '--kv-type') {
            if (!hasValue) return usageError('--kv-type must be f16, q8_0 or q4_0');
            const p = parsed('kv', args[++i], () => '--kv-type must be f16, q8_0 or q4_0');
            if (p.error !== undefined) return p.error;
            target.kvType = args[i];
            kvGiven = true;
        } else if (a === '--imatrix') {
            if (!hasValue) return usageError('--imatrix needs a file');
            imatrixPath = args[++i];
        } else if (a === '--base') {
            if (!hasValue) return usageError('--base needs a type');
            opts.base = args[++i];
        } else if (a === '--rows') {
            if (!hasValue) return usageError('--rows needs a number of rows or all');
            const p = parsed('rows', args[++i], (m) => m);
            if (p.error !== undefined) return p.error;
            opts.rows = p.value;
        } else if (a === '-o') {
            if (!hasValue) return usageError('-o needs a file');
            typesPath = args[++i];
        } else if (a.length > 1 && a[0] === '-') {
            return usageError(`unknown option '${a}'`);
        } else if (input) {
            return usageError('one model at a time');
        } else {
            input = a;
        }
    }
    if (targets !== 1) return usageError('give one target: --target-size, --target-bpw or --memory');
    if ((ctxGiven || kvGiven) && target.kind !== 'memory') return usageError('--ctx and --kv-type apply to --memory only');
    if (!input) return usageError('no model file');

    let opened, job;
    try {
        if (imatrixPath) {
            ({ bytes: opts.imatrix, name: opts.imatrixName } = await readImatrix(core, imatrixPath));
        }
        opened = await openModelInput(core, input);
    } catch (e) {
        if (!(e instanceof GgufError)) throw e;
        return fail(e.message);
    }
    try {
        try {
            job = createFitJob(core, opened.model, opts);
        } catch (e) {
            if (!(e instanceof GgufError)) throw e;
            return fail(e.message, e.code === 'invalid_argument' ? 2 : 1);
        }
        try {
            await measure(job, opened.sources, { withTensor: false });
        } catch (e) {
            if (!(e instanceof GgufError)) throw e;
            return fail(`${input}: ${e.message}`);
        }
        const names = { imatrixFile: imatrixPath, modelName: input, outName: fitOutputName(input) };
        // The solve's refusal (an impossible target) comes as the error document.
        const jsonText = job.fitReport({ ...names, typesFile: typesPath });
        const doc = JSON.parse(jsonText);
        if (typeof doc.error === 'string' && 'code' in doc) return fail(doc.error);
        if (typesPath) {
            // Written whole to a temporary name, then renamed: never a partial file.
            const text = job.fitTypeFile();
            const tmp = `${typesPath}.tmp.${process.pid}`;
            try {
                fs.writeFileSync(tmp, text);
                fs.renameSync(tmp, typesPath);
            } catch (e) {
                try { fs.unlinkSync(tmp); } catch { /* not created */ }
                return fail(`cannot write '${typesPath}': ${strerror(e)}`);
            }
        }
        writeOut(json ? jsonText : job.fitReport({ ...names, typesFile: typesPath, text: true }));
        return 0;
    } finally {
        job?.free();
        opened.model.free();
        for (const s of opened.sources) s.close();
    }
}
