// Reading a model from its URL with HTTP Range, for node (wasm/cli.mjs) and the page: the same
// behaviour as the native CLI (core/cli/http_client.cpp). The page uses fetch; node uses
// node:http/https through the same fetch-shaped calls (wasm/url_fetch_node.mjs).
//   const src = await UrlSource.open(url, { token });     // {url, name, size, read(offset, length)}
//   await core.openModel([src]);                          // the header, by ranges
//   const read = src.streamReader(extents);               // the data, in the job's order
// - The token (Authorization: Bearer) goes only to the origin of the URL given: redirects are
//   followed by hand where fetch lets us (node); a browser follows them itself and drops the
//   header on a cross-origin redirect.
// - A dropped connection, a stall (no byte for stallMs, 30 s) or a 5xx resumes from the last
//   byte received, with backoff, up to 5 tries per range; no byte is lost or read twice.
// - The first response's ETag, Last-Modified and size are kept; a later one that differs stops
//   the read (the file changed on the server).
// - 404, 401/403, a server that ignores Range and an HTML page each give their own message.
// - The data is downloaded in the order the job reads it, one range at a time (the Hub refuses
//   parallel range downloaders), the next range while the job quantizes this one; at most
//   `bufferBytes` are held.
import { GgufError } from './gguf_squash.mjs';
import { rowTasks } from './row_pool.mjs';

export const kMaxTries = 5;
export const kStallMs = 30000;
export const kStreamRange = 16 << 20;
const kFirstRead = 1 << 20;

export const isHttpUrl = (s) => typeof s === 'string' && /^https?:\/\//i.test(s);

