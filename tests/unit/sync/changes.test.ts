import { afterAll, describe, expect, it } from 'vitest';
import { STREAMS } from '../../../src/plugins/sync/index.js';
import { memoryStorage } from '../../../src/storage/memory.js';
import { parseTimestamp } from '../../../src/testing/index.js';
import { ADAPTERS, cleanTemporary, expectCacheEqualsServer, liveIds, makeClient, setup } from './helpers.js';

afterAll(cleanTemporary);

describe.each(ADAPTERS)('what a sync reports, in $name', (adapter) => {
  it('a sync with no changes stores nothing; changes count as added, changed and deleted', async () => {
    const storage = adapter.create();
    const { study, client } = setup(storage, { records: 400, subjects: 20 });
    try {
      const first = await client.cache.syncStudy('DEMO');
      expect(first.streams.records).toMatchObject({
        added: 400 - countDeleted(),
        changed: 0,
        stored: 400 - countDeleted(),
      });

      const idle = await client.cache.syncStudy('DEMO');
      for (const stream of STREAMS) {
        expect(idle.streams[stream], stream).toMatchObject({ stored: 0, added: 0, changed: 0, deleted: 0 });
      }
      expect((await client.cache.ledger.get('DEMO', 'records')).metadata.lastRun?.stored).toBe(0);

      study.setNow(parseTimestamp(study.now()) + 60_000);
      const [a, b, c, d] = liveIds(study);
      study.updateRecord(a!, { recordStatus: 'Record Verified' });
      study.updateRecord(b!, { recordStatus: 'Record Verified' });
      study.deleteRecord(c!);
      study.deleteRecord(d!, { hard: true });
      const subject = study.subjects[0]!;
      study.addRecord({
        formKey: study.forms[0]!.formKey,
        subjectId: subject.subjectId,
        recordData: { X: '1' },
      });
      const next = await client.cache.syncRecords('DEMO');
      expect(next).toMatchObject({ added: 1, changed: 2, stored: 3, deleted: 2 });
      expect((await client.cache.ledger.get('DEMO', 'records')).metadata.lastRun).toMatchObject({
        added: 1,
        changed: 2,
        stored: 3,
        deleted: 2,
      });
      await expectCacheEqualsServer(client.cache, study);
    } finally {
      await storage.close();
    }

    function countDeleted(): number {
      return [...study.records].filter((r) => r.deleted === true).length;
    }
  });
});

describe('a records lookup that finds nothing', () => {
  it('is not a deletion: an empty records listing beside working revisions tombstones nothing', async () => {
    const storage = memoryStorage();
    const { study, api } = setup(storage, { records: 300 });
    let emptyRecords = false;
    const client = makeClient(
      api,
      storage,
      {},
      {
        fetch: (input, init) => {
          const request = new Request(input, init);
          const url = new URL(request.url);
          // The records listing (and so every lookup by id) answers with no records at all.
          if (emptyRecords && url.pathname.endsWith('/records'))
            url.searchParams.set('filter', 'recordId==999999999');
          return api.handle(new Request(url, request));
        },
      },
    );
    await client.cache.syncRecords('DEMO');
    const watermark = (await client.cache.ledger.get('DEMO', 'records')).lastTimestamp;
    // Changes in the watermark's own second: their revisions are at or after the watermark.
    const [a, b] = liveIds(study);
    study.updateRecord(a!, { recordStatus: 'Record Verified' });
    study.updateRecord(b!, { recordStatus: 'Record Verified' });
    const before = await client.cache.getCachedRecords('DEMO');

    emptyRecords = true;
    const faulty = await client.cache.syncRecords('DEMO');
    expect(faulty.deleted).toBe(0);
    expect(await client.cache.getDeletedRecords('DEMO', { where: (t) => t.reason === 'vanished' })).toEqual(
      [],
    );
    expect(await client.cache.getCachedRecords('DEMO')).toEqual(before);
    // The watermark stays, so the changes it did not see are fetched next time.
    expect((await client.cache.ledger.get('DEMO', 'records')).lastTimestamp).toBe(watermark);

    emptyRecords = false;
    await client.cache.syncRecords('DEMO');
    await expectCacheEqualsServer(client.cache, study);
  });
});
