// Does an importance matrix belong to this model? llama-quantize looks each weight up by name
// and refuses a type when the entry's length is not the tensor's ne[0] x ne[2] (columns x
// experts); a matrix made for another model is refused only then, type by type. This checks the
// whole matrix once, on load: every entry must name a tensor of the model with that many columns.
//   summary: the core's imatrix summary ({tensors: [[name, length], ...]});
//   tensors: the model's [{name, shape}] (ggml order, shape[0] = columns).
// Returns null when it matches, else {tensor, message} for the first entry that does not.
export function checkImatrix(summary, tensors) {
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const entries = summary?.tensors ?? [];
    if (!entries.length) return { tensor: null, message: 'the importance matrix has no entries' };
    for (const [name, length] of entries) {
        const t = byName.get(name);
        if (!t) return { tensor: name, message: `${name} is not a tensor of this model` };
        const want = t.shape[0] * (t.shape.length >= 3 ? t.shape[2] : 1);
        if (length !== want) {
            return { tensor: name, message: `${name} has ${length} values in the importance matrix, but the model's tensor has ` +
                `${t.shape[0]} columns${t.shape.length >= 3 ? ` × ${t.shape[2]} experts` : ''} (${want})` };
        }
    }
    return null;
}
