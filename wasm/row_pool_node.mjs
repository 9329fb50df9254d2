// The row pool (row_pool.mjs) on node's worker_threads, for `node wasm/cli.mjs quantize ...
// NTHREADS`: spawnPoolThread starts a pool worker, which is this module run as a thread; it
// opens the model's files by path (the coordinator sends paths, not open files). Also the
// positioned file reads the command line and its pool workers share. Node only: the page
// never loads this module.
import fs from 'node:fs';
import { parentPort, Worker, workerData } from 'node:worker_threads';

import { poolWorkerHandler } from './row_pool.mjs';

const kPoolThreadRole = 'gguf-squash row pool';

// Positioned reads from a node file, in the {size, read} shape the JS API takes.
export function fileSource(file) {
    const fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    // Fills a prefix of `view` from `offset`; returns the count (short only at the end).
    const readInto = (offset, view) => {
        let got = 0;
        while (got < view.length) {
            const n = fs.readSync(fd, view, got, view.length - got, offset + got);
            if (n === 0) break;
            got += n;
        }
        return got;
    };
    return {
        path: file,
        size,
        fd,
        // A fresh buffer of up to `length` bytes (it may be transferred to a worker).
        readSync(offset, length) {
            const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
            const got = readInto(offset, buf);
            return got === buf.length ? buf : buf.subarray(0, got);
        },
        read(offset, length) {
            return Promise.resolve(this.readSync(offset, length));
        },
        // Also used with views of wasm memory (the job's input buffer): no copy through JS.
        readInto,
        close() {
            fs.closeSync(fd);
        },
    };
}

// Starts one pool worker thread (the `spawn` of RowPool.start). A thread that exits before the
// pool stops it (a crash inside the wasm runtime) fails the pool like an uncaught error.
export function spawnPoolThread(index, { onMessage, onError }) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: kPoolThreadRole, index } });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', (code) => onError(new Error(`pool worker ${index} exited with code ${code}`)));
    return worker;
}

// A path, or a URL model's {size, head}: the header bytes the coordinator fetched (the data comes
// from the coordinator with each chunk).
const openPoolSource = (f) => (typeof f === 'string' ? fileSource(f) : {
    size: f.size,
    read: async (offset, length) => f.head.subarray(offset, offset + length),
});

if (workerData?.role === kPoolThreadRole) {
    // A chunk's input, read straight into the worker's wasm heap: the file opened, read and
    // closed again (a few microseconds against a chunk's milliseconds), so that nothing stays
    // open when the pool is terminated mid-run.
    const readInputInto = (file, offset, view) => {
        const src = fileSource(file);
        try {
            return src.readInto(offset, view);
        } finally {
            src.close();
        }
    };
    const handle = poolWorkerHandler((message, transfer) => parentPort.postMessage(message, transfer),
                                     { openSources: (files) => files.map(openPoolSource), readInputInto });
    parentPort.on('message', handle);
}
