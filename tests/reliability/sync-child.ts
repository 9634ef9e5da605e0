/**
 * A sync process for the reliability tests: syncs one study from a mock server into a SQLite file and
 * prints one JSON line per event on stdout. Usage:
 *   node --import tsx tests/reliability/sync-child.ts <baseUrl> <sqlite file> <studyKey> [records|study]
 * Exit code 0 when the sync finished; 1 with the error on stderr otherwise.
 * SYNC_LOCK_TTL_MS sets the store lock's ttl; SYNC_STALL_MS blocks the event loop that long once,
 * right after the first write (as a busy machine or a long synchronous step would).
 */
import { Imednet } from '../../src/client.js';
import { sync } from '../../src/plugins/sync/index.js';
import { betterSqliteStorage } from '../../src/storage/sqlite/better-sqlite3.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../../src/testing/index.js';

const [baseUrl, filename, studyKey, scope = 'records'] = process.argv.slice(2);
if (!baseUrl || !filename || !studyKey) {
  process.stderr.write('usage: sync-child.ts <baseUrl> <sqlite file> <studyKey> [records|study]\n');
  process.exit(2);
}

const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
let stallMs = Number(process.env.SYNC_STALL_MS ?? 0);
const stallOnce = () => {
  const until = Date.now() + stallMs;
  stallMs = 0;
  while (Date.now() < until) {}
};
const storage = betterSqliteStorage({ filename, busyTimeoutMs: 20_000 });
const Client = Imednet.plugin(
  sync({
    storage,
    batchSize: 2000,
    lock: { ttlMs: Number(process.env.SYNC_LOCK_TTL_MS ?? 1500) },
    onProgress: (e) => {
      if (e.type !== 'fetched') say({ event: e.type, stream: e.stream, mode: e.mode, stored: e.stored });
      if (e.type === 'stored' && stallMs > 0) stallOnce();
    },
  }),
);
const client = new Client({
  apiKey: DEFAULT_API_KEY,
  securityKey: DEFAULT_SECURITY_KEY,
  baseUrl,
  retries: 5,
  backoffFactor: 20,
});

try {
  say({ event: 'ready', pid: process.pid });
  const result =
    scope === 'study' ? await client.cache.syncStudy(studyKey) : await client.cache.syncRecords(studyKey);
  say({ event: 'result', result });
  await storage.close();
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  await storage.close().catch(() => undefined);
  process.exit(1);
}
