import { join } from 'node:path';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { Record_ } from '../../../src/endpoints/records.js';
import type { Subject } from '../../../src/endpoints/subjects.js';
import {
  collectionOf,
  idKey,
  STREAMS,
  type SyncProgressEvent,
  sync,
} from '../../../src/plugins/sync/index.js';
import { memoryStorage } from '../../../src/storage/memory.js';
import { betterSqliteStorage } from '../../../src/storage/sqlite/better-sqlite3.js';
import type { StorageAdapter } from '../../../src/storage/types.js';
import { createFakeStudy, createMockApi, type FakeStudy } from '../../../src/testing/index.js';
import { ADAPTERS, cleanTemporary, expectCacheEqualsServer, makeClient, setup, tempDir } from './helpers.js';

afterAll(cleanTemporary);

const ID_OF: Record<string, string> = {
  subjects: 'subjectId',
  visits: 'visitId',
  queries: 'annotationId',
  forms: 'formId',
  variables: 'variableId',
  intervals: 'intervalId',
  sites: 'siteId',
};

async function expectStreamsEqualServer(client: ReturnType<typeof makeClient>, study: FakeStudy) {
  const server: Record<string, readonly object[]> = {
    subjects: study.subjects,
    visits: [...study.visits],
    queries: study.queries,
    forms: study.forms,
    variables: study.variables,
    intervals: study.intervals,
    sites: study.sites,
  };
  for (const [stream, items] of Object.entries(server)) {
    const field = ID_OF[stream] as string;
    const cached = await client.cache.getCached('DEMO', stream as 'subjects');
    const byId = (list: readonly object[]) =>
      [...list].sort((a, b) => (a as Record<string, number>)[field]! - (b as Record<string, number>)[field]!);
    expect(cached, stream).toEqual(byId(items));
  }
}

describe.each(ADAPTERS)('syncStudy into $name', (adapter) => {
  it('keeps metadata, subjects, visits, queries and records equal to the server', async () => {
    const storage = adapter.create();
    const { study, client } = setup(storage, { records: 600, subjects: 30 });
    try {
      const first = await client.cache.syncStudy('DEMO');
      expect(Object.keys(first.streams).sort()).toEqual([...STREAMS].sort());
      await expectStreamsEqualServer(client, study);
      await expectCacheEqualsServer(client.cache, study);
      const counts = await client.cache.counts('DEMO');
      expect(counts.visits).toBe(study.visits.length);

      // A new subject (with its visits) and record changes arrive with the next sync.
      study.setNow('2025-03-01 10:00:00');
      study.registerSubject({ siteId: study.sites[0]!.siteId });
      study.updateRecord(5, { recordStatus: 'Record Locked' });
      const second = await client.cache.syncStudy('DEMO');
      expect(second.streams.subjects?.mode).toBe('incremental');
      expect(second.streams.records?.mode).toBe('incremental');
      await expectStreamsEqualServer(client, study);
      await expectCacheEqualsServer(client.cache, study);

      // A refresh drops what the server no longer lists.
      await storage.putMany(collectionOf('DEMO', 'subjects'), [[idKey(99_999), { subjectId: 99_999 }]]);
      await client.cache.syncStudy('DEMO', { streams: ['subjects'], refresh: true });
      await expectStreamsEqualServer(client, study);
      const ledger = await client.cache.ledger.list('DEMO');
      expect(ledger.map((e) => e.stream).sort()).toEqual([...STREAMS].sort());
      expect(ledger.every((e) => e.status === 'idle')).toBe(true);
    } finally {
      await storage.close();
    }
  });
});

/**
 * Hard-deletes one subject, visit or query from the fake study (as a purge on the server would):
 * gone from every listing, with no revision to tell of it.
 */
