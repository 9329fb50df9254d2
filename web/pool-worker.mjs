// A pool worker of the page: converts row chunks for the quantization worker (worker.mjs). The
// messages and their handling are wasm/row_pool.mjs's, shared with node's worker threads.
import { poolWorkerHandler } from './wasm/row_pool.mjs';

const handle = poolWorkerHandler((message, transfer) => self.postMessage(message, transfer));
self.onmessage = (ev) => handle(ev.data);
