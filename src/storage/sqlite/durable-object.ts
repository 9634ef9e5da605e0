/**
 * `imednet/storage/sqlite/durable-object`: the SQLite database inside a Cloudflare Durable Object
 * (`ctx.storage.sql`). Its calls are synchronous and it refuses BEGIN/COMMIT statements, so the
 * executor's transactions go through `ctx.storage.transactionSync(fn)`, which commits when `fn`
 * returns and rolls back when it throws. Nothing is imported: the storage comes from the object's
 * `ctx`. The object's class must be SQLite-backed (`new_sqlite_classes` in its wrangler migration).
 */
import { ConfigurationError } from '../../core/errors.js';
import type { StorageAdapter } from '../types.js';
import { sqliteStorage } from './adapter.js';
import type { SqlExecutor, SqlTransaction, SqlValue } from './executor.js';
import { asyncExecutor } from './sync-driver.js';

/** The cursor `sql.exec` answers (only what is used here; the Workers type `SqlStorageCursor` fits). */
export interface DurableObjectSqlCursorLike {
  /** Every remaining row, as objects keyed by column name. */
  toArray(): unknown[];
}

/** `ctx.storage.sql` (only what is used here; the Workers type `SqlStorage` fits). */
export interface DurableObjectSqlLike {
  exec(query: string, ...bindings: any[]): DurableObjectSqlCursorLike;
}

/** `ctx.storage` of a SQLite-backed Durable Object (the Workers type `DurableObjectStorage` fits). */
export interface DurableObjectStorageLike {
  readonly sql?: DurableObjectSqlLike;
  transactionSync<T>(fn: () => T): T;
}

/** Options of {@link durableObjectStorage}. */
export interface DurableObjectStorageOptions {
  /** Table-name prefix, see `SqliteStorageOptions.tablePrefix`. */
  tablePrefix?: string;
}

/**
 * A store in a Durable Object's own SQLite database. Persistent; not shared, since only this object
 * ever opens it (requests it serves concurrently share one JavaScript realm); with locks.
 *
 * @example
 * import { DurableObject } from 'cloudflare:workers';
 * import { durableObjectStorage } from 'imednet/storage/sqlite/durable-object';
 *
 * export class StudyCache extends DurableObject {
 *   storage = durableObjectStorage(this.ctx.storage);
 *   async fetch(request: Request) {
 *     await this.storage.putMany('subjects', [['01-001', { site: 'A' }]]);
 *     // ...
 *   }
 * }
 */
export function durableObjectStorage(
  storage: DurableObjectStorageLike,
  options: DurableObjectStorageOptions = {},
): StorageAdapter {
  // Checked at first use, like every adapter's connection: creating the adapter never throws.
  return sqliteStorage(async () => durableObjectExecutor(storage), {
    name: 'sqlite:durable-object',
    tablePrefix: options.tablePrefix,
    capabilities: { persistent: true, shared: false, locks: true },
  });
}

/** The {@link SqlExecutor} over `ctx.storage` of a SQLite-backed Durable Object. */
export function durableObjectExecutor(storage: DurableObjectStorageLike): SqlExecutor {
  let sql: DurableObjectSqlLike | undefined;
  let cause: unknown;
  try {
    sql = storage.sql;
    // A key-value-backed object has `sql` too, but every statement throws ("SQL is not enabled").
    sql?.exec('SELECT 1').toArray();
  } catch (error) {
    sql = undefined;
    cause = error;
  }
  if (!sql || typeof storage.transactionSync !== 'function') {
    throw new ConfigurationError(
      'durableObjectStorage needs the storage of a SQLite-backed Durable Object (ctx.storage with ' +
        '`sql` and `transactionSync`): declare the class under `new_sqlite_classes` in its wrangler ' +
        'migration, or use d1Storage from imednet/storage/sqlite/d1',
      cause === undefined ? undefined : { cause },
    );
  }
  const database = sql;
  // Every cursor is drained at once: rows are small, and nothing is left half-read across an await.
  const exec = (query: string, params: readonly SqlValue[] = []) => database.exec(query, ...params).toArray();
  const tx: SqlTransaction = {
    run(query, params) {
      exec(query, params);
    },
    all<Row>(query: string, params?: readonly SqlValue[]): Row[] {
      return exec(query, params) as Row[];
    },
    get<Row>(query: string, params?: readonly SqlValue[]): Row | undefined {
      return exec(query, params)[0] as Row | undefined;
    },
  };
  // The storage belongs to the runtime; there is no connection to release on close.
  return asyncExecutor(
    'durable-object',
    tx,
    (body) => storage.transactionSync(body),
    async () => {},
  );
}
