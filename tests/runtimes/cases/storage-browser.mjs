// Storage adapters in Chromium, from the packed package bundled like a web app: IndexedDB through
// idb, and SQLite compiled to WebAssembly (sql.js, its .wasm served from the page's origin).
import { defineStorageCases } from './storage-common.mjs';

export default {
  name: 'storage',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define(t) {
    const { indexedDbStorage } = await t.load('imednet/storage/indexeddb');
    const { sqlJsStorage } = await t.load('imednet/storage/sqlite/sql-js');
    let databases = 0;
    const run = Date.now().toString(36);
    await defineStorageCases(t, [
      ['indexeddb', async () => indexedDbStorage({ name: `conformance-${run}-${++databases}` })],
      ['sql.js', async () => sqlJsStorage({ locateFile: (file) => `/node_modules/sql.js/dist/${file}` })],
    ]);
  },
};
