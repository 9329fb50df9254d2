// The estimate card: every type's exact size (the quantizer's own plan, computed by the model
// worker) and the memory panel (weights + KV cache + compute at a context, from the core's
// memory model through wasm/estimate.mjs in the same worker; no second copy of its formulas).
import { $, el, showError } from '../dom.mjs';
import { modelBridge, recommendedType, state } from '../state.mjs';
import { formatBytes, formatGiB, formatInt, formatTokens, GiB } from '../units.mjs';
import { quantizeArgs } from './options.mjs';
import { metaValue } from './overview.mjs';
import { memoryParts, memoryTerms, renderActionBar, renderGpuTable, renderMemoryBar } from './choice.mjs';
import { renderTypeSelect, selectType } from './quantize.mjs';

let estimateToken = 0;
export async function refreshEstimates() {
    const model = state.model;
    if (!model) return;
    const token = ++estimateToken;
    let rows;
    try {
        rows = await modelBridge.estimate(model.modelId, { args: quantizeArgs(), imatrix: state.imatrix?.bytes,
                                                           imatrixName: state.imatrix?.name }, { signal: state.abort?.signal });
    } catch (e) {
        if (token !== estimateToken || model !== state.model || e?.name === 'AbortError') return;
        showError('Cannot apply these options', e);
        return;
    }
    if (token !== estimateToken || model !== state.model) return;
    state.estimates = rows;
    renderEstimates();
    renderTypeSelect();
    $('estimate-section').hidden = false;
    $('quantize-section').hidden = false;
}

// An empty field means its default (4096 tokens, 8 GiB, micro-batch 512, one sequence), never 0
// or 1. flashAttn, ubatch and parallel are llama.cpp's -fa, -ub and -np (the estimate's
// --flash-attn, --ubatch, --parallel); a value out of the core's range is an error next to its
// field (inputErrors), and the memory figures wait until it is fixed.
export const kDefaultContext = 4096, kDefaultDeviceGiB = 8, kDefaultUbatch = 512, kDefaultParallel = 1;
const kCountFields = [['mem-ubatch', 'ubatch', kDefaultUbatch, 65536, 'Micro-batch'],
                      ['mem-parallel', 'parallel', kDefaultParallel, 256, 'Sequences']];
export function memoryInputs() {
    const ctxText = $('mem-context').value.trim(), devText = $('mem-device').value.trim();
    const nCtx = ctxText === '' ? kDefaultContext : Math.max(1, Math.floor(Number(ctxText) || kDefaultContext));
    const deviceBytes = Math.round((devText === '' ? kDefaultDeviceGiB : Math.max(0, Number(devText) || kDefaultDeviceGiB)) * GiB);
    const out = { nCtx, deviceBytes, cache: $('mem-cache').value, flashAttn: $('mem-flash-attn').value !== 'off', inputErrors: {} };
    for (const [id, key, dflt, max, label] of kCountFields) {
        const text = $(id).value.trim();
        const n = text === '' ? dflt : Number(text);
        if (!Number.isInteger(n) || n < 1 || n > max) {
            out.inputErrors[id] = `${label} must be a whole number from 1 to ${max} (empty: ${dflt}).`;
            out[key] = dflt;
        } else out[key] = n;
    }
    return out;
}

function showInputErrors(errors) {
    for (const [id] of kCountFields) {
        const field = $(id);
        let box = document.getElementById(`${id}-error`);
        const message = errors[id] ?? '';
        if (!box && message) {
            box = el('p', { id: `${id}-error`, class: 'field-error', role: 'alert', dataset: { field: id } });
            field.closest('.memory-controls').after(box);
        }
        if (box) {
            box.textContent = message;
            box.hidden = !message;
        }
        field.setAttribute('aria-invalid', String(!!message));
        if (message) field.setAttribute('aria-describedby', box.id);
        else field.removeAttribute('aria-describedby');
    }
}

