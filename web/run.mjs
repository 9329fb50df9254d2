// The run controller: starts a quantization through the quantize worker (web/bridge.mjs), keeps
// the page's controls in step with it, and cancels it.
import { QuantizeBridge } from './bridge.mjs';
import { $, clearError, showError } from './dom.mjs';
import { tempOutputName } from './save.mjs';
import { state } from './state.mjs';
import { createTimeEstimate } from './time_estimate.mjs';
import { quantizeArgs, setOptionsDisabled } from './views/options.mjs';
import { resetOutput, showDone, showProgress, updateTypeInfo } from './views/quantize.mjs';

let bridge = null;

export function cancelRun() {
    if (state.run) state.run.controller.abort();
}

export function setRunning(running) {
    $('quantize-button').disabled = running;
    $('cancel-button').disabled = !running;
    $('type-select').disabled = running;
    $('bar-type').disabled = running;
    $('file-input').disabled = running;
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
    const run = { controller, started: performance.now(), inputSize: model.fileSize };
    // A URL run's time follows the slower of download and quantize (views/quantize.mjs); a file's
    // starts from the calibration's estimate for this type.
    if (!model.urls) run.timeEstimate = createTimeEstimate({ priorSeconds: state.timePrior?.type === type ? state.timePrior.seconds : NaN });
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
        bridge ??= new QuantizeBridge();
        const result = await bridge.quantize({
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
            onPlan: (m) => { box.dataset.sink = m.sink; },
            onMode: (m) => {
                run.workers = m.workers;
                box.dataset.workers = String(m.workers);
            },
        });
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
