// The page's reading of what a user types in "Open from URL or Hugging Face" and of a Hub repo's
// file list (web/views/source.mjs): which form is which, and how files group into models.
// Loaded from the built site (scripts/build.sh web), where the page's ./wasm/ modules sit.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.resolve(root, process.env.GGUF_SQUASH_WEB_DIR ?? 'build/web');
const { groupRepoFiles, isImatrixName, parseModelInput } = await import(pathToFileURL(path.join(site, 'views/source.mjs')).href);

const hub = 'https://hub.example';

test('a file URL, OWNER/REPO, the repo page and OWNER/REPO/FILE', () => {
    assert.deepEqual(parseModelInput(' https://cdn.example/a/b.gguf?x=1 ', hub), { kind: 'file', url: 'https://cdn.example/a/b.gguf?x=1' });
    assert.deepEqual(parseModelInput(`${hub}/o/r/resolve/main/m.gguf`, hub), { kind: 'file', url: `${hub}/o/r/resolve/main/m.gguf` });
    assert.deepEqual(parseModelInput('owner/repo', hub), { kind: 'repo', repo: 'owner/repo' });
    assert.deepEqual(parseModelInput('Qwen/Qwen2.5-0.5B-Instruct-GGUF', hub), { kind: 'repo', repo: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF' });
    assert.deepEqual(parseModelInput(`${hub}/owner/repo`, hub), { kind: 'repo', repo: 'owner/repo' });
    assert.deepEqual(parseModelInput(`${hub}/owner/repo/tree/main`, hub), { kind: 'repo', repo: 'owner/repo' });
    assert.deepEqual(parseModelInput('owner/repo/sub dir/m-00001-of-00002.gguf', hub),
                     { kind: 'file', url: `${hub}/owner/repo/resolve/main/sub%20dir/m-00001-of-00002.gguf` });
    assert.equal(parseModelInput('', hub), null);
    assert.equal(parseModelInput('just-a-name.gguf', hub), null);
});

test('imatrix names: *.imatrix, *imatrix*.dat, *imatrix*.gguf', () => {
    for (const n of ['m.imatrix', 'imatrix.dat', 'm-imatrix-v2.dat', 'm.imatrix.gguf', 'dir/imatrix_unsloth.gguf'])
        assert.ok(isImatrixName(n), n);
    for (const n of ['m.gguf', 'm-Q4_K_M.gguf', 'imatrix/m.gguf', 'README.md'])
        assert.ok(!isImatrixName(n), n);
});

test('a repo listing: a split model is one entry with its shards in order; imatrix files apart', () => {
    const file = (path, size) => ({ type: 'file', path, size, lfs: { size } });
    const tree = [
        { type: 'directory', path: 'big' },
        file('big/m-00002-of-00003.gguf', 20), file('big/m-00001-of-00003.gguf', 10), file('big/m-00003-of-00003.gguf', 30),
        file('m-Q4_K_M.gguf', 5), file('README.md', 1), file('m.imatrix', 2), file('imatrix.dat', 3),
        file('half-00001-of-00002.gguf', 7),
    ];
    const { models, imatrices } = groupRepoFiles(tree, hub, 'o/r');
    assert.deepEqual(models.map((m) => [m.name, m.count, m.size, m.complete]),
                     [['big/m.gguf', 3, 60, true], ['half.gguf', 2, 7, false], ['m-Q4_K_M.gguf', 1, 5, true]]);
    assert.deepEqual(models[0].shards.map((s) => s.url), [1, 2, 3].map((k) => `${hub}/o/r/resolve/main/big/m-0000${k}-of-00003.gguf`));
    assert.deepEqual(imatrices.map((f) => f.name), ['imatrix.dat', 'm.imatrix']);
});

test('a repo listing with config.json and *.safetensors at its top is a checkpoint: its top files and additional_chat_templates/', () => {
    const file = (path, size) => ({ type: 'file', path, size, lfs: { size } });
    const tree = [
        file('config.json', 1), file('model-00001-of-00002.safetensors', 10), file('model-00002-of-00002.safetensors', 20),
        file('tokenizer.json', 3), { type: 'directory', path: 'additional_chat_templates' }, file('additional_chat_templates/tool.jinja', 4),
        { type: 'directory', path: 'onnx' }, file('onnx/model.onnx', 5),
    ];
    const { models, checkpoint } = groupRepoFiles(tree, hub, 'o/r');
    assert.deepEqual(models, []);
    assert.equal(checkpoint.folderName, 'r');
    assert.deepEqual(checkpoint.entries.map((e) => [e.name, e.size]),
                     [['config.json', 1], ['model-00001-of-00002.safetensors', 10], ['model-00002-of-00002.safetensors', 20],
                      ['tokenizer.json', 3], ['additional_chat_templates/tool.jinja', 4]]);
    assert.equal(checkpoint.entries[1].url, `${hub}/o/r/resolve/main/model-00001-of-00002.safetensors`);
    // Weights without config.json, or nested only, are no checkpoint.
    assert.equal(groupRepoFiles([file('model.safetensors', 1)], hub, 'o/r').checkpoint, null);
    assert.equal(groupRepoFiles([file('sub/config.json', 1), file('sub/model.safetensors', 1)], hub, 'o/r').checkpoint, null);
});
