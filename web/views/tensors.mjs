// The tensor table: every tensor of the model, sortable and filterable.
import { $, breakable, el } from '../dom.mjs';
import { formatBytes, formatInt } from '../units.mjs';

const tensorView = { sortKey: 'index', dir: 1, filter: '', rows: null };

export function renderTensors(model) {
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
