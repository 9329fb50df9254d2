// Shared set-up for the browser tests: the built site (build/web, or GGUF_SQUASH_WEB_DIR) on a
// local static server, Debian's Chromium through playwright-core, and a log of every request
// so tests can assert that nothing leaves the page's origin.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startStaticServer } from '../../scripts/static-server.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixtures = path.join(root, 'tests/fixtures');
export const webDir = path.resolve(root, process.env.GGUF_SQUASH_WEB_DIR ?? 'build/web');
export const reference = JSON.parse(fs.readFileSync(path.join(fixtures, 'models/llama-gqa.reference.json')));

export async function launch() {
    if (!fs.existsSync(path.join(webDir, 'index.html'))) throw new Error(`no site in ${webDir}: run scripts/build.sh wasm web`);
    const server = await startStaticServer(webDir, 0, '127.0.0.1');
    const origin = `http://127.0.0.1:${server.address().port}`;
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-squash-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        acceptDownloads: true,
        viewport: { width: 1280, height: 900 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const requests = [];
    context.on('request', (req) => requests.push(req.url()));
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    return {
        origin, context, page, requests, errors,
        // Requests to anywhere but the page's own origin (data: and blob: URLs stay local).
        foreignRequests: () => requests.filter((u) => !u.startsWith(origin + '/') && !/^(data|blob):/.test(u)),
        async open() {
            await page.goto(origin + '/');
            await page.waitForSelector('html[data-ready="true"]');
            await page.waitForFunction(() => /engine: wasm/.test(document.getElementById('engine').textContent));
        },
        async close() {
            await context.close();
            await new Promise((r) => server.close(r));
            fs.rmSync(profile, { recursive: true, force: true });
        },
    };
}

export function fixturePath(rel) {
    return path.join(fixtures, rel);
}
