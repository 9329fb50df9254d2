// The importance matrix: loaded from a file or URL, checked against the model when either
// arrives (tensor names and column counts, web/imatrix_check.mjs), shown beside its control with
// a remove button, and applied only when it matches. A mismatch is an error next to the control
// naming the first tensor that does not match; the matrix is then not applied.
import { checkImatrix } from '../imatrix_check.mjs';
import { $, clearError } from '../dom.mjs';
import { modelBridge, state } from '../state.mjs';
import { formatInt } from '../units.mjs';

// A loaded matrix waiting for a model, or refused by the model: {name, bytes, summary, error}.
let held = null;

function render() {
    const im = state.imatrix ?? held;
    const name = $('imatrix-summary'), error = $('imatrix-error');
    name.textContent = im ? `imatrix: ${im.name} · ${formatInt(im.summary?.entries ?? 0)} tensors` +
        (im.summary?.chunk_count ? ` · ${im.summary.chunk_count} chunks` : '') +
        (im.summary?.datasets?.length ? ` of ${im.summary.datasets.join(', ')}` : '') +
        (state.imatrix ? '' : im.error ? ' · not applied' : '') : '';
    $('imatrix-remove').hidden = !im;
    error.hidden = !im?.error;
    error.textContent = im?.error ?? '';
    $('file-summary').dataset.imatrix = state.imatrix?.name ?? '';
}

// Checks the held matrix against the open model: applied when it matches.
function apply() {
    const im = state.imatrix ?? held;
    if (!im) return;
    if (!im.summary) { state.imatrix = null; held = im; render(); return; }
    const model = state.model;
    const mismatch = model && model.info.tensors.length ? checkImatrix(im.summary, model.info.tensors) : null;
    if (mismatch) {
        state.imatrix = null;
        held = { ...im, error: `${im.name} does not belong to this model: ${mismatch.message}. It is not applied.` };
    } else {
        state.imatrix = { name: im.name, bytes: im.bytes, summary: im.summary };
        held = null;
    }
    render();
}

// After a new model opened: the matrix (if any) is checked against it.
export function recheckImatrix() {
    const im = state.imatrix ?? held;
    if (!im) return;
    state.imatrix = null;
    held = { ...im, error: im.summary ? null : im.error };
    apply();
}

async function refreshViews() {
    const { refreshEstimates, refreshMemory } = await import('./estimates.mjs');
    await refreshEstimates();
    await refreshMemory();
}

async function useImatrix(name, load) {
    clearError();
    try {
        const { summary, bytes } = await load();
        state.imatrix = null;
        held = { name, bytes, summary, error: null };
        apply();
    } catch (e) {
        state.imatrix = null;
        held = { name, bytes: null, summary: null, error: `Cannot use ${name} as an importance matrix: ${e?.message ?? e}` };
        render();
    }
    await refreshViews();
}

export async function openImatrix(file) {
    await useImatrix(file.name, async () => {
        const bytes = new Uint8Array(await file.arrayBuffer());
        const { summary } = await modelBridge.imatrix({ bytes });
        return { summary, bytes };
    });
}

// An imatrix by URL: the worker downloads it (the token to its origin only). It is recorded in the
// output under its file name, as llama-quantize records the same file downloaded and given by name.
export async function openUrlImatrix(url, token = '') {
    const name = decodeURIComponent(url.split(/[?#]/)[0].split('/').pop());
    await useImatrix(name, () => modelBridge.imatrix({ url, token }));
}

export async function removeImatrix() {
    state.imatrix = null;
    held = null;
    render();
    $('imatrix-input').focus();
    await refreshViews();
}

export function initImatrix() {
    $('imatrix-remove').addEventListener('click', () => { if (!state.run) removeImatrix(); });
}
