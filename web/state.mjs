// The page's state, in one place. Views read it and render; the source view (opening models)
// and the run controller (quantizing) change it. The WebAssembly core lives in workers: the
// main thread holds only plain results from web/bridge.mjs.
import { ModelBridge, QuantizeBridge } from './bridge.mjs';

export const state = {
    engine: null,       // Promise of the model worker's {variant, writableTypes, constants}
    model: null,        // the open model's description (worker.mjs describeModel) + {modelId, files, token}
    imatrix: null,      // {name, bytes, summary} once an imatrix is loaded
    estimates: null,    // rows from the core's estimate
    memory: null,       // {report, byName, error} from the memory model
    recommended: 'Q4_K_M',  // replaced by the core's default (constants.default_ftype) at start-up
    run: null,          // the running quantization: {controller, started, workers}
    output: null,       // {result, name} once a quantization finished
    generation: 0,      // bumped on every new model, so stale async work is dropped
    abort: null,        // AbortController of the current model's worker calls
};

// The one recommendation the page shows (table badge, memory panel, action bar): the core's
// for the memory budget and context when the memory model answered, else its default (also when
// llama.cpp would refuse the context: then nothing can be said to fit).
export function recommendedType() {
    const report = state.memory?.report;
    const rec = report?.recommendation;
    if (rec && !report.memory?.error) return rec.name ?? null;  // null: nothing fits
    return state.recommended;
}

// The model worker, shared by every view.
export const modelBridge = new ModelBridge();
// The quantize worker (the run's coordinator; started at the first run, released when idle).
export const quantizeBridge = new QuantizeBridge();

// A new model (or none): work for the old one is stopped and its results dropped.
export function newGeneration() {
    state.abort?.abort();
    state.abort = new AbortController();
    return ++state.generation;
}
