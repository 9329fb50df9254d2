#!/usr/bin/env node
// gguf-squash's command line on the WebAssembly build, for node:
//   node wasm/cli.mjs info FILE... [--json]
//   node wasm/cli.mjs quantize [options] IN [OUT] TYPE [NTHREADS]
//   node wasm/cli.mjs quality [options] MODEL      (wasm/quality_cli.mjs)
//   node wasm/cli.mjs fit TARGET [options] MODEL [-o TYPES.txt]
//   node wasm/cli.mjs convert [--outtype auto|f32|f16|bf16|q8_0] [--outfile OUT] MODEL_DIR
// info, estimate and quantize also take a checkpoint folder (MODEL_DIR): the GGUF convert would
// write for it, converted on the way (wasm/checkpoint_source.mjs).
// Same arguments, output and exit codes as the native build/native/gguf-squash (0 success,
// 1 invalid input or failure, 2 usage error). The core parses and formats; this file does I/O.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GgufError, loadGgufSquash } from './gguf_squash.mjs';
import { kTaskBytes, RowPool, runPool } from './row_pool.mjs';
import { fileSource, spawnPoolThread } from './row_pool_node.mjs';
import { SpareBuffers, UrlSource, fetchUrlBytes, isHttpUrl, jobReadSchedule, urlFileName } from './url_source.mjs';

// --hf-token TOKEN (or --hf-token=TOKEN) taken out of the arguments; else HF_TOKEN.
function takeHfToken(args) {
    let token = '';
    const rest = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--') { rest.push(...args.slice(i)); break; }
        if (args[i] === '--hf-token') {
            if (i + 1 >= args.length) return { error: '--hf-token needs a value' };
            token = args[++i];
        } else if (args[i].startsWith('--hf-token=')) token = args[i].slice(11);
        else rest.push(args[i]);
    }
    return { args: rest, token: token || process.env.HF_TOKEN || '' };
}

// A checkpoint folder's files for core.openModelFolder / openCheckpoint: every file at its top
// (read by positioned reads when the core asks) and the names in additional_chat_templates/,
// which only mark that folder as present. Options: displayPath (the folder as given, for
// messages) and folderName (its last component, as the native CLI takes it: the converter names
// the model by it).
function folderEntries(dir) {
    const entries = [];
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, d.name);
        let st;
        try {
            st = fs.statSync(full);
        } catch {
            continue;
        }
        if (st.isDirectory()) {
            if (d.name === 'additional_chat_templates') entries.push({ name: `${d.name}/`, size: 0, read: async () => new Uint8Array(0) });
            continue;
        }
        entries.push({
            name: d.name,
            size: st.size,
            async read(offset, length) {
                const fd = fs.openSync(full, 'r');
                try {
                    const buf = new Uint8Array(Math.max(0, Math.min(length, st.size - offset)));
                    let got = 0;
                    while (got < buf.length) {
                        const n = fs.readSync(fd, buf, got, buf.length - got, offset + got);
                        if (n === 0) break;
                        got += n;
                    }
                    return got === buf.length ? buf : buf.subarray(0, got);
                } finally {
                    fs.closeSync(fd);
                }
            },
        });
    }
    return { entries, options: { displayPath: dir, folderName: path.basename(path.resolve(dir)) } };
}

