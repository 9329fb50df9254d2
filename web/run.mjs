// The run controller: starts a quantization through the quantize worker (web/bridge.mjs), keeps
// the page's controls in step with it, and cancels it.
import { poolSize } from './bridge.mjs';
import { $, clearError, showError } from './dom.mjs';
import { formatBytes } from './units.mjs';
import { saveOutput, tempOutputName } from './save.mjs';
import { quantizeBridge, state } from './state.mjs';
import { createTimeEstimate, progressFromCurve, workCurve } from './time_estimate.mjs';
import { quantizeArgs, setOptionsDisabled } from './views/options.mjs';
import { kernelRate, resetOutput, runInits, showDone, showProgress, updateTypeInfo } from './views/quantize.mjs';

export function cancelRun() {
    if (state.run) state.run.controller.abort();
}

export function setRunning(running) {
    $('quantize-button').disabled = running;
    $('cancel-button').disabled = !running;
    $('type-select').disabled = running;
    $('bar-type').disabled = running;
    $('file-input').disabled = running;
    $('folder-input').disabled = running;
    $('convert-button').disabled = running;
    $('imatrix-input').disabled = running;
    for (const id of ['url-input', 'url-open', 'token-input']) if ($(id)) $(id).disabled = running;
    setOptionsDisabled(running);
}

export async function startQuantize() {
    const model = state.model;
    const type = $('type-select').value;
    const row = state.estimates?.find((r) => r.name === type);
    if (!model || !row || state.run) return;
    clearError();
    resetOutput();
    const controller = new AbortController();
    const run = { controller, started: performance.now(), inputSize: model.fileSize, type, samples: [] };
    // A URL run's time follows the slower of download and quantize (views/quantize.mjs); a file's
    // starts from the calibration's estimate for this type.
    run.priorSeconds = state.timePrior?.type === type ? state.timePrior.seconds : null;
    // First-use costs as the prior counted them (none for what a one-worker run finds warm).
    // A checkpoint is converted and quantized by one worker (worker.mjs).
    const workers = model.checkpoint ? 1 : poolSize();
    run.inits = runInits(Object.keys(row.converted ?? {}), workers);
    // Progress as a share of the predicted work, once the job's plan arrives (time_estimate.mjs).
    let progressOf = null;
    if (!model.urls) run.timeEstimate = createTimeEstimate({ priorSeconds: run.priorSeconds ?? NaN, progressOf: (d, t) => progressOf ? progressOf(d) : d / t });
    state.run = run;
    setRunning(true);
    const progress = $('progress');
    progress.value = 0;
    progress.max = 1;
    const stats = $('progress-stats');
    stats.textContent = 'Starting…';
    const name = `${model.outputBase}-${type}.gguf`;
    const tempName = tempOutputName();
    const box = $('progress-box');
    for (const k of ['maxHeap', 'downloadRate', 'quantizeRate']) delete box.dataset[k];
    try {
        const result = await quantizeBridge.quantize({
            files: model.urls ?? model.files,  // a URL model streams from where it lives
            token: model.token,
            args: quantizeArgs(),
            type,
            imatrix: state.imatrix?.bytes,
            imatrixName: state.imatrix?.name,
            inputName: model.names[0],
            outName: tempName,
            signal: controller.signal,
            onProgress: (p) => showProgress(p, run),
            onPlan: (m) => {
                box.dataset.sink = m.sink;
                const elements = new Map(model.info.tensors.map((t) => [t.name, t.shape.reduce((a, b) => a * b, 1)]));
                const types = Object.keys(row.converted ?? {});
                run.workCurve = workCurve(m.plan, { rates: Object.fromEntries(types.map((t) => [t, kernelRate(t)])),
                                                    inits: run.inits, workers,
                                                    elementsOf: (n) => elements.get(n) ?? 0, ioBytesPerSecond: model.readCost?.bytesPerSecond,
                                                    secondsPerRead: model.readCost?.secondsPerRead ?? 0 });
                progressOf = progressFromCurve(run.workCurve);
                // The plan as the work curve reads it, for tools/record_quantize_times.mjs:
                // the curve can then be recomputed when its model changes.
                run.planTensors = { header_size: m.plan.header_size, tensors: m.plan.tensors.map((t) => [t.source_type, t.target_type, elements.get(t.name) ?? 0, t.source_bytes, t.target_bytes]) };
            },
            onMode: (m) => {
                run.workers = m.workers;
                box.dataset.workers = String(m.workers);
            },
        });
        // The coordinator has now run these kernels (a one-worker run quantizes there).
        if (run.workers === 1) quantizeBridge.ranTypes(Object.keys(row.converted ?? {}));
        state.output = { result, name, type, argsKey: JSON.stringify(quantizeArgs()), imatrixName: state.imatrix?.name ?? null };
        showDone(result, run, model, name);
    } catch (e) {
        progress.value = 0;
        if (controller.signal.aborted) stats.textContent = 'Cancelled. Nothing was saved.';
        else {
            stats.textContent = '';
            showError(`Quantizing to ${type} failed`, e);
        }
    } finally {
        state.run = null;
        setRunning(false);
        updateTypeInfo();
        // After Cancel, the keyboard is back where it was: on Quantize.
        if (controller.signal.aborted) $('quantize-button').focus();
    }
}

// "Save 16-bit GGUF" for a checkpoint folder: the file `convert --outtype auto` writes (the one
// the page shows and quantizes), converted in the quantize worker to OPFS, then saved under the
// converter's name. Cancel stops it; nothing is left behind.
export async function startConvert() {
    const model = state.model;
    if (!model?.checkpoint || state.run) return;
    clearError();
    const controller = new AbortController();
    state.run = { controller, started: performance.now(), converting: true };
    setRunning(true);
    const status = $('convert-status');
    status.textContent = 'Converting…';
    delete status.dataset.result;
    const name = model.checkpoint.convertedName;
    try {
        const result = await quantizeBridge.convert({
            files: model.files, token: model.token, outName: tempOutputName(), signal: controller.signal,
            onProgress: (p) => { status.textContent = `Converting… ${formatBytes(p.done)} of ${formatBytes(p.total)}`; },
        });
        const how = await saveOutput(result, name);
        status.dataset.result = how;
        status.textContent = how === 'picker' ? `Saved ${name}.` : how === 'download' ? `Downloading ${name}…` : 'Not saved: the save dialog was closed.';
    } catch (e) {
        status.textContent = controller.signal.aborted ? 'Cancelled. Nothing was saved.' : '';
        if (!controller.signal.aborted) showError(`Converting ${model.names[0]} failed`, e);
    } finally {
        state.run = null;
        setRunning(false);
    }
}
