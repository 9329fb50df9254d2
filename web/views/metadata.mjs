// The metadata viewer. The model's info holds only the first items of each array (a 150k-token
// vocabulary would be ~100 MB of strings); "show more" asks the model worker for the next ones,
// so that a large expansion does not block the page.
import { $, breakable, el } from '../dom.mjs';
import { modelBridge, state } from '../state.mjs';
import { formatInt } from '../units.mjs';

const kPreviewItems = 8;      // items shown before an array is expanded
const kExpandStep = 500;      // items added per "show more", so a 150k-token vocab stays responsive

function formatScalar(v, type) {
    if (type === 'STRING') return JSON.stringify(v);
    // Float32 values print with the digits a float32 holds (the JSON has the shortest exact form).
    if (type === 'FLOAT32' && typeof v === 'number') return String(Number(v.toPrecision(7)));
    return String(v);
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
            if (items.length < want) {
                items = items.concat(await modelBridge.arrayItems(model.modelId, key, items.length, want - items.length,
                                                                  { signal: state.abort?.signal }));
            }
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

export function renderMetadata(model) {
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