let memoryToken = 0;
export async function refreshMemory() {
    const model = state.model;
    if (!model) return;
    const token = ++memoryToken;
    const { nCtx, deviceBytes, cache, flashAttn, ubatch, parallel, inputErrors } = memoryInputs();
    showInputErrors(inputErrors);
    if (Object.keys(inputErrors).length) return;  // the figures shown are for the last valid inputs
    let mem;
    try {
        const report = await modelBridge.memory(model.modelId, {
            ctx: nCtx, kvType: cache, flashAttn, ubatch, parallel, memoryBytes: deviceBytes,
            imatrix: state.imatrix?.bytes, imatrixName: state.imatrix?.name,
        }, { signal: state.abort?.signal });
        mem = { report, byName: new Map(report.ftypes.map((f) => [f.name, f])), error: null };
    } catch (e) {
        if (e?.name === 'AbortError') return;
        mem = { report: null, byName: new Map(), error: e };
    }
    if (token !== memoryToken || model !== state.model) return;
    state.memory = mem;
    renderEstimates();
    renderActionBar();
    renderMemoryBar();
    renderGpuTable();
}

// The memory model's answer for one estimate row, or null when there is none.
function fitsInfo(row) {
    const f = state.memory?.byName.get(row.name);
    if (!f || f.memory_bytes == null) return null;
    return { need: f.memory_bytes, fits: !!f.fits, maxCtx: f.max_ctx ?? 0 };
}

export function initMemoryPanel() {
    let timer = 0;
    for (const id of ['mem-context', 'mem-device', 'mem-cache', 'mem-flash-attn', 'mem-ubatch', 'mem-parallel'])
        $(id).addEventListener('input', () => {
            clearTimeout(timer);
            timer = setTimeout(refreshMemory, 120);
        });
}

// The table's order: by size (smallest first) unless a column heading says otherwise.
const tableSort = { key: 'file_size', dir: 1 };

function sortedRows(rows) {
    const { key, dir } = tableSort;
    const value = (r) => key === 'max_ctx' ? (fitsInfo(r)?.maxCtx ?? -1) : r[key];
    return [...rows].sort((a, b) => {
        const x = value(a), y = value(b);
        const c = typeof x === 'string' ? x.localeCompare(y, 'en', { numeric: true }) : (x ?? 0) - (y ?? 0);
        return c * dir || a.file_size - b.file_size || a.name.localeCompare(b.name);
    });
}

// Roving tabindex: the table is one Tab stop (the selected row, else the first choosable one);
// the arrow keys, Home and End move within it, Enter or Space chooses.
function moveFocus(from, key) {
    const rows = [...$('estimate-table').tBodies[0].querySelectorAll('tr.selectable')];
    const i = rows.indexOf(from);
    const j = key === 'ArrowDown' ? Math.min(rows.length - 1, i + 1) : key === 'ArrowUp' ? Math.max(0, i - 1)
        : key === 'Home' ? 0 : rows.length - 1;
    const to = rows[j];
    if (!to || to === from) return;
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
}