// OWNER/REPO that is not a local path nor named like a GGUF file: a Hub repo (the native CLI's
// core/cli/hf_repo.h rule).
const isHubRepo = (s) => /^[\w.-]+\/[\w.-]+$/.test(s) && !/\.gguf$/i.test(s) && !fs.existsSync(s);
const hubEndpoint = () => (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');

// A Hub repo's files at its top (and whether it has additional_chat_templates/), as
// folderEntries gives a folder's: listed by the Hub's API, read by Range requests when the core
// asks. The converter names the model by REPO.
async function repoEntries(repo, token) {
    const hub = hubEndpoint();
    const listing = `${hub}/api/models/${repo}/tree/main?recursive=true`;
    const tree = JSON.parse(new TextDecoder().decode(await fetchUrlBytes(listing, urlOptions(token))));
    const entries = [];
    for (const f of tree) {
        if (f.type !== 'file') continue;
        if (f.path.startsWith('additional_chat_templates/')) entries.push({ name: f.path, size: 0, read: async () => new Uint8Array(0) });
        if (f.path.includes('/')) continue;
        const src = new UrlSource(`${hub}/${repo}/resolve/main/${encodeURIComponent(f.path)}`, urlOptions(token));
        entries.push({ name: f.path, size: Number(f.lfs?.size ?? f.size ?? 0), read: (offset, length) => src.fetchRange(offset, length) });
    }
    return { entries, options: { displayPath: repo, folderName: repo.split('/').pop() } };
}

const isFolder = (p) => {
    try {
        return fs.statSync(p).isDirectory();
    } catch {
        return false;
    }
};

// DIR/NAME as the native CLI joins them (std::filesystem's operator/: no normalisation).
const joinPath = (dir, name) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

const isCheckpoint = (p) => isFolder(p) || isHubRepo(p);
const checkpointEntries = (p, token) => (isFolder(p) ? folderEntries(p) : repoEntries(p, token));

// A folder's (or Hub repo's) model, as the native CLI's hf_folder.h (hf_repo.h) opens it.
async function openFolderModel(core, dir, token = '') {
    const { entries, options } = await checkpointEntries(dir, token);
    return core.openModelFolder(entries, options);
}

// Stall timeout for tests (seconds), as the native CLI's GGUF_SQUASH_HTTP_STALL_SECONDS.
const urlOptions = (token) => ({ token, stallMs: 1000 * (Number(process.env.GGUF_SQUASH_HTTP_STALL_SECONDS) || 30) });

const kUsage = `usage: gguf-squash <command> [args]

commands:
  info FILE... [--json]          show a GGUF file's header, metadata and tensors
  quantize [options] IN [OUT] TYPE [NTHREADS]
                                 quantize like llama-quantize (see quantize --help)
  estimate [options] FILE|URL    exact output sizes and memory for every type
  quality [options] MODEL        measured weight error of every type
  fit (--target-size S|--target-bpw X|--memory S) [options] MODEL [-o TYPES.txt]
                                 per-tensor types for a size, for llama-quantize
  convert [--outtype T] [--outfile OUT] MODEL_DIR
                                 safetensors checkpoint to GGUF (docs/CONVERT.md)
`;

function writeOut(text) {
    // Synchronous, so large outputs are complete before the process exits.
    fs.writeSync(1, text);
}

const kInfoUsage = `usage: gguf-squash info FILE... [--json]
  Shows each GGUF file's version, alignment, metadata and tensors.
  --json  one JSON object per file, one per line
`;

// Error messages quote names from the file; keep them to one line whatever those hold.
const oneLine = (s) => s.replace(/[\r\n]/g, ' ');

async function runInfo(core, args) {
    const files = [];
    let json = false;
    let optionsDone = false;
    for (const a of args) {
        if (!optionsDone && a.length > 1 && a[0] === '-') {
            if (a === '--json') json = true;
            else if (a === '-h' || a === '--help') {
                writeOut(kInfoUsage);
                return 0;
            } else if (a === '--') optionsDone = true;
            else {
                process.stderr.write(`gguf-squash info: unknown option '${a}'\n${kInfoUsage}`);
                return 2;
            }
            continue;
        }
        files.push(a);
    }
    if (!files.length) {
        process.stderr.write(`gguf-squash info: no input file\n${kInfoUsage}`);
        return 2;
    }
    let status = 0;
    for (const [i, file] of files.entries()) {
        let src = null;
        try {
            let model;
            if (isCheckpoint(file)) {
                model = await openFolderModel(core, file, process.env.HF_TOKEN ?? '');
            } else {
                try {
                    src = fileSource(file);
                } catch {
                    throw new GgufError('io_error', `cannot open '${file}'`);
                }
                model = await core.openModel([src]);
            }
            try {
                const text = core.infoText(model, { json, path: file });
                writeOut(!json && i ? '\n' + text : text);
            } finally {
                model.free();
            }
        } catch (e) {
            if (!(e instanceof GgufError)) throw e;
            process.stderr.write(`gguf-squash info: ${file}: ${oneLine(e.message)}\n`);
            status = 1;
        } finally {
            src?.close();
        }
    }
    return status;
}

async function runQuantize(core, argsIn) {
    const tok = takeHfToken(argsIn);
    if (tok.error) {
        process.stderr.write(`gguf-squash quantize: ${tok.error}\n\n`);
        process.stderr.write(core.quantizeUsage());
        return 2;
    }
    let args = tok.args;
    const token = tok.token;
    let parsed;
    const textFiles = [];  // --tensor-type-file contents, for the core here and in pool workers
    try {
        for (let i = 0; i < args.length - 1; i++) {
            if (args[i] === '--tensor-type-file') {
                try {
                    textFiles.push({ name: args[i + 1], bytes: fs.readFileSync(args[i + 1]) });
                } catch { /* the parser reports the missing file */ }
            }
        }
        for (const f of textFiles) core.provideTextFile(f.name, f.bytes);
        parsed = core.parseQuantizeArgs(args);
    } catch (e) {
        if (!(e instanceof GgufError)) throw e;
        process.stderr.write(`gguf-squash quantize: ${e.message}\n\n`);
        process.stderr.write(core.quantizeUsage());
        return 2;
    }
    if (parsed.help) {
        writeOut(core.quantizeUsage());
        return 0;
    }
    let imatrix = null;
    if (parsed.imatrix_file) {
        try {
            if (isHttpUrl(parsed.imatrix_file)) {
                imatrix = await fetchUrlBytes(parsed.imatrix_file, urlOptions(token));
                // Recorded as llama-quantize records the downloaded file given by its name.
                const url = parsed.imatrix_file;
                args = args.map((a) => (a === url ? urlFileName(url) : a));
            } else {
                imatrix = fs.readFileSync(parsed.imatrix_file);
            }
        } catch (e) {
            if (e instanceof GgufError) {
                process.stderr.write(`gguf-squash quantize: failed to load imatrix from '${parsed.imatrix_file}': ${e.message}\n`);
                return 1;
            }
            process.stderr.write(`gguf-squash quantize: cannot read imatrix '${parsed.imatrix_file}': ${e.code ?? e.message}\n`);
            return 1;
        }
    }
    // The model: one file, or the shards of a split model (IN names the first, as llama-quantize
    // requires; the others are opened next to it by name).
    const srcs = [];
    const closeAll = () => { for (const s of srcs) s.close(); };
    let model = null, job = null, fd = null, pool = null;
    const temps = [];     // temporary outputs, removed unless every file completes
    const renamed = [];   // outputs already renamed, removed if a later rename fails
    // NTHREADS as llama-quantize takes it: 0 or less (or none) means one per core. Above 1, row
    // chunks go to that many worker threads (wasm/row_pool.mjs); 1 runs the streaming job here.
    const threads = parsed.nthreads > 0 ? parsed.nthreads : (os.availableParallelism?.() ?? os.cpus().length);
    // Ctrl-C or SIGTERM: stop the workers or the streaming job (which yields to the event loop
    // every few tens of MiB for this), remove the temporary files, exit 128+N.
    let interrupted = 0;
    const cancelled = () => new GgufError('cancelled', 'interrupted');
    const abort = new AbortController();
    const onSignal = (name) => {
        interrupted ||= os.constants.signals[name];
        pool?.terminate(cancelled());
        abort.abort(cancelled());
    };
    for (const name of ['SIGINT', 'SIGTERM']) process.on(name, onSignal);
    try {
        const url = isHttpUrl(parsed.input);
        // A checkpoint folder: the GGUF `convert --outtype auto` would write, quantized in one
        // pass, its tensors converted as the job reads them (as the native CLI's hf_folder.h).
        const folder = !url && isCheckpoint(parsed.input);
        const openSource = url ? (name) => UrlSource.open(name, urlOptions(token)) : fileSource;
        if (folder) {
            try {
                model = await openFolderModel(core, parsed.input, token);
            } catch (e) {
                // Named by the folder, as the native CLI names it (unless the message does).
                if (e instanceof GgufError && !e.message.startsWith(parsed.input)) e.message = `${parsed.input}: ${e.message}`;
                throw e;
            }
            // The default OUT goes where llama-quantize would put it next to the converted file.
            if (parsed.output === core.defaultOutputName(parsed.input, parsed.ftype, parsed.keep_split)) {
                const at = args.lastIndexOf(parsed.input);
                // A repo's goes to the current folder.
                const dir = isFolder(parsed.input) ? parsed.input : '';
                args = args.map((a, i) => (i === at ? (dir ? joinPath(dir, model.checkpoint.defaultName) : model.checkpoint.defaultName) : a));
            }
        } else {
            try {
                srcs.push(await openSource(parsed.input));
            } catch (e) {
                if (e instanceof GgufError) throw e;
                throw new GgufError('io_error', `cannot open '${parsed.input}': ${e.code ?? e.message}`);
            }
            model = await core.openModel([srcs[0]]);
        }
        const meta = model.info.metadata ?? {};
        const count = Number(meta['split.count']?.value ?? 1);
        if (count > 1) {
            const no = Number(meta['split.no']?.value ?? 0);
            if (no !== 0) {
                throw new GgufError('refused', `${parsed.input}: illegal split file idx: ${no} (file: ${parsed.input}), model must be loaded with the first split`);
            }
            // A URL's query string (a signed URL) stays after each shard's name.
            const q = url ? parsed.input.indexOf('?') : -1;
            const base = q >= 0 ? parsed.input.slice(0, q) : parsed.input;
            const query = q >= 0 ? parsed.input.slice(q) : '';
            // The shards' names as llama.cpp makes them (gguf_split_prefix/path in the core).
            const prefix = core.splitPrefix(base, 0, count);
            if (prefix === null)
                throw new GgufError('refused', `${parsed.input}: invalid split file name: ${parsed.input}`);
            model.free();
            model = null;
            for (let k = 1; k < count; k++) {
                const name = core.splitPath(prefix, k, count) + query;
                try {
                    srcs.push(await openSource(name));
                } catch (e) {
                    if (e instanceof GgufError) throw e;
                    throw new GgufError('io_error', `cannot open '${name}': ${e.code ?? e.message}`);
                }
            }
            model = await core.openModel(srcs);
        }
        job = core.createJob(model, args, { imatrix });
        const outputs = job.plan.output_files;
        if (parsed.dry_run) {
            const p = job.plan;
            writeOut(`${parsed.ftype}: ${p.file_size} bytes, ${p.bpw.toFixed(2)} bpw\n`);
            return 0;
        }
        const t0 = performance.now();
        // A folder's tensors are converted by this thread's core as the job reads them.
        if (threads > 1 && !folder) {
            // Each worker opens the shards by path, in shard order, and makes the same job.
            // A URL's workers get the header bytes already fetched: no request of their own.
            pool = await RowPool.start(threads, { files: model.files.map((f) => (f.headerBytes ? { size: f.size, head: f.headerBytes() } : f.path)), argv: args, imatrix,
                                                  textFiles, variant: core.variant }, spawnPoolThread);
            if (interrupted) pool.terminate(cancelled());
        }
        const writeAll = (bytes) => {
            let off = 0;
            while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
        };
        const tty = process.stderr.isTTY;
        let lastTensor = -1, tensorBase = 0;
        const onProgress = tty ? (p) => {
            if (p.tensorIndex !== lastTensor && p.tensorIndex < p.tensorCount) {
                lastTensor = p.tensorIndex;
                process.stderr.write(`[${String(tensorBase + p.tensorIndex + 1).padStart(4)}/${job.plan.tensors.length}] ${p.tensor} -> ${p.tensorType}\n`);
            }
        } : null;
        for (const [i, out] of outputs.entries()) {
            if (i > 0) job.selectOutput(i);
            const tmp = `${out.name}.tmp-${process.pid}`;
            fd = fs.openSync(tmp, 'w');
            temps.push(tmp);
            if (outputs.length > 1) process.stderr.write(`writing shard ${i + 1} of ${outputs.length}: '${out.name}'\n`);
            lastTensor = -1;
            // A URL is downloaded here, in the job's order, one range at a time per file (the
            // selected output's layout holds each tensor's input offset and size).
            // With a pool, the schedule is the pool's own reads: each answered with its own buffer.
            const schedule = url ? jobReadSchedule(job.layout(), srcs.length, pool ? { taskBytes: kTaskBytes } : {}) : null;
            // The pieces' buffers are used again once the workers have copied them.
            const buffers = url ? new SpareBuffers() : null;
            const readers = url ? schedule.map((ext, k) => srcs[k].streamReader(ext, { fresh: !!pool, buffers })) : null;
            const urlRead = url ? (offset, length, shard = 0) => readers[shard](offset, length) : null;
            if (pool) {
                // The worker threads read their chunks themselves: in parallel, not on this thread.
                await runPool(job, pool, { read: urlRead, release: buffers && ((b) => buffers.put(b)), write: writeAll,
                                           onProgress, output: i });
            } else if (url) {
                await job.run({ read: urlRead, writeView: writeAll, onProgress, signal: abort.signal });
            } else if (folder) {
                await job.run({ read: (offset, length) => model.checkpoint.read(offset, length), writeView: writeAll, onProgress,
                                signal: abort.signal, chunkSize: 4 << 20 });
            } else {
                await job.run({
                    readInto: (offset, view, shard = 0) => srcs[shard].readInto(offset, view),
                    writeView: writeAll,
                    onProgress,
                    signal: abort.signal,
                });
            }
            tensorBase += out.tensors;
            fs.closeSync(fd);
            fd = null;
        }
        if (interrupted) throw cancelled();
        for (const [i, out] of outputs.entries()) {
            fs.renameSync(temps[i], out.name);
            renamed.push(out.name);
        }
        temps.length = 0;
        renamed.length = 0;
        if (tty) {
            const secs = (performance.now() - t0) / 1000;
            const p = job.plan;
            const inBytes = folder ? model.fileSize : srcs.reduce((a, s) => a + s.size, 0);
            process.stderr.write(`model size  = ${(p.source_bytes / 1048576).toFixed(2)} MiB\n` +
                                 `quant size  = ${(p.target_bytes / 1048576).toFixed(2)} MiB (${p.bpw.toFixed(2)} BPW)\n` +
                                 `time        = ${secs.toFixed(2)} s, ${(inBytes / 1e6 / secs).toFixed(1)} MB/s\n`);
        }
        return 0;
    } catch (e) {
        if (interrupted) {
            process.stderr.write(`\ngguf-squash quantize: interrupted by signal ${interrupted}; no output written\n`);
            return 128 + interrupted;
        }
        if (!(e instanceof GgufError) && !e?.code) throw e;
        process.stderr.write(`gguf-squash quantize: ${e.message}\n`);
        return 1;
    } finally {
        pool?.terminate();
        for (const name of ['SIGINT', 'SIGTERM']) process.off(name, onSignal);
        if (fd !== null) fs.closeSync(fd);
        for (const f of [...temps, ...renamed]) if (fs.existsSync(f)) fs.unlinkSync(f);
        job?.free();
        model?.free();
        closeAll();
    }
}

const kConvertUsage = `usage: gguf-squash convert [--outtype auto|f32|f16|bf16|q8_0] [--outfile OUT] MODEL_DIR

  Convert a Hugging Face safetensors checkpoint (config.json, tokenizer files,
  model*.safetensors) to GGUF as llama.cpp's convert_hf_to_gguf.py does.
  MODEL_DIR may be OWNER/REPO: a Hub repo, read by HTTP Range requests
  (HF_ENDPOINT for another Hub; --hf-token TOKEN or HF_TOKEN for gated repos).
  --outtype   auto (default: the checkpoint's 16-bit type), f32, f16, bf16, q8_0
  --outfile   output path (default: in MODEL_DIR, named as the converter names it;
              for OWNER/REPO in the current folder)
`;

// The native CLI's convert (core/cli/cli_convert.cpp): same options, messages and output. The
// virtual GGUF (wasm/checkpoint_source.mjs) is copied in file order, 4 MiB at a time, to
// OUT.part, renamed at the end: a failed run leaves nothing.
async function runConvert(core, argsIn) {
    const tok = takeHfToken(argsIn);
    if (tok.error) {
        process.stderr.write(`gguf-squash convert: ${tok.error}\n${kConvertUsage}`);
        return 2;
    }
    const args = tok.args;
    let outtype = 'auto', outfile = '', dir = '';
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === '-h' || a === '--help') {
            writeOut(kConvertUsage);
            return 0;
        }
        if ((a === '--outtype' || a === '--outfile') && i + 1 < args.length) {
            if (a === '--outtype') outtype = args[++i];
            else outfile = args[++i];
        } else if (a.startsWith('--outtype=')) outtype = a.slice(10);
        else if (a.startsWith('--outfile=')) outfile = a.slice(10);
        else if (a.length && a[0] === '-') {
            process.stderr.write(`gguf-squash convert: unknown or incomplete option '${a}'\n${kConvertUsage}`);
            return 2;
        } else if (!dir) dir = a;
        else {
            process.stderr.write(`gguf-squash convert: more than one MODEL_DIR\n${kConvertUsage}`);
            return 2;
        }
    }
    if (!dir) {
        process.stderr.write(kConvertUsage);
        return 2;
    }
    const typeError = core.outtypeError(outtype);
    if (typeError) {
        process.stderr.write(`gguf-squash convert: ${typeError}\n${kConvertUsage}`);
        return 2;
    }
    const fail = (message) => {
        process.stderr.write(`gguf-squash convert: ${message}\n`);
        return 1;
    };
    if (!isCheckpoint(dir)) return fail(`${dir}: not a model folder`);
    let src;
    try {
        const { entries, options } = await checkpointEntries(dir, tok.token);
        src = await core.openCheckpoint(entries, { ...options, outtype });
    } catch (e) {
        if (!(e instanceof GgufError)) throw e;
        return fail(e.message);
    }
    let fd = null, tmp = '';
    try {
        // A repo's goes to the current folder.
        if (!outfile) outfile = isFolder(dir) ? joinPath(dir, src.defaultName) : src.defaultName;
        else if (/[{}]/.test(outfile)) return fail('--outfile: templated names ({ftype}) are not supported yet');
        tmp = `${outfile}.part`;
        try {
            fd = fs.openSync(tmp, 'w');
        } catch (e) {
            tmp = '';
            return fail(`${outfile}.part: cannot create: ${e.code ?? e.message}`);
        }
        for (let offset = 0; offset < src.size;) {
            const bytes = await src.read(offset, 4 << 20);
            if (!bytes.length) return fail(`${tmp}: the planned file ended early`);
            let off = 0;
            while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
            offset += bytes.length;
        }
        fs.closeSync(fd);
        fd = null;
        fs.renameSync(tmp, outfile);
        tmp = '';
        writeOut(`${outfile}\n`);
        return 0;
    } catch (e) {
        if (!(e instanceof GgufError) && !e?.code) throw e;
        return fail(e.message);
    } finally {
        if (fd !== null) fs.closeSync(fd);
        if (tmp && fs.existsSync(tmp)) fs.unlinkSync(tmp);
        src.close();
    }
}

