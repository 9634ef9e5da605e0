/**
 * The benchmark's mock iMednet API, run in its own process so that its CPU is not counted against
 * the client under test. Prints one JSON line `{"url": ..., "studyKey": ..., "records": ...}` on
 * stdout once it listens, then serves until its stdin closes or it gets SIGTERM.
 *
 *   npx tsx bench/server.ts --records 100000 --latency 50
 */
import { startMockServer } from '../src/testing/index.js';
import { numberOption } from './args.js';

const records = numberOption('records', 100_000);
const latencyMs = numberOption('latency', 0);
const studyKey = 'BENCH';

const server = await startMockServer({
  study: { studyKey, records, subjects: Math.max(20, Math.round(records / 40)), sites: 8, seed: 2026 },
  faults: { latencyMs },
});

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({ url: server.url, studyKey, records, latencyMs, pid: process.pid })}\n`,
);
