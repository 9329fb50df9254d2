// DOM helpers shared by the page's views, and the page's one error box.
import { GgufError } from './wasm/errors.mjs';

export const $ = (id) => document.getElementById(id);

export const el = (tag, props = {}, ...children) => {
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

// Dotted names wrap at their dots on narrow screens, not in the middle of a word.
export function breakable(name) {
    const parts = [];
    name.split('.').forEach((p, i) => {
        if (i) parts.push('.', document.createElement('wbr'));
        parts.push(p);
    });
    return parts;
}

export function showError(title, err) {
    const box = $('error');
    box.replaceChildren();
    const msg = err?.message ?? String(err);
    const kind = err instanceof GgufError ? ` (${err.code.replace(/_/g, ' ')})` : '';
    box.append(el('strong', { text: title + kind + ': ' }), msg);
    box.hidden = false;
    // An error is where the eye is: scrolled into view when the page had moved past it.
    const r = box.getBoundingClientRect();
    if (r.top < 0 || r.bottom > innerHeight) box.scrollIntoView({ block: 'nearest', behavior: 'instant' });
}

export function clearError() {
    for (const k of ['incomplete', 'expected', 'actual']) delete $('error').dataset[k];
    $('error').hidden = true;
    $('error').replaceChildren();
}
