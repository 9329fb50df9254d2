// The tensor table, which is also the plan view: every tensor of the model, sortable and
// filterable, with the type and bytes the quantizer's plan gives it for the chosen type (the
// "→ type" columns, from the core's plan through the model worker), grouped by block (blk.N) in
// file order, and the plan's bytes per type below.
import { $, breakable, el } from '../dom.mjs';
import { formatBytes, formatInt } from '../units.mjs';

const tensorView = { sortKey: 'index', dir: 1, filter: '', rows: null, plan: null };

export function renderTensors(model) {
    tensorView.rows = model.info.tensors.map((t, index) => ({
        index, name: t.name, type: t.type, shape: t.shape,
        elements: t.shape.reduce((a, b) => a * b, 1), nbytes: t.nbytes,
    }));
    tensorView.plan = null;
    drawTensorRows();
    $('tensor-section').hidden = false;
}

// The plan for the chosen type ({type, tensors: [{name, target_type, target_bytes}]}), or null
// while there is none (no model, a refused type).
export function setPlan(plan) {
    tensorView.plan = plan ? { type: plan.type, byName: new Map(plan.tensors.map((t) => [t.name, t])), tensors: plan.tensors } : null;
    drawTensorRows();
}

// A byte count: exact with thousands separators, and in units for a phone's narrow table (the CSS
// shows one of the two).
const bytesCell = (n) => el('td', { class: 'num bytes', title: formatBytes(n) },
    el('span', { class: 'exact', text: formatInt(n) }), el('span', { class: 'short', text: formatBytes(n) }));

const blockOf = (name) => /^blk\.(\d+)\./.exec(name)?.[0].slice(0, -1) ?? '';

function drawTensorRows() {
    const { sortKey, dir, plan } = tensorView;
    const needle = tensorView.filter.trim().toLowerCase();
    let rows = (tensorView.rows ?? []).map((r) => {
        const p = plan?.byName.get(r.name);
        // With a plan, the source type too is spelled as ggml does (as the plan's types are).
        return { ...r, type: p?.source_type ?? r.type, target: p?.target_type ?? '', targetBytes: p?.target_bytes ?? 0 };
    });
    if (needle) rows = rows.filter((r) => r.name.toLowerCase().includes(needle) || r.type.toLowerCase().includes(needle) ||
                                          r.target.toLowerCase().includes(needle));
    const key = sortKey === 'shape' ? 'elements' : sortKey;
    rows = [...rows].sort((a, b) => {
        const x = a[key], y = b[key];
        const c = typeof x === 'string' ? x.localeCompare(y, 'en', { numeric: true }) : x - y;
        return c * dir || a.index - b.index;
    });
    const tbody = $('tensor-table').tBodies[0];
    const frag = document.createDocumentFragment();
    // In file order the rows are grouped by block, each group headed by its totals.
    const grouped = sortKey === 'index';
    let i = 0;
    while (i < rows.length) {
        let j = i + 1;
        if (grouped) while (j < rows.length && blockOf(rows[j].name) === blockOf(rows[i].name)) j++;
        else j = rows.length;
        if (grouped) {
            const group = rows.slice(i, j);
            const block = blockOf(rows[i].name);
            const bytes = group.reduce((a, r) => a + r.nbytes, 0);
            const after = group.reduce((a, r) => a + r.targetBytes, 0);
            frag.append(el('tr', { class: 'group', dataset: { group: block || 'other' } },
                el('th', { scope: 'rowgroup', colSpan: 7 },
                    el('span', { class: 'mono', text: block || 'outside the blocks' }),
                    el('span', { class: 'muted', text: ` · ${group.length} tensor${group.length === 1 ? '' : 's'} · ${formatBytes(bytes)}` +
                        (plan ? ` → ${formatBytes(after)}` : '') }))));
        }
        for (const r of rows.slice(i, j)) {
            const tr = el('tr', { dataset: { tensor: r.name } },
                el('td', { class: 'num', text: String(r.index) }),
                el('td', {}, ...breakable(r.name)),
                el('td', { class: 'mono', text: r.type }),
                el('td', { class: 'mono', text: r.shape.join(' × ') }),
                bytesCell(r.nbytes),
                el('td', { class: `mono target${r.target && r.target !== r.type ? ' changed' : ''}`, text: r.target || '–' }),
                plan ? bytesCell(r.targetBytes) : el('td', { class: 'num', text: '–' }));
            if (r.target) tr.dataset.type = r.target;
            frag.append(tr);
        }
        i = j;
    }
    tbody.replaceChildren(frag);
    for (const th of $('tensor-table').tHead.rows[0].cells) {
        const b = th.querySelector('button');
        th.setAttribute('aria-sort', b?.dataset.sort === sortKey ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    const total = tensorView.rows?.length ?? 0;
    $('tensor-count').textContent = (rows.length === total ? `${formatInt(total)} tensors`
        : `${formatInt(rows.length)} of ${formatInt(total)} tensors`) + (plan ? ` · plan for ${plan.type}` : '');
    drawPlanTotals();
}

// Bytes per target type for the chosen type's plan.
function drawPlanTotals() {
    const box = $('plan-totals');
    const plan = tensorView.plan;
    if (!plan) { box.replaceChildren(); return; }
    const byType = new Map();
    for (const t of plan.tensors) {
        const e = byType.get(t.target_type) ?? { tensors: 0, bytes: 0, source: 0 };
        e.tensors++;
        e.bytes += t.target_bytes;
        e.source += t.source_bytes;
        byType.set(t.target_type, e);
    }
    const sorted = [...byType].sort((a, b) => b[1].bytes - a[1].bytes);
    const total = sorted.reduce((a, [, e]) => a + e.bytes, 0);
    box.replaceChildren(el('table', { class: 'totals' },
        el('caption', { text: `${plan.type}: bytes per tensor type` }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Type' }), el('th', { scope: 'col', class: 'num', text: 'Tensors' }),
            el('th', { scope: 'col', class: 'num', text: 'Bytes' }), el('th', { scope: 'col', class: 'num', text: 'Share' }))),
        el('tbody', {}, ...sorted.map(([type, e]) => el('tr', { dataset: { type, bytes: String(e.bytes) } },
            el('th', { scope: 'row', class: 'mono', text: type }), el('td', { class: 'num', text: formatInt(e.tensors) }),
            el('td', { class: 'num', text: formatInt(e.bytes), title: formatBytes(e.bytes) }),
            el('td', { class: 'num', text: total ? `${(e.bytes / total * 100).toFixed(1)}%` : '–' }))))));
}

export function initTensorTable() {
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
