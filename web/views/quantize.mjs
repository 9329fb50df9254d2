// The quantize card: the type choice and what it gives, the time estimate, progress while a run
// goes, and saving the result. Starting and stopping runs is the run controller's (run.mjs).
import { $, el, showError } from '../dom.mjs';
import { discardOutput, saveOutput } from '../save.mjs';
import { modelBridge, quantizeBridge, state } from '../state.mjs';
import { formatBytes, formatDuration } from '../units.mjs';
import { poolSize } from '../bridge.mjs';
import { priorSeconds, readsOf } from '../time_estimate.mjs';
import { choiceChanged, choiceError } from './choice.mjs';
import { renderEstimates, renderMemorySummary } from './estimates.mjs';

export function renderTypeSelect() {
    const sel = $('type-select');
    const previous = sel.value || state.recommended;
    sel.replaceChildren();
    for (const r of state.estimates ?? []) {
        const blocked = r.needs_imatrix && !state.imatrix;
        const opt = el('option', { value: r.name, text: `${r.name} — ${formatBytes(r.file_size)}${blocked ? ' (needs imatrix)' : ''}` });
        if (blocked || r.error) opt.disabled = true;
        sel.append(opt);
    }
    const prev = [...sel.options].find((o) => o.value === previous && !o.disabled);
    sel.value = prev ? previous : state.recommended;
    updateTypeInfo();
}

export function selectType(name) {
    $('type-select').value = name;
    updateTypeInfo();
    renderEstimates();
}

export function updateTypeInfo() {
    const r = state.estimates?.find((x) => x.name === $('type-select').value);
    const info = $('type-info');
    const qb = $('quantize-button');
    if (!r) { info.textContent = ''; qb.disabled = true; choiceChanged(); return; }
    const blocked = r.needs_imatrix && !state.imatrix;
    if (blocked) info.textContent = `${r.name} needs an importance matrix: add one above.`;
    else if (r.error) info.textContent = `Not possible: ${r.error}`;
    else info.textContent = `${formatBytes(r.file_size)} · ${r.bpw.toFixed(2)} bits per weight` +
        (r.note ? ` · ${r.note}` : '') + (r.fallbacks ? ` · ${r.fallbacks} tensors fall back to another type` : '');
    // Split models quantize to one file here (the CLI's --keep-split writes shards).
    qb.disabled = blocked || !!r.error || !!state.run || !!choiceError();
    $('time-estimate').textContent = '';
    if (!blocked && !r.error) estimateTime(r);
    renderMemorySummary();
    choiceChanged();
}