function purge(study: FakeStudy, stream: 'subjects' | 'visits' | 'queries', id: number): void {
  const field = ID_OF[stream] as string;
  const keep = (item: object) => (item as Record<string, unknown>)[field] !== id;
  if (stream === 'visits') {
    const visits = [...study.visits].filter(keep);
    Object.defineProperty(study, 'visits', {
      value: {
        length: visits.length,
        at: (i: number) => visits[i],
        [Symbol.iterator]: () => visits[Symbol.iterator](),
      },
    });
  } else {
    const list = study[stream] as object[];
    list.splice(
      list.findIndex((item) => !keep(item)),
      1,
    );
  }
  // The mock caches sorted listings per study version.
  (study as { version: number }).version++;
}

describe.each(ADAPTERS)('deletions of subjects, visits and queries in $name', (adapter) => {
  it('an incremental sync notices them with one count per stream, and only then lists the stream again', async () => {
    const storage = adapter.create();
    const { study, api, client } = setup(storage, { records: 300, subjects: 20 });
    try {
      await client.cache.syncStudy('DEMO');
      api.reset();
      const idle = await client.cache.syncStudy('DEMO', { streams: ['subjects', 'visits', 'queries'] });
      for (const stream of ['subjects', 'visits', 'queries'] as const) {
        expect(idle.streams[stream], stream).toMatchObject({ mode: 'incremental', deleted: 0 });
      }
      // Per stream: the changes since the watermark, and the count.
      expect(api.requests.length).toBe(6);

      // Visits first: the fake derives them from the subjects' positions until they are fixed here.
      purge(study, 'visits', study.visits.at(7)!.visitId);
      purge(study, 'subjects', study.subjects[3]!.subjectId);
      purge(study, 'queries', study.queries[2]!.annotationId);
      const next = await client.cache.syncStudy('DEMO', { streams: ['subjects', 'visits', 'queries'] });
      for (const stream of ['subjects', 'visits', 'queries'] as const) {
        expect(next.streams[stream], stream).toMatchObject({ deleted: 1, stored: 0 });
      }
      await expectStreamsEqualServer(client, study);
    } finally {
      await storage.close();
    }
  });
});

