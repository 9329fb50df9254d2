// The current choice (the type, its options, the memory budget) and what follows it everywhere
// on the page: the sticky action bar (type, exact size, saving, Quantize/Cancel/Save and the
// choice's error), the plan view, the command lines, the stacked memory bar and the GPU formats.
// Every view that changes the choice calls choiceChanged(); the rest reads from here.
import { gpuFormatSizes, kDefaultExl2Bpw, parameterSplit } from '../wasm/gpu_formats.mjs';
import { $, el } from '../dom.mjs';
import { modelBridge, recommendedType, state } from '../state.mjs';
import { formatBytes, formatInt } from '../units.mjs';
import { memoryInputs } from './estimates.mjs';
import { quantizeArgs } from './options.mjs';
import { setPlan } from './tensors.mjs';

export const currentType = () => $('type-select').value || '';
export const currentRow = () => state.estimates?.find((r) => r.name === currentType()) ?? null;

// Why the current choice cannot be quantized, or '' when it can.
export function choiceError() {
    const r = currentRow();
    if (!state.model) return '';
    if (state.model.info.tensors.length === 0) return 'This file has no tensors: there is nothing to quantize.';
    if (state.optionErrors?.length) return `Fix the options first: ${state.optionErrors[0]}`;
    if (!r) return '';
    if (r.needs_imatrix && !state.imatrix) return `${r.name} needs an importance matrix: add one with "Add imatrix…".`;
    if (r.error) return `${r.name} is not possible: ${r.error}`;
    return '';
}

export function choiceChanged() {
    markStale();
    renderActionBar();
    renderCommand();
    renderMemoryBar();
    renderGpuTable();
    refreshPlan();
}

// ---- the action bar ----

// "−68%": the output against the input, with a real minus sign.
export function savingText(outBytes, inBytes) {
    if (!inBytes) return '';
    const pct = Math.round((outBytes - inBytes) / inBytes * 100);
    return pct < 0 ? `\u2212${-pct}%` : pct > 0 ? `+${pct}%` : '±0%';
}

export function renderActionBar() {
    const bar = $('action-bar');
    const model = state.model;
    bar.hidden = !model;
    document.body.classList.toggle('has-action-bar', !!model);
    if (!model) return;
    const sel = $('type-select'), mirror = $('bar-type');
    if (mirror.options.length !== sel.options.length || [...sel.options].some((o, i) => mirror.options[i]?.value !== o.value ||
                                                                                mirror.options[i]?.disabled !== o.disabled)) {
        mirror.replaceChildren(...[...sel.options].map((o) => el('option', { value: o.value, text: o.value, disabled: o.disabled })));
    }
    mirror.value = sel.value;
    mirror.disabled = sel.disabled || !sel.options.length;
    // A file with no tensors has no types: no empty menu, and the bar's status says why.
    mirror.hidden = model.info.tensors.length === 0;
    const r = currentRow();
    const size = $('bar-size'), saving = $('bar-saving');
    if (r && !r.error) {
        size.textContent = `${formatBytes(r.file_size)}`;
        size.title = `${formatInt(r.file_size)} bytes`;
        size.dataset.bytes = String(r.file_size);
        size.append(el('span', { class: 'exact', text: ` (${formatInt(r.file_size)} bytes)` }));
        saving.textContent = savingText(r.file_size, model.fileSize);
        saving.title = `against the input's ${formatBytes(model.fileSize)}`;
    } else {
        size.textContent = '';
        delete size.dataset.bytes;
        saving.textContent = '';
    }
    // The one recommendation, as the table and the memory panel show it.
    const rec = recommendedType(), recBox = $('bar-rec');
    bar.dataset.recommended = rec ?? '';
    if (!rec || !state.estimates) recBox.replaceChildren();
    else if (rec === currentType()) recBox.replaceChildren(el('span', { class: 'tag rec', text: '★ recommended' }));
    else {
        recBox.replaceChildren(el('button', { type: 'button', class: 'link', text: `★ recommended: ${rec}`,
                                              title: 'for this memory and context', onclick: () => {
                                                  if (state.run) return;
                                                  const sel = $('type-select');
                                                  sel.value = rec;
                                                  sel.dispatchEvent(new Event('change'));
                                              } }));
    }
    const status = $('bar-status');
    const err = choiceError();
    status.classList.toggle('bad', !!err);
    status.textContent = err || (state.run ? $('bar-status').dataset.progress ?? '' : stalenessText());
    status.hidden = !status.textContent;
}

