// The options panel: llama-quantize's command-line options, as the page offers them.
import { $, clearError, el } from '../dom.mjs';
import { state } from '../state.mjs';
import { refreshEstimates } from './estimates.mjs';

// The options panel as llama-quantize's command-line options.
export function quantizeArgs() {
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

// The types this build can write, for the output and embedding type choices.
export function fillWritableTypes(types) {
    for (const t of types) {
        $('opt-output-type').append(el('option', { value: t, text: t }));
        $('opt-embd-type').append(el('option', { value: t, text: t }));
    }
}

export function initOptions() {
    let timer = 0;
    $('options').addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => { clearError(); refreshEstimates(); }, 250);
    });
}

export function setOptionsDisabled(disabled) {
    $('options').querySelectorAll('input, select, textarea').forEach((x) => { x.disabled = disabled; });
}
