/**
 * A child process for the DuckDB-WASM lifecycle test: opens databases and ends them every way a
 * program does, prints one JSON line of what it saw, then simply ends. The test asserts the process
 * exits by itself: no worker or handle left behind. Usage:
 *   node --import tsx lifecycle-child.ts
 */

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { openStudyDatabase, StudyDatabaseError } from '../../../src/plugins/duckdb/index.js';

const seen: Record<string, unknown> = {};
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ ok: value }),
    (error: unknown) => ({
      error: error instanceof StudyDatabaseError ? 'StudyDatabaseError' : String(error),
    }),
  );

// 1. `await using`, on explicit bundles given as file: URLs (the package's own files).
const require = createRequire(import.meta.url);
const file = (name: string) => pathToFileURL(require.resolve(`@duckdb/duckdb-wasm/dist/${name}`)).href;
{
  await using db = openStudyDatabase({
    bundles: {
      mvp: { mainModule: file('duckdb-mvp.wasm'), mainWorker: file('duckdb-node-mvp.worker.cjs') },
      eh: { mainModule: file('duckdb-eh.wasm'), mainWorker: file('duckdb-node-eh.worker.cjs') },
    },
  });
  const t0 = performance.now();
  seen.answer = (await db.query<{ x: number }>('SELECT 40 + 2 AS x'))[0]?.x;
  seen.startMs = Math.round(performance.now() - t0);
  seen.usingClosed = db;
}
seen.usingClosed = (seen.usingClosed as { closed: boolean }).closed;

// 2. Closed with a query waiting behind a slow one: both fail as closed, later calls too.
const busy = openStudyDatabase();
await busy.start();
const slow = outcome(busy.query('SELECT sum(hash(i)) FROM range(1000000000) t(i)'));
const queued = outcome(busy.query('SELECT 1'));
await busy.close();
seen.slow = await slow;
seen.queued = await queued;
seen.after = await outcome(busy.query('SELECT 1'));
await busy.close();

// 3. Closed while starting, and 4. closed before it ever started.
const starting = openStudyDatabase();
const start = outcome(starting.start());
await new Promise((resolve) => setTimeout(resolve, 50));
await starting.close();
seen.closedWhileStarting = await start;
const never = openStudyDatabase();
await never.close();
seen.neverStarted = await outcome(never.query('SELECT 1'));

// 5. The worker dies under a running query (killed from outside, as a crash would end it): the
// query fails, and so does everything after, instead of waiting forever.
const threads: ThreadWorker[] = [];
const postMessage = ThreadWorker.prototype.postMessage;
ThreadWorker.prototype.postMessage = function (this: ThreadWorker, ...args: Parameters<typeof postMessage>) {
  if (!threads.includes(this)) threads.push(this);
  return postMessage.apply(this, args);
};
const dying = openStudyDatabase();
await dying.start();
const running = outcome(dying.query('SELECT sum(hash(i)) FROM range(1000000000) t(i)'));
await new Promise((resolve) => setTimeout(resolve, 100));
await threads.at(-1)?.terminate();
seen.workerDied = await running;
seen.workerDiedMessage = await dying.query('SELECT 1').catch((error: Error) => error.message);
seen.workerDiedClosed = dying.closed;

process.stdout.write(`${JSON.stringify(seen)}\n`);