// The URL path's last segment without the query string.
export function urlFileName(url) {
    const path = url.split(/[?#]/)[0];
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

const originOf = (url) => { try { return new URL(url).origin; } catch { return ''; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Retry extends Error {}

// In node, node:http rather than node's fetch (wasm/url_fetch_node.mjs says why); in a page, fetch.
const inNode = typeof process === 'object' && !!process.versions?.node;
const nodeFetchModule = inNode ? import('./url_fetch_node.mjs') : null;
const defaultFetch = inNode
    ? async (url, init) => (await nodeFetchModule).nodeFetch(url, init)
    : (url, init) => globalThis.fetch(url, init);

// A buffer of its own for `n` bytes that are all about to be written: in node without zeroing
// it first (Buffer.allocUnsafeSlow: not from the shared pool, so it can be transferred).
const newBuffer = typeof Buffer === 'function' && typeof Buffer.allocUnsafeSlow === 'function'
    ? (n) => { const b = Buffer.allocUnsafeSlow(n); return new Uint8Array(b.buffer, b.byteOffset, n); }
    : (n) => new Uint8Array(n);

// Buffers for the stream's pieces, used again once the pool's workers hand them back (runPool's
// `release`): a fresh 4 MiB buffer per row chunk costs page faults and zero-filling (the page)
// on every byte, and garbage collection, on the thread that also receives the download.
// take(n) answers a view of n bytes at the start of a buffer of its own (a spare one of the same
// size class when there is one); put(arrayBuffer) keeps it for a later take, up to maxBytes.
export class SpareBuffers {
    static kClass = 64 << 10;  // sizes round up to this: row chunks of 4 MiB less a row share one class

    constructor(maxBytes = 64 << 20) {
        this.maxBytes = maxBytes;
        this.heldBytes = 0;
        this.free = new Map();  // capacity -> [ArrayBuffer]
    }

    static capacity(n) {
        return n <= SpareBuffers.kClass ? n : Math.ceil(n / SpareBuffers.kClass) * SpareBuffers.kClass;
    }

    take(n) {
        const cap = SpareBuffers.capacity(n);
        const list = this.free.get(cap);
        if (list?.length) {
            this.heldBytes -= cap;
            return new Uint8Array(list.pop(), 0, n);
        }
        return newBuffer(cap).subarray(0, n);
    }

    put(buffer) {
        const cap = buffer?.byteLength;
        // A detached buffer (0 bytes) or one of another size class is not kept.
        if (!cap || cap !== SpareBuffers.capacity(cap) || this.heldBytes + cap > this.maxBytes) return;
        if (!this.free.has(cap)) this.free.set(cap, []);
        this.free.get(cap).push(buffer);
        this.heldBytes += cap;
    }
}

// Where the reader runs decides the advice: the command line's flags, or the page's fields.
// A page (or its workers) has no `process`.
const inPage = typeof process !== 'object' && (typeof window !== 'undefined' || typeof importScripts === 'function' ||
                                              typeof WorkerGlobalScope !== 'undefined');
const kAdvice = inPage
    ? { token: 'give an access token in the token field', local: 'download it and drop it here instead' }
    : { token: 'give an access token with --hf-token TOKEN or HF_TOKEN', local: 'download it and give the local path' };

function httpError(res, code) {
    if (code === 404 || code === 410)
        return new GgufError('io_error', `${res.url}: not found (HTTP ${code}): check the URL`);
    if (code === 401 || code === 403) {
        const why = res.token
            ? 'the token was refused or has no access to this repository (gated or private: accept its terms on its page, or check the token)'
            : `the repository is gated or private: accept its terms on its page and ${kAdvice.token}`;
        return new GgufError('io_error', `${res.url}: access denied (HTTP ${code}): ${why}`);
    }
    if (code === 416) return new GgufError('io_error', `${res.url}: the server refused the byte range asked for (HTTP 416)`);
    return new GgufError('io_error', `${res.url}: HTTP ${code}`);
}

export class UrlSource {
    constructor(url, { token = '', fetch: fetchFn = defaultFetch, stallMs = kStallMs, maxTries = kMaxTries,
                       backoffMs = 250, onBytes = null, signal = null } = {}) {
        this.url = url;
        this.path = url;
        this.name = urlFileName(url);
        this.token = token;
        // Called as a plain function: a browser refuses fetch called on another object ("Illegal invocation").
        this.fetch = (url, init) => fetchFn(url, init);
        this.stallMs = stallMs;
        this.maxTries = maxTries;
        this.backoffMs = backoffMs;
        this.onBytes = onBytes;
        this.signal = signal;
        this.size = undefined;
        this.etag = null;
        this.lastModified = null;
        this.validated = false;
        this.bytesReceived = 0;
        this.requests = 0;
        this.head = null;  // {offset, bytes} of the first read, served again to the header reader
    }

    // Reads the first range: the size, the validators, and the header's first bytes.
    static async open(url, options = {}) {
        const src = new UrlSource(url, options);
        const first = await src.fetchRange(0, kFirstRead);
        if (first.length >= 4 && !(first[0] === 0x47 && first[1] === 0x47 && first[2] === 0x55 && first[3] === 0x46)) {
            const html = first[0] === 0x3c;
            throw new GgufError('invalid_file', `${url}: not a GGUF file (${html ? 'the server sent an HTML page' : 'no GGUF magic at byte 0'}); give the file's download URL (on the Hub: .../resolve/main/FILE.gguf)`);
        }
        if (src.size === undefined) src.size = first.length;
        src.head = { offset: 0, bytes: first };
        src.blocks = [src.head];
        return src;
    }

    close() {}

    // What another worker needs to go on reading this file without a request of its own for the
    // header: the validators (a later change of the file is still caught) and the bytes read so far.
    state() {
        return { url: this.url, size: this.size, etag: this.etag, lastModified: this.lastModified, head: this.headerBytes() };
    }

    static fromState(state, options = {}) {
        const src = new UrlSource(state.url, options);
        src.size = state.size;
        src.etag = state.etag;
        src.lastModified = state.lastModified;
        src.validated = true;
        src.head = { offset: 0, bytes: state.head };
        src.blocks = [src.head];
        return src;
    }

    // {size, read} for openModel: ranges at the offsets asked for; what the reads so far fetched is
    // served again (a shorter answer at its end), never fetched twice.
    async read(offset, length) {
        for (const b of [this.head, ...(this.blocks ?? [])]) {
            if (b && offset >= b.offset && offset < b.offset + b.bytes.length)
                return b.bytes.subarray(offset - b.offset, Math.min(b.bytes.length, offset - b.offset + length));
        }
        // The last block read runs past the header into the data: the stream takes it from here.
        const bytes = await this.fetchRange(offset, length);
        this.head = { offset, bytes };
        this.blocks?.push(this.head);
        return bytes;
    }

    // The bytes the header reads fetched, from byte 0 (the header and a little more): enough for
    // another instance of the core (a pool worker) to open the model without a request.
    headerBytes() {
        const list = (this.blocks ?? []).filter((b) => b.offset !== undefined).sort((a, b) => a.offset - b.offset);
        let end = 0;
        for (const b of list) if (b.offset <= end) end = Math.max(end, b.offset + b.bytes.length);
        const out = new Uint8Array(end);
        for (const b of list) if (b.offset + b.bytes.length <= end) out.set(b.bytes, b.offset);
        return out;
    }

    // One request's worth of headers checked: status, validators, Range honoured.
    checkResponse(r, offset, length) {
        const type = (r.headers.get('content-type') ?? '').toLowerCase();
        if (type.startsWith('text/html'))
            throw new GgufError('invalid_file', `${this.url}: not a GGUF file: the server sent an HTML page (Content-Type ${type}); give the file's download URL (on the Hub: .../resolve/main/FILE.gguf)`);
        let total = null;
        if (r.status === 206) {
            const m = /bytes\s+(\d+)-(\d+)\/(\d+|\*)/i.exec(r.headers.get('content-range') ?? '');
            if (m && Number(m[1]) !== offset)
                throw new GgufError('io_error', `${this.url}: the server answered another byte range than the one asked for`);
            if (m && m[3] !== '*') total = Number(m[3]);
        } else {
            total = r.headers.has('content-length') ? Number(r.headers.get('content-length')) : null;
            const whole = offset === 0 && (length === Infinity || (total !== null && total <= length));
            if (!whole)
                throw new GgufError('io_error', `${this.url}: the server ignores Range requests (it answered 200 with the whole file instead of 206): the file cannot be streamed from it; ${kAdvice.local}`);
        }
        const etag = r.headers.get('etag'), lm = r.headers.get('last-modified');
        if (!this.validated) {
            this.validated = true;
            if (total !== null) this.size = total;
            this.etag = etag;
            this.lastModified = lm;
        } else {
            let what = '';
            if (etag !== this.etag) what = `ETag ${this.etag} became ${etag}`;
            else if (total !== null && this.size !== undefined && total !== this.size) what = `size ${this.size} became ${total}`;
            else if (lm !== this.lastModified) what = `Last-Modified ${this.lastModified} became ${lm}`;
            if (what) throw new GgufError('io_error', `${this.url}: the file changed on the server while it was being read (${what}); nothing was written, start again`);
        }
    }

    // One try: redirects by hand where possible, then the body into `sink` until `length` bytes.
    async tryRange(offset, length, sink) {
        const origin = originOf(this.url);
        let url = this.url;
        for (let hop = 0; hop <= 10; hop++) {
            const headers = { Range: `bytes=${offset}-${length === Infinity ? '' : offset + length - 1}` };
            if (this.token && originOf(url) === origin) headers.Authorization = `Bearer ${this.token}`;
            const ac = new AbortController();
            const onAbort = () => ac.abort(this.signal.reason);
            this.signal?.addEventListener('abort', onAbort);
            let timer = setTimeout(() => ac.abort(new Retry('stalled')), this.stallMs);
            const rearm = () => { clearTimeout(timer); timer = setTimeout(() => ac.abort(new Retry(`no data for ${this.stallMs / 1000} s`)), this.stallMs); };
            let r;
            try {
                this.requests++;
                const get = async (redirect) => {
                    try {
                        return await this.fetch(url, { headers, redirect, signal: ac.signal, cache: 'no-store' });
                    } catch (e) {
                        if (this.signal?.aborted) throw this.signal.reason;
                        if (e instanceof Retry) throw e;  // our stall timer
                        if (e instanceof TypeError && inPage) {
                            // In a page a failed fetch is most often CORS (the browser does not say
                            // which); tried again like a network error, then named as such.
                            throw new Retry(`${this.url}: the host ${new URL(url).host} (or the one it redirects to) does not allow reading this file from a web page (CORS), or it cannot be reached; downloading the file and dropping it here works`);
                        }
                        throw new Retry(`${this.url}: ${e.cause?.code ?? e.message}`);
                    }
                };
                r = await get('manual');
                // A browser hides the redirect: let it follow (it drops Authorization across origins).
                if (r.type === 'opaqueredirect') r = await get('follow');
                if (r.status >= 300 && r.status < 400) {
                    const loc = r.headers.get('location');
                    await r.body?.cancel();
                    if (!loc) throw new GgufError('io_error', `${this.url}: HTTP ${r.status} redirect without a Location`);
                    url = new URL(loc, url).href;
                    continue;
                }
                if (r.status >= 400) {
                    await r.body?.cancel().catch(() => {});
                    if (r.status >= 500 || r.status === 429 || r.status === 408) throw new Retry(`${this.url}: HTTP ${r.status}`);
                    throw httpError(this, r.status);
                }
                this.checkResponse(r, offset, length);
                let got = 0;
                const reader = r.body.getReader();
                try {
                    for (;;) {
                        let chunk;
                        try {
                            chunk = await reader.read();
                        } catch (e) {
                            if (this.signal?.aborted) throw this.signal.reason;
                            throw Object.assign(new Retry(`${this.url}: ${ac.signal.reason?.message ?? e.message}`), { got });
                        }
                        if (chunk.done) break;
                        rearm();
                        let bytes = chunk.value;
                        if (got + bytes.length > length) bytes = bytes.subarray(0, length - got);
                        got += bytes.length;
                        this.bytesReceived += bytes.length;
                        this.onBytes?.(bytes.length);
                        sink(bytes);
                        if (got >= length) break;
                    }
                } finally {
                    reader.cancel().catch(() => {});
                }
                if (length !== Infinity && got < length && !(this.size !== undefined && offset + got >= this.size))
                    throw Object.assign(new Retry(`${this.url}: the response ended early`), { got });
                return got;
            } finally {
                clearTimeout(timer);
                this.signal?.removeEventListener('abort', onAbort);
            }
        }
        throw new GgufError('io_error', `${this.url}: too many redirects`);
    }

    // Bytes [offset, offset + length) (fewer only at the end of the file), resumed across faults.
    async fetchRange(offset, length) {
        if (this.size !== undefined) {
            if (offset >= this.size) return new Uint8Array(0);
            if (length !== Infinity) length = Math.min(length, this.size - offset);
        }
        if (length === Infinity) return this.fetchWhole(offset);
        const [out] = await this.fetchInto(offset, [length]);
        return out;
    }

    // One request (resumed across faults) for consecutive pieces of the given sizes from
    // `offset`, each received straight into its own buffer: one copy of each byte, and every
    // piece a buffer of its own (the pool transfers them to its workers). Fewer bytes only at
    // the end of the file.
    async fetchInto(offset, sizes, take = newBuffer) {
        const bufs = sizes.map(take);
        const total = sizes.reduce((a, n) => a + n, 0);
        let done = 0, piece = 0, at = 0;
        const sink = (b) => {
            for (let k = 0; k < b.length;) {
                while (at === bufs[piece].length) { piece++; at = 0; }
                const n = Math.min(b.length - k, bufs[piece].length - at);
                bufs[piece].set(k === 0 && n === b.length ? b : b.subarray(k, k + n), at);
                at += n;
                k += n;
            }
            done += b.length;
        };
        await this.retrying(async () => {
            try {
                await this.tryRange(offset + done, total - done, sink);
            } catch (e) {
                if (!(e instanceof Retry) || done < total) throw e;  // every byte arrived before the fault
            }
        });
        if (done < total) {  // the file ended: the pieces up to there
            let left = done;
            return bufs.map((b) => { const n = Math.min(b.length, left); left -= n; return n === b.length ? b : b.subarray(0, n); });
        }
        return bufs;
    }

    // A whole file of unknown size (an imatrix) from `offset`: gathered, then joined.
    async fetchWhole(offset) {
        const parts = [];
        let done = 0;
        await this.retrying(() => this.tryRange(offset + done, Infinity, (b) => { parts.push(b.slice()); done += b.length; }));
        const whole = new Uint8Array(done);
        let at = 0;
        for (const p of parts) { whole.set(p, at); at += p.length; }
        return whole;
    }

    // Runs `attempt` up to maxTries times, with backoff, while it fails with a fault worth
    // another try (each attempt resumes where the bytes received so far end).
    async retrying(attempt) {
        let last = null;
        for (let tries = 0; tries < this.maxTries; tries++) {
            if (tries > 0) await sleep(this.backoffMs * 2 ** (tries - 1));
            try {
                await attempt();
                return;
            } catch (e) {
                if (!(e instanceof Retry)) throw e;
                last = e;
            }
        }
        throw new GgufError('io_error', `${last.message} (gave up after ${this.maxTries} tries)`);
    }

    // An async read(offset, length) for QuantizeJob.run / runPool that downloads `extents`
    // ([{offset, size}] in the job's read order) ahead of the job, one request at a time, holding
    // at most `bufferBytes`. A read off the schedule is fetched on its own.
    // Each extent (split at rangeBytes) is received into a buffer of its own, and consecutive
    // extents share one request of up to rangeBytes: given the pool's reads (jobReadSchedule with
    // taskBytes), every read is answered with its own buffer, no copy. fresh: every answer owns
    // its buffer (the pool transfers it; a view into a larger one is copied); false for a reader
    // that copies what it gets (QuantizeJob.run), which then gets views. buffers: a SpareBuffers
    // the pieces are taken from; with fresh, an answer is then a view at the start of a buffer
    // that may be longer (transfer the buffer, read the view's length), and the caller gives the
    // buffer back to `buffers` when done with it; without fresh, a piece's buffer goes back by
    // itself once the reader has moved past it.
    streamReader(extents, { rangeBytes = kStreamRange, bufferBytes = 3 * kStreamRange, fresh = true, buffers = null } = {}) {
        const take = buffers ? (n) => buffers.take(n) : newBuffer;
        const head = this.head;
        const headEnd = head ? head.offset + head.bytes.length : 0;
        // Units: {offset, size, bytes (once here), range}, in read order.
        const units = [];
        for (const e of extents) {
            for (let o = e.offset, end = e.offset + (e.size || 0); o < end;) {
                if (head && o >= head.offset && o < headEnd) {
                    // Already here from the header read.
                    const n = Math.min(end, headEnd) - o;
                    units.push({ offset: o, size: n, bytes: head.bytes.subarray(o - head.offset, o - head.offset + n), local: true });
                    o += n;
                    continue;
                }
                let n = Math.min(rangeBytes, end - o);
                if (head && o < head.offset && o + n > head.offset) n = head.offset - o;
                units.push({ offset: o, size: n });
                o += n;
            }
        }
        // Requests: runs of adjacent units, up to rangeBytes each.
        const ranges = [];
        for (const u of units) {
            if (u.local) continue;
            const r = ranges[ranges.length - 1];
            if (r && r.offset + r.size === u.offset && r.size + u.size <= rangeBytes) {
                r.units.push(u);
                r.size += u.size;
            } else {
                ranges.push({ offset: u.offset, size: u.size, units: [u] });
            }
            u.range = ranges[ranges.length - 1];
        }
        let next = 0;      // next request to start
        let ahead = 0;     // bytes fetched or in flight, not yet consumed
        let chain = Promise.resolve();  // one request at a time
        const pump = () => {
            while (next < ranges.length && (ahead === 0 || ahead + ranges[next].size <= bufferBytes)) {
                const r = ranges[next++];
                ahead += r.size;
                r.promise = chain = chain.then(async () => {
                    const bufs = await this.fetchInto(r.offset, r.units.map((u) => u.size), take);
                    r.units.forEach((u, k) => { u.bytes = bufs[k]; });
                });
                r.promise.catch(() => {});
            }
        };
        let cur = 0, into = 0;  // the job's place: unit, bytes consumed
        let whole = false;      // the last readSome answered a downloaded unit whole
        const readSome = async (offset, length) => {
            whole = false;
            const fromHead = head && offset >= head.offset && offset + Math.min(length, 1) <= head.offset + head.bytes.length;
            while (cur < units.length && into === units[cur].size) {
                if (!units[cur].local) {
                    ahead -= units[cur].size;
                    // Views of it were copied by now (a reader without `fresh` copies each answer).
                    if (!fresh && buffers && units[cur].bytes) buffers.put(units[cur].bytes.buffer);
                }
                units[cur].bytes = null;
                cur++;
                into = 0;
            }
            if (cur >= units.length || offset !== units[cur].offset + into) {
                if (fromHead) return head.bytes.subarray(offset - head.offset, Math.min(head.bytes.length, offset - head.offset + length));
                return this.fetchRange(offset, length);
            }
            const u = units[cur];
            if (!u.local) {
                if (!u.range.promise) pump();
                await u.range.promise;
            }
            const n = Math.min(length, u.size - into);
            const out = into === 0 && n === u.bytes.length ? u.bytes : u.bytes.subarray(into, into + n);
            whole = !u.local && into === 0 && n === u.size && out.byteOffset === 0;
            into += n;
            pump();
            return out;
        };
        // Without spare buffers every piece fills its buffer; with them, a piece starts its buffer.
        const owned = (b) => !fresh || (whole && (buffers || b.byteLength === b.buffer.byteLength));
        // Whole reads across unit boundaries.
        return async (offset, length) => {
            const first = await readSome(offset, length);
            // With `fresh`, a view into a larger buffer (the header's, or a unit read in parts)
            // is copied: transferring it would detach the rest.
            if (first.length === length || first.length === 0) return owned(first) ? first : first.slice();
            const out = new Uint8Array(length);
            out.set(first);
            let got = first.length;
            while (got < length) {
                const more = await readSome(offset + got, length - got);
                if (more.length === 0) break;
                out.set(more, got);
                got += more.length;
            }
            return got === length ? out : out.subarray(0, got);
        };
    }
}

// A whole small file (an imatrix) from its URL.
export async function fetchUrlBytes(url, options = {}) {
    const src = new UrlSource(url, options);
    return src.fetchRange(0, Infinity);
}

// Each shard's extents in the order a QuantizeJob reads them, from its layout (job.layout():
// each tensor's shard, input offset, rows and input row size): one per tensor, or with
// `taskBytes` one per row chunk as runPool reads them (wasm/row_pool.mjs rowTasks), so that
// streamReader answers each of the pool's reads with a buffer of its own.
export function jobReadSchedule(layout, shards = 1, { taskBytes = null } = {}) {
    const out = Array.from({ length: shards }, () => []);
    if (taskBytes) {
        for (const task of rowTasks(layout, taskBytes)) {
            if (task.rows > 0) (out[task.tensor.shard ?? 0] ??= []).push({ offset: task.offset, size: task.srcSize });
        }
        return out;
    }
    for (const t of layout.tensors) {
        const s = t.shard ?? 0;
        (out[s] ??= []).push({ offset: t.offset, size: t.rows * t.src_row });
    }
    return out;
}
