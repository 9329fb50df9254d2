// The Quality view: what each type does to this model's weights, measured in workers by the core
// (`gguf-squash quality`, through bridge.mjs QualityBridge), and the fit to a memory or a size
// (`gguf-squash fit`).
//  - a chart of every ftype's exact size (x) against its measured relative RMSE (y, log scale),
//    filling in as the workers' groups arrive, with the chosen type, the recommendation and the
//    device memory marked; hover or focus on a point shows its numbers; the same as a table;
//  - a per-layer map of the chosen type's plan (the plan table's types): layers down, tensor
//    roles across, coloured by target type or, once measured, by error;
//  - "Fit to my memory" / "Fit to a size": the optimiser's mix, offered as a choice that the page
//    quantizes (its types go into the Tensor types option, i.e. --tensor-type ^name$=type, the
//    same as llama-quantize's --tensor-type-file), with the llama-quantize command.
// The error is weight reconstruction error, not perplexity.
import { QualityBridge } from '../bridge.mjs';
import { $, el, showError } from '../dom.mjs';
import { modelBridge, recommendedType, state } from '../state.mjs';
import { formatBytes, formatInt } from '../units.mjs';
import { memoryInputs } from './estimates.mjs';
import { quantizeArgs } from './options.mjs';

const kSvgNs = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS(kSvgNs, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    for (const c of children) if (c != null) node.append(c);
    return node;
}

// Tensor roles, in the map's column order; roles not listed follow in the order found.
const kRoles = ['attn_q', 'attn_k', 'attn_v', 'attn_qkv', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down',
                'ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps', 'ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp'];

const view = {
    bridge: null,
    results: new Map(),  // ftype name -> its `quality --json` entry
    rows: null,          // rows measured per matrix ('all' or N) of the results
    measuring: null,     // {controller}
    fitting: null,       // {controller}
    fit: null,           // the last fit's result
    plan: null,          // the chosen type's plan (the plan table's)
    planToken: 0,
    colourBy: 'type',
    modelKey: null,      // which model (and imatrix) the results are for
};

const currentType = () => $('type-select')?.value || '';
const modelKey = () => (state.model ? `${state.model.modelId}|${state.imatrix?.name ?? ''}` : null);

// The ftypes measured: every row of the estimate table the model can be made as.
function measurableTypes() {
    return (state.estimates ?? []).filter((r) => !r.error && (!r.needs_imatrix || state.imatrix) && r.name !== 'COPY')
        .map((r) => r.name);
}

function resetIfStale() {
    const key = modelKey();
    if (key === view.modelKey) return;
    view.measuring?.controller.abort();
    view.fitting?.controller.abort();
    view.modelKey = key;
    view.results = new Map();
    view.rows = null;
    view.fit = null;
    renderFit();
}

// ---- measuring ----

async function measure() {
    const model = state.model;
    if (!model || view.measuring) return;
    resetIfStale();
    const types = measurableTypes();
    if (!types.length) return;
    const controller = new AbortController();
    view.measuring = { controller };
    view.results = new Map();
    const rowsValue = $('quality-rows').value;
    const rows = rowsValue === 'all' ? 'all' : Number(rowsValue);
    view.rows = rows;
    setMeasuring(true);
    const status = $('quality-status'), progress = $('quality-progress');
    progress.value = 0;
    status.textContent = `Measuring ${types.length} types…`;
    const t0 = performance.now();
    try {
        view.bridge ??= new QualityBridge();
        await view.bridge.measure({
            files: model.urls ?? model.files, token: model.token, types, rows,
            imatrix: state.imatrix?.bytes ?? null, imatrixName: state.imatrix?.name,
            signal: controller.signal,
            onResult: (report) => {
                if (view.measuring?.controller !== controller) return;
                for (const f of report.ftypes) view.results.set(f.name, f);
                renderChart();
                renderLayerMap();
            },
            onProgress: (p) => {
                progress.max = p.total;
                progress.value = p.done;
                status.textContent = `Measuring: ${view.results.size} of ${types.length} types done…`;
            },
        });
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        status.textContent = `${view.results.size} types measured in ${secs} s, ${sampleText()}.`;
        progress.value = progress.max;
    } catch (e) {
        if (controller.signal.aborted) status.textContent = `Cancelled: ${view.results.size} of ${types.length} types measured.`;
        else {
            status.textContent = '';
            showError('Measuring the quality failed', e);
        }
    } finally {
        if (view.measuring?.controller === controller) view.measuring = null;
        setMeasuring(false);
        renderChart();
        renderLayerMap();
    }
}

