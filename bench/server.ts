/**
 * The benchmark's mock iMednet API, run in its own process so that its CPU is not counted against
 * the client under test. Prints one JSON line `{"url": ..., "studyKey": ..., "records": ...}` on
 * stdout once it listens, then serves until its stdin closes or it gets SIGTERM.
 *
 *   npx tsx bench/server.ts --records 100000 --latency 50 [--jitter 25] [--prepared]
 *                           [--max-in-flight 12 --retry-after 0.2]
 *
 * --latency/--jitter   each answer waits latency ± jitter ms (uniform), as a real server's work would
 * --prepared           every records page (default sort, size 500) is rendered before listening and
 *                      served as stored bytes, so that the server's own CPU does not hide the client's
 * --max-in-flight N    a server that handles at most N requests at once and answers 429 with
 *                      `Retry-After: <--retry-after>` seconds beyond that
 * GET /__stats         `{ requests, rateLimited, maxInFlight }` since the last `/__stats?reset`
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  BASE_PATH,
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
} from '../src/testing/index.js';
import { flag, numberOption } from './args.js';

const records = numberOption('records', 100_000);
const latencyMs = numberOption('latency', 0);
const jitterMs = numberOption('jitter', 0);
const prepared = flag('prepared');
const maxInFlight = numberOption('max-in-flight', Number.POSITIVE_INFINITY);
const retryAfter = numberOption('retry-after', 0.2);
const studyKey = 'BENCH';
const PAGE_SIZE = 500;

const study = createFakeStudy({
  studyKey,
  records,
  subjects: Math.max(20, Math.round(records / 40)),
  sites: 8,
  seed: 2026,
});
const api = createMockApi(study);
const AUTH = { 'x-api-key': DEFAULT_API_KEY, 'x-imn-security-key': DEFAULT_SECURITY_KEY };

/** Records pages rendered once, by request URL (as the SDK and the floor both spell it). */
const pages = new Map<string, Buffer>();
if (prepared) {
  for (let page = 0, total = 1; page < total; page++) {
    const path = `${BASE_PATH}/studies/${studyKey}/records?page=${page}&size=${PAGE_SIZE}`;
    const response = await api.handle(new Request(`http://bench.local${path}`, { headers: AUTH }));
    const body = Buffer.from(await response.arrayBuffer());
    if (page === 0)
      total = (JSON.parse(body.toString('utf8')) as { pagination: { totalPages: number } }).pagination
        .totalPages;
    pages.set(path, body);
  }
}

const stats = { requests: 0, rateLimited: 0, maxInFlight: 0 };
let inFlight = 0;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answer(req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
  const delay = latencyMs + (jitterMs > 0 ? (Math.random() * 2 - 1) * jitterMs : 0);
  if (delay > 0) await wait(delay);
  const stored = pages.get(req.url ?? '');
  const authorised =
    req.headers['x-api-key'] === DEFAULT_API_KEY &&
    req.headers['x-imn-security-key'] === DEFAULT_SECURITY_KEY;
  if (stored && authorised) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': stored.byteLength });
    res.end(stored);
    return;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === 'string') headers.set(name, value);
  const response = await api.handle(
    new Request(`${origin}${req.url}`, { method: req.method ?? 'GET', headers }),
  );
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(body);
}

let origin = '';
const server = createServer((req, res) => {
  if (req.url?.startsWith('/__stats')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    if (req.url.includes('reset')) Object.assign(stats, { requests: 0, rateLimited: 0, maxInFlight: 0 });
    return;
  }
  stats.requests++;
  if (inFlight >= maxInFlight) {
    stats.rateLimited++;
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) });
    res.end(
      JSON.stringify({
        metadata: { status: 'ERROR', error: { code: 'TOO_MANY_REQUESTS', message: 'Too many requests' } },
      }),
    );
    return;
  }
  inFlight++;
  stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
  let counted = true;
  const done = () => {
    if (counted) inFlight--;
    counted = false;
  };
  res.once('finish', done);
  res.once('close', done);
  answer(req, res, origin).catch(() => res.destroy());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({ url: origin, studyKey, records, latencyMs, jitterMs, prepared, pid: process.pid })}\n`,
);
