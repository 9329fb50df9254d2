// Pre-js for the wasm test runners under Node 20: Node's global fetch makes emscripten 3.1.6 try
// to fetch the .wasm by path, which fails, so hand it the bytes read from disk instead.
if (typeof process === 'object' && typeof require === 'function' && !Module['wasmBinary']) {
  Module['wasmBinary'] = require('fs').readFileSync(__filename.replace(/\.c?js$/, '.wasm'));
}