// "a sample of 16 rows per matrix (928 rows measured)", or every row.
function sampleText() {
    const first = view.results.values().next().value;
    const measured = first ? first.tensors.reduce((a, t) => a + t.rows_measured, 0) : 0;
    return view.rows === 'all' ? `every row (${formatInt(measured)} rows per type)`
        : `a sample of ${view.rows} evenly spaced rows per matrix (${formatInt(measured)} rows measured per type)`;
}

function setMeasuring(on) {
    $('quality-measure').disabled = on || !state.model;
    $('quality-cancel').disabled = !on;
    $('quality-rows').disabled = on;
    $('quality-section').dataset.measuring = String(on);
}

// ---- the chart ----

function chartPoints() {
    const sizes = new Map((state.estimates ?? []).map((r) => [r.name, r]));
    return [...view.results.values()].filter((f) => f.rel_rmse > 0).map((f) => ({
        name: f.name, size: f.file_size, err: f.rel_rmse, rmse: f.rmse, wmse: f.weighted_mse, bpw: sizes.get(f.name)?.bpw,
    })).sort((a, b) => a.size - b.size);
}

// The file size that fits in the device memory at the chosen context: the budget less what the
// memory model adds to the weights (KV cache, buffers), which does not depend on the type.
function memoryFileBudget() {
    const m = state.memory?.report?.memory;
    if (!m || m.error || m.total_bytes == null || m.weights_bytes == null) return null;
    return memoryInputs().deviceBytes - (m.total_bytes - m.weights_bytes);
}

