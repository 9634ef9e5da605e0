// Storage and the sync plugin imported by URL from the local ESM CDN, with no bundler: the CDN
// rewrites the adapter's lazy `import('idb')` to its own URL, as esm.sh does. Chromium gets
// IndexedDB; Deno, which has none, the memory store alone.
import { defineStorageCases } from './storage-common.mjs';

export default {
  name: 'storage',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define(t) {
    const adapters = [];
    if (t.runtime === 'cdn-chromium') {
      const { indexedDbStorage } = await t.load('imednet/storage/indexeddb');
      let databases = 0;
      const run = Date.now().toString(36);
      adapters.push(['indexeddb', async () => indexedDbStorage({ name: `cdn-${run}-${++databases}` })]);
    }
    await defineStorageCases(t, adapters);
  },
};