// A finished output made with another type or options is stale: it stays savable, under its
// own name, and the bar says it is not the current choice.
function markStale() {
    const out = state.output;
    if (!out) return;
    const stale = out.type !== currentType() || out.argsKey !== JSON.stringify(quantizeArgs()) || out.imatrixName !== (state.imatrix?.name ?? null);
    out.stale = stale;
    const save = $('save-button');
    save.textContent = `Save ${out.name} (${formatBytes(out.result.size)})`;
    save.title = stale ? `made for ${out.type}, not the current choice` : '';
    save.classList.toggle('stale', stale);
    // The next step is the prominent button: Save for a fresh output, Quantize again for a stale one.
    save.classList.toggle('primary', !stale);
    $('quantize-button').classList.toggle('primary', stale);
    $('action-bar').dataset.stale = String(stale);
}

function stalenessText() {
    const out = state.output;
    if (!out) return '';
    if (out.stale) return `Made for ${out.type}${out.type === currentType() ? ' with other options' : ''} — quantize again for the current choice.`;
    return `Ready to save: ${out.name} (${formatBytes(out.result.size)}).`;
}

// ---- the command lines ----

// A word as a POSIX shell reads it back.
export function shellQuote(word) {
    return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// `convertedName`: the input is a checkpoint folder, which llama.cpp converts first (its
// converter writes FOLDER/convertedName) and gguf-squash quantizes in one pass.
export function commandLines({ args, imatrixName, input, output, type, convertedName = null }) {
    const options = [...(imatrixName ? ['--imatrix', imatrixName] : []), ...args];
    const line = (inp) => [...options, inp, output, type].map(shellQuote).join(' ');
    const llama = convertedName
        ? `python convert_hf_to_gguf.py ${shellQuote(input)} --outtype auto && llama-quantize ${line(`${input}/${convertedName}`)}`
        : `llama-quantize ${line(input)}`;
    return { llama, squash: `gguf-squash quantize ${line(input)}` };
}

export function renderCommand() {
    const model = state.model;
    const type = currentType();
    if (!model || !type) {
        $('command').textContent = '';
        $('command-squash').textContent = '';
        return;
    }
    const lines = commandLines({ args: quantizeArgs(), imatrixName: state.imatrix?.name, input: model.names[0],
                                 output: `${model.outputBase}-${type}.gguf`, type, convertedName: model.checkpoint?.convertedName });
    $('command').textContent = lines.llama;
    $('command-squash').textContent = lines.squash;
}

function initCopyButtons() {
    for (const b of document.querySelectorAll('button.copy[data-copy]')) {
        b.addEventListener('click', async () => {
            const text = $(b.dataset.copy).textContent;
            const status = $('copy-status');
            try {
                await navigator.clipboard.writeText(text);
                status.textContent = 'Copied.';
            } catch {
                // No clipboard permission: select the text so Ctrl+C copies it.
                const range = document.createRange();
                range.selectNodeContents($(b.dataset.copy));
                getSelection().removeAllRanges();
                getSelection().addRange(range);
                status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
            }
        });
    }
}

// ---- the plan ----

let planToken = 0;
export async function refreshPlan() {
    const model = state.model;
    const r = currentRow();
    const token = ++planToken;
    if (!model || !r || r.error || (r.needs_imatrix && !state.imatrix) || state.optionErrors?.length) {
        setPlan(null);
        return;
    }
    try {
        const plan = await modelBridge.plan(model.modelId, { args: quantizeArgs(), type: r.name, imatrix: state.imatrix?.bytes,
                                                             imatrixName: state.imatrix?.name }, { signal: state.abort?.signal });
        if (token !== planToken || model !== state.model) return;
        setPlan(plan);
    } catch {
        if (token === planToken) setPlan(null);  // the row says why the type is refused
    }
}

// ---- the memory bar ----

// The parts of the memory llama.cpp allocates for one type, in bytes, from the core's memory
// report. report.memory is for the report's own type (memory.ftype); every part but the weights
// is the same for all types (the KV cache, recurrent state, output and compute buffers follow
// the model's shape and the run options, not its tensor types), so another type's weights are
// its total minus those parts. Null when llama.cpp would refuse the context (memory.error).
export function memoryParts(report, f) {
    const m = report.memory;
    if (m.error || f.memory_bytes == null) return null;
    const kv = m.kv_bytes ?? 0, recurrent = m.recurrent_bytes ?? 0;
    const output = m.output_bytes ?? 0;
    const compute = m.compute_bytes ?? Math.max(0, (m.other_bytes ?? 0) - output);
    const other = output + compute;
    const fixed = kv + recurrent + other;
    const weights = f.name === m.ftype ? m.weights_bytes : f.memory_bytes - fixed;
    return { weights, kv, recurrent, output, compute, other, total: f.memory_bytes };
}

// The parts as [label, bytes, class] in the order llama.cpp allocates them; recurrent state only
// for a model that has it, and the KV cache said to be absent for one that has none.
export function memoryTerms(p, kvType) {
    const terms = [['weights', p.weights, 'weights']];
    if (p.kv > 0 || p.recurrent === 0) terms.push([`KV cache${kvType ? ` (${kvType})` : ''}`, p.kv, 'kv']);
    if (p.recurrent > 0) terms.push(['recurrent state', p.recurrent, 'recurrent']);
    terms.push(['output', p.output, 'output'], ['compute', p.compute, 'compute']);
    return terms;
}

const svgNs = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, ...children) => {
    const node = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    node.append(...children);
    return node;
};

