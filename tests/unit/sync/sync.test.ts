import { afterAll, describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/core/errors.js';
import { collectionOf, idKey, ReconcileRefusedError } from '../../../src/plugins/sync/index.js';
import { createMockApi, createRandom, type FakeStudy, parseTimestamp } from '../../../src/testing/index.js';
import {
  ADAPTERS,
  cleanTemporary,
  expectCacheEqualsServer,
  liveIds,
  makeClient,
  requestsTo,
  setup,
} from './helpers.js';

afterAll(cleanTemporary);

/** Applies random changes: updates, additions, soft and hard deletions (and an undelete now and then). */
function mutate(study: FakeStudy, seed: number, counts = { update: 15, add: 4, soft: 3, hard: 3 }) {
  const r = createRandom(seed);
  const ids = liveIds(study);
  const pick = () => ids.splice(r.int(0, ids.length - 1), 1)[0] as number;
  const changed = {
    updated: [] as number[],
    added: [] as number[],
    soft: [] as number[],
    hard: [] as number[],
  };
  for (let i = 0; i < counts.update; i++) {
    const id = pick();
    study.updateRecord(id, { recordStatus: 'Record Verified', recordData: { NOTE: `round ${seed}/${i}` } });
    changed.updated.push(id);
  }
  for (let i = 0; i < counts.add; i++) {
    const subject = study.subjects[r.int(0, study.subjects.length - 1)]!;
    const form = study.forms[r.int(0, study.forms.length - 1)]!;
    changed.added.push(
      study.addRecord({ formKey: form.formKey, subjectId: subject.subjectId, recordData: { X: String(i) } })
        .recordId,
    );
  }
  for (let i = 0; i < counts.soft; i++) {
    const id = pick();
    study.deleteRecord(id);
    changed.soft.push(id);
  }
  for (let i = 0; i < counts.hard; i++) {
    const id = pick();
    study.deleteRecord(id, { hard: true });
    changed.hard.push(id);
  }
  return changed;
}

function advance(study: FakeStudy, seconds: number): void {
  study.setNow(parseTimestamp(study.now()) + seconds * 1000);
}

describe.each(ADAPTERS)('records sync into $name', (adapter) => {
  it('equals the server after a full sync and after every incremental sync', async () => {
    const storage = adapter.create();
    const { study, api, client } = setup(storage);
    try {
      const first = await client.cache.syncRecords('DEMO');
      expect(first.mode).toBe('full');
      expect(first.previousWatermark).toBeNull();
      await expectCacheEqualsServer(client.cache, study);
      // No page boundary skipped an id, so the first sync asked nothing about deletions.
      expect(requestsTo(api, 'recordRevisions')).toBe(0);
      const entry = await client.cache.ledger.get('DEMO', 'records');
      expect(entry.status).toBe('idle');
      expect(entry.metadata.full).toBeUndefined();
      const newest = [...study.records.headers()]
        .map((h) => h.dateModified)
        .sort()
        .at(-1);
      expect(entry.lastTimestamp).toBe(newest);

      for (let round = 1; round <= 6; round++) {
        // Odd rounds keep the clock still, so changes land in the watermark's own second.
        if (round % 2 === 0) advance(study, 37 * round);
        const changed = mutate(study, round);
        api.reset();
        const result = await client.cache.syncRecords('DEMO');
        expect(result.mode).toBe('incremental');
        await expectCacheEqualsServer(client.cache, study);
        const tombstones = await client.cache.getDeletedRecords('DEMO', {
          where: (t) => changed.hard.includes(t.recordId),
        });
        expect(tombstones.map((t) => t.reason)).toEqual(changed.hard.map(() => 'vanished'));
        expect(tombstones.every((t) => t.record !== undefined)).toBe(true);
        // Never the whole study again: a couple of pages of changes and revisions.
        expect(requestsTo(api, 'records')).toBeLessThanOrEqual(2);
        expect(requestsTo(api, 'recordRevisions')).toBeLessThanOrEqual(2);
      }

      // Undelete: a soft-deleted record comes back to the live view and loses its tombstone.
      const soft = (await client.cache.getDeletedRecords('DEMO')).find((t) => t.reason === 'deleted')!;
      advance(study, 5);
      study.updateRecord(soft.recordId, { deleted: false });
      await client.cache.syncRecords('DEMO');
      await expectCacheEqualsServer(client.cache, study);
      expect(await client.cache.getCachedRecord('DEMO', soft.recordId)).toBeDefined();
    } finally {
      await storage.close();
    }
  });

  it('a first sync racing hard deletions still stores every record the server keeps', async () => {
    const storage = adapter.create();
    const { study, api } = setup(storage, { records: 1500 });
    // When page p of the listing is asked for, records on earlier pages are hard-deleted first, so
    // page p and every later one start further on than they should (by offset).
    const deleteAt = new Map([
      [3, [40, 41]],
      [6, [250]],
      [9, [620, 805]],
    ]);
    let listingPages = 0;
    const client = makeClient(
      api,
      storage,
      { batchSize: 300 },
      {
        pageSize: 100,
        fetch: async (input, init) => {
          const request = new Request(input, init);
          const url = new URL(request.url);
          if (url.pathname.endsWith('/records') && url.searchParams.get('sort')?.startsWith('recordId')) {
            listingPages++;
            const page = Number(url.searchParams.get('page') ?? '0');
            for (const id of deleteAt.get(page) ?? []) study.deleteRecord(id, { hard: true });
            deleteAt.delete(page);
          }
          return api.handle(request);
        },
      },
    );
    try {
      const first = await client.cache.syncRecords('DEMO');
      expect(first.mode).toBe('full');
      expect(deleteAt.size).toBe(0);
      expect(listingPages).toBeGreaterThanOrEqual(15);
      // Every record the server keeps is cached, equal to the server's copy: the records that shifted
      // to earlier pages were found again. The only extras are the deleted ones, stored before they went.
      const live = [...study.records].filter((r) => r.deleted !== true);
      const cached = await client.cache.getCachedRecords('DEMO');
      const cachedById = new Map(cached.map((r) => [r.recordId, r]));
      for (const record of live)
        expect(cachedById.get(record.recordId), `${record.recordId}`).toEqual(record);
      const extras = cached
        .filter((r) => study.getRecord(r.recordId as number) === undefined)
        .map((r) => r.recordId);
      // (Which of them depends on how the 8 pages in flight interleave with the deletions.)
      for (const id of extras) expect([40, 41, 250, 620, 805]).toContain(id);
      // One revisions listing told that records were deleted since the sync began.
      expect(requestsTo(api, 'recordRevisions')).toBe(1);
      const entry = await client.cache.ledger.get('DEMO', 'records');
      expect(entry.status).toBe('idle');
      // The deletions themselves are the next incremental sync's business: it sees them as revisions.
      const next = await client.cache.syncRecords('DEMO');
      expect(next.mode).toBe('incremental');
      await expectCacheEqualsServer(client.cache, study);
    } finally {
      await storage.close();
    }
  });

  it('resumes an interrupted first sync without duplicates, then catches up', async () => {
    const storage = adapter.create();
    // The 5th records request fails: after the newest-first probe and three pages of 200.
    const { study, api, client } = setup(
      storage,
      { records: 2500 },
      { faults: { serverError: { times: 1, after: 4, paths: '/studies/DEMO/records', status: 503 } } },
      { batchSize: 200, concurrency: 1 },
    );
    const noRetry = makeClient(
      api,
      storage,
      { batchSize: 200, concurrency: 1 },
      { retries: 0, pageSize: 200 },
    );
    try {
      await expect(noRetry.cache.syncRecords('DEMO')).rejects.toThrow();
      const broken = await noRetry.cache.ledger.get('DEMO', 'records');
      expect(broken.status).toBe('failed');
      expect(broken.error?.name).toBe('ServerError');
      expect(broken.lastTimestamp).toBeNull();
      expect(broken.metadata.full?.cursor).toBe(600);
      expect((await client.cache.counts('DEMO')).records).toBeGreaterThan(0);

      // Meanwhile the server changes, below and above the cursor.
      advance(study, 60);
      study.updateRecord(10, { recordData: { NOTE: 'changed below the cursor' } });
      study.deleteRecord(20, { hard: true });
      study.deleteRecord(2000, { hard: true });
      study.updateRecord(2400, { recordStatus: 'Record Locked' });

      const resumed = await client.cache.syncRecords('DEMO');
      expect(resumed.resumed).toBe(true);
      await expectCacheEqualsServer(client.cache, study);
      const entry = await client.cache.ledger.get('DEMO', 'records');
      expect(entry.status).toBe('idle');
      expect(entry.metadata.full).toBeUndefined();
      expect(entry.lastTimestamp).not.toBeNull();
    } finally {
      await storage.close();
    }
  });

  it('a failed incremental run records its error and leaves the watermark and the data', async () => {
    const storage = adapter.create();
    const { study, api, client } = setup(storage, {}, {}, {});
    try {
      await client.cache.syncRecords('DEMO');
      const before = await client.cache.ledger.get('DEMO', 'records');
      advance(study, 90);
      mutate(study, 99);
      api.setFaults({
        serverError: { times: Number.POSITIVE_INFINITY, paths: '/studies/DEMO/recordRevisions' },
      });
      const snapshot = await client.cache.getCachedRecords('DEMO');
      await expect(client.cache.syncRecords('DEMO')).rejects.toThrow();
      const after = await client.cache.ledger.get('DEMO', 'records');
      expect(after.lastTimestamp).toBe(before.lastTimestamp);
      expect(after.status).toBe('failed');
      expect(after.error?.name).toBe('ServerError');
      expect(await client.cache.getCachedRecords('DEMO')).toEqual(snapshot);

      api.setFaults({});
      await client.cache.syncRecords('DEMO');
      await expectCacheEqualsServer(client.cache, study);
      const healed = await client.cache.ledger.get('DEMO', 'records');
      expect(healed.status).toBe('idle');
      expect(healed.error).toBeNull();
    } finally {
      await storage.close();
    }
  });

  it('reconcile repairs drift, and refuses to delete too much or from an empty listing', async () => {
    const storage = adapter.create();
    const { study, client } = setup(storage);
    const live = collectionOf('DEMO', 'records');
    try {
      await client.cache.syncRecords('DEMO');
      const watermark = (await client.cache.ledger.get('DEMO', 'records')).lastTimestamp;
      // Drift the cache: a ghost the server never had, a record lost, a record gone stale.
      const sample = (await client.cache.getCachedRecords('DEMO', { limit: 3 }))!;
      await storage.putMany(live, [[idKey(900_001), { ...sample[0], recordId: 900_001 }]]);
      await storage.deleteMany(live, [idKey(sample[1]!.recordId)]);
      await storage.putMany(live, [[idKey(sample[2]!.recordId), { ...sample[2], recordStatus: 'stale' }]]);
      const repaired = await client.cache.reconcile('DEMO');
      expect(repaired.deleted).toBe(1);
      await expectCacheEqualsServer(client.cache, study);
      expect(
        (await client.cache.getDeletedRecords('DEMO', { where: (t) => t.recordId === 900_001 }))[0]?.reason,
      ).toBe('reconcile');
      expect((await client.cache.ledger.get('DEMO', 'records')).lastTimestamp).toBe(watermark);

      // More than 5% would go: refused (nothing deleted), unless forced.
      const ghosts = Array.from(
        { length: 80 },
        (_, i) => [idKey(800_000 + i), { recordId: 800_000 + i }] as const,
      );
      await storage.putMany(live, ghosts);
      const error = await client.cache.reconcile('DEMO').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReconcileRefusedError);
      expect((error as ReconcileRefusedError).reason).toBe('too-many-deletions');
      expect((error as ReconcileRefusedError).wouldDelete).toBe(80);
      expect(await storage.get(live, idKey(800_000))).toBeDefined();
      expect((await client.cache.ledger.get('DEMO', 'records')).status).toBe('failed');
      const relaxed = await client.cache.reconcile('DEMO', { maxShare: 0.1 });
      expect(relaxed.deleted).toBe(80);
      await expectCacheEqualsServer(client.cache, study);

      // An empty listing never empties the cache.
      const emptyApi = createMockApi(
        (await import('../../../src/testing/index.js')).createFakeStudy({ studyKey: 'DEMO', records: 0 }),
      );
      const emptyClient = makeClient(emptyApi, storage);
      const refused = await emptyClient.cache.reconcile('DEMO').catch((e: unknown) => e);
      expect((refused as ReconcileRefusedError).reason).toBe('empty-listing');
      await expectCacheEqualsServer(client.cache, study);
      const forced = await emptyClient.cache.reconcile('DEMO', { force: true });
      expect(forced.deleted).toBe(forced.cached);
      expect((await client.cache.counts('DEMO')).records).toBe(0);
    } finally {
      await storage.close();
    }
  });
});

