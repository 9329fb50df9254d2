// The page: reads a dropped model's header by slices, shows what is inside, prices every type
// from the quantizer's own plan, and quantizes through the worker bridge. All model logic is in
// the WebAssembly core; this file only moves bytes and renders results.
import { GgufError, loadGgufSquash } from './wasm/gguf_squash.mjs';
import { formatBytes, formatDuration, formatGiB, formatInt, formatParams, formatTokens, GiB } from './units.mjs';
import { poolSize, QuantizeBridge, WorkerBridge } from './bridge.mjs';
import { openEstimate } from './wasm/estimate.mjs';
import { discardOutput, removeStaleOutputs, saveOutput, tempOutputName } from './save.mjs';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
        if (k === 'class') node.className = v;
        else if (k === 'dataset') Object.assign(node.dataset, v);
        else if (k === 'text') node.textContent = v;
        else if (k in node && typeof v !== 'string') node[k] = v;
        else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
};

const state = {
    core: null,         // Promise<GgufSquash>
    model: null,        // { files, info, handle } from core.openModel
    imatrix: null,      // { file, bytes, summary } once an imatrix is loaded
    estimates: null,    // rows from core.estimate
    run: null,          // the running quantization: { controller, ... }
    output: null,       // { sink, name, size } once a quantization finished
    generation: 0,      // bumped on every new model, so stale async work is dropped
    metadataAbort: null,  // AbortController of the metadata viewer's array fetches (per model)
};

function engine() {
    state.core ??= loadGgufSquash().then((core) => {
        $('engine').textContent = `engine: wasm ${core.variant === 'simd' ? 'SIMD' : 'baseline'}`;
        return core;
    }, (e) => {
        $('engine').textContent = 'engine unavailable';
        state.core = null;
        throw e;
    });
    return state.core;
}

// ---- errors ---------------------------------------------------------------------------------

function showError(title, err) {
    const box = $('error');
    box.replaceChildren();
    const msg = err instanceof GgufError ? `${err.message}`
        : (err?.message ?? String(err));
    const kind = err instanceof GgufError ? ` (${err.code.replace(/_/g, ' ')})` : '';
    box.append(el('strong', { text: title + kind + ': ' }), msg);
    box.hidden = false;
}

function clearError() {
    $('error').hidden = true;
    $('error').replaceChildren();
}

// ---- theme ----------------------------------------------------------------------------------

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

// ---- loading files --------------------------------------------------------------------------

const isImatrixName = (name) => /\.dat$/i.test(name) || /imatrix/i.test(name);

async function openFiles(fileList) {
    const files = [...fileList];
    if (!files.length) return;
    const imatrixFiles = files.filter((f) => isImatrixName(f.name));
    const modelFiles = files.filter((f) => !isImatrixName(f.name));
    if (modelFiles.length) await openModel(modelFiles);
    if (imatrixFiles.length) await openImatrix(imatrixFiles[0]);
}

async function openModel(files) {
    const generation = ++state.generation;
    clearError();
    cancelRun();
    resetOutput();
    state.model?.free?.();
    state.model = null;
    releaseArrayItems();
    state.estimates = null;
    state.memory?.est?.close();
    state.memory = null;
    for (const id of ['overview-section', 'estimate-section', 'quantize-section', 'tensor-section',
                      'metadata-section']) $(id).hidden = true;
    $('file-summary').textContent = `Reading ${files.map((f) => f.name).join(', ')}…`;
    const names = files.map((f) => f.name).join(', ');
    try {
        const core = await engine();
        const t0 = performance.now();
        const model = await core.openModel(files);
        if (generation !== state.generation) { model.free(); return; }
        model.viewId = generation;  // names this model to the metadata worker
        state.model = model;
        const ms = performance.now() - t0;
        const headerBytes = model.parts.reduce((a, p) => a + (p.info.bytesRead ?? 0), 0);
        $('file-summary').dataset.headerBytes = String(headerBytes);
        $('file-summary').textContent =
            `${names} · ${formatBytes(model.fileSize)} · only its ${formatBytes(headerBytes)} header read, in ${ms.toFixed(0)} ms`;
        $('intro').hidden = true;
        renderOverview(model);
        renderTensors(model);
        renderMetadata(model);
        await refreshEstimates();
        await openMemoryModel(model);
    } catch (e) {
        if (generation !== state.generation) return;
        $('file-summary').textContent = '';
        showError(`Cannot read ${names}`, e);
    }
}

