// Storage adapters in Deno, from the packed package: Deno has node:sqlite, so nodeSqliteStorage works.
import { defineStorageCases } from './storage-common.mjs';

export default {
  name: 'storage',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define(t) {
    const { nodeSqliteStorage } = await t.load('imednet/storage/sqlite/node-sqlite');
    await defineStorageCases(t, [['node:sqlite', async () => nodeSqliteStorage({ filename: ':memory:' })]]);
  },
};
