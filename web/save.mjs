// Saving a finished output. The worker already wrote it to OPFS (or to a Blob when OPFS is
// missing); saving then offers, in order:
//  1. the File System Access API: showSaveFilePicker, then the file streamed into the chosen file;
//  2. a normal browser download of the OPFS file (disk-backed, so it works past 4 GB) or Blob.
import { removeOpfsFile } from './bridge.mjs';

const kTempPrefix = 'gguf-squash-tmp-';

export function tempOutputName() {
    return `${kTempPrefix}${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.gguf`;
}

// Outputs left behind by a closed or crashed tab are removed at start-up.
export async function removeStaleOutputs() {
    if (!navigator.storage?.getDirectory) return;
    try {
        const root = await navigator.storage.getDirectory();
        for await (const name of root.keys()) {
            if (name.startsWith(kTempPrefix)) await root.removeEntry(name).catch(() => {});
        }
    } catch { /* OPFS unavailable: nothing to clean */ }
}

// The finished output as a File or Blob (reading it does not load it into memory).
export async function outputFile(output) {
    if (output.kind === 'blob') return output.blob;
    const root = await navigator.storage.getDirectory();
    return (await root.getFileHandle(output.name)).getFile();
}

export async function discardOutput(output) {
    if (output?.kind === 'opfs') await removeOpfsFile(output.name);
}

function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
    // The download has taken its own reference; revoke later so large files keep streaming.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// Saves `output` as `name`. Returns 'picker' or 'download'.
export async function saveOutput(output, name) {
    const file = await outputFile(output);
    if (typeof window.showSaveFilePicker === 'function') {
        let handle = null;
        try {
            handle = await window.showSaveFilePicker({
                suggestedName: name,
                types: [{ description: 'GGUF model', accept: { 'application/octet-stream': ['.gguf'] } }],
            });
        } catch {
            handle = null;  // refused, unavailable (headless) or dismissed: fall back to a download
        }
        if (handle) {
            const writable = await handle.createWritable();
            await file.stream().pipeTo(writable);
            return 'picker';
        }
    }
    download(file, name);
    return 'download';
}