export function renderMemoryBar() {
    const box = $('memory-bar');
    const report = state.memory?.report;
    const f = report && state.memory.byName.get(currentType());
    const parts = f ? memoryParts(report, f) : null;
    if (!state.model || !parts) {
        box.replaceChildren();
        for (const k of ['weights', 'kv', 'recurrent', 'other', 'budget']) delete box.dataset[k];
        if (report?.memory?.error) box.dataset.refused = report.memory.error;
        renderContextChart();
        return;
    }
    delete box.dataset.refused;
    const budget = memoryInputs().deviceBytes;
    // data-kv is the KV cache alone, data-recurrent the recurrent state, data-other output + compute.
    Object.assign(box.dataset, { weights: String(parts.weights), kv: String(parts.kv), recurrent: String(parts.recurrent),
                                 other: String(parts.other), budget: String(budget), type: currentType(),
                                 fits: String(parts.total <= budget) });
    const scale = Math.max(budget, parts.total) || 1;
    const W = 600, H = 30;
    const x = (b) => b / scale * W;
    const terms = memoryTerms(parts);
    const names = { weights: 'Weights', kv: 'KV cache', recurrent: 'Recurrent state', output: 'Output buffer', compute: 'Compute buffer' };
    // A part too small to see at this scale (a small model against a large budget) is drawn 2
    // units wide of the 600, so that every part has a visible swatch in the bar.
    let at = 0;
    const rects = [];
    for (const [, bytes, cls] of terms) {
        const w = bytes > 0 ? Math.max(2, x(bytes)) : 0;
        rects.push(svg('rect', { class: `seg ${cls}`, x: at.toFixed(2), y: 4, width: w.toFixed(2), height: H - 8, rx: Math.min(3, w / 2) },
            svg('title', {}, `${names[cls]}: ${formatBytes(bytes)}`)));
        at += w;
    }
    const over = parts.total > budget;
    const label = `${currentType()}: ${terms.map(([, bytes, cls]) => `${names[cls].toLowerCase()} ${formatBytes(bytes)}`).join(', ')}; ` +
        `${formatBytes(parts.total)} of ${formatBytes(budget)} ` +
        (over ? `(${formatBytes(parts.total - budget)} too much)` : `(${formatBytes(budget - parts.total)} free)`);
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'bar-chart', role: 'img', 'aria-label': label, preserveAspectRatio: 'none' },
        svg('rect', { class: 'track', x: 0, y: 4, width: x(budget).toFixed(2), height: H - 8, rx: 3 }),
        ...rects,
        svg('line', { class: `budget${over ? ' over' : ''}`, x1: x(budget).toFixed(2), x2: x(budget).toFixed(2), y1: 0, y2: H }));
    const legend = el('ul', { class: 'legend' }, ...terms.map(([, bytes, cls]) =>
        el('li', { dataset: { part: cls, bytes: String(bytes) } }, el('span', { class: `swatch ${cls}`, 'aria-hidden': 'true' }),
           `${names[cls]} ${formatBytes(bytes)}`)),
        el('li', { class: over ? 'bad' : 'good', text: `${formatBytes(parts.total)} of ${formatBytes(budget)} ${over ? '— does not fit' : '— fits'}` }));
    box.replaceChildren(chart, legend);
    renderContextChart();
}

