/**
 * bench/sync: a full sync of a 100k-record study into memory, SQLite (better-sqlite3, a WAL file)
 * and IndexedDB (fake-indexeddb), then an incremental sync after 1% of the records changed and 0.1%
 * were deleted (half soft, half hard). Counts the requests of the incremental sync against
 * ceil(changed/500) + ceil(revisions/500) + 3 and its time against 10% of the full sync's, and checks
 * that the cache equals the server afterwards.
 *
 * The mock API runs in a child process (bench/sync-server.ts), fresh for each adapter, so its CPU
 * is not the client's and every adapter sees the same study and the same changes.
 *
 *   npm run bench:sync                       # prints a table, writes bench/results/sync.json
 *   npm run bench:sync -- --write-benchmarks # also rewrites the "## Sync" section of BENCHMARKS.md
 *   npm run bench:sync -- --records 20000 --latency 0,50 --only memory
 */
// idb recognises IndexedDB objects by the global IDB* classes: fake-indexeddb goes in as the globals.
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { Imednet } from '../src/client.js';
import { sync } from '../src/plugins/sync/index.js';
import { indexedDbStorage } from '../src/storage/indexeddb.js';
import { memoryStorage } from '../src/storage/memory.js';
import { betterSqliteStorage } from '../src/storage/sqlite/better-sqlite3.js';
import type { StorageAdapter } from '../src/storage/types.js';
import { DEFAULT_API_KEY, DEFAULT_SECURITY_KEY } from '../src/testing/index.js';
import { replaceBenchmarkSection } from '../tests/support/benchmarks-file.js';
import { flag, numberListOption, numberOption, option } from './args.js';
import { processCpuSeconds } from './lib.js';
import { canonical, STUDY_KEY, startServer } from './sync-server.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

// ------------------------------------------------------------------ the benchmark

interface AdapterResult {
  adapter: string;
  records: number;
  latencyMs: number;
  full: { ms: number; requests: number; stored: number; clientCpuMs: number; serverCpuMs: number };
  incremental: {
    ms: number;
    clientCpuMs: number;
    serverCpuMs: number;
    requests: number;
    budget: number;
    fetched: number;
    stored: number;
    deleted: number;
    serverDelta: { changed: number; deleted: number; records: number; revisions: number };
  };
  ratio: number;
  clientCpuRatio: number;
  equal: boolean;
}

/** Wall time, client CPU and server CPU of `fn`. */
async function measure<T>(serverPid: number, fn: () => Promise<T>) {
  const server0 = processCpuSeconds(serverPid) ?? 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const serverCpuMs = ((processCpuSeconds(serverPid) ?? 0) - server0) * 1000;
  return { value, ms, clientCpuMs: (cpu.user + cpu.system) / 1000, serverCpuMs };
}

async function runAdapter(
  name: string,
  make: () => StorageAdapter,
  records: number,
  latencyMs: number,
): Promise<AdapterResult> {
  const server = await startServer(records, latencyMs);
  const storage = make();
  let requests = 0;
  const Client = Imednet.plugin(sync({ storage }));
  const client = new Client({
    apiKey: DEFAULT_API_KEY,
    securityKey: DEFAULT_SECURITY_KEY,
    baseUrl: server.url,
    fetch: (input, init) => {
      requests++;
      return fetch(input, init);
    },
  });
  try {
    const full = await measure(server.pid, () => client.cache.syncRecords(STUDY_KEY));
    const fullRequests = requests;

    const watermark = (await client.cache.ledger.get(STUDY_KEY, 'records')).lastTimestamp as string;
    const delta = await server.ask<AdapterResult['incremental']['serverDelta']>(`mutate ${watermark}`);
    requests = 0;
    const inc = await measure(server.pid, () => client.cache.syncRecords(STUDY_KEY));
    const incRequests = requests;

    const expected = await server.ask<{ live: number; sha256: string }>('digest');
    const hash = createHash('sha256');
    let live = 0;
    for await (const chunk of client.cache.iterateRecords(STUDY_KEY, { batchSize: 2000 })) {
      for (const record of chunk) {
        hash.update(canonical(record));
        hash.update('\n');
        live++;
      }
    }
    const equal = live === expected.live && hash.digest('hex') === expected.sha256;
    return {
      adapter: name,
      records,
      latencyMs,
      full: {
        ms: Math.round(full.ms),
        requests: fullRequests,
        stored: full.value.stored,
        clientCpuMs: Math.round(full.clientCpuMs),
        serverCpuMs: Math.round(full.serverCpuMs),
      },
      incremental: {
        ms: Math.round(inc.ms),
        clientCpuMs: Math.round(inc.clientCpuMs),
        serverCpuMs: Math.round(inc.serverCpuMs),
        requests: incRequests,
        budget: Math.ceil(delta.records / 500) + Math.ceil(delta.revisions / 500) + 3,
        fetched: inc.value.fetched,
        stored: inc.value.stored,
        deleted: inc.value.deleted,
        serverDelta: delta,
      },
      ratio: inc.ms / full.ms,
      clientCpuRatio: inc.clientCpuMs / full.clientCpuMs,
      equal,
    };
  } finally {
    await storage.close();
    await server.stop();
  }
}

