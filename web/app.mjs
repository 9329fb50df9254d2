// The page: reads a model's header (a dropped file, or a URL streamed by Range requests), shows
// what is inside, prices every type from the quantizer's own plan, and quantizes through the
// worker bridge. All model logic is in the WebAssembly core, in workers; the main thread only
// renders. The views are in views/, the state in state.mjs, the run controller in run.mjs.
import { $, showError } from './dom.mjs';
import { cancelRun, startConvert, startQuantize } from './run.mjs';
import { removeStaleOutputs } from './save.mjs';
import { modelBridge, state } from './state.mjs';
import { initChoice } from './views/choice.mjs';
import { initEstimateTable, initMemoryPanel } from './views/estimates.mjs';
import { initImatrix } from './views/imatrix.mjs';
import { fillWritableTypes, initOptions } from './views/options.mjs';
import { initQualityView } from './views/quality.mjs';
import { initQuantizeView } from './views/quantize.mjs';
import { initSources, openFromQuery } from './views/source.mjs';
import { initTensorTable } from './views/tensors.mjs';

function initTheme() {
    const saved = localStorage.getItem('gguf-squash-theme');
    if (saved) document.documentElement.dataset.theme = saved;
    $('theme-toggle').addEventListener('click', () => {
        const dark = document.documentElement.dataset.theme
            ? document.documentElement.dataset.theme === 'dark'
            : matchMedia('(prefers-color-scheme: dark)').matches;
        const next = dark ? 'light' : 'dark';
        document.documentElement.dataset.theme = next;
        localStorage.setItem('gguf-squash-theme', next);
    });
}

// The engine, in the model worker: its build, the types it writes, the core's default type.
function startEngine() {
    const started = performance.now();
    state.engine = modelBridge.hello().then((hello) => {
        // What starting a worker with the core costs here (the time estimate's per-worker start-up).
        state.engineSeconds = (performance.now() - started) / 1000;
        $('engine').textContent = `engine: wasm ${hello.variant === 'simd' ? 'SIMD' : 'baseline'}`;
        state.recommended = hello.constants.default_ftype;
        fillWritableTypes(hello.writableTypes);
        return hello;
    }, (e) => {
        $('engine').textContent = 'engine unavailable';
        showError('The WebAssembly engine failed to load', e);
        throw e;
    });
    return state.engine;
}

function init() {
    initTheme();
    initSources();
    initTensorTable();
    initOptions();
    initMemoryPanel();
    initEstimateTable();
    initQuantizeView();
    initChoice();
    initImatrix();
    initQualityView();
    $('quantize-button').addEventListener('click', startQuantize);
    $('convert-button').addEventListener('click', startConvert);
    $('cancel-button').addEventListener('click', cancelRun);
    removeStaleOutputs();
    document.documentElement.dataset.ready = 'true';
    startEngine().then(() => openFromQuery(), () => {});
}

init();
