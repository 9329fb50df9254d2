// wasm/url_source.mjs streamReader with an injected fetch (no network): the pool's reads
// (jobReadSchedule with taskBytes) are answered with buffers of their own holding the file's
// bytes (that they are the very buffers the bodies were received into is not observable here);
// requests group adjacent reads up to the range size, one at a time; each byte is received once,
// also when a response is cut mid-body and resumed.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { UrlSource } from '../../wasm/url_source.mjs';

const kFile = 5 * 1024 * 1024 + 123;
const file = new Uint8Array(kFile);
for (let i = 0; i < kFile; i++) file[i] = (i * 2654435761) >>> 24;
file.set([0x47, 0x47, 0x55, 0x46]);  // GGUF

// A server answering Range requests from `file`; `cutAfter` bytes into the first body it sends
// past that many bytes in total, the body errors once (a dropped connection).
function fakeServer({ cutAfter = null } = {}) {
    const log = [];
    let sent = 0, cut = cutAfter;
    const fetch = async (url, init) => {
        const m = /bytes=(\d+)-(\d*)/.exec(init.headers.Range);
        const start = Number(m[1]), end = m[2] ? Number(m[2]) : kFile - 1;
        log.push([start, end]);
        const body = file.subarray(start, end + 1);
        let at = 0;
        const stream = new ReadableStream({
            pull(c) {
                if (at >= body.length) return c.close();
                let n = Math.min(64 * 1024, body.length - at);
                if (cut !== null && sent + n > cut) {
                    n = cut - sent;
                    cut = null;
                    if (n > 0) c.enqueue(body.slice(at, at + n));
                    sent += n;
                    return c.error(new TypeError('socket hang up'));
                }
                c.enqueue(body.slice(at, at + n));
                at += n;
                sent += n;
            },
        });
        return new Response(stream, { status: 206, headers: { 'Content-Range': `bytes ${start}-${end}/${kFile}`, ETag: '"x"' } });
    };
    return { fetch, log, sent: () => sent };
}

// The pool's reads: 1 MiB chunks after a 4 KiB header (what jobReadSchedule gives with taskBytes).
const kHeader = 4096;
const reads = [];
for (let o = kHeader; o < kFile; o += 1 << 20) reads.push({ offset: o, size: Math.min(1 << 20, kFile - o) });

for (const cutAfter of [null, 2_500_000]) {
    test(`pool reads get their own buffers with the file's bytes${cutAfter ? ', across a dropped response' : ''}`, async () => {
        const server = fakeServer({ cutAfter });
        const src = await UrlSource.open('http://h/m.gguf', { fetch: server.fetch, backoffMs: 1 });
        assert.equal(src.size, kFile);
        const read = src.streamReader(reads, { rangeBytes: 2 << 20, bufferBytes: 4 << 20 });
        for (const r of reads) {
            const got = await read(r.offset, r.size);
            assert.equal(got.length, r.size);
            // Its own buffer: the pool can transfer it without detaching anything else.
            assert.equal(got.byteOffset, 0);
            assert.equal(got.buffer.byteLength, r.size);
            assert.deepEqual(got, file.subarray(r.offset, r.offset + r.size), `bytes at ${r.offset}`);
        }
        // The header read (the first 1 MiB) is reused: the data after it comes in requests of at
        // most two reads each, and every byte once (plus the header read's).
        const ranges = server.log.slice(1);
        for (const [s, e] of ranges) assert.ok(e - s + 1 <= 2 << 20, `a request of ${e - s + 1} bytes`);
        // Each byte received once (bytes sent into a body that then broke never arrived).
        assert.equal(src.bytesReceived, kFile, 'each byte received once');
        if (!cutAfter) assert.equal(server.sent(), kFile);
        // The cut request is resumed from the last byte received, inside the range it asked for.
        if (cutAfter) assert.ok(ranges.some(([s], i) => i > 0 && s > ranges[i - 1][0] && s <= ranges[i - 1][1]), JSON.stringify(ranges));
    });
}

test('a reader that copies what it gets (fresh: false) is given views, reading across pieces', async () => {
    const server = fakeServer();
    const src = await UrlSource.open('http://h/m.gguf', { fetch: server.fetch });
    const read = src.streamReader([{ offset: kHeader, size: kFile - kHeader }], { rangeBytes: 1 << 20, fresh: false });
    for (let o = kHeader; o < kFile;) {
        const n = Math.min(700_000, kFile - o);  // reads that straddle the 1 MiB pieces
        const got = await read(o, n);
        assert.deepEqual(got, file.subarray(o, o + n));
        o += n;
    }
    assert.equal(src.bytesReceived, kFile);
});
