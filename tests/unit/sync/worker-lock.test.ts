// idb recognises IndexedDB objects by the global IDB* classes: fake-indexeddb goes in as the globals.
import 'fake-indexeddb/auto';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError } from '../../../src/core/errors.js';
import {
  LockTimeoutError,
  type SyncProgressEvent,
  SyncWorker,
  type SyncWorkerReport,
} from '../../../src/plugins/sync/index.js';
import { indexedDbStorage } from '../../../src/storage/indexeddb.js';
import { memoryStorage } from '../../../src/storage/memory.js';
import { betterSqliteStorage } from '../../../src/storage/sqlite/better-sqlite3.js';
import type { StorageAdapter } from '../../../src/storage/types.js';
import { createFakeStudy, createMockApi } from '../../../src/testing/index.js';
import { cleanTemporary, expectCacheEqualsServer, makeClient, setup, tempDir } from './helpers.js';

afterAll(cleanTemporary);
afterEach(() => vi.unstubAllGlobals());

/** Asserts that the runs in `events` never overlap: each start is followed by its own done. */
function expectNoInterleaving(events: readonly (SyncProgressEvent & { who: string })[]) {
  let open: string | undefined;
  for (const e of events) {
    if (e.type === 'start') {
      expect(open, 'a run started while another was writing').toBeUndefined();
      open = e.who;
    } else {
      expect(e.who).toBe(open);
      if (e.type === 'done') open = undefined;
    }
  }
}

/** `inner` whose store lock another writer can take at any moment: then every tryLock, renewLock and writeLocked is refused. */
function stealable(inner: StorageAdapter): { storage: StorageAdapter; steal(): void } {
  let stolen = false;
  const storage: StorageAdapter = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    tryLock: async (name, owner, ttl) => (stolen ? false : inner.tryLock!(name, owner, ttl)),
    renewLock: async (name, owner, ttl) => (stolen ? false : inner.renewLock!(name, owner, ttl)),
    writeLocked: async (lock, operations) => (stolen ? false : inner.writeLocked!(lock, operations)),
  };
  return {
    storage,
    steal() {
      stolen = true;
    },
  };
}

describe('SyncWorker', () => {
  it('runOnce syncs every study and reports failures without throwing', async () => {
    const a = createFakeStudy({ studyKey: 'AAA', records: 200, seed: 1 });
    const b = createFakeStudy({ studyKey: 'BBB', records: 300, seed: 2 });
    const api = createMockApi([a, b]);
    const client = makeClient(api, memoryStorage());
    const reports: SyncWorkerReport[] = [];
    const worker = new SyncWorker(client, {
      studyKeys: ['AAA', 'BBB', 'NOPE'],
      onRun: (r) => reports.push(r),
    });
    const first = await worker.runOnce();
    expect(first.map((r) => r.studyKey)).toEqual(['AAA', 'BBB', 'NOPE']);
    expect(first[0]?.result).toMatchObject({ mode: 'full', stored: expect.any(Number) });
    expect(first[2]?.error).toBeDefined();
    expect(reports).toEqual(first);
    await expectCacheEqualsServer(client.cache, a);
    await expectCacheEqualsServer(client.cache, b);
    const second = await worker.runOnce();
    expect(second[1]?.result).toMatchObject({ mode: 'incremental' });
    expect((await client.cache.ledger.get('NOPE', 'records')).status).toBe('failed');
  });

  it('runForever repeats until stop(); stop aborts the run in flight and keeps the watermark', async () => {
    const storage = memoryStorage();
    const { study, api, client } = setup(storage, { records: 400 });
    let rounds = 0;
    const worker = new SyncWorker(client.cache, {
      studyKeys: 'DEMO',
      intervalMs: 5,
      onRun: () => {
        rounds++;
        if (rounds === 3) worker.stop();
      },
    });
    await worker.runForever();
    expect(rounds).toBe(3);
    expect(worker.stopped).toBe(true);
    await expectCacheEqualsServer(client.cache, study);

    const watermark = (await client.cache.ledger.get('DEMO', 'records')).lastTimestamp;
    api.setFaults({ latencyMs: 200 });
    const controller = new AbortController();
    const slow = new SyncWorker(client.cache, {
      studyKeys: 'DEMO',
      signal: controller.signal,
      scope: 'study',
    });
    study.setNow('2025-05-05 05:05:05');
    study.updateRecord(7, { recordStatus: 'Record Locked' });
    const forever = slow.runForever();
    setTimeout(() => controller.abort(), 50);
    await forever;
    expect((await client.cache.ledger.get('DEMO', 'records')).lastTimestamp).toBe(watermark);
    const stopped = await slow.runOnce();
    expect(stopped).toEqual([]);
  });

  it('the study scope syncs every stream', async () => {
    const { client } = setup(memoryStorage(), { records: 100 });
    const worker = new SyncWorker(client, { studyKeys: 'DEMO', scope: 'study' });
    const [report] = await worker.runOnce();
    expect(Object.keys((report!.result as { streams: object }).streams)).toHaveLength(8);
  });
});