describe('read side', () => {
  it('iterates cached records in id order, in bounded chunks, with where / afterId / limit', async () => {
    const storage = memoryStorage();
    const { study, client } = setup(storage, { records: 1234 });
    await client.cache.syncRecords('DEMO');
    const live = [...study.records].filter((r) => !r.deleted);
    const sizes: number[] = [];
    const ids: number[] = [];
    for await (const chunk of client.cache.iterateRecords('DEMO', { batchSize: 100 })) {
      sizes.push(chunk.length);
      for (const r of chunk) ids.push(r.recordId as number);
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(ids).toEqual(live.map((r) => r.recordId));

    const ae = await client.cache.getCachedRecords('DEMO', { where: (r) => r.formKey === live[3]!.formKey });
    expect(ae).toEqual(live.filter((r) => r.formKey === live[3]!.formKey));
    const after = await client.cache.getCachedRecords('DEMO', { afterId: 1000, limit: 5 });
    expect(after.map((r) => r.recordId)).toEqual(
      live
        .filter((r) => r.recordId! > 1000)
        .slice(0, 5)
        .map((r) => r.recordId),
    );
    expect(await client.cache.getCachedRecord('DEMO', live[0]!.recordId!)).toEqual(live[0]);
    expect(await client.cache.getCachedRecord('DEMO', 9_999_999)).toBeUndefined();
    expectTypeOf(ae).toEqualTypeOf<Record_[]>();
    expectTypeOf(await client.cache.getCached('DEMO', 'subjects')).toEqualTypeOf<Subject[]>();
  });

  it('never asks the store for more than one chunk at a time', async () => {
    const inner = memoryStorage();
    const asked: number[] = [];
    const spy: StorageAdapter = {
      ...inner,
      name: inner.name,
      capabilities: inner.capabilities,
      scan(collection, options) {
        asked.push(options?.batchSize ?? 500);
        return inner.scan(collection, options);
      },
    };
    const { client } = setup(spy, { records: 800 });
    await client.cache.syncRecords('DEMO');
    asked.length = 0;
    let chunks = 0;
    for await (const _ of client.cache.iterateRecords('DEMO', { batchSize: 64 })) chunks++;
    expect(chunks).toBeGreaterThan(10);
    expect(asked).toEqual([64]);
  });

  it('reads while a sync is writing, without waiting for it', async () => {
    const file = join(tempDir(), 'readers.db');
    const writerStore = betterSqliteStorage({ filename: file });
    const readerStore = betterSqliteStorage({ filename: file });
    let firstBatch!: () => void;
    const stored = new Promise<void>((resolve) => {
      firstBatch = resolve;
    });
    const { api, client: writer } = setup(
      writerStore,
      { records: 4000 },
      { faults: { latencyMs: 20 } },
      {
        batchSize: 500,
        concurrency: 1,
        onProgress: (e) => {
          if (e.type === 'stored') firstBatch();
        },
      },
    );
    const reader = makeClient(api, readerStore);
    try {
      let running = true;
      const run = writer.cache.syncRecords('DEMO').finally(() => {
        running = false;
      });
      await stored;
      // The writer holds the lock; the reader sees the batches committed so far at once.
      const partial = await reader.cache.counts('DEMO');
      const some = await reader.cache.getCachedRecords('DEMO', { limit: 10 });
      expect(running).toBe(true);
      expect(partial.records).toBeGreaterThan(0);
      expect(partial.records).toBeLessThan(4000);
      expect(some).toHaveLength(10);
      expect((await reader.cache.ledger.get('DEMO', 'records')).status).toBe('running');
      await run;
    } finally {
      await writerStore.close();
      await readerStore.close();
    }
  });
});

describe('progress events', () => {
  it('report fetched, stored and deleted counts that add up', async () => {
    const storage = memoryStorage();
    const events: SyncProgressEvent[] = [];
    const { study, client } = setup(storage, { records: 1500 }, {}, { onProgress: (e) => events.push(e) });
    await client.cache.syncRecords('DEMO');
    const done = events.filter((e) => e.type === 'done');
    expect(done).toHaveLength(1);
    const last = events.at(-1)!;
    expect(last.fetched).toBe(1500);
    expect(last.stored + last.deleted).toBe(1500);
    expect(events[0]?.type).toBe('start');
    expect(events.find((e) => e.type === 'fetched')?.expected).toBe(1500);
    const sum = (type: string) => events.filter((e) => e.type === type).reduce((n, e) => n + e.count, 0);
    expect(sum('fetched')).toBe(last.fetched);
    expect(sum('stored')).toBe(last.stored);

    events.length = 0;
    const perCall: SyncProgressEvent[] = [];
    study.setNow('2025-06-01 00:00:00');
    study.deleteRecord(3, { hard: true });
    study.deleteRecord(4);
    await client.cache.syncRecords('DEMO', { onProgress: (e) => perCall.push(e) });
    expect(perCall).toEqual(events);
    expect(events.at(-1)!.deleted).toBe(2);
    expect(events.at(-1)!.mode).toBe('incremental');
  });

  it('a throwing listener does not break the sync', async () => {
    const { study, client } = setup(
      memoryStorage(),
      { records: 300 },
      {},
      {
        onProgress: () => {
          throw new Error('listener bug');
        },
      },
    );
    await client.cache.syncRecords('DEMO');
    await expectCacheEqualsServer(client.cache, study);
  });
});

describe('ledger', () => {
  it('lists, sets and resets entries; a reset means a full sync again', async () => {
    const storage = memoryStorage();
    const { study, client } = setup(storage, { records: 300 });
    await client.cache.syncRecords('DEMO');
    const entry = await client.cache.ledger.get('DEMO', 'records');
    expect(entry).toMatchObject({ studyKey: 'DEMO', stream: 'records', status: 'idle', error: null });
    expect(entry.recordsProcessed).toBe(300);
    expect(entry.metadata.lastRun?.mode).toBe('full');
    expect(await client.cache.ledger.list()).toHaveLength(1);
    expect(await client.cache.ledger.list('OTHER')).toHaveLength(0);

    await client.cache.ledger.set('DEMO', 'records', { lastTimestamp: '2020-01-01 00:00:00' });
    const wide = await client.cache.syncRecords('DEMO');
    expect(wide.mode).toBe('incremental');
    expect(wide.fetched).toBe(300);

    await client.cache.ledger.reset('DEMO');
    expect((await client.cache.ledger.get('DEMO', 'records')).status).toBe('new');
    // A full sync over cached data also drops what vanished meanwhile.
    study.setNow('2025-06-01 00:00:00');
    study.deleteRecord(7, { hard: true });
    const again = await client.cache.syncRecords('DEMO');
    expect(again.mode).toBe('full');
    await expectCacheEqualsServer(client.cache, study);
    expect(
      (await client.cache.getDeletedRecords('DEMO', { where: (t) => t.recordId === 7 }))[0]?.reason,
    ).toBe('vanished');

    await client.cache.clearStudy('DEMO');
    expect((await client.cache.counts('DEMO')).records).toBe(0);
    expect(await client.cache.ledger.list('DEMO')).toHaveLength(0);
  });
});

describe('rewind', () => {
  it('moves a watermark back (never forward) or resets a stream, under the writer lock', async () => {
    const storage = memoryStorage();
    const { study, client } = setup(storage, { records: 300 });
    await client.cache.syncRecords('DEMO');
    const { lastTimestamp } = await client.cache.ledger.get('DEMO', 'records');
    expect(lastTimestamp).not.toBeNull();

    // Forward, nonsense and a stream never synced are refused, and change nothing.
    await expect(client.cache.rewind('DEMO', 'records', '2099-01-01 00:00:00')).rejects.toThrow(
      /Refusing to move the DEMO\/records watermark forward/,
    );
    await expect(client.cache.rewind('DEMO', 'records', 'yesterday')).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(client.cache.rewind('DEMO', 'visits', '2020-01-01')).rejects.toThrow(/no watermark yet/);
    expect((await client.cache.ledger.get('DEMO', 'records')).lastTimestamp).toBe(lastTimestamp);

    // Back to the study's start: the next sync fetches every record again, incrementally.
    const entry = await client.cache.rewind('DEMO', 'records', new Date('2020-01-01T00:00:00Z'));
    expect(entry.lastTimestamp).toBe('2020-01-01 00:00:00');
    const again = await client.cache.syncRecords('DEMO');
    expect(again.mode).toBe('incremental');
    expect(again.fetched).toBe(300);
    await expectCacheEqualsServer(client.cache, study);

    // Reset: the next sync is a full one.
    const reset = await client.cache.rewind('DEMO', 'records', null);
    expect(reset.status).toBe('new');
    expect((await client.cache.syncRecords('DEMO')).mode).toBe('full');
    await expectCacheEqualsServer(client.cache, study);
  });
});

describe('plugin wiring', () => {
  it('takes storage from sync({ storage }) or from the client option, and says when there is none', async () => {
    const study = createFakeStudy({ studyKey: 'DEMO', records: 50 });
    const api = createMockApi(study);
    const fetch = (input: RequestInfo | URL, init?: RequestInit) => api.handle(new Request(input, init));
    const base = { apiKey: 'demo-api-key', securityKey: 'demo-security-key', fetch };

    const own = memoryStorage();
    const WithOwn = Imednet.plugin(sync({ storage: own }));
    const a = new WithOwn(base);
    await a.cache.syncRecords('DEMO');
    expect(await own.count(collectionOf('DEMO', 'records'))).toBe(50);
    expect(a.cache.storage).toBe(own);

    const Bare = Imednet.plugin(sync());
    const b = new Bare({ ...base, storage: memoryStorage(), sync: { batchSize: 10 } });
    expect((await b.cache.syncRecords('DEMO')).stored).toBe(50);

    const c = new Bare(base);
    await expect(c.cache.syncRecords('DEMO')).rejects.toBeInstanceOf(ConfigurationError);
    await expect(b.cache.syncRecords('')).rejects.toBeInstanceOf(ConfigurationError);
    expect(() => b.cache.iterateCached('DEMO', 'nope' as 'sites')).toThrow(ConfigurationError);
  });
});
