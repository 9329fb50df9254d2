// The run's time estimate: before the run, a prior (seconds for the whole run) from a short
// kernel calibration and the cost of starting the workers; during it, corrected from the first
// seconds of measured progress. Pure: times are passed in, so the logic is tested with injected
// timings (tests/js/time_estimate.test.mjs replays runs recorded in the page by
// tools/record_quantize_times.mjs, tests/fixtures/timing/quantize_times.json).
//
// Progress is measured in predicted work, not in output bytes: tensors cost very different times
// per byte (a copied norm nothing, an IQ2 matrix twenty times a Q4_K one), so a run's first
// bytes say little about its last. workCurve() maps the output bytes written to the share of the
// predicted work done, from the plan and the calibrated rates; the measured speed is then the
// work done per second, which stays steady across tensor types.
//
// The measured rate is taken from the first progress report on, not from the start of the run:
// the time before it (starting the workers, opening the model) is a fixed cost that the rate of
// the rest does not follow, and counting it would inflate the estimate of every short run. The
// measurement takes over from the prior gradually: its weight grows with the time measured and
// the share written since the first report, and is whole once either is large enough.
//
// A short run (seconds) is measured on its share: its first few percent say little, being a
// tensor or two (the output and token embedding matrices, often of their own types) and the
// workers' first blocks (code still compiling, reports in bursts). Over the 126 runs recorded in
// December 2026's session 6 (tests/js/time_estimate.test.mjs) a fifth of the work measured over half a second leaves 4
// beyond ±50% of the real time, where 5% over a quarter second left 8 (and 10 of the 126 runs
// recorded before, 3 against 10).
export const kWarmupSeconds = 3;     // measured weight reaches 1 after this long...
export const kWarmupFraction = 0.2;  // ...or once this share of the work is done
export const kMinSpanSeconds = 0.5;  // ...measured over at least this long

//   progressOf(doneBytes, totalBytes) -> share of the work done (default: the share of bytes)
export function createTimeEstimate({ priorSeconds = NaN, warmupSeconds = kWarmupSeconds, warmupFraction = kWarmupFraction,
                                     progressOf = null } = {}) {
    const prior = Number.isFinite(priorSeconds) && priorSeconds > 0 ? priorSeconds : NaN;
    const share = (done, total) => Math.min(1, Math.max(0, progressOf ? progressOf(done, total) : done / total));
    let origin = null;  // {elapsed, work} of the first report with progress
    return {
        prior,
        // {elapsed (s), done, total (bytes)} -> {total, remaining (s), weight of the measurement}
        update({ elapsed, done, total }) {
            const work = total > 0 ? share(done, total) : 0;
            if (!origin && work > 0) origin = { elapsed, work };
            let measured = NaN, weight = 0;
            if (origin && total > 0) {
                const span = elapsed - origin.elapsed, worked = work - origin.work;
                if (span > 0 && worked > 0) {
                    measured = elapsed + (1 - work) * span / worked;
                    // Reports arrive in bursts: a share written in a few milliseconds says nothing
                    // yet, so the share only counts once kMinSpanSeconds have been measured.
                    const byShare = span >= kMinSpanSeconds ? worked / warmupFraction : 0;
                    weight = Math.min(1, Math.max(span / warmupSeconds, byShare));
                } else if (done >= total) {
                    measured = elapsed;
                    weight = 1;
                }
            }
            if (!Number.isFinite(prior)) weight = Number.isFinite(measured) ? 1 : 0;
            // The prior, once overrun, is at least what has already run.
            const before = Number.isFinite(prior) ? Math.max(prior, elapsed) : NaN;
            const estimate = weight >= 1 ? measured : weight <= 0 ? before : (1 - weight) * before + weight * measured;
            if (!Number.isFinite(estimate)) return { total: NaN, remaining: NaN, weight };
            const whole = Math.max(estimate, elapsed);
            return { total: whole, remaining: Math.max(0, whole - elapsed), weight };
        },
    };
}

