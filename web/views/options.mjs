// The options panel: llama-quantize's command-line options, as the page offers them, checked as
// they are typed (by the core's own argument parser, one field at a time, so each error shows
// next to its field); while one is invalid the estimates keep the last valid options and
// Quantize is disabled.
import { $, clearError, el } from '../dom.mjs';
import { modelBridge, state } from '../state.mjs';
import { refreshEstimates } from './estimates.mjs';

const lines = (id) => $(id).value.split('\n').map((s) => s.trim()).filter(Boolean);
const words = (id) => $(id).value.split(',').map((s) => s.trim()).filter(Boolean);

// Each text field's arguments (the fields the user types into; checkboxes and selects cannot be wrong).
function fieldArgs() {
    const prune = $('opt-prune').value.trim();
    return {
        'opt-tensor-types': lines('opt-tensor-types').flatMap((l) => ['--tensor-type', l]),
        'opt-override-kv': lines('opt-override-kv').flatMap((l) => ['--override-kv', l]),
        'opt-include': words('opt-include').flatMap((w) => ['--include-weights', w]),
        'opt-exclude': [...words('opt-include').flatMap((w) => ['--include-weights', w]),
                        ...words('opt-exclude').flatMap((w) => ['--exclude-weights', w])],
        'opt-prune': prune ? ['--prune-layers', prune] : [],
    };
}

// The options panel as llama-quantize's command-line options.
export function quantizeArgs() {
    const args = [];
    if ($('opt-pure').checked) args.push('--pure');
    if ($('opt-leave-output').checked) args.push('--leave-output-tensor');
    if ($('opt-allow-requantize').checked) args.push('--allow-requantize');
    if ($('opt-output-type').value) args.push('--output-tensor-type', $('opt-output-type').value);
    if ($('opt-embd-type').value) args.push('--token-embedding-type', $('opt-embd-type').value);
    const f = fieldArgs();
    args.push(...f['opt-tensor-types'], ...f['opt-override-kv']);
    if (state.imatrix) args.push(...f['opt-exclude']);  // include + exclude, in that order
    args.push(...f['opt-prune']);
    return args;
}

// The types this build can write, for the output and embedding type choices.
export function fillWritableTypes(types) {
    for (const t of types) {
        $('opt-output-type').append(el('option', { value: t, text: t }));
        $('opt-embd-type').append(el('option', { value: t, text: t }));
    }
}

function showFieldError(id, message) {
    const field = $(id);
    let box = document.getElementById(`${id}-error`);
    if (!box) {
        box = el('p', { id: `${id}-error`, class: 'field-error', role: 'alert', dataset: { field: id } });
        field.closest('label').after(box);
    }
    box.textContent = message ?? '';
    box.hidden = !message;
    field.setAttribute('aria-invalid', String(!!message));
    if (message) field.setAttribute('aria-describedby', box.id);
    else field.removeAttribute('aria-describedby');
}

let checkToken = 0;
// Checks every text field; true when all are valid.
export async function validateOptions() {
    const token = ++checkToken;
    const groups = fieldArgs();
    let result;
    try {
        result = await modelBridge.checkArgs(groups);
    } catch {
        return true;  // the engine is not there: the estimate reports the options' error
    }
    if (token !== checkToken) return false;
    const errors = [];
    for (const [id, message] of Object.entries(result)) {
        // Exclude's group repeats include's words: an include error belongs to include alone.
        const own = id === 'opt-exclude' && result['opt-include'] ? null : message;
        showFieldError(id, own);
        if (own) errors.push(`${$(id).closest('label').firstChild.textContent.trim()}: ${own}`);
    }
    state.optionErrors = errors;
    return errors.length === 0;
}

export function initOptions() {
    let timer = 0;
    $('options').addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
            clearError();
            const ok = await validateOptions();
            const { updateTypeInfo } = await import('./quantize.mjs');
            if (ok) await refreshEstimates();
            updateTypeInfo();
        }, 250);
    });
}

export function setOptionsDisabled(disabled) {
    $('options').querySelectorAll('input, select, textarea').forEach((x) => { x.disabled = disabled; });
}