export function renderEstimates() {
    const rows = sortedRows(state.estimates ?? []);
    const tbody = $('estimate-table').tBodies[0];
    const hadFocus = tbody.contains(document.activeElement) ? document.activeElement.dataset.ftype : null;
    const frag = document.createDocumentFragment();
    const selected = $('type-select').value || state.recommended;
    const rec = recommendedType();
    let tabStop = null;
    for (const r of rows) {
        const blocked = r.needs_imatrix && !state.imatrix;
        const refused = !!r.error && !blocked;
        const fit = fitsInfo(r);
        const tr = el('tr', {
            dataset: { ftype: r.name, bytes: String(r.file_size) },
            class: [r.name === rec ? 'recommended' : '', blocked || refused ? 'disabled' : 'selectable',
                    r.name === selected ? 'selected' : ''].join(' ').trim(),
        });
        if (blocked) tr.setAttribute('aria-disabled', 'true');
        tr.dataset.disabled = blocked || refused ? 'true' : 'false';
        if (r.name === selected) tr.setAttribute('aria-selected', 'true');
        if (r.needs_imatrix) tr.dataset.imatrix = 'required';
        const nameCell = el('td', { class: 'ftype' }, r.name);
        if (r.name === rec) nameCell.append(' ', el('span', { class: 'tag rec', text: 'recommended' }));
        if (r.needs_imatrix) nameCell.append(' ', el('span', { class: 'tag imx', text: 'imatrix', title: blocked ? 'Load an importance matrix to enable this type' : 'Uses the loaded importance matrix' }));
        if (r.description && r.description !== r.name) nameCell.append(el('span', { class: 'sub', text: r.description }));
        const bytesCell = el('td', { class: 'num bytes', text: formatInt(r.file_size), title: `${formatBytes(r.file_size)} (${formatInt(r.file_size)} bytes)` });
        const gibCell = el('td', { class: 'num gib', text: formatGiB(r.file_size).replace(' GiB', '') });
        const fitCell = el('td', { class: 'fit' });
        if (refused) fitCell.append(el('span', { class: 'tag nofit', text: 'refused', title: r.error }));
        else if (blocked) fitCell.append(el('span', { class: 'tag imx', text: 'needs imatrix', title: 'Load an importance matrix to enable this type' }));
        else if (fit) {
            fitCell.dataset.fits = String(fit.fits);
            fitCell.append(el('span', { class: `tag ${fit.fits ? 'fit' : 'nofit'}`, text: fit.fits ? 'fits' : 'too big',
                                        title: `${formatBytes(fit.need)} with the KV cache and compute buffers` }),
                el('span', { class: 'ctx', text: fit.maxCtx > 0 ? ` ≤ ${formatTokens(fit.maxCtx)} ctx` : '',
                             title: fit.maxCtx > 0 ? `largest context that fits: ${formatInt(fit.maxCtx)} tokens` : '' }));
        } else fitCell.append(el('span', { class: 'muted', text: '–' }));
        tr.append(nameCell, bytesCell, gibCell,
            el('td', { class: 'num', text: r.bpw.toFixed(2) }),
            el('td', { class: 'num fallbacks', text: String(r.fallbacks), title: 'tensors whose row length forced another type' }),
            fitCell,
            el('td', { class: 'note', text: refused ? `Not possible: ${r.error}` : (r.note ?? '') }));
        if (!blocked && !refused) {
            tr.tabIndex = -1;
            if (r.name === selected || !tabStop) tabStop = r.name === selected ? tr : tabStop ?? tr;
            tr.setAttribute('aria-label', `${r.name}: ${formatBytes(r.file_size)}, ${r.bpw.toFixed(2)} bits per weight; press Enter to choose`);
            tr.addEventListener('click', () => selectType(r.name));
            tr.addEventListener('keydown', (ev) => {
                if (ev.key === 'Enter' || ev.key === ' ') {
                    ev.preventDefault();
                    selectType(r.name);
                    $('estimate-table').querySelector(`tr[data-ftype="${r.name}"]`)?.focus();
                } else if (['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(ev.key)) {
                    ev.preventDefault();
                    moveFocus(tr, ev.key);
                }
            });
        }
        frag.append(tr);
    }
    if (tabStop) tabStop.tabIndex = 0;
    tbody.replaceChildren(frag);
    if (hadFocus) tbody.querySelector(`tr[data-ftype="${hadFocus}"]`)?.focus();
    for (const th of $('estimate-table').tHead.rows[0].cells) {
        const b = th.querySelector('button[data-sort]');
        const on = b && b.dataset.sort === tableSort.key && (b.textContent !== 'GiB' || tableSort.key !== 'file_size');
        th.setAttribute('aria-sort', on ? (tableSort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    renderMemorySummary();
}

export function initEstimateTable() {
    $('estimate-table').tHead.addEventListener('click', (ev) => {
        const b = ev.target.closest('button[data-sort]');
        if (!b) return;
        if (tableSort.key === b.dataset.sort) tableSort.dir = -tableSort.dir;
        else { tableSort.key = b.dataset.sort; tableSort.dir = 1; }
        renderEstimates();
    });
}


function trainedCtx(model) {
    const arch = metaValue(model, 'general.architecture');
    return Number(metaValue(model, `${arch}.context_length`) ?? 0);
}


export function renderMemorySummary() {
    const model = state.model;
    const box = $('memory-summary');
    if (!model || !state.estimates) return;
    const mem = state.memory;
    const refusal = $('memory-error');
    const refused = mem?.report?.memory?.error ?? null;
    // llama.cpp would not create this context (say, a quantized V cache without flash attention):
    // its reason, next to the options that cause it, and no figures.
    refusal.hidden = !refused;
    refusal.textContent = refused ? `llama.cpp would refuse this context: ${refused}.` : '';
    if (mem?.error) {
        box.replaceChildren(`No memory figures for this file: ${mem.error.message ?? mem.error}`);
        return;
    }
    const report = mem?.report;
    if (!report) { box.textContent = 'Working out memory…'; return; }
    const { nCtx, deviceBytes } = memoryInputs();
    const m = report.memory;
    const name = $('type-select').value || state.recommended;
    const f = mem.byName.get(name);
    const parts = [];
    const p = f ? memoryParts(report, f) : null;
    Object.assign(box.dataset, { ftype: name, ctx: String(nCtx), kvBytes: String(m.kv_bytes), otherBytes: String(m.other_bytes),
                                 recurrentBytes: String(m.recurrent_bytes ?? 0),
                                 totalBytes: String(f?.memory_bytes ?? ''), maxCtx: String(f?.max_ctx ?? 0), fits: String(!!f?.fits) });
    if (refused) {
        parts.push(el('p', { class: 'mem-line', text: 'No memory figures for these options: llama.cpp would not run the model with them.' }));
    } else if (p) {
        const trained = trainedCtx(model);
        const terms = memoryTerms(p, m.kv_type).map(([label, bytes]) => `${label} ${formatBytes(bytes)}`).join(' + ');
        parts.push(el('p', { class: 'mem-line' },
            el('strong', { text: name }), ` at ${formatInt(nCtx)} tokens: ${terms} = `,
            el('strong', { text: formatBytes(p.total) }), ` of ${formatBytes(deviceBytes)} `,
            el('span', { class: `tag ${f.fits ? 'fit' : 'nofit'}`, text: f.fits ? 'fits' : 'does not fit' })));
        parts.push(el('p', { class: 'mem-line' }, f.max_ctx
            ? `Context that still fits with ${name}: about ${formatInt(f.max_ctx)} tokens` +
              (trained && f.max_ctx > trained ? ` (the model was trained for ${formatInt(trained)}).` : '.')
            : `${name}'s weights and buffers alone do not fit in ${formatBytes(deviceBytes)}.`));
    }
    const rec = refused ? null : report.recommendation;  // with no figures, nothing is said to fit
    box.dataset.recommended = rec?.name ?? '';
    if (rec?.name) {
        parts.push(el('p', { class: 'mem-line rec-line' }, 'Recommended for this memory and context: ', el('strong', { text: rec.name }),
            ` (${rec.reason})` + (rec.advice?.length ? `; ${rec.advice.join('; ')}.` : '.')));
    } else if (rec) {
        parts.push(el('p', { class: 'mem-line rec-line' }, el('strong', { text: 'No type fits' }), `: ${rec.reason}.`));
    }
    const optionsSet = quantizeArgs().length > 0;
    parts.push(el('p', { class: 'mem-line muted small', text: 'KV cache, recurrent state, output and compute buffers follow llama.cpp ' +
        `(flash attention ${m.flash_attn === false ? 'off' : 'on'}, micro-batch ${m.ubatch ?? kDefaultUbatch}, ` +
        `${m.parallel ?? 1} sequence${(m.parallel ?? 1) === 1 ? '' : 's'}; context padded to 256 cells, sliding-window layers, ` +
        'per-layer KV heads); see docs/ESTIMATES.md.' +
        (optionsSet ? ' Memory uses each type\'s default recipe; the options above are not included.' : '') }));
    box.replaceChildren(...parts);
}
