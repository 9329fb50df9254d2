// A Hugging Face Hub emulator for the URL-input tests: two loopback HTTP servers.
//
// - The Hub: `GET /api/models/OWNER/REPO/tree/main?recursive=true` lists a repo's files as the
//   Hub's API does, and `/OWNER/REPO/resolve/main/FILE` answers 302 to the CDN with a
//   signed-looking query string (401 for a gated repo without `Authorization: Bearer TOKEN`).
// - The CDN: serves the files with Range (206, Content-Range), ETag, Last-Modified and the CORS
//   headers the Hub's CDN sends, so that a page on another origin can read them.
//
// Files are served from ROOT/OWNER/REPO/PATH. Fault switches (emu.setFaults or
// `POST {hub}/_emulator/faults` with JSON) make the CDN misbehave; each one-shot switch clears
// itself once it has fired:
//   dropAfterBytes: N   close the connection once N more body bytes have been sent
//   stallAfterBytes: N  stop sending (socket left open) once N more body bytes have been sent
//   stallMs: MS         how long a stall lasts before the socket is destroyed (default 60 s)
//   status503Once: true the next CDN request answers 503
//   changeEtagAfter: K  after K more CDN requests the files' ETag and Last-Modified change
//   ignoreRange: true   answer 200 with the whole file to every request
//   notFound: true      every resolve/CDN request answers 404
//   html: true          the CDN answers with an HTML page (a login wall, say) instead of the file
//   noCors: true        the CDN sends no CORS headers (a host that does not let web pages read it;
//                       stays until cleared)
// `GET {hub}/_emulator/faults` shows the switches still armed. The CDN counts the body bytes it
// sends (emu.stats(), `GET {hub}/_emulator/stats`).
//
// CLI: node tests/support/hub_emulator.mjs --root DIR [--gated OWNER/REPO] [--token T]
//      [--hub-port N] [--cdn-port N]   prints {"hub": URL, "cdn": URL} as one JSON line.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const kCors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'Content-Range, Content-Length, ETag, Accept-Ranges, Last-Modified',
};

function listFiles(dir, base = '') {
    const out = [];
    let entries = [];
    try {
        entries = fs.readdirSync(path.join(dir, base), { withFileTypes: true });
    } catch {
        return out;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const rel = base ? `${base}/${e.name}` : e.name;
        if (e.isDirectory()) {
            out.push({ type: 'directory', path: rel });
            out.push(...listFiles(dir, rel));
        } else {
            const size = fs.statSync(path.join(dir, rel)).size;
            const oid = crypto.createHash('sha1').update(rel + ':' + size).digest('hex');
            out.push({ type: 'file', oid, size, path: rel, lfs: { oid: oid.padEnd(64, '0'), size, pointerSize: 134 } });
        }
    }
    return out;
}

function safeJoin(root, parts) {
    const p = path.resolve(root, ...parts.map(decodeURIComponent));
    return p.startsWith(path.resolve(root) + path.sep) ? p : null;
}

