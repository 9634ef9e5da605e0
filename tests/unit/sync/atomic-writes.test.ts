import { afterAll, describe, expect, it } from 'vitest';
import { collectionOf, idKey } from '../../../src/plugins/sync/index.js';
import { ADAPTERS, cleanTemporary, expectCacheEqualsServer, failingWrites, setup } from './helpers.js';

afterAll(cleanTemporary);

describe.each(ADAPTERS)('clearStudy and rewind in $name', (adapter) => {
  it('clearStudy is all or nothing whichever write fails, so the next sync refills the cache', async () => {
    for (const n of [1, 2]) {
      const inner = adapter.create();
      const { storage, failWrite } = failingWrites(inner);
      const { study, client } = setup(storage, { records: 300 });
      try {
        await client.cache.syncRecords('DEMO');
        const before = (await client.cache.counts('DEMO')).records;
        failWrite(n);
        const cleared = await client.cache.clearStudy('DEMO').then(
          () => true,
          () => false,
        );
        failWrite(0);
        const after = (await client.cache.counts('DEMO')).records;
        const entries = await client.cache.ledger.list('DEMO');
        // Either everything went (data and watermark) or nothing did.
        expect({ records: after, entries: entries.length }, `failing write ${n}`).toEqual(
          cleared ? { records: 0, entries: 0 } : { records: before, entries: 1 },
        );
        const next = await client.cache.syncRecords('DEMO');
        expect(next.mode).toBe(cleared ? 'full' : 'incremental');
        await expectCacheEqualsServer(client.cache, study);
      } finally {
        await inner.close();
      }
    }
  });

  it("rewind to null forgets the entry and an interrupted first sync's page boundaries together", async () => {
    const inner = adapter.create();
    const { storage, failWrite } = failingWrites(inner);
    const { study, client } = setup(storage, { records: 300 });
    const gaps = collectionOf('DEMO', 'gaps');
    try {
      await client.cache.syncRecords('DEMO');
      // What an interrupted first sync leaves: page boundaries beside its entry.
      await storage.putMany(gaps, [[idKey(120), { after: 100, before: 120 }]]);
      failWrite(1);
      await expect(client.cache.rewind('DEMO', 'records', null)).rejects.toThrow(/refused this write/);
      expect(await storage.count(gaps)).toBe(1);
      expect((await client.cache.ledger.get('DEMO', 'records')).status).toBe('idle');
      const reset = await client.cache.rewind('DEMO', 'records', null);
      expect(reset.status).toBe('new');
      expect(await storage.count(gaps)).toBe(0);
      expect((await client.cache.syncRecords('DEMO')).mode).toBe('full');
      await expectCacheEqualsServer(client.cache, study);
    } finally {
      await inner.close();
    }
  });
});
