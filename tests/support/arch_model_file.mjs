// Whole GGUF files for the memory estimate's architecture tests, from the headers of llama.cpp's
// own test models (tests/fixtures/memory/llama-archs/NAME.header: the bytes before the data
// section, see tests/fixtures/memory/llama_cpp_memory_archs.json). The estimate reads only the
// header, but readers check that every tensor's data lies inside the file, so the header is
// followed by the data section's exact length of zeros (a sparse file: no disk used for them).
//
//   const file = await writeArchModelFile('granitehybrid-dense', dir);  // dir/NAME.gguf
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

export async function writeArchModelFile(name, dir) {
    const header = fs.readFileSync(path.join(archHeaderDir, `${name}.header`));
    const size = await archModelFileSize(header);
    const file = path.join(dir, `${name}.gguf`);
    fs.writeFileSync(file, header);
    fs.truncateSync(file, size);
    return file;
}
