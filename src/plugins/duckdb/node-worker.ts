/**
 * A Web Worker for Node on `node:worker_threads`, just enough of one for DuckDB-WASM's Node worker
 * scripts: `postMessage` with transfers, `message`/`error`/`close` events, `terminate`, and `ref` /
 * `unref` so an idle database does not keep the process alive. It replaces the `web-worker` package,
 * which (like `@duckdb/duckdb-wasm`'s own Node module, which bundles it) decides at import whether
 * it runs in a worker it made, and so fails to load inside any other worker thread: a test runner's
 * thread pool, Piscina, a server's worker.
 */
import { nodeBuiltin } from './bundles.js';

/** A Worker as DuckDB-WASM uses it, plus holding the process open. */
export interface NodeWebWorker extends Worker {
  /** Keeps the process alive while the worker runs (the default). */
  ref(): void;
  /** Lets the process exit even though the worker runs. */
  unref(): void;
}

/**
 * What runs first in the thread: a quiet console, the bits of a worker's global scope the DuckDB
 * worker script uses (`self`, `postMessage`, `onmessage`), then the script itself. CommonJS, as
 * the script is.
 */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
// The DuckDB worker logs each failed statement with its stack to the console, which in a worker
// thread is the process's own stdout: every failure also comes back as an answer, so say nothing.
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) console[level] = () => {};
globalThis.self = globalThis;
globalThis.postMessage = (data, transfer) => parentPort.postMessage(data, transfer);
parentPort.on('message', (data) => {
  if (typeof globalThis.onmessage === 'function') globalThis.onmessage({ type: 'message', data });
});
require(workerData.script);
`;

type Listener = (event: unknown) => void;

/** Starts `script` (a file path) in a worker thread. Node only: imports node:worker_threads at call time. */
export async function startNodeWorker(script: string): Promise<NodeWebWorker> {
  const { Worker: ThreadWorker } =
    await nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  const thread = new ThreadWorker(BOOTSTRAP, { eval: true, workerData: { script } });
  const listeners = new Map<string, Set<Listener>>();
  const emit = (type: string, event: unknown) => {
    for (const listener of listeners.get(type) ?? []) listener(event);
  };
  thread.on('message', (data: unknown) => emit('message', { type: 'message', data }));
  // A script that throws while loading (a missing file) ends here, not in a silent thread.
  thread.on('error', (error: Error) => emit('error', { type: 'error', message: error.message, error }));
  thread.on('exit', () => emit('close', { type: 'close' }));
  const worker = {
    addEventListener(type: string, listener: Listener) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type)?.add(listener);
    },
    removeEventListener(type: string, listener: Listener) {
      listeners.get(type)?.delete(listener);
    },
    postMessage(data: unknown, transfer?: readonly ArrayBuffer[]) {
      thread.postMessage(data, transfer as ArrayBuffer[] | undefined);
    },
    terminate() {
      void thread.terminate();
    },
    ref: () => thread.ref(),
    unref: () => thread.unref(),
  };
  return worker as unknown as NodeWebWorker;
}