// Time estimate from a short calibration of the kernels this type uses (in the model worker,
// on rows of the model's own weights, cached per model, type and imatrix or none: the weighted
// searches are slower). A rate whose calibration ended still getting faster (the engine's
// optimised code for the kernel had not arrived yet: the first types calibrated after a load) is
// used, but calibrated again for the next estimate, keeping the faster figure.
const kernelRates = new Map();
const unsettled = new Set();  // rateKeys to calibrate again
const kernelInits = new Map();  // a type's first-use cost in a thread (seconds), by type
const rateKey = (t, imatrix = !!state.imatrix) => `${state.model?.modelId}:${t}${imatrix ? '+imatrix' : ''}`;
let timeToken = 0;
async function estimateTime(row) {
    const token = ++timeToken;
    const types = Object.keys(row.converted ?? {});
    const missing = types.filter((t) => !kernelRates.has(rateKey(t)) || unsettled.has(rateKey(t)));
    const model = state.model;
    try {
        if (missing.length) {
            const imatrix = !!state.imatrix;
            const { rates, inits, settled } = await modelBridge.calibrate(missing, undefined, { imatrix, modelId: model?.modelId ?? null });
            for (const [t, v] of Object.entries(rates)) {
                const key = rateKey(t, imatrix);
                kernelRates.set(key, Math.max(v, kernelRates.get(key) ?? 0));
                if (settled?.[t]) unsettled.delete(key);
                else unsettled.add(key);
            }
            // Lookup tables are built once per thread whatever the imatrix: keep the first, real figure.
            for (const [t, v] of Object.entries(inits ?? {})) if (!kernelInits.has(t)) kernelInits.set(t, v);
        }
        if (model && !('readCost' in model)) model.readCost = await modelBridge.readRate(model.modelId);
    } catch {
        return;  // no estimate is better than a wrong one
    }
    if (token !== timeToken || state.run) return;
    // A checkpoint is converted and quantized by one worker (worker.mjs).
    const workers = model?.checkpoint ? 1 : poolSize();
    // The inputs of the prior, kept on the element (tools/record_quantize_times.mjs records them
    // with the run's real time, and tests/js/time_estimate.test.mjs replays them).
    const inputs = { type: row.name, converted: row.converted ?? {}, rates: Object.fromEntries(types.map((t) => [t, kernelRates.get(rateKey(t))])),
                     imatrix: !!state.imatrix, inits: runInits(types, workers),
                     workers, coldStart: workers === 1 && !quantizeBridge.warmth().alive,
                     inputBytes: state.model?.fileSize ?? 0, outputBytes: row.file_size,
                     startupSeconds: state.engineSeconds ?? null, ioBytesPerSecond: model?.readCost?.bytesPerSecond ?? null,
                     reads: readsOf(model?.info.tensors.map((t) => t.nbytes) ?? []), secondsPerRead: model?.readCost?.secondsPerRead ?? 0 };
    const seconds = priorSeconds(inputs);
    // The run starts from this figure and corrects it from its first seconds (time_estimate.mjs).
    state.timePrior = { type: row.name, seconds };
    const copyNote = types.length ? '' : ' (tensors are only copied)';
    const box = $('time-estimate');
    box.dataset.prior = JSON.stringify({ ...inputs, seconds });
    box.textContent = `Estimated time on this device: about ${formatDuration(seconds)}` +
        ` with ${workers} worker${workers > 1 ? 's' : ''}${copyNote}, from a short kernel calibration.`;
}

// The calibrated rate of a tensor type, weights/s (undefined before its calibration).
export const kernelRate = (type) => kernelRates.get(rateKey(type));
// The first-use cost (seconds) of each of `types` in a run with `workers` workers: a pool's
// workers start afresh every run and build every type's tables; one worker runs in the
// coordinator, which keeps what earlier runs built while it stays up.
export function runInits(types, workers) {
    const warm = workers === 1 ? quantizeBridge.warmth().types : new Set();
    return Object.fromEntries(types.map((t) => [t, warm.has(t) ? 0 : kernelInits.get(t) ?? 0]));
}

export function resetOutput() {
    if (state.output) discardOutput(state.output.result);
    state.output = null;
    $('save-button').disabled = true;
    $('save-button').textContent = 'Save';
    $('save-button').classList.remove('stale', 'primary');
    $('quantize-button').classList.add('primary');
    delete $('action-bar').dataset.stale;
    $('save-status').textContent = '';
    delete $('save-status').dataset.result;
}

const mbps = (bytes, secs) => `${(bytes / 1e6 / Math.max(secs, 1e-3)).toFixed(1)} MB/s`;