function table(results: readonly AdapterResult[]): string {
  const lines = [
    '| adapter | page latency | full sync (client CPU / server CPU) | requests | incremental sync (client CPU / server CPU) | requests (budget) | incremental / full: wall (client CPU) | cache = server |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  for (const r of results) {
    const f = r.full;
    const i = r.incremental;
    lines.push(
      `| ${r.adapter} | ${r.latencyMs} ms | ${s(f.ms)} (${s(f.clientCpuMs)} / ${s(f.serverCpuMs)}) | ${f.requests} | ` +
        `${s(i.ms)} (${s(i.clientCpuMs)} / ${s(i.serverCpuMs)}) | ${i.requests} (≤ ${i.budget}) | ` +
        `${(r.ratio * 100).toFixed(1)}% (${(r.clientCpuRatio * 100).toFixed(1)}%) | ${r.equal ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n');
}

/** What the figures say about the issue's targets, in prose. */
function verdict(results: readonly AdapterResult[]): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const within = results.every((r) => r.incremental.requests <= r.incremental.budget);
  const fast = results.every((r) => r.ratio < 0.1);
  const equal = results.every((r) => r.equal);
  const ratios = results.map((r) => r.ratio);
  const cpu = results.map((r) => r.clientCpuRatio);
  const serverShare = results.map((r) => r.incremental.serverCpuMs / r.incremental.ms);
  const lines = [
    `- Requests: ${within ? 'within the budget in every run' : 'OVER the budget in some run'}` +
      ` (${results.map((r) => `${r.incremental.requests}/${r.incremental.budget}`).join(', ')}).`,
    `- Cache equals the server after the incremental sync: ${equal ? 'yes, every adapter' : 'NO'}.`,
    `- Incremental under 10% of the full sync's wall time: ${fast ? 'yes' : 'no'} (${pct(Math.min(...ratios))}–${pct(Math.max(...ratios))}).`,
  ];
  lines.push(
    `  The SDK's own CPU for the incremental sync is ${pct(Math.min(...cpu))}–${pct(Math.max(...cpu))} of its CPU for the full sync;`,
    `  the mock server's CPU during it is ${pct(Math.min(...serverShare))}–${pct(Math.max(...serverShare))} of its wall time.`,
  );
  lines.push('');
  return lines;
}

function writeBenchmarks(results: readonly AdapterResult[]): void {
  const r0 = results[0]!;
  const d = r0.incremental.serverDelta;
  const section = [
    '## Sync',
    '',
    `\`npm run bench:sync\` (bench/sync.ts): \`client.cache.syncRecords\` of a ${r0.records.toLocaleString('en')}-record fake`,
    `study served by the mock API in its own process (pages of 500, 8 in flight, the mock's page latency as shown,`,
    `response validation on), first in full, then incrementally after ${d.changed.toLocaleString('en')} records (1%)`,
    `changed and ${d.deleted} (0.1%) were deleted, half soft, half hard. The incremental sync read`,
    `${d.records.toLocaleString('en')} records (the changes plus the watermark's own second, refetched because the`,
    `filter is \`>=\`) and ${d.revisions.toLocaleString('en')} revisions. Budget: ceil(records/500) + ceil(revisions/500) + 3`,
    `requests. "cache = server" compares a SHA-256 over every live record on both sides. The mock answers the`,
    `incremental sync's date filters from the generator's creation-time order plus its list of changed records, as a`,
    `server with an index on those dates would, rather than by reading the whole study. ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.`,
    '',
    table(results),
    '',
    ...verdict(results),
  ].join('\n');
  replaceBenchmarkSection(join(HERE, '..', 'BENCHMARKS.md'), 'Sync', section);
}

async function main(): Promise<void> {
  const records = numberOption('records', 100_000);
  const latencies = numberListOption('latency', '0');
  const only = option('only');
  const dir = mkdtempSync(join(tmpdir(), 'imednet-sync-bench-'));
  let files = 0;
  let databases = 0;
  const adapters: [string, () => StorageAdapter][] = [
    ['memory', () => memoryStorage()],
    [
      'sqlite (better-sqlite3, WAL file)',
      () => betterSqliteStorage({ filename: join(dir, `sync-${++files}.db`) }),
    ],
    [
      'indexeddb (fake-indexeddb)',
      () => indexedDbStorage({ name: `sync-bench-${++databases}`, indexedDB: new IDBFactory(), IDBKeyRange }),
    ],
  ];
  const results: AdapterResult[] = [];
  try {
    for (const latencyMs of latencies) {
      for (const [name, make] of adapters) {
        if (only && !name.startsWith(only)) continue;
        const result = await runAdapter(name, make, records, latencyMs);
        results.push(result);
        console.error(`${name}, latency ${latencyMs} ms: done`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(table(results));
  const failed = results.filter(
    (r) => !r.equal || r.incremental.requests > r.incremental.budget || r.ratio >= 0.1,
  );
  for (const r of failed) {
    console.log(
      `target missed by ${r.adapter}: equal=${r.equal}, requests ${r.incremental.requests}/${r.incremental.budget}, ratio ${(r.ratio * 100).toFixed(1)}%`,
    );
  }
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(
    join(HERE, 'results', 'sync.json'),
    `${JSON.stringify({ node: process.version, results }, null, 2)}\n`,
  );
  if (flag('write-benchmarks')) writeBenchmarks(results);
}

await main();
