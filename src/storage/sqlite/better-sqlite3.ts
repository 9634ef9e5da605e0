/**
 * `imednet/storage/sqlite/better-sqlite3`: SQLite in Node through better-sqlite3, an optional peer
 * dependency loaded at first use.
 */
import { defaultExport, importOptional } from '../optional.js';
import type { StorageAdapter } from '../types.js';
import type { SyncDatabaseLike } from './sync-driver.js';
import { type SyncSqliteOptions, syncSqliteStorage } from './sync-flavour.js';

/** The constructor better-sqlite3 exports (only what is used here). */
export type BetterSqliteConstructor = new (filename: string) => SyncDatabaseLike;

/** Options of {@link betterSqliteStorage}: `{ filename }` (and optionally the `module`) or `{ database }`. */
export type BetterSqliteStorageOptions = SyncSqliteOptions<{
  /** The better-sqlite3 export, to pass it instead of having it imported. */
  module?: BetterSqliteConstructor;
}>;

/**
 * A store in a SQLite file through better-sqlite3 (WAL mode, busy timeout: safe to share a file
 * between processes).
 *
 * @example
 * const storage = betterSqliteStorage({ filename: 'study-cache.db' });
 */
export function betterSqliteStorage(options: BetterSqliteStorageOptions): StorageAdapter {
  return syncSqliteStorage(options, {
    name: 'better-sqlite3',
    async open(filename, { module }) {
      const Database =
        module ??
        defaultExport<BetterSqliteConstructor>(
          await importOptional(
            () => import('better-sqlite3'),
            'betterSqliteStorage needs the optional package better-sqlite3: run `npm install better-sqlite3`' +
              ' (or, on Node 22.5+, use nodeSqliteStorage from imednet/storage/sqlite/node-sqlite)',
          ),
        );
      return new Database(filename);
    },
  });
}