// ---- the largest context that fits, per type ----

const kChartTypes = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'IQ4_XS', 'Q3_K_L', 'Q3_K_M', 'IQ3_M', 'Q2_K', 'IQ2_M', 'IQ2_XXS'];

function trainedContext(model) {
    const arch = model.info.metadata['general.architecture']?.value;
    return Number(model.overview?.[`${arch}.context_length`] ?? model.info.metadata[`${arch}.context_length`]?.value ?? 0);
}

// A horizontal bar per type: the largest context that fits in the budget, capped at (and
// marked against) the training context; an SVG with role=img and a table saying the same.
export function renderContextChart() {
    const box = $('ctx-chart');
    const model = state.model, mem = state.memory;
    if (!model || !mem?.report || !state.estimates) { box.replaceChildren(); return; }
    const trained = trainedContext(model);
    const rows = kChartTypes.map((name) => {
        const r = state.estimates.find((x) => x.name === name);
        const f = mem.byName.get(name);
        if (!r || r.error || (r.needs_imatrix && !state.imatrix) || !f || f.memory_bytes == null) return null;
        return { name, maxCtx: f.max_ctx ?? 0 };
    }).filter(Boolean);
    if (!rows.length) { box.replaceChildren(); return; }
    const cap = trained > 0 ? trained : Math.max(...rows.map((r) => r.maxCtx), 1);
    const W = 600, rowH = 22, left = 70, right = 16, top = 6, H = top + rows.length * rowH + 22;
    const x = (v) => left + Math.min(v, cap) / cap * (W - left - right);
    const asked = memoryInputs().nCtx;
    const bars = rows.map((r, i) => {
        const y = top + i * rowH;
        const beyond = trained > 0 && r.maxCtx >= trained;
        return svg('g', { class: `row${r.name === currentType() ? ' current' : ''}` },
            svg('text', { x: left - 6, y: y + 15, 'text-anchor': 'end', class: 'label' }, r.name),
            svg('rect', { x: left, y: y + 4, width: Math.max(0, x(r.maxCtx) - left).toFixed(1), height: rowH - 8, rx: 3,
                          class: `bar${r.maxCtx === 0 ? ' none' : ''}${beyond ? ' capped' : ''}` }),
            svg('text', { x: Math.min(x(r.maxCtx) + 4, W - right - 4), y: y + 15,
                          class: `value${x(r.maxCtx) > W - 120 ? ' inside' : ''}`, 'text-anchor': x(r.maxCtx) > W - 120 ? 'end' : 'start' },
                r.maxCtx === 0 ? 'does not fit' : beyond ? `≥ ${formatInt(trained)} (trained)` : formatInt(r.maxCtx)));
    });
    const axisY = top + rows.length * rowH + 4;
    const marks = [svg('line', { x1: x(cap), x2: x(cap), y1: 0, y2: axisY, class: 'trained' }),
        svg('text', { x: x(cap), y: axisY + 14, 'text-anchor': 'end', class: 'axis' },
            trained > 0 ? `training context ${formatInt(trained)}` : `${formatInt(cap)} tokens`)];
    if (asked <= cap) marks.push(svg('line', { x1: x(asked), x2: x(asked), y1: 0, y2: axisY, class: 'asked' }));
    const budget = formatBytes(memoryInputs().deviceBytes);
    const label = `Largest context that fits in ${budget}, per type` + (trained ? `, capped at the training context of ${formatInt(trained)} tokens` : '') + ': ' +
        rows.map((r) => `${r.name} ${r.maxCtx === 0 ? 'does not fit' : formatInt(Math.min(r.maxCtx, cap)) + (trained && r.maxCtx >= trained ? ' or more' : '')}`).join(', ');
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'ctx-svg', role: 'img', 'aria-label': label }, ...bars, ...marks);
    const table = el('table', { class: 'ctx-table' },
        el('caption', { text: 'The same as a table' }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Type' }), el('th', { scope: 'col', class: 'num', text: 'Largest context that fits' }))),
        el('tbody', {}, ...rows.map((r) => el('tr', { dataset: { ftype: r.name, maxCtx: String(r.maxCtx) } },
            el('th', { scope: 'row', text: r.name }),
            el('td', { class: 'num', text: r.maxCtx === 0 ? 'does not fit' : formatInt(r.maxCtx) + (trained && r.maxCtx > trained ? ` (beyond the training context of ${formatInt(trained)})` : '') })))));
    const notes = [];
    if (trained && asked > trained) {
        notes.push(el('p', { class: 'ctx-warning', 'data-testid': 'ctx-beyond', text: `The context asked for (${formatInt(asked)} tokens) is beyond the ` +
            `${formatInt(trained)} the model was trained for: quality usually drops past it unless the model was made for longer (RoPE scaling).` }));
    }
    box.replaceChildren(el('h4', { text: `Largest context that fits in ${budget}` }), chart, ...notes,
        el('details', { class: 'ctx-details' }, el('summary', { text: 'Show as a table' }), table));
}