function renderChart() {
    const box = $('quality-chart-box');
    const points = chartPoints();
    const chosen = currentType(), rec = recommendedType();
    // Drawn at the box's own width, so that its text stays readable on a phone.
    const W = Math.round(Math.max(340, Math.min(820, box.clientWidth || 640))), H = W < 500 ? 260 : 300;
    const left = 64, right = 16, top = 14, bottom = 40;
    const budget = memoryFileBudget();
    const sizes = points.map((p) => p.size);
    // The sizes set the x range; a budget far outside it is marked at the edge it lies beyond.
    const pMin = Math.min(...sizes), pMax = Math.max(...sizes);
    const pad = (pMax - pMin) * 0.04;
    const xMin = Math.max(0, pMin - pad), xMax = pMax + pad;
    const errs = points.map((p) => p.err);
    const yLo = Math.log10(Math.min(...errs)), yHi = Math.log10(Math.max(...errs));
    const lo = Math.floor(yLo * 2) / 2, hi = Math.max(Math.ceil(yHi * 2) / 2, lo + 0.5);
    const x = (v) => left + (xMax > xMin ? (v - xMin) / (xMax - xMin) : 0.5) * (W - left - right);
    const y = (v) => top + (hi - Math.log10(v)) / (hi - lo) * (H - top - bottom);
    const label = points.length
        ? `Measured relative weight error (log scale) against exact file size, ${points.length} types: ` +
          points.map((p) => `${p.name} ${formatBytes(p.size)} ${p.err.toPrecision(3)}`).join(', ') +
          (chosen ? `. Chosen: ${chosen}` : '') + (rec ? `. Recommended: ${rec}` : '') +
          (budget != null ? `. Device memory allows files up to ${formatBytes(Math.max(0, budget))}` : '')
        : 'Quality chart: not measured yet';
    const parts = [];
    if (points.length) {
        // Axes: decades (and half decades) of the error, five size ticks.
        for (let d = lo; d <= hi + 1e-9; d += 0.5) {
            const v = 10 ** d;
            parts.push(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'quality-grid' }),
                       svg('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'quality-axis' }, v < 0.01 ? v.toExponential(0) : String(+v.toPrecision(2))));
        }
        const ticks = W < 500 ? 2 : 4;
        for (let i = 0; i <= ticks; i++) {
            const v = xMin + (xMax - xMin) * i / ticks;
            parts.push(svg('text', { x: x(v), y: H - bottom + 16, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle', class: 'quality-axis' }, formatBytes(v)));
        }
        parts.push(svg('text', { x: (left + W - right) / 2, y: H - 6, 'text-anchor': 'middle', class: 'quality-axis-title' }, 'file size'),
                   svg('text', { x: 12, y: (top + H - bottom) / 2, 'text-anchor': 'middle', class: 'quality-axis-title',
                                 transform: `rotate(-90 12 ${(top + H - bottom) / 2})` }, 'relative RMSE (log)'));
        if (budget != null) {
            const device = formatBytes(memoryInputs().deviceBytes);
            const at = Math.min(xMax, Math.max(xMin, budget));
            const where = budget > xMax ? `device memory ${device}: every type fits →` : budget < xMin ? `← device memory ${device}: none fits` : `device memory ${device}`;
            parts.push(svg('line', { x1: x(at), x2: x(at), y1: top, y2: H - bottom, class: `quality-memory${at !== budget ? ' quality-memory-edge' : ''}`,
                                     'data-testid': 'quality-memory-line', 'data-bytes': Math.round(budget) }),
                       svg('text', { x: budget < xMin ? x(at) + 4 : x(at) - 4, y: top + 10, 'text-anchor': budget < xMin ? 'start' : 'end', class: 'quality-memory-label' }, where));
        }
        const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.size).toFixed(1)},${y(p.err).toFixed(1)}`).join('');
        parts.push(svg('path', { d: line, class: 'quality-trend' }));
        for (const p of points) {
            const cls = ['quality-point'];
            if (p.name === chosen) cls.push('quality-chosen');
            if (p.name === rec) cls.push('quality-rec');
            const tip = `${p.name}: ${formatBytes(p.size)} (${formatInt(p.size)} bytes), relative RMSE ${p.err.toPrecision(4)}` +
                (p.wmse != null ? `, weighted MSE ${p.wmse.toPrecision(4)}` : '') + (p.name === chosen ? ' (chosen)' : '') + (p.name === rec ? ' (recommended)' : '');
            const g = svg('g', { class: cls.join(' '), tabindex: 0, role: 'img', 'aria-label': tip, 'data-ftype': p.name,
                                 'data-size': p.size, 'data-error': p.err },
                svg('title', {}, tip),
                svg('circle', { cx: x(p.size), cy: y(p.err), r: p.name === chosen ? 6 : 4 }));
            if (p.name === chosen || p.name === rec) {
                g.append(svg('text', { x: x(p.size) + 8, y: y(p.err) - 8, class: 'quality-point-label' }, p.name === rec ? `★ ${p.name}` : p.name));
            }
            g.addEventListener('mouseenter', () => showTip(p, tip));
            g.addEventListener('focus', () => showTip(p, tip));
            g.addEventListener('mouseleave', () => showTip(null));
            g.addEventListener('blur', () => showTip(null));
            g.addEventListener('click', () => choose(p.name));
            g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); choose(p.name); } });
            parts.push(g);
        }
    } else {
        parts.push(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'quality-axis' },
                       state.model ? 'Press "Measure" to measure every type on this model' : 'Open a model first'));
    }
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'quality-svg', role: 'img', 'aria-label': label, 'data-testid': 'quality-chart',
                               'data-points': points.length }, ...parts);
    const tipBox = el('p', { class: 'quality-tip', id: 'quality-tip', 'aria-live': 'polite' });
    box.replaceChildren(chart, tipBox);
    renderTable(chosen, rec);
}

function showTip(p, text) {
    const tip = $('quality-tip');
    if (tip) tip.textContent = p ? text : '';
}

// A point chosen on the chart: that type becomes the page's choice.
function choose(name) {
    const sel = $('type-select');
    if (!sel || sel.disabled || ![...sel.options].some((o) => o.value === name && !o.disabled)) return;
    sel.value = name;
    sel.dispatchEvent(new Event('change', { bubbles: true }));
}

// Every measured type, the lossless ones (error 0, off the chart's log scale) included.
function renderTable(chosen, rec) {
    const bpw = new Map((state.estimates ?? []).map((r) => [r.name, r.bpw]));
    const rows = [...view.results.values()].sort((a, b) => a.file_size - b.file_size);
    const tbody = $('quality-table').tBodies[0];
    tbody.replaceChildren(...rows.map((f) => el('tr', { dataset: { ftype: f.name, size: String(f.file_size), error: String(f.rel_rmse) },
                                                       class: f.name === chosen ? 'quality-chosen' : '' },
        el('th', { scope: 'row', text: f.name + (f.name === rec ? ' ★' : '') + (f.name === chosen ? ' (chosen)' : '') }),
        el('td', { class: 'num', text: formatInt(f.file_size) }),
        el('td', { class: 'num', text: bpw.get(f.name) != null ? bpw.get(f.name).toFixed(2) : '–' }),
        el('td', { class: 'num', text: f.rmse.toPrecision(4) }),
        el('td', { class: 'num', text: f.rel_rmse ? f.rel_rmse.toPrecision(4) : '0 (lossless)' }),
        el('td', { class: 'num', text: f.weighted_mse != null ? f.weighted_mse.toPrecision(4) : '–' }))));
    $('quality-table-note').textContent = rows.length ? `Measured on ${sampleText()}.` : '';
}

// ---- the per-layer map ----

// The chosen type's plan, as the plan table shows it (the model worker's plan with the page's
// options).
async function refreshPlan() {
    const model = state.model;
    const type = currentType();
    const row = state.estimates?.find((r) => r.name === type);
    const token = ++view.planToken;
    if (!model || !row || row.error || (row.needs_imatrix && !state.imatrix) || state.optionErrors?.length) {
        view.plan = null;
        renderLayerMap();
        return;
    }
    try {
        const plan = await modelBridge.plan(model.modelId, { args: quantizeArgs(), type, imatrix: state.imatrix?.bytes, imatrixName: state.imatrix?.name },
                                            { signal: state.abort?.signal });
        if (token !== view.planToken) return;
        view.plan = plan;
    } catch {
        if (token !== view.planToken) return;
        view.plan = null;
    }
    renderLayerMap();
}

// Colours by bits per weight of the target type (the core's type table): few bits warm, many cool.
function typeBits(name) {
    const t = view.typeTable?.get(name.toLowerCase());
    return t ? t.type_size * 8 / t.block_size : 16;
}

function typeColour(name) {
    const bits = Math.min(16, Math.max(1.5, typeBits(name)));
    const hue = Math.round(10 + (Math.log2(bits) - Math.log2(1.5)) / (4 - Math.log2(1.5)) * 200);
    return `hsl(${hue} 60% var(--quality-cell-l))`;
}

// Relative error on a log scale from 0.1% (cool) to 30% (hot).
function errorColour(rel) {
    const t = Math.min(1, Math.max(0, (Math.log10(Math.max(rel, 1e-6)) + 3) / (Math.log10(0.3) + 3)));
    return `hsl(${Math.round(140 - 140 * t)} 65% var(--quality-cell-l))`;
}

function renderLayerMap() {
    const box = $('layer-map');
    const plan = view.plan;
    $('layer-map-type').textContent = plan ? plan.type : '';
    if (!plan) {
        box.replaceChildren(el('p', { class: 'muted', text: state.model ? 'No plan for the chosen type.' : '' }));
        return;
    }
    const measured = view.results.get(plan.type);
    const errByName = new Map((measured?.tensors ?? []).map((t) => [t.name, t]));
    const byError = view.colourBy === 'error' && !!measured;
    const layers = new Map();  // 'blk.N' or 'other' -> Map(role -> tensor)
    const roles = [];
    for (const t of plan.tensors) {
        const m = /^blk\.(\d+)\.(.+)\.weight$/.exec(t.name);
        const nonBlock = /^(token_embd|output)\.weight$/.exec(t.name);
        if (!m && !nonBlock) continue;
        if (t.target_type === 'f32' && t.source_type === 'f32') continue;  // norms and other vectors
        const layer = m ? `blk.${m[1]}` : 'other';
        const role = m ? m[2] : nonBlock[1];
        if (!roles.includes(role)) roles.push(role);
        if (!layers.has(layer)) layers.set(layer, new Map());
        layers.get(layer).set(role, t);
    }
    const rank = (r) => {
        const i = kRoles.indexOf(r);
        return i >= 0 ? i : kRoles.length + roles.indexOf(r);
    };
    const blockRoles = roles.filter((r) => r !== 'token_embd' && r !== 'output').sort((a, b) => rank(a) - rank(b));
    const otherRoles = roles.filter((r) => r === 'token_embd' || r === 'output');
    const cols = [...otherRoles, ...blockRoles];
    const order = [...layers.keys()].sort((a, b) => (a === 'other' ? -1 : b === 'other' ? 1 : Number(a.slice(4)) - Number(b.slice(4))));
    const cell = (t) => {
        if (!t) return el('td', { class: 'quality-empty' });
        const q = errByName.get(t.name);
        const measuredHere = q && q.type === t.target_type;
        const text = t.target_type;
        const title = `${t.name}: ${t.source_type} → ${t.target_type}, ${formatInt(t.target_bytes)} bytes` +
            (measuredHere ? `, relative RMSE ${q.rel_rmse.toPrecision(3)}` : '');
        const td = el('td', { class: 'quality-cell', title, dataset: { tensor: t.name, type: t.target_type } }, el('span', { text }));
        if (measuredHere) td.dataset.error = String(q.rel_rmse);
        td.style.background = byError && measuredHere ? errorColour(q.rel_rmse) : typeColour(t.target_type);
        return td;
    };
    const table = el('table', { class: 'quality-map' },
        el('caption', { class: 'visually-hidden', text: `Target type of every tensor for ${plan.type}, by layer and role` }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'layer' }), ...cols.map((r) => el('th', { scope: 'col', class: 'mono', text: r })))),
        el('tbody', {}, ...order.map((layer) => el('tr', { dataset: { layer } },
            el('th', { scope: 'row', class: 'mono', text: layer === 'other' ? '–' : layer.slice(4) }),
            ...cols.map((r) => cell(layers.get(layer).get(r)))))));
    const legend = byError
        ? el('p', { class: 'quality-legend muted small', text: 'Colour: measured relative RMSE, green 0.1% → red 30% (log scale).' })
        : el('p', { class: 'quality-legend muted small', text: 'Colour: the target type\'s bits per weight, warm few → cool many.' });
    box.replaceChildren(el('div', { class: 'table-wrap quality-map-wrap' }, table), legend);
    $('layer-map-colour').disabled = !measured;
    if (!measured && view.colourBy === 'error') $('layer-map-colour').value = 'type';
}

// ---- fit ----

async function fit(target) {
    const model = state.model;
    if (!model || view.fitting) return;
    resetIfStale();
    const controller = new AbortController();
    view.fitting = { controller };
    $('fit-button').disabled = true;
    $('fit-size-button').disabled = true;
    $('fit-cancel').disabled = false;
    const box = $('fit-result');
    const what = target.kind === 'memory' ? `${formatBytes(target.bytes)} of memory at ${formatInt(target.ctx)} tokens` : target.size;
    box.replaceChildren(el('p', { class: 'muted', text: `Fitting to ${what}…` }));
    box.dataset.state = 'running';
    const rowsValue = $('quality-rows').value;
    try {
        view.bridge ??= new QualityBridge();
        const result = await view.bridge.fit({
            files: model.urls ?? model.files, token: model.token, target, rows: rowsValue === 'all' ? 'all' : Number(rowsValue),
            imatrix: state.imatrix?.bytes ?? null, imatrixName: state.imatrix?.name,
            modelName: model.names[0], outName: `${model.outputBase}-fit.gguf`,
            signal: controller.signal,
            onProgress: (p) => { box.firstChild.textContent = `Fitting to ${what}: measuring ${Math.round(p.done * 100)}%…`; },
        });
        view.fit = result;
        renderFit();
    } catch (e) {
        view.fit = null;
        box.dataset.state = controller.signal.aborted ? 'cancelled' : 'error';
        box.replaceChildren(el('p', { class: controller.signal.aborted ? 'muted' : 'field-error', role: 'alert', 'data-testid': 'fit-error',
                                      text: controller.signal.aborted ? 'Fit cancelled.' : e?.message ?? String(e) }));
    } finally {
        view.fitting = null;
        $('fit-button').disabled = !state.model;
        $('fit-size-button').disabled = !state.model;
        $('fit-cancel').disabled = true;
    }
}

function renderFit() {
    const box = $('fit-result');
    const f = view.fit;
    if (!f) {
        if (box.dataset.state === 'done') { box.replaceChildren(); delete box.dataset.state; }
        return;
    }
    box.dataset.state = 'done';
    box.dataset.bytes = String(f.file_size);
    box.dataset.base = f.base;
    const counts = new Map();
    for (const t of f.tensor_types) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
    const mix = [...counts].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ×${n}`).join(', ');
    const better = f.standard.filter((s) => s.fits).sort((a, b) => b.file_size - a.file_size)[0];
    const typesUrl = URL.createObjectURL(new Blob([f.typeFile], { type: 'text/plain' }));
    box.replaceChildren(
        el('p', {}, el('strong', { text: `${formatBytes(f.file_size)} (${formatInt(f.file_size)} bytes), ${f.bpw.toFixed(3)} bpw` }),
           ` · total error ${f.total_error.toPrecision(4)} (${f.error_measure} × elements, ${f.rows === 'all' ? 'every row' : `${f.rows} rows per matrix`})`,
           better ? ` · the largest standard type that fits, ${better.name}: ${better.total_error.toPrecision(4)}` : ''),
        el('p', { class: 'muted small', text: f.from_standard ? `A standard mix (${f.from_standard}) was best.` : `Mix: ${mix}; base type ${f.base}.` }),
        el('div', { class: 'command-line' }, el('pre', { class: 'mono', 'data-testid': 'fit-command', text: f.command })),
        el('p', {},
            el('button', { type: 'button', class: 'primary', 'data-testid': 'fit-use', text: 'Use this mix', onclick: useFit }), ' ',
            el('a', { href: typesUrl, download: 'TYPES.txt', class: 'button', 'data-testid': 'fit-types-download', text: 'Download TYPES.txt' }),
            el('span', { class: 'muted small', text: ' Using it replaces the Tensor types option with the fit\'s one line per tensor and chooses its base type.' })));
}

// The fit as the page's choice: its types as --tensor-type options, its base as the type.
function useFit() {
    const f = view.fit;
    // Not while a quantization runs: its options and type are fixed until it ends.
    if (!f || $('type-select').disabled || state.run) return;
    const field = $('opt-tensor-types');
    field.value = f.typeFile.trim();
    field.dispatchEvent(new Event('input', { bubbles: true }));
    field.dispatchEvent(new Event('change', { bubbles: true }));
    const sel = $('type-select');
    sel.value = f.base;
    sel.dispatchEvent(new Event('change', { bubbles: true }));
    $('fit-result').dataset.used = 'true';
}

// ---- wiring ----

// Called whenever the model, its plan or the estimates may have changed.
function refresh() {
    const section = $('quality-section');
    section.hidden = !state.model || !state.model.info.tensors.length;
    if (section.hidden) return;
    resetIfStale();
    // The type table for the map's colours (the engine's constants), once.
    if (!view.typeTable && state.engine) {
        view.typeTable = new Map();
        state.engine.then((hello) => {
            view.typeTable = new Map(hello.constants.types.map((t) => [t.ggml_name.toLowerCase(), t]));
            renderLayerMap();
        }, () => {});
    }
    if (!view.measuring) setMeasuring(false);
    if (!view.fitting) {
        $('fit-button').disabled = false;
        $('fit-size-button').disabled = false;
    }
    renderChart();
    refreshPlan();
}

export function initQualityView() {
    $('quality-measure').addEventListener('click', measure);
    $('quality-cancel').addEventListener('click', () => view.measuring?.controller.abort());
    $('fit-cancel').addEventListener('click', () => view.fitting?.controller.abort());
    $('layer-map-colour').addEventListener('change', () => {
        view.colourBy = $('layer-map-colour').value;
        renderLayerMap();
    });
    $('fit-button').addEventListener('click', () => {
        const { nCtx, deviceBytes, cache } = memoryInputs();
        fit({ kind: 'memory', bytes: deviceBytes, ctx: nCtx, kvType: cache });
    });
    $('fit-size-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const text = $('fit-size').value.trim();
        if (text) fit({ kind: 'file_size', size: text });
    });
    // The plan table re-renders on every change of model, choice, options or imatrix; the memory
    // summary on every memory answer: follow both.
    let pending = 0;
    const later = () => {
        clearTimeout(pending);
        pending = setTimeout(refresh, 50);
    };
    new MutationObserver(later).observe($('tensor-count'), { childList: true, characterData: true, subtree: true });
    new MutationObserver(later).observe($('memory-summary'), { childList: true, subtree: true });
    $('type-select').addEventListener('change', later);
    // A new width (a rotated phone, a resized window): the chart again at that width.
    let width = 0;
    new ResizeObserver(([entry]) => {
        const w = Math.round(entry.contentRect.width);
        if (Math.abs(w - width) < 24) return;
        width = w;
        if (view.results.size) renderChart();
    }).observe($('quality-chart-box'));
}
