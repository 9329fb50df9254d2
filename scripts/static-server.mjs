// A small static file server for build/web: GET and HEAD, Range requests (206) for the estimator's
// header reads, correct MIME types for .mjs and .wasm, and no special headers required.
//   node scripts/static-server.mjs ROOT [PORT] [HOST]
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.gguf': 'application/octet-stream', '.dat': 'application/octet-stream',
};

export function startStaticServer(root, port = 8080, host = '127.0.0.1') {
  const rootAbs = path.resolve(root);
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      let rel = decodeURIComponent(url.pathname);
      let file = path.join(rootAbs, rel);
      if (!file.startsWith(rootAbs)) { res.writeHead(403).end(); return; }
      let st = await fs.stat(file).catch(() => null);
      if (st && st.isDirectory()) { file = path.join(file, 'index.html'); st = await fs.stat(file).catch(() => null); }
      if (!st) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
      const type = MIME[path.extname(file)] || 'application/octet-stream';
      const headers = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'no-cache' };
      const range = req.headers.range && /^bytes=(\d*)-(\d*)$/.exec(req.headers.range);
      if (range) {
        let start = range[1] === '' ? st.size - Number(range[2]) : Number(range[1]);
        let end = range[1] !== '' && range[2] !== '' ? Number(range[2]) : st.size - 1;
        if (range[1] === '') end = st.size - 1;
        end = Math.min(end, st.size - 1);
        if (start < 0 || start > end) {
          res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
          return;
        }
        res.writeHead(206, { ...headers, 'content-length': end - start + 1,
                             'content-range': `bytes ${start}-${end}/${st.size}` });
        if (req.method === 'HEAD') { res.end(); return; }
        createReadStream(file, { start, end }).pipe(res);
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': st.size });
      if (req.method === 'HEAD') { res.end(); return; }
      createReadStream(file).pipe(res);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = 'build/web', port = '8080', host = '127.0.0.1'] = process.argv.slice(2);
  const server = await startStaticServer(root, Number(port), host);
  const addr = server.address();
  console.log(`gguf-squash: serving ${root} on http://${addr.address}:${addr.port}/`);
}