async function openImatrix(file) {
    clearError();
    try {
        const core = await engine();
        const bytes = new Uint8Array(await file.arrayBuffer());
        const summary = core.inspectImatrix(bytes);
        state.imatrix = { file, bytes, summary };
        $('file-summary').dataset.imatrix = file.name;
        renderFileSummaryImatrix();
        await refreshEstimates();
        await refreshMemory();
    } catch (e) {
        state.imatrix = null;
        renderFileSummaryImatrix();
        showError(`Cannot use ${file.name} as an importance matrix`, e);
        await refreshEstimates();
        await refreshMemory();
    }
}

function renderFileSummaryImatrix() {
    let p = $('imatrix-summary');
    if (!p) {
        p = el('p', { id: 'imatrix-summary', class: 'files' });
        $('file-summary').after(p);
    }
    const im = state.imatrix;
    p.textContent = im ? `imatrix: ${im.file.name} · ${formatInt(im.summary.entries)} tensors` +
        (im.summary.chunk_count ? ` · ${im.summary.chunk_count} chunks` : '') +
        (im.summary.datasets?.length ? ` of ${im.summary.datasets.join(', ')}` : '') : '';
}

// ---- overview -------------------------------------------------------------------------------

// A metadata value; an array whole, even where model.info holds only its first items.
function metaValue(model, key) {
    const entry = model.info.metadata[key];
    if (!entry) return undefined;
    return entry.truncated ? model.arrayItems(key) : entry.value;
}

function renderOverview(model) {
    const info = model.info;
    const arch = metaValue(model, 'general.architecture');
    const k = (suffix) => (arch ? metaValue(model, `${arch}.${suffix}`) : undefined);
    const tokens = info.metadata['tokenizer.ggml.tokens'];
    const vocab = tokens ? tokens.len : k('vocab_size');
    const fileType = metaValue(model, 'general.file_type');
    const fileTypeName = fileType !== undefined ? model.ftypeName(fileType) : guessTypeName(info);
    const heads = k('attention.head_count');
    const kvHeads = k('attention.head_count_kv');
    const stats = [
        ['Architecture', arch ?? '–'],
        ['Name', metaValue(model, 'general.name') ?? '–'],
        ['Parameters', `${formatParams(model.nParams)} (${formatInt(model.nParams)})`],
        ['File type', fileTypeName],
        ['File size', `${formatBytes(model.fileSize)}`],
        ['Bits per weight', model.nParams ? (model.tensorBytes * 8 / model.nParams).toFixed(2) : '–'],
        ['Context length', k('context_length') !== undefined ? formatInt(k('context_length')) : '–'],
        ['Layers', k('block_count') ?? '–'],
        ['Embedding size', k('embedding_length') !== undefined ? formatInt(k('embedding_length')) : '–'],
        ['Heads / KV heads', heads !== undefined ? `${fmtHeads(heads)} / ${fmtHeads(kvHeads ?? heads)}` : '–'],
        ['Experts', k('expert_count') ? `${k('expert_count')} (${k('expert_used_count') ?? '?'} used)` : 'none'],
        ['Vocabulary', vocab !== undefined ? formatInt(vocab) : '–'],
    ];
    const dl = $('overview');
    dl.replaceChildren(...stats.map(([t, d]) => el('div', {}, el('dt', { text: t }), el('dd', { text: String(d) }))));
    $('overview-sub').textContent = `GGUF v${info.version} · ${formatInt(info.tensors.length)} tensors · ` +
        `${formatInt(Object.keys(info.metadata).length)} keys` + (model.files.length > 1 ? ` · ${model.files.length} shards` : '');
    $('overview-section').hidden = false;
}

const fmtHeads = (h) => Array.isArray(h) ? `${Math.min(...h)}–${Math.max(...h)}` : String(h);

function guessTypeName(info) {
    const counts = new Map();
    for (const t of info.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + t.nbytes);
    let best = null;
    for (const [type, n] of counts) if (!best || n > best[1]) best = [type, n];
    return best ? `mostly ${best[0]} (guessed)` : '–';
}