const kEstimateUsage = `usage: gguf-squash estimate [options] FILE|URL
  Exact output size of every llama-quantize type, memory needed to run it,
  and a recommendation, from the GGUF header alone (URLs: HTTP Range reads;
  split models: give the first shard, -00001-of-0000N.gguf).
  --imatrix FILE        plan with this importance matrix (.gguf or .dat)
  --ctx N               context length for the memory figures (default 4096)
  --kv-type TYPE        KV cache type: f16 (default), q8_0, q4_0
  --flash-attn on|off   flash attention as llama.cpp runs it (default on)
  --ubatch N            micro-batch the compute buffer is sized for (default 512)
  --parallel N          parallel sequences: KV streams, recurrent states and
                        outputs (default 1)
  --memory GB           memory budget in GiB: marks what fits, finds the
                        largest context and recommends a type
  --aliases             also list the aliases Q3_K, Q4_K, Q5_K
  --stats               print the HTTP requests made (stderr)
  --hf-token TOKEN      sent as Authorization: Bearer to the URL's host
                        (default: HF_TOKEN)
  --json                one JSON object instead of the table
`;

// The native CLI's estimate (core/cli/cli_estimate.cpp): same options, messages and output.
async function runEstimate(core, argsIn) {
    const tok = takeHfToken(argsIn);
    const usageError = (msg) => {
        process.stderr.write(`gguf-squash estimate: ${msg}\n${kEstimateUsage}`);
        return 2;
    };
    if (tok.error) return usageError(tok.error);
    const args = tok.args;
    const opts = { core, format: 'text' };
    let stats = false, imatrixPath = '', input = '';
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const has = i + 1 < args.length;
        if (a === '-h' || a === '--help') {
            writeOut(kEstimateUsage);
            return 0;
        } else if (a === '--json') opts.format = 'json';
        else if (a === '--aliases') opts.aliases = true;
        else if (a === '--stats') stats = true;
        else if (a === '--imatrix') {
            if (!has) return usageError('--imatrix needs a file');
            imatrixPath = args[++i];
        } else if (a === '--ctx') {
            const v = has && /^\d+$/.test(args[i + 1]) ? Number(args[i + 1]) : 0;
            if (!(v > 0) || v > 2 ** 32) return usageError('--ctx needs a positive integer');
            opts.ctx = v;
            i++;
        } else if (a === '--kv-type') {
            const t = has ? args[i + 1].toLowerCase() : '';
            if (!['f16', 'q8_0', 'q4_0'].includes(t)) return usageError('--kv-type must be f16, q8_0 or q4_0');
            opts.kvType = t;
            i++;
        } else if (a === '--flash-attn') {
            const v = has ? args[i + 1] : '';
            if (v !== 'on' && v !== 'off') return usageError('--flash-attn must be on or off');
            opts.flashAttn = v === 'on';
            i++;
        } else if (a === '--ubatch' || a === '--parallel') {
            const max = a === '--ubatch' ? 65536 : 256;
            const v = has && /^\d+$/.test(args[i + 1]) ? Number(args[i + 1]) : 0;
            if (!(v >= 1) || v > max) return usageError(`${a} needs an integer from 1 to ${max}`);
            opts[a.slice(2)] = v;
            i++;
        } else if (a === '--memory') {
            if (!has) return usageError('--memory needs a size in GiB');
            const gb = Number(args[i + 1]);
            if (args[i + 1].trim() === '' || !(gb > 0) || !Number.isFinite(gb) || gb > 1e9)
                return usageError('--memory needs a positive size in GiB');
            opts.memoryBytes = Math.round(gb * 2 ** 30);
            i++;
        } else if (a.length > 1 && a[0] === '-') return usageError(`unknown option '${a}'`);
        else if (input) return usageError('one model at a time');
        else input = a;
    }
    if (!input) return usageError('no input file or URL');
    if (imatrixPath) {
        try {
            opts.imatrix = isHttpUrl(imatrixPath) ? await fetchUrlBytes(imatrixPath, urlOptions(tok.token))
                                                  : fs.readFileSync(imatrixPath);
        } catch {
            process.stderr.write(`gguf-squash estimate: cannot read '${imatrixPath}'\n`);
            return 1;
        }
        opts.imatrixName = isHttpUrl(imatrixPath) ? urlFileName(imatrixPath) : imatrixPath;
    }
    const { estimate } = await import('./estimate.mjs');
    let src = null;
    try {
        let source = input;
        if (isHttpUrl(input)) {
            if (tok.token) {
                // The token for the URL's own origin; fetch drops it on a cross-origin redirect.
                const origin = new URL(input).origin;
                opts.fetch = (u, init = {}) => globalThis.fetch(u, new URL(u).origin === origin
                    ? { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${tok.token}` } } : init);
            }
        } else if (isCheckpoint(input)) {
            // A checkpoint folder or Hub repo: the GGUF `convert --outtype auto` would write (its
            // header only).
            const model = await openFolderModel(core, input, tok.token);
            src = { close: () => model.free() };
            source = model;
        } else {
            try {
                src = fileSource(input);
            } catch (e) {
                throw new GgufError('io_error', `cannot open '${input}'`);
            }
            source = src;
        }
        if (stats) {
            const { openEstimate } = await import('./estimate.mjs');
            const est = await openEstimate(source, opts);
            try {
                const h = est.http;
                process.stderr.write(`http: ${h.requests} requests, ${h.bytes} bytes received, header ${h.headerBytes} bytes\n`);
                const out = await est.run(opts);
                writeOut(opts.format === 'json' ? out : out);
            } finally {
                est.close?.();
            }
        } else {
            writeOut(await estimate(source, opts));
        }
        return 0;
    } catch (e) {
        if (!(e instanceof GgufError) && !e?.code) throw e;
        process.stderr.write(`gguf-squash estimate: ${isHttpUrl(input) ? '' : input + ': '}${oneLine(e.message)}\n`);
        return 1;
    } finally {
        src?.close();
    }
}

async function main(argv) {
    if (argv.length < 1) {
        process.stderr.write(kUsage);
        return 2;
    }
    const [cmd, ...rest] = argv;
    if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
        writeOut(kUsage);
        return 0;
    }
    if (!['info', 'quantize', 'estimate', 'quality', 'fit', 'convert'].includes(cmd)) {
        process.stderr.write(`gguf-squash: unknown command '${cmd}'\n${kUsage}`);
        return 2;
    }
    const core = await loadGgufSquash({ variant: process.env.GGUF_SQUASH_WASM_VARIANT ?? 'auto' });
    if (cmd === 'estimate') return runEstimate(core, rest);
    if (cmd === 'convert') return runConvert(core, rest);
    if (cmd === 'quality' || cmd === 'fit') {
        const { runQualityCommand, runFitCommand } = await import('./quality_cli.mjs');
        return cmd === 'quality' ? runQualityCommand(core, rest) : runFitCommand(core, rest);
    }
    return cmd === 'info' ? runInfo(core, rest) : runQuantize(core, rest);
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`gguf-squash: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
});