describe('one writer per study', () => {
  it('two clients on one in-memory store take turns', async () => {
    const storage = memoryStorage();
    const { study, api } = setup(storage, { records: 3000 }, { faults: { latencyMs: 1 } });
    const events: (SyncProgressEvent & { who: string })[] = [];
    const one = makeClient(api, storage, {
      batchSize: 500,
      onProgress: (e) => events.push({ ...e, who: 'one' }),
    });
    const two = makeClient(api, storage, {
      batchSize: 500,
      onProgress: (e) => events.push({ ...e, who: 'two' }),
    });
    const [a, b] = await Promise.all([one.cache.syncRecords('DEMO'), two.cache.syncRecords('DEMO')]);
    expect([a.mode, b.mode].sort()).toEqual(['full', 'incremental']);
    expectNoInterleaving(events);
    await expectCacheEqualsServer(one.cache, study);
  });

  it('two connections to one SQLite file take turns through the store lock', async () => {
    const file = join(tempDir(), 'shared.db');
    const s1 = betterSqliteStorage({ filename: file });
    const s2 = betterSqliteStorage({ filename: file });
    const { study, api } = setup(s1, { records: 3000 }, { faults: { latencyMs: 1 } });
    const events: (SyncProgressEvent & { who: string })[] = [];
    const one = makeClient(api, s1, { batchSize: 500, onProgress: (e) => events.push({ ...e, who: 'one' }) });
    const two = makeClient(api, s2, { batchSize: 500, onProgress: (e) => events.push({ ...e, who: 'two' }) });
    try {
      await Promise.all([one.cache.syncStudy('DEMO'), two.cache.syncStudy('DEMO')]);
      expectNoInterleaving(events);
      await expectCacheEqualsServer(two.cache, study);
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  it('waits for a lock held elsewhere, takes it over once it expires, and times out when told to', async () => {
    const file = join(tempDir(), 'locked.db');
    const storage = betterSqliteStorage({ filename: file });
    const { study, client } = setup(storage, { records: 100 }, {}, { lock: { timeoutMs: 150 } });
    try {
      expect(await storage.tryLock!('imednet-sync:DEMO', 'a-crashed-process', 60_000)).toBe(true);
      await expect(client.cache.syncRecords('DEMO')).rejects.toBeInstanceOf(LockTimeoutError);
      await storage.unlock!('imednet-sync:DEMO', 'a-crashed-process');

      expect(await storage.tryLock!('imednet-sync:DEMO', 'a-crashed-process', 300)).toBe(true);
      const t0 = Date.now();
      const patient = makeClient(createMockApi(study), storage, { lock: { timeoutMs: 5000 } });
      await patient.cache.syncRecords('DEMO');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      await expectCacheEqualsServer(patient.cache, study);
    } finally {
      await storage.close();
    }
  });

  it('stops writing when the store lock is taken over, and waits its turn to run again', async () => {
    const file = join(tempDir(), 'lost.db');
    const inner = betterSqliteStorage({ filename: file });
    const { storage, steal } = stealable(inner);
    const { client } = setup(
      storage,
      { records: 3000 },
      { faults: { latencyMs: 2 } },
      {
        batchSize: 500,
        lock: { ttlMs: 300, timeoutMs: 600 },
        onProgress: (e) => {
          if (e.type === 'stored') steal();
        },
      },
    );
    try {
      // The other holder keeps the lock, so waiting for it to run again times out.
      await expect(client.cache.syncRecords('DEMO')).rejects.toBeInstanceOf(LockTimeoutError);
      const stored = await client.cache.counts('DEMO');
      expect(stored.records).toBeLessThan(3000);
      // A lost lock is not recorded as this run's failure: the ledger belongs to the new holder.
      expect((await client.cache.ledger.get('DEMO', 'records')).status).toBe('running');
    } finally {
      await inner.close();
    }
  });

  it("a run that fails after losing its lock does not mark the new holder's entry failed", async () => {
    const file = join(tempDir(), 'lost-failing.db');
    const inner = betterSqliteStorage({ filename: file });
    const { storage, steal } = stealable(inner);
    let stolen = false;
    const { api } = setup(storage, { records: 3000 });
    const client = makeClient(
      api,
      storage,
      {
        batchSize: 500,
        concurrency: 1,
        lock: { ttlMs: 300, timeoutMs: 600 },
        onProgress: (e) => {
          if (e.type !== 'stored' || stolen) return;
          // Another writer takes the lock, and the API fails for this one (slowly: past a renewal).
          stolen = true;
          steal();
          api.setFaults({
            latencyMs: 120,
            serverError: { times: Number.POSITIVE_INFINITY, paths: '/studies/DEMO/records' },
          });
        },
      },
      { retries: 0, pageSize: 500 },
    );
    try {
      await expect(client.cache.syncRecords('DEMO')).rejects.toThrow();
      expect((await client.cache.ledger.get('DEMO', 'records')).status).toBe('running');
    } finally {
      await inner.close();
    }
  });

  it('a writer stalled past the ttl keeps its lock when nobody took it', async () => {
    const file = join(tempDir(), 'stalled.db');
    const storage = betterSqliteStorage({ filename: file });
    let stalled = false;
    const { study, client } = setup(
      storage,
      { records: 2000 },
      {},
      {
        batchSize: 500,
        lock: { ttlMs: 200 },
        onProgress: (e) => {
          if (e.type !== 'stored' || stalled) return;
          stalled = true;
          // The event loop is blocked (a busy machine, a long synchronous step): no heartbeat runs.
          const until = Date.now() + 600;
          while (Date.now() < until) {}
        },
      },
    );
    try {
      const result = await client.cache.syncRecords('DEMO');
      expect(stalled).toBe(true);
      expect(result.mode).toBe('full');
      await expectCacheEqualsServer(client.cache, study);
    } finally {
      await storage.close();
    }
  });

  it('a writer stalled while another took over runs again after it, with no error', async () => {
    const file = join(tempDir(), 'takeover.db');
    const s1 = betterSqliteStorage({ filename: file });
    const s2 = betterSqliteStorage({ filename: file });
    const { study, api } = setup(s1, { records: 3000 }, { faults: { latencyMs: 1 } });
    // The first writer freezes (as a stopped process would): its requests and its lock renewals
    // wait, while the second writer, on its own connection, goes on.
    let thaw: Promise<void> | undefined;
    const afterThaw =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        await thaw;
        return fn(...args);
      };
    const oneStore: StorageAdapter = {
      ...s1,
      name: s1.name,
      capabilities: s1.capabilities,
      tryLock: afterThaw(s1.tryLock!.bind(s1)),
      renewLock: afterThaw(s1.renewLock!.bind(s1)),
    };
    const starts: string[] = [];
    const one = makeClient(
      api,
      oneStore,
      {
        batchSize: 500,
        concurrency: 1,
        lock: { ttlMs: 200 },
        onProgress: (e) => {
          if (e.type === 'start') starts.push('one');
          if (e.type === 'stored' && thaw === undefined)
            thaw = new Promise((resolve) => setTimeout(resolve, 1500));
        },
      },
      {
        fetch: afterThaw(async (input: RequestInfo | URL, init?: RequestInit) =>
          api.handle(new Request(input, init)),
        ),
      },
    );
    const two = makeClient(api, s2, {
      batchSize: 500,
      lock: { ttlMs: 200 },
      onProgress: (e) => {
        if (e.type === 'start') starts.push('two');
      },
    });
    try {
      const first = one.cache.syncRecords('DEMO');
      // The second writer waits for the lock and takes it once the frozen one's has expired.
      const second = new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
        two.cache.syncRecords('DEMO'),
      );
      const [a, b] = await Promise.all([first, second]);
      // The second writer resumed the first sync (a full run, then its catch-up); the first one
      // found its lock taken when it woke, waited, and ran again as an incremental sync.
      expect(starts).toEqual(['one', 'two', 'two', 'one']);
      expect(b).toMatchObject({ mode: 'full', resumed: true });
      expect(a.mode).toBe('incremental');
      await expectCacheEqualsServer(one.cache, study);
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  it('a writer whose lock is taken over between its check and its write writes nothing', async () => {
    const inner = memoryStorage();
    const name = 'imednet-sync:DEMO';
    // From the third write on, the writer freezes inside the write (its renewals too) until its
    // lock has expired and another writer has taken it.
    let writes = 0;
    let frozen: Promise<void> | undefined;
    let thiefTookIt = false;
    const afterThaw =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        await frozen;
        return fn(...args);
      };
    const freezeOnThirdWrite = () => {
      if (++writes !== 3) return;
      frozen = new Promise((resolve) => setTimeout(resolve, 300)).then(async () => {
        thiefTookIt = await inner.tryLock!(name, 'another writer', 60_000);
      });
    };
    const storage: StorageAdapter = {
      ...inner,
      name: inner.name,
      capabilities: inner.capabilities,
      tryLock: afterThaw(inner.tryLock!.bind(inner)),
      renewLock: afterThaw(inner.renewLock!.bind(inner)),
      write: async (ops) => {
        freezeOnThirdWrite();
        await frozen;
        return inner.write(ops);
      },
      writeLocked: async (lock, ops) => {
        freezeOnThirdWrite();
        await frozen;
        return inner.writeLocked!(lock, ops);
      },
    };
    const { client } = setup(
      storage,
      { records: 3000 },
      {},
      { batchSize: 500, lock: { mode: 'store', ttlMs: 100, timeoutMs: 300 } },
    );
    // (Waiting to run again times out: the other writer keeps the lock.)
    await expect(client.cache.syncRecords('DEMO')).rejects.toBeInstanceOf(LockTimeoutError);
    expect(thiefTookIt).toBe(true);
    // The ledger entry and the first batch landed; the batch written after the takeover did not.
    const counts = await client.cache.counts('DEMO');
    expect(counts.records + counts.deletedRecords).toBe(500);
  });

  it('releases the lock only after the renewal in flight has landed', async () => {
    const inner = memoryStorage();
    const slow =
      <A extends unknown[]>(fn: (...args: A) => Promise<boolean>) =>
      async (...args: A) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return fn(...args);
      };
    const storage: StorageAdapter = {
      ...inner,
      name: inner.name,
      capabilities: inner.capabilities,
      tryLock: slow(inner.tryLock!.bind(inner)),
      renewLock: slow(inner.renewLock!.bind(inner)),
    };
    const { client } = setup(
      storage,
      { records: 300 },
      { faults: { latencyMs: 30 } },
      { lock: { mode: 'store', ttlMs: 300 } },
    );
    await client.cache.syncRecords('DEMO');
    // Any renewal still in flight would land now and take the lock for another ttl.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await inner.tryLock!('imednet-sync:DEMO', 'the next writer', 1000)).toBe(true);
  });

  it("chooses the store lock from the adapter's capabilities, not from its name", async () => {
    vi.stubGlobal('navigator', {
      locks: { request: (_name: string, _options: object, callback: () => Promise<unknown>) => callback() },
    });
    const inner = memoryStorage();
    const tryLock = vi.fn(inner.tryLock!.bind(inner));
    const named = (name: string, originScoped: boolean): StorageAdapter => ({
      ...inner,
      name,
      capabilities: { persistent: true, shared: true, locks: true, originScoped },
      tryLock,
    });
    const study = createFakeStudy({ studyKey: 'DEMO', records: 50 });
    // Named like IndexedDB but shared beyond one origin: Web Locks do not cover it.
    await makeClient(createMockApi(study), named('indexeddb over a network share', false)).cache.syncRecords(
      'DEMO',
    );
    expect(tryLock).toHaveBeenCalled();
    tryLock.mockClear();
    // Any name, shared only within one origin: Web Locks are enough.
    await makeClient(createMockApi(study), named('my-browser-store', true)).cache.syncRecords('DEMO');
    expect(tryLock).not.toHaveBeenCalled();
  });

  it('uses the Web Locks API where the host has it, and then no store lock for IndexedDB', async () => {
    const names: string[] = [];
    let held = Promise.resolve();
    vi.stubGlobal('navigator', {
      locks: {
        request(name: string, _options: object, callback: () => Promise<unknown>) {
          names.push(name);
          const run = held.then(callback);
          held = run.then(
            () => undefined,
            () => undefined,
          );
          return run;
        },
      },
    });
    const inner = indexedDbStorage({ name: 'web-locks', indexedDB: new IDBFactory(), IDBKeyRange });
    const tryLock = vi.fn(inner.tryLock!.bind(inner));
    const storage: StorageAdapter = { ...inner, name: inner.name, capabilities: inner.capabilities, tryLock };
    const { study, client } = setup(storage, { records: 200 });
    await Promise.all([client.cache.syncRecords('DEMO'), client.cache.syncRecords('DEMO')]);
    expect(names).toEqual(['imednet-sync:DEMO', 'imednet-sync:DEMO']);
    expect(tryLock).not.toHaveBeenCalled();
    await expectCacheEqualsServer(client.cache, study);
    await inner.close();
  });

  it('an abort while waiting for the lock rejects with AbortError', async () => {
    const storage = memoryStorage();
    const { client } = setup(storage, { records: 2000 }, { faults: { latencyMs: 5 } });
    const first = client.cache.syncRecords('DEMO');
    const controller = new AbortController();
    const second = client.cache.syncRecords('DEMO', { signal: controller.signal });
    controller.abort();
    await expect(second).rejects.toBeInstanceOf(AbortError);
    await first;
  });
});
