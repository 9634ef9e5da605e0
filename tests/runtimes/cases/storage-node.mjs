// Storage adapters in Node, from the packed package: each Node row uses the SQLite it has —
// better-sqlite3 (linked from the repository's install, built for this machine's Node 20) below
// Node 22.5, node:sqlite from 22.5 on; below 22.5, nodeSqliteStorage must fail at first use and
// name the alternative.
import { defineStorageCases } from './storage-common.mjs';

export default {
  name: 'storage',
  /** @param {import('../harness/types.js').SuiteContext} t */
  async define(t) {
    const [major, minor] = process.versions.node.split('.').map(Number);
    const hasNodeSqlite = major > 22 || (major === 22 && minor >= 5);
    const { nodeSqliteStorage } = await t.load('imednet/storage/sqlite/node-sqlite');
    const adapters = [];
    if (hasNodeSqlite) {
      adapters.push(['node:sqlite', async () => nodeSqliteStorage({ filename: ':memory:' })]);
    } else {
      const { betterSqliteStorage } = await t.load('imednet/storage/sqlite/better-sqlite3');
      adapters.push(['better-sqlite3', async () => betterSqliteStorage({ filename: ':memory:' })]);
      t.it(
        `node:sqlite on Node ${process.versions.node} fails at first use, naming better-sqlite3`,
        async () => {
          const error = await t.expect(nodeSqliteStorage({ filename: ':memory:' }).count('x')).rejects();
          t.expect(error).toBeInstanceOf(t.sdk.ConfigurationError);
          t.expect(String(error.message)).toContain('betterSqliteStorage');
        },
      );
    }
    await defineStorageCases(t, adapters);
  },
};
