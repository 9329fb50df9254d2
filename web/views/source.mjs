// Opening models and importance matrices: dropped or picked files, and URLs — a file URL, a Hub
// repo (OWNER/REPO: its files listed to pick from) or OWNER/REPO/FILE — with the query
// parameters ?model=, &imatrix= and &hub=. Every model is opened by the model worker (bridge.mjs);
// the page sends requests only to the URLs and the Hub the user named (the repo listing here, the
// files from the workers), and the access token only to the origin the user named.
import { parseShardName } from '../wasm/split_names.mjs';
import { $, clearError, el, showError } from '../dom.mjs';
import { modelBridge, newGeneration, state } from '../state.mjs';
import { formatBytes, formatInt } from '../units.mjs';
import { refreshEstimates, refreshMemory } from './estimates.mjs';
import { openImatrix, openUrlImatrix as openImatrixUrl, recheckImatrix } from './imatrix.mjs';
import { explainOpenError } from './incomplete.mjs';
import { renderMetadata } from './metadata.mjs';
import { renderOverview } from './overview.mjs';
import { renderTypeSelect, resetOutput } from './quantize.mjs';
import { renderTensors } from './tensors.mjs';

export const kDefaultHub = 'https://huggingface.co';

// Files named like importance matrices: *.imatrix, *imatrix*.dat, *imatrix*.gguf (and a dropped
// legacy *.dat).
export const isImatrixName = (name) => /\.imatrix$/i.test(name) || /\.dat$/i.test(name) || /imatrix[^/]*\.gguf$/i.test(name);

const isHttpUrl = (s) => /^https?:\/\//i.test(s);

// The page's Hub base (?hub=BASE; https://huggingface.co by default), without a trailing slash.
export function hubBase() {
    const given = new URLSearchParams(location.search).get('hub');
    return (given || kDefaultHub).replace(/\/+$/, '');
}