// Progress of a run. From a URL, the download and the quantizer each show their rate (they
// overlap: the next range downloads while this one is quantized), and the ETA follows the slower.
export function showProgress(p, run) {
    // The largest wasm heap any worker reported (tests check it stays bounded).
    const box = $('progress-box');
    if (p.heap) box.dataset.maxHeap = String(Math.max(Number(box.dataset.maxHeap ?? 0), p.heap));
    const progress = $('progress');
    progress.max = p.total || 1;
    progress.value = p.done;
    const secs = (performance.now() - run.started) / 1000;
    const frac = p.total ? p.done / p.total : 0;
    let eta = frac > 0.005 ? secs * (1 - frac) / frac : NaN;
    // From a file: the calibration's estimate, corrected from the first seconds of the run.
    if (run.timeEstimate) eta = run.timeEstimate.update({ elapsed: secs, done: p.done, total: p.total }).remaining;
    // The reports, for tools/record_quantize_times.mjs (the first ~8 minutes' worth at most).
    if (run.samples && run.samples.length < 5000) run.samples.push([Math.round(secs * 1000) / 1000, p.done, p.total]);
    const rates = [];
    if (p.downloaded != null && run.inputSize) {
        // Each side's time left at its own rate; the run ends when the slower one does.
        const dlRate = p.downloaded / Math.max(secs, 1e-3), qRate = p.inputDone / Math.max(secs, 1e-3);
        const dlLeft = dlRate > 0 ? Math.max(0, run.inputSize - p.downloaded) / dlRate : NaN;
        const qLeft = qRate > 0 ? Math.max(0, run.inputSize - p.inputDone) / qRate : NaN;
        eta = Math.max(dlLeft, qLeft);
        box.dataset.downloadRate = String(Math.round(dlRate));
        box.dataset.quantizeRate = String(Math.round(qRate));
        rates.push(el('span', { class: 'rate-download', text: `download ${mbps(p.downloaded, secs)}` }),
                   el('span', { class: 'rate-quantize', text: `quantize ${mbps(p.inputDone, secs)}` }));
    } else {
        rates.push(el('span', { text: mbps(p.inputDone, secs) }));
    }
    $('progress-stats').replaceChildren(
        el('span', {}, el('b', { text: `${(frac * 100).toFixed(1)}%` })),
        ...rates,
        el('span', { text: `elapsed ${formatDuration(secs)}` }),
        el('span', { text: `ETA ${formatDuration(eta)}` }),
        el('span', { class: 'mono', text: p.tensor ? `${p.tensor}${p.tensorType ? ' → ' + p.tensorType : ''}` : '' }));
}

export function showDone(result, run, model, name) {
    const progress = $('progress');
    progress.max = 1;
    progress.value = 1;
    const secs = (performance.now() - run.started) / 1000;
    // What the run took against its estimate (recorded by tools/record_quantize_times.mjs).
    $('progress-box').dataset.timing = JSON.stringify({ type: run.type, workers: run.workers ?? 1, seconds: secs,
                                                       prior: run.priorSeconds ?? null, samples: run.samples ?? [],
                                                       work: run.workCurve ?? null, plan: run.planTensors ?? null });
    const parts = [el('span', { class: 'done', text: `Done: ${formatBytes(result.size)} in ${formatDuration(secs)}` })];
    if (result.downloaded != null) parts.push(el('span', { text: `downloaded ${formatBytes(result.downloaded)}` }));
    parts.push(el('span', { text: `${(model.fileSize / 1e6 / secs).toFixed(1)} MB/s` }),
        el('span', { text: run.workers > 1 ? `${run.workers} workers` : '1 worker' }),
        el('span', { class: 'mono', text: name }));
    $('progress-stats').replaceChildren(...parts);
    $('save-button').disabled = false;
    $('save-button').focus();
}

export async function save() {
    const out = state.output;
    if (!out) return;
    const status = $('save-status');
    status.textContent = '';
    try {
        const how = await saveOutput(out.result, out.name);
        status.dataset.result = how;
        status.textContent = how === 'picker' ? `Saved ${out.name}.`
            : how === 'download' ? `Downloading ${out.name}…` : 'Not saved: the save dialog was closed.';
    } catch (e) {
        status.dataset.result = 'error';
        showError('Saving failed', e);
    }
}

export function initQuantizeView() {
    $('type-select').addEventListener('change', () => { updateTypeInfo(); renderEstimates(); });
    $('save-button').addEventListener('click', save);
}