// Dotted names wrap at their dots on narrow screens, not in the middle of a word.
function breakable(name) {
    const parts = [];
    name.split('.').forEach((p, i) => {
        if (i) parts.push('.', document.createElement('wbr'));
        parts.push(p);
    });
    return parts;
}

// ---- tensor table ---------------------------------------------------------------------------

const tensorView = { sortKey: 'index', dir: 1, filter: '' };

function renderTensors(model) {
    tensorView.rows = model.info.tensors.map((t, index) => ({
        index, name: t.name, type: t.type, shape: t.shape,
        elements: t.shape.reduce((a, b) => a * b, 1), nbytes: t.nbytes,
    }));
    drawTensorRows();
    $('tensor-section').hidden = false;
}

function drawTensorRows() {
    const { sortKey, dir } = tensorView;
    const needle = tensorView.filter.trim().toLowerCase();
    let rows = tensorView.rows ?? [];
    if (needle) rows = rows.filter((r) => r.name.toLowerCase().includes(needle) || r.type.toLowerCase() === needle ||
                                          r.type.toLowerCase().includes(needle));
    const key = sortKey === 'shape' ? 'elements' : sortKey;
    rows = [...rows].sort((a, b) => {
        const x = a[key], y = b[key];
        const c = typeof x === 'string' ? x.localeCompare(y, 'en', { numeric: true }) : x - y;
        return c * dir || a.index - b.index;
    });
    const tbody = $('tensor-table').tBodies[0];
    const frag = document.createDocumentFragment();
    for (const r of rows) {
        frag.append(el('tr', {},
            el('td', { class: 'num', text: String(r.index) }),
            el('td', {}, ...breakable(r.name)),
            el('td', { text: r.type }),
            el('td', { class: 'mono', text: r.shape.join(' × ') }),
            el('td', { class: 'num', text: formatInt(r.nbytes), title: formatBytes(r.nbytes) })));
    }
    tbody.replaceChildren(frag);
    for (const th of $('tensor-table').tHead.rows[0].cells) {
        const b = th.querySelector('button');
        th.setAttribute('aria-sort', b?.dataset.sort === sortKey ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    const total = tensorView.rows?.length ?? 0;
    $('tensor-count').textContent = rows.length === total ? `${formatInt(total)} tensors`
        : `${formatInt(rows.length)} of ${formatInt(total)} tensors`;
}

function initTensorTable() {
    $('tensor-table').tHead.addEventListener('click', (ev) => {
        const b = ev.target.closest('button[data-sort]');
        if (!b) return;
        if (tensorView.sortKey === b.dataset.sort) tensorView.dir = -tensorView.dir;
        else { tensorView.sortKey = b.dataset.sort; tensorView.dir = 1; }
        drawTensorRows();
    });
    $('tensor-search').addEventListener('input', (ev) => {
        tensorView.filter = ev.target.value;
        drawTensorRows();
    });
}

// ---- metadata viewer ------------------------------------------------------------------------

const kPreviewItems = 8;      // items shown before an array is expanded
const kExpandStep = 500;      // items added per "show more", so a 150k-token vocab stays responsive

function formatScalar(v, type) {
    if (type === 'STRING') return JSON.stringify(v);
    // Float32 values print with the digits a float32 holds (the JSON has the shortest exact form).
    if (type === 'FLOAT32' && typeof v === 'number') return String(Number(v.toPrecision(7)));
    return String(v);
}

// The model's info holds only the first items of each array (a 150k-token vocabulary would be
// ~100 MB of strings); the rest comes from a worker that keeps its own copy of the header open,
// so that a large "show more" does not block the page.
let metadataBridge = null;

function fetchArrayItems(model, key, start, count) {
    metadataBridge ??= new WorkerBridge(new URL('./worker.mjs', import.meta.url), { idleMs: 60_000, name: 'gguf-squash metadata' });
    return metadataBridge.call('arrayItems', { files: model.files.slice(0, 1), modelId: model.viewId, key, start, count },
                               { signal: state.metadataAbort?.signal });
}

// A new model: fetches for the old one stop, and the worker lets go of its header.
function releaseArrayItems() {
    state.metadataAbort?.abort();
    state.metadataAbort = new AbortController();
    metadataBridge?.terminate();
}

function metadataValueCell(model, key, entry) {
    const td = el('td', { class: 'value' });
    if (entry.type !== 'ARRAY') {
        td.textContent = formatScalar(entry.value, entry.type);
        return td;
    }
    let items = Array.isArray(entry.value) ? entry.value : [];
    let shown = Math.min(kPreviewItems, items.length);
    const text = el('span');
    const more = el('button', { type: 'button', class: 'expand' });
    const failure = el('span', { class: 'expand-error', role: 'alert', hidden: true, style: 'color: var(--bad); margin-left: 6px' });
    const itemText = (v) => v?.type === 'ARRAY' ? `[${formatInt(v.len)} items]` : formatScalar(v, entry.item_type);
    const draw = () => {
        text.textContent = `[${items.slice(0, shown).map(itemText).join(', ')}${shown < entry.len ? ', …' : ''}]`;
        const left = entry.len - shown;
        more.hidden = left <= 0;
        more.textContent = left > kExpandStep ? `show ${formatInt(kExpandStep)} more (${formatInt(left)} hidden)` : `show all ${formatInt(entry.len)}`;
        more.setAttribute('aria-label', `Show more items of this array; ${left} hidden`);
    };
    more.addEventListener('click', async () => {
        const want = Math.min(entry.len, shown + kExpandStep);
        more.disabled = true;
        more.setAttribute('aria-busy', 'true');
        failure.hidden = true;
        try {
            if (items.length < want) items = items.concat(await fetchArrayItems(model, key, items.length, want - items.length));
            shown = Math.min(want, items.length);
            draw();
        } catch (e) {
            if (e?.name === 'AbortError' || model !== state.model) return;
            failure.textContent = `Cannot read more items: ${e?.message ?? e}`;
            failure.hidden = false;
        } finally {
            more.disabled = false;
            more.removeAttribute('aria-busy');
        }
    });
    draw();
    td.append(text, more, failure);
    return td;
}

function renderMetadata(model) {
    const draw = () => {
        const needle = $('metadata-search').value.trim().toLowerCase();
        const frag = document.createDocumentFragment();
        for (const [key, entry] of Object.entries(model.info.metadata)) {
            if (needle && !key.toLowerCase().includes(needle)) continue;
            const type = entry.type === 'ARRAY' ? `${entry.item_type}[${formatInt(entry.len)}]` : entry.type;
            frag.append(el('tr', { dataset: { key } }, el('td', { class: 'key' }, ...breakable(key)),
                el('td', { class: 'mono', text: type }), metadataValueCell(model, key, entry)));
        }
        $('metadata-table').tBodies[0].replaceChildren(frag);
        const total = Object.keys(model.info.metadata).length;
        const shown = $('metadata-table').tBodies[0].rows.length;
        $('metadata-count').textContent = shown === total ? `${formatInt(total)} keys` : `${formatInt(shown)} of ${formatInt(total)} keys`;
    };
    $('metadata-search').oninput = draw;
    draw();
    $('metadata-section').hidden = false;
}

// ---- estimates ------------------------------------------------------------------------------

function quantizeArgs() {
    // The options panel, as llama-quantize's command-line options.
    const args = [];
    if ($('opt-pure').checked) args.push('--pure');
    if ($('opt-leave-output').checked) args.push('--leave-output-tensor');
    if ($('opt-allow-requantize').checked) args.push('--allow-requantize');
    if ($('opt-output-type').value) args.push('--output-tensor-type', $('opt-output-type').value);
    if ($('opt-embd-type').value) args.push('--token-embedding-type', $('opt-embd-type').value);
    for (const line of $('opt-tensor-types').value.split('\n').map((s) => s.trim()).filter(Boolean))
        args.push('--tensor-type', line);
    for (const line of $('opt-override-kv').value.split('\n').map((s) => s.trim()).filter(Boolean))
        args.push('--override-kv', line);
    if (state.imatrix) {
        for (const w of $('opt-include').value.split(',').map((s) => s.trim()).filter(Boolean))
            args.push('--include-weights', w);
        for (const w of $('opt-exclude').value.split(',').map((s) => s.trim()).filter(Boolean))
            args.push('--exclude-weights', w);
    }
    const prune = $('opt-prune').value.trim();
    if (prune) args.push('--prune-layers', prune);
    return args;
}

let estimateToken = 0;
async function refreshEstimates() {
    const model = state.model;
    if (!model) return;
    const token = ++estimateToken;
    const core = await engine();
    if (typeof core.estimate !== 'function') return;  // engine without the planner
    let rows;
    try {
        rows = core.estimate(model, { args: quantizeArgs(), imatrix: state.imatrix?.bytes, imatrixName: state.imatrix?.file.name });
    } catch (e) {
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

const kRecommended = 'Q4_K_M';

// ---- memory panel ---------------------------------------------------------------------------
// Weights + KV cache + compute at a context, per type, from the core's memory model through
// wasm/estimate.mjs (the same code as `gguf-squash estimate` and the widget; no second copy of
// its formulas here). The model's header stays open in the core while the user edits the inputs.

function memoryInputs() {
    const nCtx = Math.max(1, Math.floor(Number($('mem-context').value) || 1));
    const deviceBytes = Math.round(Math.max(0, Number($('mem-device').value) || 0) * GiB);
    return { nCtx, deviceBytes, cache: $('mem-cache').value };
}

async function openMemoryModel(model) {
    state.memory?.est?.close();
    state.memory = null;
    try {
        const est = await openEstimate(model.files, { core: await engine() });
        if (model !== state.model) { est.close(); return; }
        state.memory = { est, byName: new Map() };
    } catch (e) {
        if (model !== state.model) return;
        state.memory = { error: e, byName: new Map() };
    }
    await refreshMemory();
}

let memoryToken = 0;
async function refreshMemory() {
    const mem = state.memory;
    if (!mem?.est) { renderEstimates(); return; }
    const token = ++memoryToken;
    const { nCtx, deviceBytes, cache } = memoryInputs();
    try {
        const report = await mem.est.run({ ctx: nCtx, kvType: cache, memoryBytes: deviceBytes,
                                           imatrix: state.imatrix?.bytes, imatrixName: state.imatrix?.file.name });
        if (token !== memoryToken || mem !== state.memory) return;
        mem.report = report;
        mem.byName = new Map(report.ftypes.map((f) => [f.name, f]));
        mem.error = null;
    } catch (e) {
        if (token !== memoryToken || mem !== state.memory) return;
        mem.report = null;
        mem.byName = new Map();
        mem.error = e;
    }
    renderEstimates();
}

// The memory model's answer for one estimate row, or null when there is none.
function fitsInfo(row) {
    const f = state.memory?.byName.get(row.name);
    if (!f || f.memory_bytes == null) return null;
    return { need: f.memory_bytes, fits: !!f.fits, maxCtx: f.max_ctx ?? 0 };
}

function renderEstimates() {
    const rows = state.estimates ?? [];
    const tbody = $('estimate-table').tBodies[0];
    const frag = document.createDocumentFragment();
    const selected = $('type-select').value || kRecommended;
    for (const r of rows) {
        const blocked = r.needs_imatrix && !state.imatrix;
        const refused = !!r.error && !blocked;
        const fit = fitsInfo(r);
        const tr = el('tr', {
            dataset: { ftype: r.name, bytes: String(r.file_size) },
            class: [r.name === kRecommended ? 'recommended' : '', blocked || refused ? 'disabled' : 'selectable',
                    r.name === selected ? 'selected' : ''].join(' ').trim(),
        });
        if (blocked) tr.setAttribute('aria-disabled', 'true');
        tr.dataset.disabled = blocked || refused ? 'true' : 'false';
        if (r.needs_imatrix) tr.dataset.imatrix = 'required';
        const nameCell = el('td', { class: 'ftype' }, r.name);
        if (r.name === kRecommended) nameCell.append(' ', el('span', { class: 'tag rec', text: 'recommended' }));
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
            // Rows are choosable by keyboard too: Tab to a row, Enter or Space selects its type.
            tr.tabIndex = 0;
            tr.setAttribute('aria-label', `${r.name}: ${formatBytes(r.file_size)}, ${r.bpw.toFixed(2)} bits per weight; press Enter to choose`);
            tr.addEventListener('click', () => selectType(r.name));
            tr.addEventListener('keydown', (ev) => {
                if (ev.key === 'Enter' || ev.key === ' ') {
                    ev.preventDefault();
                    selectType(r.name);
                    $('estimate-table').querySelector(`tr[data-ftype="${r.name}"]`)?.focus();
                }
            });
        }
        frag.append(tr);
    }
    tbody.replaceChildren(frag);
    renderMemorySummary();
}

function trainedCtx(model) {
    const arch = metaValue(model, 'general.architecture');
    return Number(metaValue(model, `${arch}.context_length`) ?? 0);
}

function renderMemorySummary() {
    const model = state.model;
    const box = $('memory-summary');
    if (!model || !state.estimates) return;
    const mem = state.memory;
    if (mem?.error) {
        box.replaceChildren(`No memory figures for this file: ${mem.error.message ?? mem.error}`);
        return;
    }
    const report = mem?.report;
    if (!report) { box.textContent = 'Working out memory…'; return; }
    const { nCtx, deviceBytes, cache } = memoryInputs();
    const m = report.memory;
    const name = $('type-select').value || kRecommended;
    const f = mem.byName.get(name);
    const parts = [];
    Object.assign(box.dataset, { ftype: name, ctx: String(nCtx), kvBytes: String(m.kv_bytes), otherBytes: String(m.other_bytes),
                                 totalBytes: String(f?.memory_bytes ?? ''), maxCtx: String(f?.max_ctx ?? 0), fits: String(!!f?.fits) });
    if (f && f.memory_bytes != null) {
        const weights = f.memory_bytes - m.kv_bytes - m.other_bytes;
        const trained = trainedCtx(model);
        parts.push(el('p', { class: 'mem-line' },
            el('strong', { text: name }), ` at ${formatInt(nCtx)} tokens: weights ${formatBytes(weights)} + KV cache (${cache}) ` +
            `${formatBytes(m.kv_bytes)} + compute and output ${formatBytes(m.other_bytes)} = `,
            el('strong', { text: formatBytes(f.memory_bytes) }), ` of ${formatBytes(deviceBytes)} `,
            el('span', { class: `tag ${f.fits ? 'fit' : 'nofit'}`, text: f.fits ? 'fits' : 'does not fit' })));
        parts.push(el('p', { class: 'mem-line' }, f.max_ctx
            ? `Context that still fits with ${name}: about ${formatInt(f.max_ctx)} tokens` +
              (trained && f.max_ctx > trained ? ` (the model was trained for ${formatInt(trained)}).` : '.')
            : `${name}'s weights and buffers alone do not fit in ${formatBytes(deviceBytes)}.`));
    }
    const rec = report.recommendation;
    if (rec?.name) {
        parts.push(el('p', { class: 'mem-line' }, 'For this memory: ', el('strong', { text: rec.name }),
            ` (${rec.reason})` + (rec.advice?.length ? `; ${rec.advice.join('; ')}.` : '.')));
    }
    const optionsSet = quantizeArgs().length > 0;
    parts.push(el('p', { class: 'mem-line muted small', text: 'KV cache and compute follow llama.cpp (context padded to 256 cells, ' +
        'sliding-window layers, per-layer KV heads); see docs/ESTIMATES.md.' +
        (optionsSet ? ' Memory uses each type\'s default recipe; the options above are not included.' : '') }));
    box.replaceChildren(...parts);
}

// ---- type selection and quantize ------------------------------------------------------------

function renderTypeSelect() {
    const sel = $('type-select');
    const previous = sel.value || kRecommended;
    sel.replaceChildren();
    for (const r of state.estimates ?? []) {
        const blocked = r.needs_imatrix && !state.imatrix;
        const opt = el('option', { value: r.name, text: `${r.name} — ${formatBytes(r.file_size)}${blocked ? ' (needs imatrix)' : ''}` });
        if (blocked || r.error) opt.disabled = true;
        sel.append(opt);
    }
    const prev = [...sel.options].find((o) => o.value === previous && !o.disabled);
    sel.value = prev ? previous : kRecommended;
    updateTypeInfo();
}

function selectType(name) {
    $('type-select').value = name;
    updateTypeInfo();
    renderEstimates();
}

function updateTypeInfo() {
    const r = state.estimates?.find((x) => x.name === $('type-select').value);
    const info = $('type-info');
    const qb = $('quantize-button');
    if (!r) { info.textContent = ''; qb.disabled = true; return; }
    const blocked = r.needs_imatrix && !state.imatrix;
    if (blocked) info.textContent = `${r.name} needs an importance matrix: add one above.`;
    else if (r.error) info.textContent = `Not possible: ${r.error}`;
    else info.textContent = `${formatBytes(r.file_size)} · ${r.bpw.toFixed(2)} bits per weight` +
        (r.note ? ` · ${r.note}` : '') + (r.fallbacks ? ` · ${r.fallbacks} tensors fall back to another type` : '');
    // Split models quantize to one file here (the CLI's --keep-split writes shards).
    qb.disabled = blocked || !!r.error || !!state.run;
    $('time-estimate').textContent = '';
    if (!blocked && !r.error) estimateTime(r);
    renderMemorySummary();
}

// Time estimate from a short calibration of the kernels this type uses (in a worker, cached).
const kernelRates = new Map();
let calibrator = null;
let timeToken = 0;
async function estimateTime(row) {
    const token = ++timeToken;
    const types = Object.keys(row.converted ?? {});
    const missing = types.filter((t) => !kernelRates.has(t));
    try {
        if (missing.length) {
            calibrator ??= new WorkerBridge(new URL('./worker.mjs', import.meta.url), { idleMs: 5000, name: 'gguf-squash calibrate' });
            const { rates } = await calibrator.call('calibrate', { types: missing });
            for (const [t, v] of Object.entries(rates)) kernelRates.set(t, v);
        }
    } catch {
        return;  // no estimate is better than a wrong one
    }
    if (token !== timeToken || state.run) return;
    let seconds = 0;
    for (const t of types) {
        const rate = kernelRates.get(t);
        if (rate > 0) seconds += row.converted[t] / rate;
    }
    const workers = poolSize();
    seconds /= workers;
    const copyNote = types.length ? '' : ' (tensors are only copied)';
    $('time-estimate').textContent = `Estimated time on this device: about ${formatDuration(Math.max(seconds, 0.1))}` +
        ` with ${workers} worker${workers > 1 ? 's' : ''}${copyNote}, from a short kernel calibration.`;
}

function resetOutput() {
    if (state.output) discardOutput(state.output.result);
    state.output = null;
    $('save-button').disabled = true;
    $('save-status').textContent = '';
    delete $('save-status').dataset.result;
}

function cancelRun() {
    if (state.run) state.run.controller.abort();
}

function setRunning(running) {
    $('quantize-button').disabled = running;
    $('cancel-button').disabled = !running;
    $('type-select').disabled = running;
    $('file-input').disabled = running;
    $('imatrix-input').disabled = running;
    $('options').querySelectorAll('input, select, textarea').forEach((x) => { x.disabled = running; });
}

let bridge = null;

async function startQuantize() {
    const model = state.model;
    const type = $('type-select').value;
    const row = state.estimates?.find((r) => r.name === type);
    if (!model || !row || state.run) return;
    clearError();
    resetOutput();
    const controller = new AbortController();
    const run = { controller, started: performance.now() };
    state.run = run;
    setRunning(true);
    const progress = $('progress');
    progress.value = 0;
    progress.max = 1;
    const stats = $('progress-stats');
    stats.textContent = 'Starting…';
    const name = outputName(model, type);
    const tempName = tempOutputName();
    delete $('progress-box').dataset.maxHeap;
    try {
        bridge ??= new QuantizeBridge();
        const result = await bridge.quantize({
            files: model.files,
            args: quantizeArgs(),
            type,
            imatrix: state.imatrix?.bytes,
            imatrixName: state.imatrix?.file.name,
            outName: tempName,
            signal: controller.signal,
            onProgress: (p) => showProgress(p, run),
            onPlan: (m) => { $('progress-box').dataset.sink = m.sink; },
            onMode: (m) => {
                run.workers = m.workers;
                $('progress-box').dataset.workers = String(m.workers);
            },
        });
        state.output = { result, name };
        progress.max = 1;
        progress.value = 1;
        const secs = (performance.now() - run.started) / 1000;
        stats.replaceChildren(el('span', { class: 'done', text: `Done: ${formatBytes(result.size)} in ${formatDuration(secs)}` }),
            el('span', { text: `${(model.fileSize / 1e6 / secs).toFixed(1)} MB/s` }),
            el('span', { text: run.workers > 1 ? `${run.workers} workers` : '1 worker' }),
            el('span', { class: 'mono', text: name }));
        $('save-button').disabled = false;
        $('save-button').focus();
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
    }
}

function outputName(model, type) {
    const base = model.files[0].name.replace(/(-\d{5}-of-\d{5})?\.gguf$/i, '');
    return `${base}-${type}.gguf`;
}

function showProgress(p, run) {
    // The largest wasm heap any worker reported (tests check it stays bounded).
    const box = $('progress-box');
    if (p.heap) box.dataset.maxHeap = String(Math.max(Number(box.dataset.maxHeap ?? 0), p.heap));
    const progress = $('progress');
    progress.max = p.total || 1;
    progress.value = p.done;
    const secs = (performance.now() - run.started) / 1000;
    const rate = p.inputDone / Math.max(secs, 1e-3);
    const frac = p.total ? p.done / p.total : 0;
    const eta = frac > 0.005 ? secs * (1 - frac) / frac : NaN;
    $('progress-stats').replaceChildren(
        el('span', {}, el('b', { text: `${(frac * 100).toFixed(1)}%` })),
        el('span', { text: `${(rate / 1e6).toFixed(1)} MB/s` }),
        el('span', { text: `elapsed ${formatDuration(secs)}` }),
        el('span', { text: `ETA ${formatDuration(eta)}` }),
        el('span', { class: 'mono', text: p.tensor ? `${p.tensor}${p.tensorType ? ' → ' + p.tensorType : ''}` : '' }));
}

async function save() {
    const out = state.output;
    if (!out) return;
    const status = $('save-status');
    status.textContent = '';
    try {
        const how = await saveOutput(out.result, out.name);
        status.dataset.result = how;
        status.textContent = how === 'picker' ? `Saved ${out.name}.`
            : how === 'download' ? `Downloading ${out.name}…` : 'Not saved: the save dialog was closed.';
    } catch (e) {
        status.dataset.result = 'error';
        showError('Saving failed', e);
    }
}

// ---- wiring ---------------------------------------------------------------------------------

function initDropZone() {
    const zone = $('drop-zone');
    let depth = 0;
    const hasFiles = (ev) => [...(ev.dataTransfer?.types ?? [])].includes('Files');
    document.addEventListener('dragenter', (ev) => {
        if (!hasFiles(ev)) return;
        ev.preventDefault();
        depth++;
        zone.classList.add('dragging');
    });
    document.addEventListener('dragleave', () => {
        depth = Math.max(0, depth - 1);
        if (!depth) zone.classList.remove('dragging');
    });
    document.addEventListener('dragover', (ev) => {
        if (hasFiles(ev)) ev.preventDefault();
    });
    document.addEventListener('drop', (ev) => {
        if (!hasFiles(ev)) return;
        ev.preventDefault();
        depth = 0;
        zone.classList.remove('dragging');
        if (state.run) return;
        openFiles(ev.dataTransfer.files);
    });
}

function init() {
    initTheme();
    initDropZone();
    initTensorTable();
    $('file-input').addEventListener('change', async (ev) => {
        const files = [...ev.target.files];
        ev.target.value = '';  // picking the same file again still fires
        await openFiles(files);
    });
    $('imatrix-input').addEventListener('change', async (ev) => {
        const file = ev.target.files[0];
        ev.target.value = '';
        if (file) await openImatrix(file);
    });
    $('type-select').addEventListener('change', () => { updateTypeInfo(); renderEstimates(); });
    $('quantize-button').addEventListener('click', startQuantize);
    $('cancel-button').addEventListener('click', cancelRun);
    $('save-button').addEventListener('click', save);
    let memTimer = 0;
    for (const id of ['mem-context', 'mem-device', 'mem-cache'])
        $(id).addEventListener('input', () => {
            clearTimeout(memTimer);
            memTimer = setTimeout(refreshMemory, 120);
        });
    let optTimer = 0;
    $('options').addEventListener('input', () => {
        clearTimeout(optTimer);
        optTimer = setTimeout(() => { clearError(); refreshEstimates(); }, 250);
    });
    engine().then((core) => {
        for (const t of core.quantizableTypes?.() ?? []) {
            $('opt-output-type').append(el('option', { value: t, text: t }));
            $('opt-embd-type').append(el('option', { value: t, text: t }));
        }
    }).catch((e) => showError('The WebAssembly engine failed to load', e));
    removeStaleOutputs();
    document.documentElement.dataset.ready = 'true';
}

init();
