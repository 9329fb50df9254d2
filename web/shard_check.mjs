// Do these files belong together as the shards of one split model? llama.cpp's gguf-split
// writes split.no (0-based), split.count and split.tensors.count into every shard; picked
// together, files are accepted only if each has those keys, they agree on the count and the
// model's tensor total, the indices are 0..count-1 once each, and every file is there. Checked
// when the files are opened, so that two unrelated models are refused at once, naming the file
// that does not fit, not at Quantize.
//   parts: [{name, info}] in the order given (info: the header's info JSON).
// Returns null when they fit together, else a message naming the file.
export function checkShards(parts) {
    if (parts.length < 2) return null;
    const key = (info, k) => info.metadata[k]?.value;
    const first = parts.find((p) => key(p.info, 'split.count') !== undefined);
    if (!first) {
        return `${parts[1].name} is not a shard of ${parts[0].name}: neither has split keys (split.no, split.count), ` +
            'so they are two separate models. Open one model at a time, or all the shards of one split model.';
    }
    const count = Number(key(first.info, 'split.count'));
    const total = key(first.info, 'split.tensors.count');
    const seen = new Map();
    for (const p of parts) {
        const no = key(p.info, 'split.no'), c = key(p.info, 'split.count');
        if (no === undefined || c === undefined)
            return `${p.name} is not a shard of a split model (it has no split.no/split.count keys), unlike ${first.name}`;
        if (Number(c) !== count)
            return `${p.name} says it is one of ${c} shards, but ${first.name} says ${count}: they are not shards of the same model`;
        const t = key(p.info, 'split.tensors.count');
        if (total !== undefined && t !== undefined && Number(t) !== Number(total))
            return `${p.name} belongs to another model: its split.tensors.count is ${t}, ${first.name}'s is ${total}`;
        if (seen.has(Number(no)))
            return `${p.name} is shard ${Number(no) + 1} of ${count}, like ${seen.get(Number(no))}: the same shard twice, or two models`;
        seen.set(Number(no), p.name);
    }
    if (parts.length !== count) {
        const missing = [];
        for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(i + 1);
        return `${count} shards make this model but ${parts.length} were given: shard${missing.length > 1 ? 's' : ''} ` +
            `${missing.join(', ')} of ${count} missing (pick every NAME-0000K-of-${String(count).padStart(5, '0')}.gguf together)`;
    }
    if (total !== undefined) {
        const tensors = parts.reduce((a, p) => a + p.info.tensors.length, 0);
        if (tensors !== Number(total))
            return `the shards hold ${tensors} tensors but split.tensors.count says ${total}: one of them belongs to another model`;
    }
    return null;
}
