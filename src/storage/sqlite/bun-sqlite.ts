/**
 * `imednet/storage/sqlite/bun-sqlite`: SQLite through Bun's built-in `bun:sqlite`. Nothing to install.
 */
import { ConfigurationError } from '../../core/errors.js';
import type { StorageAdapter } from '../types.js';
import type { SyncDatabaseLike } from './sync-driver.js';
import { type SyncSqliteOptions, syncSqliteStorage } from './sync-flavour.js';

/** Options of {@link bunSqliteStorage}: `{ filename }` or `{ database }` (an open bun:sqlite `Database`). */
export type BunSqliteStorageOptions = SyncSqliteOptions;

// A variable, not a literal, so TypeScript (no Bun types here) and non-Bun bundlers leave it alone.
const BUN_SQLITE = 'bun:sqlite';

/**
 * A store in a SQLite file through `bun:sqlite` (WAL mode, busy timeout).
 *
 * @example
 * const storage = bunSqliteStorage({ filename: 'study-cache.db' });
 */
export function bunSqliteStorage(options: BunSqliteStorageOptions): StorageAdapter {
  return syncSqliteStorage(options, {
    name: 'bun-sqlite',
    async open(filename) {
      let sqlite: { Database: new (filename: string, options?: { create?: boolean }) => SyncDatabaseLike };
      try {
        sqlite = await import(/* @vite-ignore */ BUN_SQLITE);
      } catch (cause) {
        throw new ConfigurationError(
          'bunSqliteStorage needs bun:sqlite, which only Bun has. In Node use betterSqliteStorage ' +
            '(imednet/storage/sqlite/better-sqlite3) or nodeSqliteStorage (imednet/storage/sqlite/node-sqlite).',
          { cause },
        );
      }
      return new sqlite.Database(filename, { create: true });
    },
  });
}
