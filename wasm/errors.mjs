// GgufError and the one way errors cross a worker boundary (the page's bridge and worker, the
// row pool's workers, node's worker threads): errorToMessage on one side, errorFromMessage on
// the other, so that a GgufError stays a GgufError (instanceof, .code) and an AbortError stays
// an AbortError.
//
// No WebAssembly here: the page's main thread imports this without loading the core.

// Status codes of core/status.h by their numeric value, as the core names them
// (gs_constants_json); set when a core is loaded (setStatusNames). Numeric codes only ever come
// from a loaded core.
let statusNames = [];

export function setStatusNames(names) {
    statusNames = [...names];
}

export class GgufError extends Error {
    // `code`: the status's name ('invalid_file', ...) or its number from the core.
    constructor(code, message) {
        super(message);
        this.name = 'GgufError';
        this.code = typeof code === 'number' ? (statusNames[code] ?? 'internal') : code;
    }
}

// A plain object that postMessage copies: {name, code, message}.
export function errorToMessage(e) {
    return { name: e?.name ?? 'Error', code: e?.code, message: e?.message ?? String(e) };
}

// The error errorToMessage described: a GgufError again, or an Error with its name and code.
export function errorFromMessage(m) {
    if (m?.name === 'GgufError') return new GgufError(m.code ?? 'internal', m.message);
    const err = new Error(m?.message ?? String(m));
    err.name = m?.name ?? 'Error';
    if (m?.code !== undefined) err.code = m.code;
    return err;
}