export async function startHubEmulator({ root, gated = [], token = 'hf_test_token', hubPort = 0, cdnPort = 0 } = {}) {
    let faults = {};
    let epoch = 0;  // bumps when the ETag changes
    const counters = { bytes: 0, requests: 0, hubRequests: 0, rangeRequests: 0, authorizationSeenByCdn: 0 };
    const log = [];  // {server, method, url, range, authorization}
    const gatedSet = new Set(gated);
    let cdnBase = '';

    const hub = http.createServer((req, res) => {
        counters.hubRequests++;
        const url = new URL(req.url, 'http://x');
        log.push({ server: 'hub', method: req.method, url: req.url, range: req.headers.range ?? null,
                   authorization: req.headers.authorization ?? null });
        const cors = { ...kCors, 'Access-Control-Allow-Headers': 'Range, Authorization' };
        if (req.method === 'OPTIONS') {
            res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, HEAD' });
            return res.end();
        }
        if (url.pathname === '/_emulator/faults' && req.method === 'POST') {
            let body = '';
            req.on('data', (c) => { body += c; });
            req.on('end', () => {
                faults = JSON.parse(body || '{}');
                res.writeHead(200, cors);
                res.end('{}');
            });
            return;
        }
        if (url.pathname === '/_emulator/faults') {
            res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
            return res.end(JSON.stringify(faults));
        }
        if (url.pathname === '/_emulator/stats') {
            res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
            return res.end(JSON.stringify(counters));
        }
        const parts = url.pathname.split('/').filter(Boolean);
        const authorized = (repo) => !gatedSet.has(repo) || req.headers.authorization === `Bearer ${token}`;
        // /api/models/OWNER/REPO/tree/main
        if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'tree' && parts.length >= 6) {
            const repo = `${parts[2]}/${parts[3]}`;
            const dir = safeJoin(root, [parts[2], parts[3]]);
            if (!dir || !fs.existsSync(dir)) {
                res.writeHead(404, { ...cors, 'Content-Type': 'application/json' });
                return res.end(JSON.stringify({ error: 'Repository not found' }));
            }
            if (!authorized(repo)) {
                res.writeHead(401, { ...cors, 'Content-Type': 'application/json' });
                return res.end(JSON.stringify({ error: 'Access to this repository is restricted.' }));
            }
            res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
            return res.end(JSON.stringify(listFiles(dir)));
        }
        // /OWNER/REPO/resolve/main/FILE
        if (parts.length >= 5 && parts[2] === 'resolve') {
            const repo = `${parts[0]}/${parts[1]}`;
            const file = safeJoin(root, [parts[0], parts[1], ...parts.slice(4)]);
            if (faults.notFound || !file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
                res.writeHead(404, { ...cors, 'Content-Type': 'text/plain', 'X-Error-Code': 'EntryNotFound' });
                return res.end('Entry not found');
            }
            if (!authorized(repo)) {
                res.writeHead(401, { ...cors, 'Content-Type': 'text/plain', 'X-Error-Code': 'GatedRepo' });
                return res.end('Access to this model is restricted. You must have access to it and be authenticated.');
            }
            const expires = Math.floor(Date.now() / 1000) + 3600;
            const sig = crypto.createHash('sha256').update(`${url.pathname}:${expires}`).digest('hex');
            const loc = `${cdnBase}/repos/${parts.slice(0, 2).join('/')}/${parts.slice(4).join('/')}` +
                        `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&Expires=${expires}&X-Amz-Signature=${sig}`;
            res.writeHead(302, { ...cors, Location: loc, 'Content-Type': 'text/plain' });
            return res.end(`Found. Redirecting to ${loc}`);
        }
        res.writeHead(404, { ...cors, 'Content-Type': 'text/plain' });
        res.end('Not found');
    });

    const sockets = new Set();
    const cdn = http.createServer((req, res) => {
        counters.requests++;
        if (faults.noCors) {
            // Every CORS header left out: a browser refuses the response to a page on another origin.
            const writeHead = res.writeHead.bind(res);
            res.writeHead = (status, headers = {}) => writeHead(status, Object.fromEntries(
                Object.entries(headers).filter(([k]) => !/^access-control-/i.test(k))));
        }
        log.push({ server: 'cdn', method: req.method, url: req.url, range: req.headers.range ?? null,
                   authorization: req.headers.authorization ?? null });
        if (req.headers.authorization) counters.authorizationSeenByCdn++;
        if (req.method === 'OPTIONS') {
            res.writeHead(204, { ...kCors, 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Allow-Methods': 'GET, HEAD' });
            return res.end();
        }
        const url = new URL(req.url, 'http://x');
        const parts = url.pathname.split('/').filter(Boolean);
        if (faults.changeEtagAfter !== undefined) {
            if (faults.changeEtagAfter <= 0) {
                epoch++;
                delete faults.changeEtagAfter;
            } else {
                faults.changeEtagAfter--;
            }
        }
        if (faults.status503Once) {
            delete faults.status503Once;
            res.writeHead(503, { ...kCors, 'Content-Type': 'text/plain', 'Retry-After': '0' });
            return res.end('Service Unavailable');
        }
        const file = parts[0] === 'repos' ? safeJoin(root, parts.slice(1)) : null;
        if (faults.notFound || !file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
            res.writeHead(404, { ...kCors, 'Content-Type': 'text/plain' });
            return res.end('Not found');
        }
        if (!url.searchParams.get('X-Amz-Signature')) {
            res.writeHead(403, { ...kCors, 'Content-Type': 'text/plain' });
            return res.end('Missing signature');
        }
        if (faults.html) {
            const page = '<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>\n';
            res.writeHead(200, { ...kCors, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length });
            return res.end(page);
        }
        const stat = fs.statSync(file);
        const size = stat.size;
        const etag = `"${crypto.createHash('md5').update(`${file}:${size}:${epoch}`).digest('hex')}"`;
        const lastModified = new Date(Date.UTC(2025, 0, 1) + epoch * 1000).toUTCString();
        let start = 0, end = size - 1, partial = false;
        const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
        if (m && !faults.ignoreRange) {
            if (m[1] === '') {
                start = Math.max(0, size - Number(m[2]));
            } else {
                start = Number(m[1]);
                if (m[2] !== '') end = Math.min(end, Number(m[2]));
            }
            if (start >= size || start > end) {
                res.writeHead(416, { ...kCors, 'Content-Range': `bytes */${size}` });
                return res.end();
            }
            partial = true;
            counters.rangeRequests++;
        }
        const headers = { ...kCors, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes',
                          ETag: etag, 'Last-Modified': lastModified, 'Content-Length': end - start + 1 };
        if (partial) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
        res.writeHead(partial ? 206 : 200, headers);
        if (req.method === 'HEAD') return res.end();
        const fd = fs.openSync(file, 'r');
        let pos = start;
        // 1 MiB per read and write: the bench (scripts/bench_url.sh) runs this server on the same
        // cores as the client, and with 64 KiB writes it spent ~15% more CPU on the same bytes
        // (its own cost, which a real CDN does not put on the user's machine). The buffer is
        // reused: a write the kernel does not take whole stays queued, which is more than the
        // socket's 16 KiB high-water mark, so write() returns false and the next read waits for
        // 'drain'.
        const buf = Buffer.alloc(1 << 20);
        const finish = () => fs.closeSync(fd);
        const pump = () => {
            while (pos <= end) {
                let n = Math.min(buf.length, end - pos + 1);
                let cut = null;
                if (faults.dropAfterBytes !== undefined && n >= faults.dropAfterBytes) {
                    n = faults.dropAfterBytes;
                    cut = 'drop';
                } else if (faults.stallAfterBytes !== undefined && n >= faults.stallAfterBytes) {
                    n = faults.stallAfterBytes;
                    cut = 'stall';
                }
                if (n > 0) {
                    fs.readSync(fd, buf, 0, n, pos);
                    pos += n;
                    counters.bytes += n;
                }
                if (faults.dropAfterBytes !== undefined) faults.dropAfterBytes -= n;
                if (faults.stallAfterBytes !== undefined) faults.stallAfterBytes -= n;
                if (cut === 'drop') {
                    delete faults.dropAfterBytes;
                    finish();
                    // Let the bytes already written leave, then cut the connection mid-body.
                    return res.write(buf.subarray(0, n), () => res.socket?.destroy());
                }
                if (cut === 'stall') {
                    delete faults.stallAfterBytes;
                    finish();
                    res.write(buf.subarray(0, n));
                    const t = setTimeout(() => res.socket?.destroy(), faults.stallMs ?? 60000);
                    res.on('close', () => clearTimeout(t));
                    return;
                }
                if (!res.write(buf.subarray(0, n))) return res.once('drain', pump);
            }
            finish();
            res.end();
        };
        res.on('close', () => { pos = end + 1; });
        pump();
    });
    cdn.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    hub.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

    const listen = (server, port) => new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve(server.address().port));
    });
    const hp = await listen(hub, hubPort);
    const cp = await listen(cdn, cdnPort);
    cdnBase = `http://127.0.0.1:${cp}`;
    return {
        hub: `http://127.0.0.1:${hp}`,
        cdn: cdnBase,
        token,
        log,
        // The URL a user copies from the Hub's web page.
        resolveUrl: (repo, file) => `http://127.0.0.1:${hp}/${repo}/resolve/main/${file}`,
        setFaults(f) { faults = { ...f }; },
        faults: () => ({ ...faults }),
        stats: () => ({ ...counters }),
        resetStats() {
            for (const k of Object.keys(counters)) counters[k] = 0;
            log.length = 0;
        },
        close() {
            for (const s of sockets) s.destroy();
            return Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
        },
    };
}

