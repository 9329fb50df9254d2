// Saving a finished output. The worker already wrote it to OPFS (or to a Blob when OPFS is
// missing); saving then offers, in order:
//  1. the File System Access API: showSaveFilePicker, then the file streamed into the chosen file;
//  2. a normal browser download of the OPFS file (disk-backed, so it works past 4 GB);
//  3. a download of the in-memory Blob, when the browser has no OPFS (small outputs only).
// A user who dismisses the picker gets nothing saved; only a missing or refused picker falls
// back to the download (see saveMode for automated and headless browsers).
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

// How to save: 'picker' (the File System Access API) or 'download'. A browser driven by automation
// (navigator.webdriver) or running headless has no one to answer a picker, whose prompt then
// aborts exactly as if a user had dismissed it; there, and with `?save=download` in the page's
// URL, saving is a normal download. Everywhere else the picker is offered when it exists.
export function saveMode() {
    const forced = new URLSearchParams(globalThis.location?.search ?? '').get('save');
    if (forced === 'download' || forced === 'picker') return forced;
    if (typeof window.showSaveFilePicker !== 'function') return 'download';
    if (navigator.webdriver || /HeadlessChrome/.test(navigator.userAgent)) return 'download';
    return 'picker';
}

// Saves `output` as `name`. Returns 'picker', 'download' or 'cancelled' (the user dismissed the
// picker: nothing is saved, and no download starts behind their back).
export async function saveOutput(output, name) {
    const file = await outputFile(output);
    if (saveMode() === 'picker' && typeof window.showSaveFilePicker === 'function') {
        let handle;
        try {
            handle = await window.showSaveFilePicker({
                suggestedName: name,
                types: [{ description: 'GGUF model', accept: { 'application/octet-stream': ['.gguf'] } }],
            });
        } catch (e) {
            if (e?.name === 'AbortError') return 'cancelled';
            handle = null;  // refused (SecurityError, NotAllowedError) or broken: download instead
        }
        if (handle) {
            // pipeTo aborts the writable on failure, which discards the browser's swap file:
            // the chosen file is only replaced once every byte is written.
            const writable = await handle.createWritable();
            await file.stream().pipeTo(writable);
            return 'picker';
        }
    }
    download(file, name);
    return 'download';
}
