// gguf-split shard names (NAME-00002-of-00005.gguf) without WebAssembly, for the page's main
// thread (grouping a Hub repo's files per model, naming outputs). The core's own functions are
// gguf_split_path / gguf_split_prefix (GgufSquash.splitPath / splitPrefix); these copies are
// compared with them by tests/js/core_constants.test.mjs.

const kShardSuffix = /-(\d{5})-of-(\d{5})\.gguf$/;
const pad5 = (n) => String(n).padStart(5, '0');

// 'PREFIX-00002-of-00005.gguf' for shard `no` (0-based) of `count`.
export function splitPath(prefix, no, count) {
    return `${prefix}-${pad5(no + 1)}-of-${pad5(count)}.gguf`;
}

// PREFIX when `path` ends with shard `no` of `count`'s suffix, else null.
export function splitPrefix(path, no, count) {
    const suffix = splitPath('', no, count);
    return path.endsWith(suffix) ? path.slice(0, path.length - suffix.length) : null;
}

// {prefix, no, count} for any shard name (no 0-based), or null for a name without the suffix.
export function parseShardName(path) {
    const m = kShardSuffix.exec(path);
    if (!m) return null;
    const no = Number(m[1]) - 1, count = Number(m[2]);
    if (no < 0 || count < 1 || no >= count) return null;
    return { prefix: path.slice(0, m.index), no, count };
}