// The prior: starting the run (startupSeconds: what starting the page's own engine worker took,
// paid again by a pool's workers), the kernels' calibrated rates (weights per
// second of one worker, per target type) over the weights the plan converts to each type, shared
// by the workers, and reading the input and writing the output at the measured read rate
// (ioBytesPerSecond; the coordinator writes alone) plus the measured cost of one read
// (secondsPerRead) for each of the run's `reads` (readsOf; a pool's workers read in parallel).
// A type's first use in a thread costs inits[TYPE] seconds more (its lookup tables; the caller
// passes 0 for a type the thread has already used). coldStart: one worker, but the coordinator
// it runs in has to start first (it is released when idle).
//   {converted: {TYPE: weights}, rates: {TYPE: weights/s}, inits: {TYPE: s}, workers, coldStart,
//    startupSeconds, inputBytes, outputBytes, ioBytesPerSecond, reads, secondsPerRead} -> s
export function priorSeconds({ converted = {}, rates = {}, inits = {}, workers = 1, coldStart = false, startupSeconds = null,
                               inputBytes = 0, outputBytes = 0, ioBytesPerSecond = null, reads = 0, secondsPerRead = 0 }) {
    let kernels = 0, init = 0;
    for (const [t, n] of Object.entries(converted)) {
        const rate = rates[t];
        if (rate > 0) kernels += n / rate;
        // Each worker builds a type's lookup tables before its first block of it (in parallel).
        if (inits[t] > 0) init += inits[t];
    }
    // One worker: the run goes on in the coordinator, running already unless it was released; a
    // pool starts its workers (in parallel) for every run.
    const start = (workers > 1 || coldStart) && Number.isFinite(startupSeconds) && startupSeconds > 0 ? startupSeconds : 0;
    const io = (ioBytesPerSecond > 0 ? (inputBytes + outputBytes) / ioBytesPerSecond : 0) +
        (reads > 0 && secondsPerRead > 0 ? reads * secondsPerRead / Math.max(1, workers) : 0);
    return Math.max(start + init + kernels / Math.max(1, workers) + io, 0.1);
}

// The input bytes of one read: the page's streaming job reads a tensor in pieces of at most this
// (web/worker.mjs kChunkBytes) and a pool's workers read chunks of at most this (wasm/row_pool.mjs
// kTaskBytes).
export const kReadBytes = 4 << 20;

// How many reads a run makes of tensors of these sizes (bytes).
export function readsOf(tensorBytes, readBytes = kReadBytes) {
    let n = 0;
    for (const b of tensorBytes) n += Math.max(1, Math.ceil(b / readBytes));
    return n;
}

// The work curve of a run: [[output bytes, share of the predicted work]] at the end of each
// tensor, from the job's plan ({header_size, tensors: [{name, source_type, target_type,
// source_bytes, target_bytes}]}), the tensors' element counts (elementsOf(name)), the
// calibrated rates and first-use costs (inits); a tensor's bytes cost ioBytesPerSecond and each
// of its reads secondsPerRead.
export function workCurve(plan, { rates = {}, inits = {}, workers = 1, elementsOf = () => 0, ioBytesPerSecond = null,
                                  secondsPerRead = 0, alignment = 32 } = {}) {
    const io = ioBytesPerSecond > 0 ? ioBytesPerSecond : 2e8;
    let pos = plan.header_size ?? 0, work = 0;
    const points = [[pos, 0]];
    const started = new Set();
    for (const t of plan.tensors ?? []) {
        const rate = t.source_type !== t.target_type ? rates[t.target_type] : 0;
        work += (rate > 0 ? elementsOf(t.name) / rate : 0) + (t.source_bytes + t.target_bytes) / io +
            (secondsPerRead > 0 ? readsOf([t.source_bytes]) * secondsPerRead : 0);
        // The first tensor of a type also pays for its lookup tables (inits, seconds), in every
        // worker at once: the wall time of `workers` workers' worth of kernel work.
        if (rate > 0 && !started.has(t.target_type)) {
            started.add(t.target_type);
            work += (inits[t.target_type] ?? 0) * Math.max(1, workers);
        }
        pos += Math.ceil(t.target_bytes / alignment) * alignment;
        points.push([pos, work]);
    }
    const whole = work || 1;
    return points.map(([b, w]) => [b, w / whole]);
}

// progressOf for createTimeEstimate: the share of work at `done` output bytes, linear within a
// tensor.
export function progressFromCurve(points) {
    return (done) => {
        if (!points?.length) return NaN;
        if (done <= points[0][0]) return 0;
        for (let i = 1; i < points.length; ++i) {
            const [b1, w1] = points[i];
            if (done <= b1) {
                const [b0, w0] = points[i - 1];
                return b1 > b0 ? w0 + (w1 - w0) * (done - b0) / (b1 - b0) : w1;
            }
        }
        return 1;
    };
}