// ---- GPU formats ----

export function renderGpuTable() {
    const model = state.model;
    const tbody = $('gpu-table').tBodies[0];
    if (!model || !model.info.tensors.length) { tbody.replaceChildren(); return; }
    const bpwInput = Number($('exl2-bpw').value);
    const exl2Bpw = bpwInput >= 2 && bpwInput <= 8 ? bpwInput : kDefaultExl2Bpw;
    const split = parameterSplit({ params: model.nParams, tensors: model.info.tensors });
    const report = state.memory?.report;
    const budget = memoryInputs().deviceBytes;
    // The KV cache, recurrent state and buffers do not depend on the format; none when refused.
    const m = report?.memory;
    const extra = m && !m.error ? m.total_bytes - m.weights_bytes : null;
    const rows = gpuFormatSizes(split, { exl2Bpw }).map((g) => {
        const need = extra != null ? g.bytes + extra : null;
        const fits = need == null ? null : need <= budget;
        const tr = el('tr', { dataset: { format: g.format, bytes: String(g.bytes), estimate: 'true', ...(fits == null ? {} : { fits: String(fits) }) } },
            el('th', { scope: 'row' }, g.name, el('span', { class: 'sub', text: g.detail })),
            el('td', { class: 'num size', text: `≈ ${formatBytes(g.bytes)}`, title: `about ${formatInt(g.bytes)} bytes (estimate)` }),
            el('td', { class: 'num bpw', text: g.bpw.toFixed(2) }),
            el('td', { class: 'fit' }, fits == null ? el('span', { class: 'muted', text: '–' })
                : el('span', { class: `tag ${fits ? 'fit' : 'nofit'}`, text: fits ? 'fits' : 'too big',
                               title: `about ${formatBytes(need)} with the KV cache and buffers` })),
            el('td', { class: 'note', text: g.hardware }));
        return tr;
    });
    tbody.replaceChildren(...rows);
}

export function initChoice() {
    initCopyButtons();
    $('bar-type').addEventListener('change', () => {
        const sel = $('type-select');
        sel.value = $('bar-type').value;
        sel.dispatchEvent(new Event('change'));
    });
    $('exl2-bpw').addEventListener('input', renderGpuTable);
    $('mem-preset').addEventListener('change', () => {
        const v = $('mem-preset').value;
        if (!v) return;
        $('mem-device').value = String(parseFloat(v));
        $('mem-device').dispatchEvent(new Event('input', { bubbles: true }));
    });
    $('mem-device').addEventListener('input', (ev) => {
        if (!ev.isTrusted) return;
        const v = Number($('mem-device').value);
        const preset = [...$('mem-preset').options].find((o) => o.value && parseFloat(o.value) === v);
        $('mem-preset').value = preset ? preset.value : '';
    });
}
