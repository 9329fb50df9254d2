// A pool worker: holds the same quantize plan as the coordinator (built by the core from the same
// model header, arguments and imatrix) and converts row chunks on request. Messages:
//   {type: 'init', files, argv, imatrix}        -> {type: 'ready'} | {type: 'error', error}
//   {type: 'convert', id, index, first, rows, src, dstSize} -> {type: 'done', id, dst} (transferred)
import { loadGgufSquash } from './wasm/gguf_squash.mjs';

let job = null;
let core = null;

function fail(e, id) {
    self.postMessage({ type: 'error', id, error: { name: e?.name ?? 'Error', code: e?.code, message: e?.message ?? String(e) } });
}

self.onmessage = async (ev) => {
    const msg = ev.data;
    if (msg.type === 'init') {
        try {
            core = await loadGgufSquash();
            const model = await core.openModel(msg.files);
            job = core.createJob(model, msg.argv, { imatrix: msg.imatrix });
            model.free();  // the job holds its own copy of the plan
            self.postMessage({ type: 'ready', variant: core.variant });
        } catch (e) {
            fail(e);
        }
        return;
    }
    if (msg.type === 'convert') {
        try {
            const dst = job.convertRows(msg.index, msg.first, msg.rows, new Uint8Array(msg.src), msg.dstSize);
            self.postMessage({ type: 'done', id: msg.id, dst: dst.buffer, heap: core.mod.HEAPU8.length }, [dst.buffer]);
        } catch (e) {
            fail(e, msg.id);
        }
    }
};