/** Records and revisions an incremental sync from `watermark` must see (the `>=` boundary included). */
function delta(study: FakeStudy, watermark: string): { records: number; revisions: number } {
  let records = 0;
  for (const header of study.records.headers()) if ((header.dateModified ?? '') >= watermark) records++;
  let revisions = 0;
  for (const revision of study.recordRevisions) if (revision.dateCreated >= watermark) revisions++;
  return { records, revisions };
}

describe('incremental sync request budget', () => {
  it('sends at most ceil(changed/500) + ceil(revisions/500) + 3 requests', async () => {
    const { study, api, client } = setup((await import('../../../src/storage/memory.js')).memoryStorage(), {
      records: 20_000,
      subjects: 200,
    });
    await client.cache.syncRecords('DEMO');
    advance(study, 3600);
    const changed = mutate(study, 7, { update: 1200, add: 100, soft: 20, hard: 20 });
    let watermark = (await client.cache.ledger.get('DEMO', 'records')).lastTimestamp!;
    let expected = delta(study, watermark);
    api.reset();
    const result = await client.cache.syncRecords('DEMO');
    const touched = changed.updated.length + changed.added.length + changed.soft.length;
    expect(api.requests.length).toBeLessThanOrEqual(
      Math.ceil(expected.records / 500) + Math.ceil(expected.revisions / 500) + 3,
    );
    // The watermark's own second is fetched again (inclusive) and deduplicated.
    expect(result.fetched).toBe(expected.records);
    expect(result.fetched).toBeGreaterThanOrEqual(touched);
    expect(result.deleted).toBe(changed.soft.length + changed.hard.length);
    await expectCacheEqualsServer(client.cache, study);

    // One change a minute later, then nothing: the boundary second is small again.
    advance(study, 60);
    mutate(study, 8, { update: 1, add: 0, soft: 0, hard: 0 });
    await client.cache.syncRecords('DEMO');
    watermark = (await client.cache.ledger.get('DEMO', 'records')).lastTimestamp!;
    expected = delta(study, watermark);
    expect(expected).toEqual({ records: 1, revisions: 1 });
    api.reset();
    await client.cache.syncRecords('DEMO');
    expect(api.requests.length).toBe(2);
    await expectCacheEqualsServer(client.cache, study);
  });
});