// What the user typed: {kind: 'file', url} | {kind: 'repo', repo} | null.
export function parseModelInput(text, hub = hubBase()) {
    const s = text.trim();
    if (!s) return null;
    if (isHttpUrl(s)) {
        // A repo's page on the Hub (HUB/OWNER/REPO) lists the repo; anything else is a file.
        if (s.startsWith(hub + '/')) {
            const rest = s.slice(hub.length + 1).split(/[?#]/)[0].replace(/\/+$/, '');
            if (/^[\w.-]+\/[\w.-]+$/.test(rest)) return { kind: 'repo', repo: rest };
            const tree = /^([\w.-]+\/[\w.-]+)\/tree\/main$/.exec(rest);
            if (tree) return { kind: 'repo', repo: tree[1] };
        }
        return { kind: 'file', url: s };
    }
    if (/^[\w.-]+\/[\w.-]+$/.test(s)) return { kind: 'repo', repo: s };
    const short = /^([\w.-]+\/[\w.-]+)\/(.+)$/.exec(s);
    if (short) return { kind: 'file', url: `${hub}/${short[1]}/resolve/main/${short[2].split('/').map(encodeURIComponent).join('/')}` };
    return null;
}

// Files that make a Hugging Face checkpoint (its weights and its config): a drop or pick that
// holds one opens as the GGUF convert_hf_to_gguf.py would write for it.
export const isCheckpointFile = (name) => /\.safetensors$/i.test(name) || name === 'config.json';

const fileUrl = (hub, repo, path) => `${hub}/${repo}/resolve/main/${path.split('/').map(encodeURIComponent).join('/')}`;

// A repo's files from the Hub's tree API, grouped: models (a split model is one entry, its shards
// in order) and imatrix files.
export function groupRepoFiles(tree, hub, repo) {
    const models = new Map(), imatrices = [];
    for (const f of tree) {
        if (f.type !== 'file') continue;
        const size = Number(f.lfs?.size ?? f.size ?? 0);
        if (isImatrixName(f.path)) {
            imatrices.push({ name: f.path, size, url: fileUrl(hub, repo, f.path) });
            continue;
        }
        if (!/\.gguf$/i.test(f.path)) continue;
        const shard = parseShardName(f.path);
        const key = shard ? `${shard.prefix}\u0000${shard.count}` : f.path;
        const entry = models.get(key) ?? { name: shard ? `${shard.prefix}.gguf` : f.path, shards: [], size: 0, count: shard?.count ?? 1 };
        entry.shards[shard ? shard.no : 0] = { path: f.path, url: fileUrl(hub, repo, f.path), size };
        entry.size += size;
        models.set(key, entry);
    }
    const list = [...models.values()].map((m) => ({ ...m, complete: m.shards.filter(Boolean).length === m.count }));
    list.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    imatrices.sort((a, b) => a.name.localeCompare(b.name));
    // A safetensors checkpoint at the repo's top: its files there (and additional_chat_templates/,
    // which the converter only looks for), read by Range requests when the core asks.
    const files = tree.filter((f) => f.type === 'file' && (!f.path.includes('/') || f.path.startsWith('additional_chat_templates/')));
    const checkpoint = files.some((f) => /\.safetensors$/i.test(f.path)) && files.some((f) => f.path === 'config.json')
        ? { folderName: repo.split('/').pop(), entries: files.map((f) => ({ name: f.path, url: fileUrl(hub, repo, f.path), size: Number(f.lfs?.size ?? f.size ?? 0) })) }
        : null;
    return { models: list, imatrices, checkpoint };
}

// The access token, sent only to the origin of the URL (or the Hub) the user named.
const token = () => $('token-input')?.value.trim() ?? '';

function hubError(url, status, hasToken) {
    if (status === 404) return new Error(`${url}: not found (HTTP 404): check the repository's name`);
    if (status === 401 || status === 403) {
        return new Error(`${url}: access denied (HTTP ${status}): ` + (hasToken
            ? 'the token was refused or has no access to this repository (gated or private: accept its terms on its page, or check the token)'
            : 'the repository is gated or private: accept its terms on its page and give an access token in the field above'));
    }
    return new Error(`${url}: HTTP ${status}`);
}

async function listRepo(repo) {
    const hub = hubBase();
    const url = `${hub}/api/models/${repo}/tree/main?recursive=true`;
    const t = token();
    let res;
    try {
        res = await fetch(url, { headers: t ? { Authorization: `Bearer ${t}` } : {}, signal: state.abort?.signal, cache: 'no-store' });
    } catch (e) {
        if (e?.name === 'AbortError') throw e;
        throw new Error(`${url}: the Hub does not allow reading its file list from a web page (CORS), or it cannot be reached`, { cause: e });
    }
    if (!res.ok) throw hubError(url, res.status, !!t);
    return groupRepoFiles(await res.json(), hub, repo);
}

function renderRepoPicker(repo, groups) {
    const box = $('repo-picker');
    const item = (label, sub, onPick, data) => el('li', {}, el('button', {
        type: 'button', class: 'repo-entry', dataset: data, onclick: onPick,
    }, el('span', { class: 'mono', text: label }), el('span', { class: 'muted', text: sub })));
    const models = groups.models.map((m) => item(m.name,
        `${formatBytes(m.size)}${m.count > 1 ? ` · ${m.count} shards${m.complete ? '' : ' (some missing)'}` : ''}`,
        () => openUrlModel(m.shards.filter(Boolean).map((s) => s.url)), { kind: 'model', name: m.name, shards: String(m.count) }));
    const imatrices = groups.imatrices.map((f) => item(f.name, formatBytes(f.size), () => openUrlImatrix(f.url),
                                                       { kind: 'imatrix', name: f.name }));
    if (groups.checkpoint) {
        const weights = groups.checkpoint.entries.filter((e) => /\.safetensors$/i.test(e.name));
        models.push(item(`${repo} (safetensors checkpoint)`,
            `${formatBytes(weights.reduce((a, e) => a + e.size, 0))} · converted as convert_hf_to_gguf.py converts it`,
            () => openCheckpoint(groups.checkpoint), { kind: 'checkpoint', name: repo }));
    }
    box.replaceChildren(el('h3', { text: `${repo}: ${formatInt(models.length)} model${models.length === 1 ? '' : 's'}` }),
        models.length ? el('ul', { class: 'repo-list', 'data-testid': 'repo-models' }, ...models)
            : el('p', { class: 'muted', text: 'No .gguf files or safetensors checkpoint in this repository.' }),
        ...(imatrices.length ? [el('h3', { text: 'Importance matrices' }), el('ul', { class: 'repo-list', 'data-testid': 'repo-imatrices' }, ...imatrices)] : []));
    box.hidden = false;
}

// The URL field: a file opens (an imatrix-named file loads as the imatrix), a repo lists.
export async function openFromInput(text) {
    const parsed = parseModelInput(text);
    if (!parsed) {
        showError('Cannot open this', new Error(`'${text}' is not a URL, OWNER/REPO or OWNER/REPO/FILE.gguf`));
        return;
    }
    clearError();
    if (parsed.kind === 'repo') {
        $('repo-picker').hidden = true;
        $('file-summary').textContent = `Listing ${parsed.repo}…`;
        try {
            const groups = await listRepo(parsed.repo);
            $('file-summary').textContent = '';
            // A repo of safetensors only: its checkpoint opens at once.
            if (!groups.models.length && groups.checkpoint) await openCheckpoint(groups.checkpoint);
            else renderRepoPicker(parsed.repo, groups);
        } catch (e) {
            if (e?.name === 'AbortError') return;
            $('file-summary').textContent = '';
            showError(`Cannot list ${parsed.repo}`, e);
        }
        return;
    }
    const name = decodeURIComponent(parsed.url.split(/[?#]/)[0].split('/').pop());
    if (isImatrixName(name)) await openUrlImatrix(parsed.url);
    else await openUrlModel([parsed.url]);
}

// A checkpoint folder ({folderName, entries: [{name, file} | {name, url, size}]}, names relative
// to the folder): opened as the GGUF convert --outtype auto would write (worker.mjs).
export function openCheckpoint({ folderName, entries }) {
    return openModel([{ checkpoint: { folderName, entries } }], { token: token(), names: [folderName] });
}

// Picked or dropped files of a checkpoint: from a folder pick (webkitRelativePath FOLDER/NAME) or
// loose files (no folder: the model is named as a folder called "model" would name it).
function checkpointOfFiles(files) {
    const rel = files.map((f) => f.webkitRelativePath || f.name);
    const folders = new Set(rel.map((p) => (p.includes('/') ? p.split('/')[0] : '')));
    const folderName = folders.size === 1 && !folders.has('') ? [...folders][0] : 'model';
    return { folderName, entries: files.map((file, i) => ({ name: folderName === 'model' && !rel[i].includes('/') ? rel[i] : rel[i].split('/').slice(1).join('/'), file })) };
}

export async function openFiles(fileList) {
    const files = [...fileList];
    if (!files.length) return;
    if (files.some((f) => isCheckpointFile(f.name))) {
        await openCheckpoint(checkpointOfFiles(files));
        return;
    }
    const imatrixFiles = files.filter((f) => isImatrixName(f.name));
    const modelFiles = files.filter((f) => !isImatrixName(f.name));
    if (modelFiles.length) await openModel(modelFiles, { names: modelFiles.map((f) => f.name) });
    if (imatrixFiles.length) await openImatrix(imatrixFiles[0]);
}

export function openUrlModel(urls) {
    const t = token();
    return openModel(urls.map((url) => ({ url })), { token: t, names: urls.map((u) => decodeURIComponent(u.split(/[?#]/)[0].split('/').pop())) });
}

// Opens a model in the model worker and renders every view of it. The previous model's views
// stay until the new one has been read: a file that cannot be read leaves them as they were.
async function openModel(files, { token: t = '', names }) {
    const generation = newGeneration();
    clearError();
    if (state.run) state.run.controller.abort();
    const label = names.join(', ');
    const summaryBefore = $('file-summary').textContent;
    $('file-summary').textContent = `Reading ${label}…`;
    try {
        const described = await modelBridge.open(files, { token: t, signal: state.abort.signal });
        if (generation !== state.generation) return;
        resetOutput();
        state.estimates = null;
        state.memory = null;
        for (const id of ['overview-section', 'estimate-section', 'quantize-section', 'tensor-section',
                          'metadata-section', 'no-tensors']) $(id).hidden = true;
        const model = { ...described, files, token: t };
        state.model = model;
        const shown = model.names.join(', ');
        const summary = $('file-summary');
        summary.dataset.headerBytes = String(model.headerBytes);
        summary.dataset.source = model.urls ? 'url' : model.checkpoint ? 'checkpoint' : 'file';
        const ck = model.checkpoint;
        summary.textContent = ck
            ? `${shown} · safetensors checkpoint (${formatInt(ck.shards.length)} shard${ck.shards.length === 1 ? '' : 's'}), read as ${ck.convertedName}, ${formatBytes(model.fileSize)} · only its small files and safetensors headers read, in ${model.ms.toFixed(0)} ms`
            : `${shown} · ${formatBytes(model.fileSize)} · only its ${formatBytes(model.headerBytes)} header read, in ${model.ms.toFixed(0)} ms`;
        $('intro').hidden = true;
        $('repo-picker').hidden = true;
        showLoadedBar(model);
        recheckImatrix();
        renderOverview(model);
        renderTensors(model);
        renderMetadata(model);
        if (!model.info.tensors.length) {
            // A vocabulary file: overview and metadata, and a notice instead of estimates and Quantize.
            $('tensor-section').hidden = true;
            $('no-tensors').hidden = false;
            renderTypeSelect();
            return;
        }
        await refreshEstimates();
        await refreshMemory();
    } catch (e) {
        if (generation !== state.generation || e?.name === 'AbortError') return;
        $('file-summary').textContent = state.model ? summaryBefore : '';
        if (files.length === 1 && !files[0]?.checkpoint) await explainOpenError(label, files[0], e);
        else showError(`Cannot read ${label}`, e);
    }
}

// An imatrix by URL, with the access token for its origin.
export const openUrlImatrix = (url) => openImatrixUrl(url, token());

// After a model loads, the drop zone folds to one line: "model: NAME · change".
function showLoadedBar(model) {
    const names = model.names;
    $('loaded-name').textContent = names.length > 1 ? `${names[0]} (+${names.length - 1} shards)` : names[0];
    $('loaded-bar').hidden = false;
    $('convert-box').hidden = !model.checkpoint;
    $('convert-status').textContent = '';
    setDropZoneOpen(false);
}

function setDropZoneOpen(open) {
    $('drop-zone').classList.toggle('collapsed', !open && !!state.model);
    $('change-model').setAttribute('aria-expanded', String(open));
    $('change-model').textContent = open ? 'close' : 'change';
}

function initDropZone() {
    const zone = $('drop-zone');
    let depth = 0;
    const hasFiles = (ev) => [...(ev.dataTransfer?.types ?? [])].includes('Files');
    document.addEventListener('dragenter', (ev) => {
        if (!hasFiles(ev)) return;
        ev.preventDefault();
        depth++;
        zone.classList.add('dragging');
    });
    document.addEventListener('dragleave', () => {
        depth = Math.max(0, depth - 1);
        if (!depth) zone.classList.remove('dragging');
    });
    document.addEventListener('dragover', (ev) => {
        if (hasFiles(ev)) ev.preventDefault();
    });
    document.addEventListener('drop', (ev) => {
        if (!hasFiles(ev)) return;
        ev.preventDefault();
        depth = 0;
        zone.classList.remove('dragging');
        if (state.run) return;
        // A dropped folder is a checkpoint: its entries, taken now (the drop's data goes with
        // the event), read after.
        const dirs = [...(ev.dataTransfer.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter((e) => e?.isDirectory);
        if (dirs.length) {
            readFolder(dirs[0]).then((entries) => openCheckpoint({ folderName: dirs[0].name, entries }),
                                     (e) => showError(`Cannot read the folder ${dirs[0].name}`, e));
            return;
        }
        openFiles(ev.dataTransfer.files);
    });
}

// A dropped folder's files: [{name, file}], names relative to it; of its subfolders only
// additional_chat_templates/ (which the converter looks for) is listed.
async function readFolder(dir, prefix = '') {
    const out = [];
    const reader = dir.createReader();
    for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const e of batch) {
            if (e.isFile) out.push({ name: prefix + e.name, file: await new Promise((resolve, reject) => e.file(resolve, reject)) });
            else if (!prefix && e.name === 'additional_chat_templates') out.push(...await readFolder(e, `${e.name}/`));
        }
    }
    return out;
}

export function initSources() {
    initDropZone();
    $('change-model').addEventListener('click', () => {
        const open = $('drop-zone').classList.contains('collapsed');
        setDropZoneOpen(open);
        if (open) $('file-input').focus();
    });
    $('file-input').addEventListener('change', async (ev) => {
        const files = [...ev.target.files];
        ev.target.value = '';  // picking the same file again still fires
        await openFiles(files);
    });
    $('folder-input').addEventListener('change', async (ev) => {
        const files = [...ev.target.files];
        ev.target.value = '';
        if (files.length) await openCheckpoint(checkpointOfFiles(files));
    });
    $('imatrix-input').addEventListener('change', async (ev) => {
        const file = ev.target.files[0];
        ev.target.value = '';
        if (file) await openImatrix(file);
    });
    $('url-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!state.run) openFromInput($('url-input').value);
    });
}

// ?model=URL-or-OWNER/REPO[/FILE] and &imatrix=URL open at start-up.
export async function openFromQuery() {
    const q = new URLSearchParams(location.search);
    const model = q.get('model'), imatrix = q.get('imatrix');
    if (model) {
        $('url-input').value = model;
        await openFromInput(model);
    }
    if (imatrix) {
        const parsed = parseModelInput(imatrix);
        if (parsed?.kind === 'file') await openUrlImatrix(parsed.url);
        else showError('Cannot load the imatrix', new Error(`'${imatrix}' is not a file URL or OWNER/REPO/FILE`));
    }
}
