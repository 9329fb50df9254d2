// A pool worker of the page: converts row chunks for the quantization worker (worker.mjs). The
// messages and their handling are wasm/row_pool.mjs's, shared with node's worker threads.
import { poolWorkerHandler } from './wasm/row_pool.mjs';

// A File, or a URL model's {name, size, head}: the header bytes the coordinator fetched (the data
// comes from the coordinator with each chunk; a pool worker makes no request).
const openPoolSource = (f) => (typeof Blob !== 'undefined' && f instanceof Blob ? f : {
    name: f.name,
    size: f.size,
    read: async (offset, length) => f.head.subarray(offset, offset + length),
});

const handle = poolWorkerHandler((message, transfer) => self.postMessage(message, transfer),
                                 { openSources: (files) => files.map(openPoolSource) });
self.onmessage = (ev) => handle(ev.data);
