// The run's time estimate: before the run, a prior from a short kernel calibration (seconds for
// the whole output); during it, corrected from the first seconds of measured progress. The
// measured rate is noisy at first (workers starting, the first slab), so it takes over from the
// prior gradually: its weight grows with the time elapsed and the share done, and is whole once
// either is large enough. Pure: times are passed in, so the logic is tested with injected
// timings (tests/js/time_estimate.test.mjs).
export const kWarmupSeconds = 3;     // measured weight reaches 1 after this long...
export const kWarmupFraction = 0.05; // ...or once this share of the output is written

export function createTimeEstimate({ priorSeconds = NaN, warmupSeconds = kWarmupSeconds, warmupFraction = kWarmupFraction } = {}) {
    const prior = Number.isFinite(priorSeconds) && priorSeconds > 0 ? priorSeconds : NaN;
    return {
        prior,
        // {elapsed (s), done, total (bytes)} -> {total, remaining (s), weight of the measurement}
        update({ elapsed, done, total }) {
            const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
            const measured = frac > 0 ? elapsed / frac : NaN;
            let weight = Number.isFinite(measured) ? Math.min(1, Math.max(elapsed / warmupSeconds, frac / warmupFraction)) : 0;
            if (!Number.isFinite(prior)) weight = Number.isFinite(measured) ? 1 : 0;
            const estimate = weight >= 1 ? measured : weight <= 0 ? prior : (1 - weight) * prior + weight * measured;
            if (!Number.isFinite(estimate)) return { total: NaN, remaining: NaN, weight };
            // Never less than what has already run.
            const whole = Math.max(estimate, elapsed);
            return { total: whole, remaining: Math.max(0, whole - elapsed), weight };
        },
    };
}
