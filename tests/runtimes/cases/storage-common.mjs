// What the storage suites share: each runtime's suite names the adapters that runtime has, and every
// adapter gets the whole conformance suite from the packed `imednet/storage/conformance`, one case
// per conformance check. Imported by the storage-*.mjs suites only; never a suite of its own.

/**
 * Registers the conformance cases of each adapter, plus `memoryStorage`, which runs everywhere.
 * @param {import('../harness/types.js').SuiteContext} t
 * @param {Array<[label: string, make: () => Promise<object>]>} adapters
 */
export async function defineStorageCases(t, adapters) {
  const { storageConformanceCases } = await t.load('imednet/storage/conformance');
  const { memoryStorage } = await t.load('imednet/storage');
  const all = [['memory', async () => memoryStorage()], ...adapters];
  for (const [label, make] of all) {
    for (const c of storageConformanceCases(make)) t.it(`${label}: ${c.name}`, c.run);
  }
}

/** A fresh table prefix per store, for adapters over one shared database (D1). */
export function prefixes(base) {
  let n = 0;
  return () => `${base}${++n}_`;
}
