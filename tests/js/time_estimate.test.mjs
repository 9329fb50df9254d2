// The page's run-time estimate (web/time_estimate.mjs) with injected timings: the prior before
// any progress, a blend during the first seconds, the measurement alone after, and a wrong prior
// corrected within the warm-up. No wall clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createTimeEstimate, kWarmupFraction, kWarmupSeconds } from '../../web/time_estimate.mjs';

const total = 1000;

test('before any progress the prior is the estimate', () => {
    const t = createTimeEstimate({ priorSeconds: 40 });
    const r = t.update({ elapsed: 0, done: 0, total });
    assert.equal(r.total, 40);
    assert.equal(r.remaining, 40);
    assert.equal(r.weight, 0);
    assert.equal(t.update({ elapsed: 1, done: 0, total }).remaining, 39);
});

test('a prior half the truth is corrected once the warm-up has passed', () => {
    // The run really takes 80 s: done grows by total/80 per second.
    const t = createTimeEstimate({ priorSeconds: 40 });
    const at = (s) => t.update({ elapsed: s, done: total * s / 80, total });
    const early = at(0.5);
    assert.ok(early.total > 40 && early.total < 80, `blended: ${early.total}`);
    assert.ok(early.weight > 0 && early.weight < 1);
    const later = at(kWarmupSeconds);
    assert.equal(later.weight, 1);
    assert.ok(Math.abs(later.total - 80) < 1e-9, `${later.total}`);
    assert.ok(Math.abs(later.remaining - (80 - kWarmupSeconds)) < 1e-9);
});

test('the share written also ends the warm-up (a fast run)', () => {
    const t = createTimeEstimate({ priorSeconds: 10 });
    const r = t.update({ elapsed: 0.2, done: total * kWarmupFraction, total });
    assert.equal(r.weight, 1);
    assert.ok(Math.abs(r.total - 0.2 / kWarmupFraction) < 1e-9);
});

test('without a prior the measurement is used at once; with neither there is no estimate', () => {
    const t = createTimeEstimate({});
    assert.ok(Number.isNaN(t.update({ elapsed: 1, done: 0, total }).remaining));
    const r = t.update({ elapsed: 2, done: total / 4, total });
    assert.equal(r.total, 8);
    assert.equal(r.remaining, 6);
});

test('never less than the time already spent, and 0 left at the end', () => {
    const t = createTimeEstimate({ priorSeconds: 5 });
    // A prior far too short, before any progress: the total is at least the elapsed time.
    const r = t.update({ elapsed: 12, done: 0, total });
    assert.equal(r.total, 12);
    assert.equal(r.remaining, 0);
    assert.equal(t.update({ elapsed: 30, done: total, total }).remaining, 0);
});

test('each step of a steady run: the estimate converges monotonically to the true 60 s', () => {
    const t = createTimeEstimate({ priorSeconds: 20 });
    let last = -Infinity, steps = 0;
    for (let s = 0.25; s <= kWarmupSeconds; s += 0.25) {
        const r = t.update({ elapsed: s, done: total * s / 60, total });
        assert.ok(r.total >= last - 1e-9, `step at ${s}: ${r.total} after ${last}`);
        last = r.total;
        steps++;
    }
    assert.equal(steps, kWarmupSeconds / 0.25);
    assert.ok(Math.abs(last - 60) < 1e-9);
});
