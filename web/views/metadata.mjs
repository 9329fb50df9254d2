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

// Strings this long, or with line breaks (chat templates), show in a collapsible monospaced
// block with their real line breaks.
const kLongString = 160;

function metadataValueCell(model, key, entry) {
    const td = el('td', { class: 'value' });
    if (entry.type === 'STRING' && typeof entry.value === 'string' && (entry.value.length > kLongString || entry.value.includes('\n'))) {
        const v = entry.value;
        const nLines = v.split('\n').length;
        const first = v.split('\n')[0].slice(0, 80);
        td.append(el('details', { class: 'long-string' },
            el('summary', {}, el('span', { class: 'mono', text: JSON.stringify(first + (first.length < v.length ? '…' : '')) }),
               el('span', { class: 'muted', text: ` ${formatInt(v.length)} characters, ${formatInt(nLines)} line${nLines === 1 ? '' : 's'}` })),
            el('pre', { class: 'mono', text: v })));
        return td;
    }
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

// Keys grouped by prefix: general.*, the architecture's (ARCH.*), tokenizer.*, then the rest
// (split.*, quantize.*, ...) each under its own prefix, in file order within a group.
function groupOf(key, arch) {
    const prefix = key.split('.')[0];
    if (prefix === 'general') return 'general';
    if (arch && prefix === arch) return arch;
    if (prefix === 'tokenizer') return 'tokenizer';
    return key.includes('.') ? prefix : '(no prefix)';
}

export function renderMetadata(model) {
    const arch = model.info.metadata['general.architecture']?.value;
    const draw = () => {
        const needle = $('metadata-search').value.trim().toLowerCase();
        const frag = document.createDocumentFragment();
        const groups = new Map();
        for (const [key, entry] of Object.entries(model.info.metadata)) {
            if (needle && !key.toLowerCase().includes(needle)) continue;
            const g = groupOf(key, arch);
            if (!groups.has(g)) groups.set(g, []);
            groups.get(g).push([key, entry]);
        }
        const rank = (g) => (g === 'general' ? 0 : g === arch ? 1 : g === 'tokenizer' ? 2 : 3);
        const ordered = [...groups].sort((a, b) => rank(a[0]) - rank(b[0]));
        for (const [g, entries] of ordered) {
            frag.append(el('tr', { class: 'group', dataset: { group: g } },
                el('th', { scope: 'rowgroup', colSpan: 3 }, el('span', { class: 'mono', text: g === '(no prefix)' ? g : `${g}.*` }),
                   el('span', { class: 'muted', text: ` · ${entries.length} key${entries.length === 1 ? '' : 's'}` }))));
            for (const [key, entry] of entries) {
                const type = entry.type === 'ARRAY' ? `${entry.item_type}[${formatInt(entry.len)}]` : entry.type;
                frag.append(el('tr', { dataset: { key } }, el('td', { class: 'key' }, ...breakable(key)),
                    el('td', { class: 'mono', text: type }), metadataValueCell(model, key, entry)));
            }
        }
        $('metadata-table').tBodies[0].replaceChildren(frag);
        const total = Object.keys(model.info.metadata).length;
        const shown = $('metadata-table').tBodies[0].querySelectorAll('tr[data-key]').length;
        $('metadata-count').textContent = shown === total ? `${formatInt(total)} keys` : `${formatInt(shown)} of ${formatInt(total)} keys`;
    };
    // A new filter starts at the top of the list.
    $('metadata-search').oninput = () => { draw(); $('metadata-table').closest('.table-wrap').scrollTop = 0; };
    draw();
    $('metadata-section').hidden = false;
}
