// A file that could not be read, looked at again by the model worker: when it is cut short (a
// download that stopped early), the error says so plainly, with the expected and actual size and
// what can still be read of its header, instead of a raw offset. The previous model's views stay.
import { $, el, showError } from '../dom.mjs';
import { modelBridge } from '../state.mjs';
import { formatBytes, formatInt } from '../units.mjs';

// Shows the error for `file` that failed to open with `err`: as "incomplete" when it is.
export async function explainOpenError(label, file, err) {
    let seen = null;
    if (typeof Blob !== 'undefined' && file instanceof Blob) {
        try {
            seen = await modelBridge.inspectIncomplete(file);
        } catch {
            seen = null;  // the plain error below is all there is to say
        }
    }
    // Cut inside the header: the reader ran out of bytes (its error is about the file's end: a
    // length that does not fit in the bytes left, or the input ending), not into a count past
    // its fixed limits, which fails without the file size too.
    const cut = seen && ((seen.endsInHeader && /left in the file|truncated|past the end/i.test(err?.message ?? '')) ||
                         (seen.headerComplete && seen.expected > seen.actual));
    if (!cut) {
        showError(`Cannot read ${label}`, err);
        return false;
    }
    const box = $('error');
    const name = file.name;
    const size = (n) => `${formatInt(n)} bytes (${formatBytes(n)})`;
    const what = seen.headerComplete
        ? `it is ${size(seen.actual)}, but its header says its tensors need ${size(seen.expected)} ` +
          `(${(seen.actual / seen.expected * 100).toFixed(1)}% is there).`
        : `it is ${size(seen.actual)} and ends inside its own header, before the tensor data starts.`;
    const info = seen.info ?? { metadata: {}, tensors: [] };
    const keys = Object.entries(info.metadata ?? {});
    const shown = keys.slice(0, 12).map(([k, v]) => el('li', {}, el('code', { text: k }), ' = ',
        v.type === 'ARRAY' ? `[${formatInt(v.len)} items]` : String(v.value).slice(0, 120)));
    box.replaceChildren(
        el('strong', { text: `${name} looks incomplete: ` }), what,
        el('p', { text: 'The file was probably cut short while downloading or copying. Downloading it again usually fixes this.' }),
        el('p', { class: 'small reader-message', text: `The reader's message: ${err?.message ?? err}` }),
        el('details', { class: 'read-header', 'data-testid': 'incomplete-header' },
            el('summary', { text: `What could be read: GGUF v${info.version ?? '?'}, ${formatInt(keys.length)} metadata keys, ` +
                                  `${formatInt(info.tensors?.length ?? 0)} tensors` }),
            el('ul', {}, ...shown, ...(keys.length > shown.length ? [el('li', { class: 'muted', text: `… and ${keys.length - shown.length} more keys` })] : []))));
    box.dataset.incomplete = 'true';
    box.dataset.expected = String(seen.expected ?? '');
    box.dataset.actual = String(seen.actual);
    box.hidden = false;
    const r = box.getBoundingClientRect();
    if (r.top < 0 || r.bottom > innerHeight) box.scrollIntoView({ block: 'nearest', behavior: 'instant' });
    return true;
}
