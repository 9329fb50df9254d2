// The part of fetch that wasm/url_source.mjs uses, over node:http/https, for node (the CLI, the
// JS API in node). Why not node's own fetch: undici parses HTTP in WebAssembly, copies each body
// chunk out of its memory and hands it over through a WHATWG stream, all on the thread that also
// feeds the pool's workers; node:http parses natively and gives the socket's buffers as they
// are. On loopback (scripts/bench_url.sh) that was most of the URL path's CPU time in node.
// Node only: the page never loads this module (url_source.mjs imports it only where `process`
// exists).
//   const r = await nodeFetch(url, { headers, redirect: 'manual', signal });
//   r.status, r.type, r.headers.get(name) / has(name), r.body.getReader().read() / cancel()
// - Redirects are never followed (url_source.mjs follows them by hand to keep the token on its
//   origin): a 3xx is answered as it is, with its Location.
// - Aborting `signal` (the stall timer, Ctrl-C) fails the pending call or read with
//   signal.reason, as fetch does; a connection that fails or drops mid-body fails it with a
//   TypeError whose cause holds the socket's error code, as fetch does.
import http from 'node:http';
import https from 'node:https';

// Connections are kept for the next range (one at a time per file: the Hub refuses parallel
// range downloaders, so one socket per host is all a download uses).
const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 4 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 4 }),
};
// Body bytes queued before the socket is paused (backpressure while the reader is busy).
const kHighWater = 4 << 20;

const failed = (e) => Object.assign(new TypeError('fetch failed'), { cause: e });

class Headers {
    constructor(raw) { this.raw = raw; }
    get(name) {
        const v = this.raw[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
    }
    has(name) { return this.raw[name.toLowerCase()] !== undefined; }
}

// The body of `res` as a reader: read() -> {done, value: Uint8Array}.
function bodyOf(req, res, signal) {
    const queue = [];
    const length = res.headers['content-length'] === undefined ? null : Number(res.headers['content-length']);
    let queued = 0, received = 0, ended = false, error = null, waiter = null;
    const settle = () => {
        if (!waiter) return;
        const w = waiter;
        if (queue.length) {
            waiter = null;
            const value = queue.shift();
            queued -= value.length;
            if (queued < kHighWater && res.isPaused()) res.resume();
            w.resolve({ done: false, value });
        } else if (error) {
            waiter = null;
            w.reject(error);
        } else if (ended) {
            waiter = null;
            w.resolve({ done: true, value: undefined });
        }
    };
    const fail = (e) => {
        if (!error && !ended) error = e;
        settle();
    };
    res.on('data', (chunk) => {
        queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        queued += chunk.length;
        received += chunk.length;
        if (queued >= kHighWater) res.pause();
        settle();
    });
    res.on('end', () => {
        if (res.complete) ended = true;
        else error ??= failed(Object.assign(new Error('the response ended early'), { code: 'ECONNRESET' }));
        settle();
    });
    res.on('error', (e) => fail(signal?.aborted ? signal.reason : failed(e)));
    res.on('close', () => { if (!ended) fail(signal?.aborted ? signal.reason : failed(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }))); });
    // Once the whole body is here (a range read to its end) the connection goes back to the
    // agent for the next range; before that it is closed (the rest is not wanted).
    const cancel = async () => {
        const whole = res.complete || (length !== null && received >= length);
        if (ended && whole) return;
        ended = true;
        queue.length = 0;
        if (whole) {
            res.resume();
            return;
        }
        req.destroy();
        res.destroy();
    };
    return {
        getReader: () => ({
            read: () => new Promise((resolve, reject) => {
                waiter = { resolve, reject };
                settle();
            }),
            cancel,
        }),
        cancel,
        abort: (reason) => { fail(reason); req.destroy(); res.destroy(); },
    };
}

export function nodeFetch(url, { headers = {}, signal = null } = {}) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const u = new URL(url);
        const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
        if (!lib) return reject(failed(new Error(`unsupported protocol ${u.protocol}`)));
        let body = null;
        const req = lib.request(u, { method: 'GET', headers, agent: agents[u.protocol] });
        const onAbort = () => {
            if (body) body.abort(signal.reason);
            else {
                req.destroy();
                reject(signal.reason);
            }
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        req.on('error', (e) => {
            if (!body) reject(signal?.aborted ? signal.reason : failed(e));
        });
        req.on('response', (res) => {
            body = bodyOf(req, res, signal);
            res.on('close', () => signal?.removeEventListener('abort', onAbort));
            resolve({ status: res.statusCode, url, type: 'basic', redirected: false, headers: new Headers(res.headers), body });
        });
        req.end();
    });
}
