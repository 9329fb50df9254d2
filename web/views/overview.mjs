// The overview card: architecture, size, layers, heads... from the model's header.
import { $, el } from '../dom.mjs';
import { formatBytes, formatInt, formatParams } from '../units.mjs';

// A metadata value: whole for the keys the overview uses (the worker sends those complete),
// else the preview's value.
export function metaValue(model, key) {
    if (key in model.overview) return model.overview[key];
    return model.info.metadata[key]?.value;
}

const fmtHeads = (h) => Array.isArray(h) ? `${Math.min(...h)}–${Math.max(...h)}` : String(h);

function guessTypeName(info) {
    const counts = new Map();
    for (const t of info.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + t.nbytes);
    let best = null;
    for (const [type, n] of counts) if (!best || n > best[1]) best = [type, n];
    return best ? `mostly ${best[0]} (guessed)` : '–';
}

export function renderOverview(model) {
    const info = model.info;
    const arch = metaValue(model, 'general.architecture');
    const k = (suffix) => (arch ? metaValue(model, `${arch}.${suffix}`) : undefined);
    const tokens = info.metadata['tokenizer.ggml.tokens'];
    const vocab = tokens ? tokens.len : k('vocab_size');
    const fileTypeName = model.fileTypeName ?? guessTypeName(info);
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
        `${formatInt(Object.keys(info.metadata).length)} keys` + (model.names.length > 1 ? ` · ${model.names.length} shards` : '');
    $('overview-section').hidden = false;
}
