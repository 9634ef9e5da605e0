/**
 * bench/storage: 100k small records through putMany, then one full scan in key order, for each
 * Node-runnable adapter. Run: npx tsx bench/storage.ts
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import initSqlJs from 'sql.js';
import { indexedDbStorage } from '../src/storage/indexeddb.js';
import { memoryStorage } from '../src/storage/memory.js';
import { betterSqliteStorage } from '../src/storage/sqlite/better-sqlite3.js';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js.js';
import type { StorageAdapter } from '../src/storage/types.js';
import { roundTrip } from './round-trip.js';

const COUNT = 100_000;
const dir = mkdtempSync(join(tmpdir(), 'imednet-storage-bench-'));

const adapters: Array<[string, () => Promise<StorageAdapter>]> = [
  ['memory', async () => memoryStorage()],
  ['better-sqlite3 (file, WAL)', async () => betterSqliteStorage({ filename: join(dir, 'bench.db') })],
  ['indexeddb (fake-indexeddb)', async () => indexedDbStorage({ indexedDB: new IDBFactory(), IDBKeyRange })],
  ['sql.js (WASM, in memory)', async () => sqlJsStorage({ SQL: await initSqlJs() })],
];

try {
  console.log(`| adapter | putMany ${COUNT / 1000}k | full scan |`);
  console.log('| --- | --- | --- |');
  for (const [name, make] of adapters) {
    const { putMs, scanMs } = await roundTrip(name, await make(), COUNT);
    console.log(`| ${name} | ${(putMs / 1000).toFixed(2)} s | ${(scanMs / 1000).toFixed(2)} s |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
