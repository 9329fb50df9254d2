// A Hugging Face checkpoint folder as a GGUF source: the file convert_hf_to_gguf.py would write
// for it, planned by the core from the folder's small files and shard headers
// (wasm/checkpoint_binding.cpp, core/convert/checkpoint.h) and read by byte range like any
// {size, read(offset, length)} source. Reading it converts the tensors on the way: the core says
// which shard bytes a chunk of rows needs, this file reads them from the folder's files and hands
// them back. So core.openModel reads its header, job.run quantizes it in one pass and a plain
// copy of it is the 16-bit GGUF, with no weight read before it is needed.
//
//   const src = await CheckpointSource.open(core, entries, { folderName: 'Llama3', outtype: 'auto' });
//
// entries: the folder's files, each a File/Blob (its `name`) or {name, size, read(offset, length)
// -> Promise<Uint8Array>}, `name` relative to the folder ("config.json",
// "additional_chat_templates/x.jinja": files in subfolders only mark that folder as present).
import { GgufError } from './errors.mjs';

const u32 = (p) => p >>> 0;
const isBlob = (f) => typeof Blob !== 'undefined' && f instanceof Blob;

// Bytes [offset, offset + length) of a folder entry (fewer at its end).
async function readEntry(entry, offset, length) {
    const end = Math.min(entry.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    if (isBlob(entry.file)) return new Uint8Array(await entry.file.slice(offset, end).arrayBuffer());
    const bytes = await entry.file.read(offset, end - offset);
    return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

export class CheckpointSource {
    constructor(core, handle, shards) {
        this.core = core;
        this.handle = handle;
        this.shards = shards;  // entries, in the plan's shard order
        const m = core.mod;
        this.size = m._gs_checkpoint_size(handle);
        this.headerSize = m._gs_checkpoint_header_size(handle);
        // The converter's file name for this output type ("Llama3-16M-BF16.gguf").
        this.name = core.string(m._gs_checkpoint_default_name(handle));
        this.defaultName = this.name;
        this.queue = Promise.resolve();  // reads one at a time: the core holds one chunk
        this.isCheckpoint = true;
    }

    // Plans the folder's GGUF. options: outtype ('auto', 'f32', 'f16', 'bf16', 'q8_0'),
    // folderName (what the converter names the model by: the folder's name), displayPath (the
    // folder as errors name it: "DIR/config.json: missing"; default folderName). Errors are the
    // core's, naming the file and field.
    static async open(core, files, { outtype = 'auto', folderName = '', displayPath = folderName, signal = null } = {}) {
        const m = core.mod;
        const entries = files.map((f) => ({ name: f.name, size: f.size, file: f }));
        const small = core.takeJson(m._gs_checkpoint_small_files_json());
        const isShard = (name) => {
            const [ptr] = core.allocString(name);
            try {
                return m._gs_checkpoint_is_shard(ptr) !== 0;
            } finally {
                m._free(ptr);
            }
        };
        const top = entries.filter((e) => !e.name.includes('/'));
        const hasTemplates = entries.some((e) => e.name.startsWith('additional_chat_templates/'));
        const handle = u32(m._gs_checkpoint_new());
        if (!handle) throw new GgufError('out_of_memory', 'cannot allocate a checkpoint');
        const add = (fn, name, bytes, ...rest) => {
            const [namePtr, nameLen] = core.allocString(name);
            const dataPtr = core.allocBytes(bytes);
            try {
                fn(handle, namePtr, nameLen, ...rest, dataPtr, bytes.length);
            } finally {
                m._free(namePtr);
                m._free(dataPtr);
            }
        };
        try {
            for (const name of small) {
                const e = top.find((x) => x.name === name);
                if (!e) continue;
                signal?.throwIfAborted();
                add(m._gs_checkpoint_add_file, name, await readEntry(e, 0, e.size));
            }
            // Each shard's first 8 bytes give its header's length; the header is read when the
            // file holds it (else the core names the length that does not fit).
            const shards = top.filter((e) => isShard(e.name));
            for (const e of shards) {
                signal?.throwIfAborted();
                let head = await readEntry(e, 0, 8);
                if (head.length === 8) {
                    const len = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
                    if (len <= BigInt(e.size - 8)) head = await readEntry(e, 0, 8 + Number(len));
                }
                add((h, n, l, ptr, size) => m._gs_checkpoint_add_shard(h, n, l, e.size, ptr, size), e.name, head);
            }
            const [pathPtr] = core.allocString(displayPath);
            const [folderPtr] = core.allocString(folderName);
            const [typePtr] = core.allocString(outtype);
            let code;
            try {
                code = m._gs_checkpoint_plan(handle, pathPtr, folderPtr, hasTemplates ? 1 : 0, typePtr);
            } finally {
                m._free(pathPtr);
                m._free(folderPtr);
                m._free(typePtr);
            }
            if (code !== 0) throw new GgufError(code, core.string(m._gs_checkpoint_error(handle)));
            const order = JSON.parse(core.string(m._gs_checkpoint_shard_names_json(handle)));
            return new CheckpointSource(core, handle, order.map((n) => shards.find((e) => e.name === n)));
        } catch (e) {
            m._gs_checkpoint_free(handle);
            throw e;
        }
    }

    // Up to `length` bytes of the GGUF at `offset` (fewer only at its end): header bytes, padding,
    // and tensors converted from their shards as they are reached.
    read(offset, length) {
        const run = this.queue.then(() => this.readNow(offset, length));
        this.queue = run.catch(() => {});
        return run;
    }

    async readNow(offset, length) {
        const m = this.core.mod;
        if (!this.handle) throw new GgufError('invalid_argument', 'the checkpoint was closed');
        const n = Math.max(0, Math.min(length, this.size - offset));
        const buf = u32(m._malloc(Math.max(1, n)));
        const need = u32(m._malloc(24));
        if (!buf || !need) {
            m._free(buf);
            m._free(need);
            throw new GgufError('out_of_memory', `cannot allocate ${n} bytes`);
        }
        try {
            let done = 0;
            while (done < n) {
                const got = m._gs_checkpoint_read(this.handle, offset + done, buf + done, n - done, need);
                if (got < 0) throw this.error();
                done += got;
                const [shard, at, size] = new Float64Array(m.HEAPU8.buffer, need, 3);
                if (size === 0) {
                    if (got === 0) break;
                    continue;
                }
                const entry = this.shards[shard];
                const bytes = await readEntry(entry, at, size);
                if (bytes.length !== size)
                    throw new GgufError('io_error', `${entry.name}: short read at byte ${at + bytes.length}`);
                const ptr = this.core.stage(bytes);
                if (m._gs_checkpoint_provide(this.handle, ptr, size) !== 0) throw this.error();
            }
            return m.HEAPU8.slice(buf, buf + done);
        } finally {
            m._free(buf);
            m._free(need);
        }
    }

    // The same source cut at the end of the header: what core.openModel reads of it, so that
    // opening a folder reads no weight (a header read asks for whole slices past its end).
    headerSource() {
        return { size: this.size, read: (offset, length) => this.read(offset, Math.max(0, Math.min(length, this.headerSize - offset))) };
    }

    error() {
        const m = this.core.mod;
        return new GgufError(m._gs_checkpoint_status(this.handle), this.core.string(m._gs_checkpoint_error(this.handle)));
    }

    close() {
        if (this.handle) this.core.mod._gs_checkpoint_free(this.handle);
        this.handle = 0;
    }
}
