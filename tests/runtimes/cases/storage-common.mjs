// What the storage suites share: each runtime's suite names the adapters that runtime has, and every
// adapter gets the whole conformance suite from the packed `imednet/storage/conformance`, one case
// per conformance check, then a sync case: the sync plugin keeps the mock's study in that adapter
// through a full sync and an incremental one after changes on the server, and the cache equals the
// server after each. Imported by the storage-*.mjs suites only; never a suite of its own.

/**
 * Registers the conformance cases of each adapter, plus `memoryStorage`, which runs everywhere.
 * @param {import('../harness/types.js').SuiteContext} t
 * @param {Array<[label: string, make: () => Promise<object>]>} adapters
 */
export async function defineStorageCases(t, adapters) {
  const { storageConformanceCases } = await t.load('imednet/storage/conformance');
  const { memoryStorage } = await t.load('imednet/storage');
  const { sync } = await t.load('imednet/plugins/sync');
  const all = [['memory', async () => memoryStorage()], ...adapters];
  for (const [label, make] of all) {
    for (const c of storageConformanceCases(make)) t.it(`${label}: ${c.name}`, c.run);
    t.it(`${label}: the sync plugin's cache equals the server after a full and an incremental sync`, () =>
      syncCase(t, sync, make),
    );
  }
}

/** Full sync, changes on the server (updates, soft and hard deletions, additions), incremental sync. */
async function syncCase(t, sync, make) {
  const { env, expect, control } = t;
  const storage = await make();
  const Client = t.sdk.Imednet.plugin(sync({ storage }));
  const client = new Client({ apiKey: env.apiKey, securityKey: env.securityKey, baseUrl: env.baseUrl });
  const study = env.studyKey;
  const expectCacheEqualsServer = async () => {
    const live = (await client.records.list(study).toArray()).filter((r) => r.deleted !== true);
    const cached = await client.cache.getCachedRecords(study);
    expect(cached.map((r) => r.recordId)).toEqual(live.map((r) => r.recordId));
    expect(cached).toEqual(live);
  };
  try {
    const first = await client.cache.syncRecords(study);
    expect(first.mode).toBe('full');
    await expectCacheEqualsServer();

    const changed = await control.mutate({ update: 6, softDelete: 2, hardDelete: 2, add: 3 });
    const next = await client.cache.syncRecords(study);
    expect(next.mode).toBe('incremental');
    // Only the changes (and the watermark's own second) are fetched again, not the study.
    expect(next.fetched).toBeLessThan(first.fetched / 4);
    expect(next.deleted).toBeGreaterThanOrEqual(changed.softDeleted.length + changed.hardDeleted.length);
    await expectCacheEqualsServer();
    const gone = await client.cache.getDeletedRecords(study);
    const tombstoned = gone.map((g) => g.recordId);
    for (const id of [...changed.softDeleted, ...changed.hardDeleted]) expect(tombstoned).toContain(id);
  } finally {
    await storage.close();
  }
}

/** A fresh table prefix per store, for adapters over one shared database (D1). */
export function prefixes(base) {
  let n = 0;
  return () => `${base}${++n}_`;
}
