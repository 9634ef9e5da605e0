// Storage adapters in a Cloudflare Worker (workerd), from the packed, bundled package: D1, bound by
// the host as `DB`. D1 has no interactive transactions; the adapter's atomic writes use batch().
import { defineStorageCases, prefixes } from './storage-common.mjs';

export default {
  name: 'storage',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define(t) {
    const { d1Storage } = await t.load('imednet/storage/sqlite/d1');
    const db = t.platform.d1;
    if (!db) throw new Error('the workerd fixture was started without its D1 binding (DB)');
    // One database for every case: each store gets tables of its own.
    const prefix = prefixes('conformance');
    await defineStorageCases(t, [['d1', async () => d1Storage(db, { tablePrefix: prefix() })]]);
  },
};