describe('abort', () => {
  it('an aborted first sync keeps what it committed and resumes later', async () => {
    const { memoryStorage } = await import('../../../src/storage/memory.js');
    const storage = memoryStorage();
    const { study, client } = setup(
      storage,
      { records: 3000 },
      { faults: { latencyMs: 2 } },
      { batchSize: 500 },
    );
    const controller = new AbortController();
    const run = client.cache.syncRecords('DEMO', {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'stored' && e.stored >= 1000) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    const entry = await client.cache.ledger.get('DEMO', 'records');
    expect(entry.lastTimestamp).toBeNull();
    expect(entry.metadata.full?.cursor).toBeGreaterThanOrEqual(1000);
    expect(entry.error?.name).toBe('AbortError');
    const resumed = await client.cache.syncRecords('DEMO');
    expect(resumed.resumed).toBe(true);
    await expectCacheEqualsServer(client.cache, study);
  });
});

describe('large deltas', () => {
  it('writes early above maxDeltaInMemory, and still moves the watermark only at the end', async () => {
    const { memoryStorage } = await import('../../../src/storage/memory.js');
    const storage = memoryStorage();
    const { study, api, client } = setup(storage, { records: 3000 }, {}, { maxDeltaInMemory: 100 });
    await client.cache.syncRecords('DEMO');
    const before = (await client.cache.ledger.get('DEMO', 'records')).lastTimestamp;
    advance(study, 120);
    mutate(study, 5, { update: 700, add: 10, soft: 10, hard: 10 });

    // Revisions fail: the early batches are stored, the watermark stays.
    api.setFaults({
      serverError: { times: Number.POSITIVE_INFINITY, paths: '/studies/DEMO/recordRevisions' },
    });
    await expect(client.cache.syncRecords('DEMO')).rejects.toThrow();
    expect((await client.cache.ledger.get('DEMO', 'records')).lastTimestamp).toBe(before);

    api.setFaults({});
    // Changes the failed run did not store, so that this run has several early writes to make.
    advance(study, 60);
    mutate(study, 6, { update: 1200, add: 0, soft: 0, hard: 0 });
    const writes: number[] = [];
    const result = await client.cache.syncRecords('DEMO', {
      onProgress: (e) => {
        if (e.type === 'stored') writes.push(e.count);
      },
    });
    expect(writes.length).toBeGreaterThan(1);
    expect(result.watermark).not.toBe(before);
    await expectCacheEqualsServer(client.cache, study);
  });
});
