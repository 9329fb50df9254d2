// Whole GGUF files for the memory estimate's architecture tests, from the headers of llama.cpp's
// own test models (tests/fixtures/memory/llama-archs/NAME.header: the bytes before the data
// section, see tests/fixtures/memory/llama_cpp_memory_archs.json). The estimate reads only the
// header, but readers check that every tensor's data lies inside the file, so the header is
// followed by the data section's exact length of zeros (a sparse file: no disk used for them).
//
//   const file = await writeArchModelFile('granitehybrid-dense', dir);  // dir/NAME.gguf
//   await writeArchModelFile('llama-dense', dir, kLlamaHd16);          // dir/llama-hd16.gguf
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { HeaderReader, loadGgufSquash } from '../../wasm/gguf_squash.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const archHeaderDir = path.join(root, 'tests/fixtures/memory/llama-archs');

let core = null;

// The file length the header describes: data_offset plus the end of its last tensor's data,
// read with the core's own GGUF reader.
export async function archModelFileSize(header) {
    core ??= await loadGgufSquash();
    const reader = new HeaderReader(core, null);
    let handle = 0;
    try {
        if (!reader.push(header)) reader.end();  // throws: the header is incomplete
        handle = reader.takeModel();
        const info = core.takeJson(core.mod._gs_model_info_json_preview(handle, 0));
        const end = Math.max(0, ...info.tensors.map((t) => t.offset + t.nbytes));
        return info.data_offset + end;
    } finally {
        if (handle) core.mod._gs_model_free(handle);
        reader.free();
    }
}

// Sets UINT32 metadata values in place (a GGUF key is its u64 length, its bytes, then the u32
// value type, 4 for UINT32, and the value): the header keeps its size and layout.
export function patchU32(header, values) {
    const out = Buffer.from(header);
    for (const [key, value] of Object.entries(values)) {
        const k = Buffer.from(key);
        const needle = Buffer.concat([Buffer.alloc(8), k]);
        needle.writeBigUInt64LE(BigInt(k.length), 0);
        const at = out.indexOf(needle);
        if (at < 0 || out.readUInt32LE(at + needle.length) !== 4) throw new Error(`no UINT32 key ${key}`);
        out.writeUInt32LE(value, at + needle.length + 4);
    }
    return out;
}

// options.u32: metadata to change (patchU32); options.as: the file's stem (default NAME).
// llama.cpp's llama test model with heads of 16 (16 heads, 16 KV heads, key and value length
// 16: the same tensor shapes), for which llama.cpp refuses a q8_0 or q4_0 K cache ("K cache type
// q8_0 with block size 32 does not divide n_embd_head_k=16", as its log for the llama-hd16 test
// model recorded in tests/fixtures/memory/llama_cpp_memory.json).
export const kLlamaHd16 = { as: 'llama-hd16', u32: {
    'llama.attention.head_count': 16, 'llama.attention.head_count_kv': 16, 'llama.attention.key_length': 16,
    'llama.attention.value_length': 16, 'llama.rope.dimension_count': 16, 'llama.rope.dimension_count_swa': 16 } };

export async function writeArchModelFile(name, dir, { u32 = null, as = name } = {}) {
    let header = fs.readFileSync(path.join(archHeaderDir, `${name}.header`));
    if (u32) header = patchU32(header, u32);
    const size = await archModelFileSize(header);
    const file = path.join(dir, `${as}.gguf`);
    fs.writeFileSync(file, header);
    fs.truncateSync(file, size);
    return file;
}
