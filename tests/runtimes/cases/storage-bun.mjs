// Storage adapters in Bun, from the packed package: bun:sqlite.
import { defineStorageCases } from './storage-common.mjs';

export default {
  name: 'storage',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define(t) {
    const { bunSqliteStorage } = await t.load('imednet/storage/sqlite/bun-sqlite');
    await defineStorageCases(t, [['bun:sqlite', async () => bunSqliteStorage({ filename: ':memory:' })]]);
  },
};
