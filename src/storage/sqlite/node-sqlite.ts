/**
 * `imednet/storage/sqlite/node-sqlite`: SQLite through Node's built-in `node:sqlite` (Node 22.5 and
 * later; 22.5–22.12 also need `--experimental-sqlite`). Nothing to install.
 */
import { ConfigurationError } from '../../core/errors.js';
import type { StorageAdapter } from '../types.js';
import type { SyncDatabaseLike } from './sync-driver.js';
import { type SyncSqliteOptions, syncSqliteStorage } from './sync-flavour.js';

/** Options of {@link nodeSqliteStorage}: `{ filename }` or `{ database }` (an open `DatabaseSync`). */
export type NodeSqliteStorageOptions = SyncSqliteOptions;

// A variable, not a literal: TypeScript's Node 20 types have no `node:sqlite`, and bundlers for
// other runtimes must not try to resolve it.
const NODE_SQLITE = 'node:sqlite';

/**
 * A store in a SQLite file through `node:sqlite` (WAL mode, busy timeout).
 *
 * @example
 * const storage = nodeSqliteStorage({ filename: 'study-cache.db' });
 */
export function nodeSqliteStorage(options: NodeSqliteStorageOptions): StorageAdapter {
  return syncSqliteStorage(options, {
    name: 'node-sqlite',
    async open(filename) {
      let sqlite: { DatabaseSync: new (filename: string) => SyncDatabaseLike };
      try {
        sqlite = await import(/* @vite-ignore */ NODE_SQLITE);
      } catch (cause) {
        const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
        throw new ConfigurationError(
          'nodeSqliteStorage needs node:sqlite, built into Node 22.5 and later (22.5–22.12 also need ' +
            `--experimental-sqlite); this runtime is ${node ? `Node ${node}` : 'not Node'}. ` +
            'Use betterSqliteStorage from imednet/storage/sqlite/better-sqlite3 instead.',
          { cause },
        );
      }
      return new sqlite.DatabaseSync(filename);
    },
  });
}
