/**
 * `imednet/storage/sqlite`: the SQLite StorageAdapter and the executor contract its flavours
 * implement. The flavours have their own subpaths (`imednet/storage/sqlite/better-sqlite3`,
 * `/node-sqlite`, `/bun-sqlite`, `/d1`, `/sql-js`), so this entry loads no driver.
 */
export { type SqlExecutorSource, type SqliteStorageOptions, sqliteStorage } from './adapter.js';
export type { SqlExecutor, SqlStatement, SqlTransaction, SqlValue } from './executor.js';
export {
  type SyncDatabaseLike,
  type SyncExecutorOptions,
  type SyncStatementLike,
  syncExecutor,
} from './sync-driver.js';