// Makes ROOT/OWNER/REPO hold `files` ({name: source path}) as symlinks (or copies where links fail).
export function makeRepo(root, repo, files) {
    const dir = path.join(root, ...repo.split('/'));
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, src] of Object.entries(files)) {
        const dst = path.join(dir, name);
        fs.mkdirSync(path.dirname(dst), { recursive: true });
        try {
            fs.symlinkSync(path.resolve(src), dst);
        } catch {
            fs.copyFileSync(src, dst);
        }
    }
    return dir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
    const argv = process.argv.slice(2);
    const opt = { gated: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--root') opt.root = argv[++i];
        else if (a === '--gated') opt.gated.push(argv[++i]);
        else if (a === '--token') opt.token = argv[++i];
        else if (a === '--hub-port') opt.hubPort = Number(argv[++i]);
        else if (a === '--cdn-port') opt.cdnPort = Number(argv[++i]);
        else {
            process.stderr.write('usage: node tests/support/hub_emulator.mjs --root DIR [--gated OWNER/REPO] [--token T] [--hub-port N] [--cdn-port N]\n');
            process.exit(2);
        }
    }
    if (!opt.root) {
        process.stderr.write('hub_emulator: --root DIR is required\n');
        process.exit(2);
    }
    const emu = await startHubEmulator(opt);
    process.stdout.write(JSON.stringify({ hub: emu.hub, cdn: emu.cdn }) + '\n');
    process.on('SIGTERM', () => emu.close().then(() => process.exit(0)));
    process.on('SIGINT', () => emu.close().then(() => process.exit(0)));
}
