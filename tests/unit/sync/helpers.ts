/** Shared set-up of the sync tests: the mock API as a fetch, the adapters, and a cache-vs-server check. */
// idb recognises IndexedDB objects by the global IDB* classes: fake-indexeddb goes in as the globals.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { expect } from 'vitest';
import { Imednet } from '../../../src/client.js';
import type { ImednetOptions } from '../../../src/core/config.js';
import { type SyncOptions, sync } from '../../../src/plugins/sync/index.js';
import { indexedDbStorage } from '../../../src/storage/indexeddb.js';
import { memoryStorage } from '../../../src/storage/memory.js';
import { betterSqliteStorage } from '../../../src/storage/sqlite/better-sqlite3.js';
import type { StorageAdapter } from '../../../src/storage/types.js';
import {
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type FakeStudy,
  type FakeStudyOptions,
  type MockApi,
  type MockApiOptions,
} from '../../../src/testing/index.js';

/** A storage adapter under test, made fresh for each test. */
export interface AdapterCase {
  name: string;
  create(): StorageAdapter;
}

const temporary: string[] = [];

/** A fresh temporary directory, removed by {@link cleanTemporary}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'imednet-sync-'));
  temporary.push(dir);
  return dir;
}

/** Removes the temporary directories made so far. */
export function cleanTemporary(): void {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}

let idbCounter = 0;

/** Every adapter the cache must work with. */
export const ADAPTERS: AdapterCase[] = [
  { name: 'memory', create: () => memoryStorage() },
  {
    name: 'sqlite (better-sqlite3 file)',
    create: () => betterSqliteStorage({ filename: join(tempDir(), 'cache.db') }),
  },
  {
    name: 'indexeddb (fake-indexeddb)',
    create: () =>
      indexedDbStorage({ name: `sync-test-${++idbCounter}`, indexedDB: new IDBFactory(), IDBKeyRange }),
  },
];

/** The client class with the sync plugin. */
export const SyncClient = Imednet.plugin(sync());

/** A fake study, the mock API over it, and a client whose fetch calls the mock directly. */
export function setup(
  storage: StorageAdapter,
  studyOptions: FakeStudyOptions = {},
  apiOptions: MockApiOptions = {},
  syncOptions: SyncOptions = {},
) {
  const study = createFakeStudy({ studyKey: 'DEMO', records: 1000, subjects: 40, seed: 11, ...studyOptions });
  const api = createMockApi(study, apiOptions);
  const client = makeClient(api, storage, syncOptions);
  return { study, api, client };
}

/** A client over `api` storing into `storage`. */
export function makeClient(
  api: MockApi,
  storage: StorageAdapter,
  syncOptions: SyncOptions = {},
  clientOptions: Partial<ImednetOptions> = {},
) {
  return new SyncClient({
    apiKey: DEFAULT_API_KEY,
    securityKey: DEFAULT_SECURITY_KEY,
    baseUrl: 'https://edc.test.example',
    backoffFactor: 1,
    fetch: (input, init) => api.handle(new Request(input, init)),
    storage,
    sync: syncOptions,
    ...clientOptions,
  });
}

/** Requests the mock received for one path segment (`records`, `recordRevisions`, ...). */
export function requestsTo(api: MockApi, segment: string): number {
  return api.requests.filter((r) => r.path.endsWith(`/${segment}`)).length;
}

/** Asserts that the cache's live records, and its tombstones of soft-deleted records, match the server. */
export async function expectCacheEqualsServer(
  cache: InstanceType<typeof SyncClient>['cache'],
  study: FakeStudy,
): Promise<void> {
  const server = [...study.records];
  const live = server.filter((r) => r.deleted !== true);
  const cached = await cache.getCachedRecords(study.studyKey);
  expect(cached.length).toBe(live.length);
  expect(cached.map((r) => r.recordId)).toEqual(live.map((r) => r.recordId));
  expect(cached).toEqual(live);
  const tombstones = new Map((await cache.getDeletedRecords(study.studyKey)).map((t) => [t.recordId, t]));
  for (const record of server) {
    if (record.deleted === true) {
      expect(tombstones.get(record.recordId)?.record, `tombstone of ${record.recordId}`).toEqual(record);
    } else {
      expect(tombstones.has(record.recordId), `no tombstone for live ${record.recordId}`).toBe(false);
    }
  }
}

/** Live record ids of the server, for picking mutation targets. */
export function liveIds(study: FakeStudy): number[] {
  const out: number[] = [];
  for (const header of study.records.headers()) if (header.deleted !== true) out.push(header.recordId);
  return out;
}

/**
 * `inner` whose writes can be made to fail: after `failWrite(n)`, the n-th `write()` or
 * `writeLocked()` from then on rejects (as a full disk would); `failWrite(0)` disarms it.
 */
export function failingWrites(inner: StorageAdapter): {
  storage: StorageAdapter;
  failWrite(n: number): void;
} {
  let left = 0;
  const refuse = () => {
    if (left > 0 && --left === 0) throw new Error('the store refused this write (test)');
  };
  const storage: StorageAdapter = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    async write(operations) {
      refuse();
      return inner.write(operations);
    },
  };
  const writeLocked = inner.writeLocked?.bind(inner);
  if (writeLocked) {
    storage.writeLocked = async (lock, operations) => {
      refuse();
      return writeLocked(lock, operations);
    };
  }
  return {
    storage,
    failWrite(n: number) {
      left = n;
    },
  };
}
