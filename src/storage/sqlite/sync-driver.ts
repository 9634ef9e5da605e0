import type { SqlExecutor, SqlTransaction, SqlValue } from './executor.js';

/**
 * A prepared statement of a synchronous driver (better-sqlite3, node:sqlite and bun:sqlite share this
 * shape). Parameters are `any[]` so each driver's own, narrower typings (better-sqlite3's generic
 * bind parameters, for one) still fit; the executor only ever passes {@link SqlValue}s.
 */
export interface SyncStatementLike {
  /** Executes with positional parameters. */
  run(...params: any[]): unknown;
  /** Every row. */
  all(...params: any[]): unknown[];
  /** The first row; undefined or null when there is none. */
  get(...params: any[]): unknown;
  /** Releases the statement, for drivers that need it (sql.js). */
  free?(): void;
}

/** A synchronous SQLite connection. */
export interface SyncDatabaseLike {
  /** Compiles a statement. */
  prepare(sql: string): SyncStatementLike;
  /** Runs SQL that returns nothing of interest (pragmas, BEGIN/COMMIT). */
  exec(sql: string): unknown;
  /** Closes the connection. */
  close(): unknown;
}

/** Options of {@link syncExecutor}. */
export interface SyncExecutorOptions {
  /** Driver name for messages. */
  name: string;
  /** Whether `close()` closes the database (false for a handle the caller passed in and still owns). */
  owned: boolean;
}

// The adapter issues a fixed, small set of SQL texts; the cap only guards executors used for other SQL.
const STATEMENT_CACHE_LIMIT = 64;

/**
 * A {@link SqlExecutor} over a synchronous driver, with prepared statements cached by SQL text.
 * Transactions are plain BEGIN IMMEDIATE … COMMIT around a synchronous callback: nothing else can
 * interleave on the connection, and IMMEDIATE takes the write lock up front so a second process
 * waits (busy_timeout) at BEGIN rather than failing at COMMIT.
 */
export function syncExecutor(db: SyncDatabaseLike, options: SyncExecutorOptions): SqlExecutor {
  const cache = new Map<string, SyncStatementLike>();
  let closed = false;

  const statement = (sql: string): SyncStatementLike => {
    let prepared = cache.get(sql);
    if (!prepared) {
      if (cache.size >= STATEMENT_CACHE_LIMIT) {
        for (const old of cache.values()) old.free?.();
        cache.clear();
      }
      prepared = db.prepare(sql);
      cache.set(sql, prepared);
    }
    return prepared;
  };

  const tx: SqlTransaction = {
    run(sql, params = []) {
      statement(sql).run(...params);
    },
    all<Row>(sql: string, params: readonly SqlValue[] = []): Row[] {
      return statement(sql).all(...params) as Row[];
    },
    get<Row>(sql: string, params: readonly SqlValue[] = []): Row | undefined {
      // bun:sqlite answers null for "no row"; the contract says undefined.
      return (statement(sql).get(...params) ?? undefined) as Row | undefined;
    },
  };

  return asyncExecutor(
    options.name,
    tx,
    // IMMEDIATE takes the write lock up front, so a second process waits at BEGIN (busy_timeout).
    (body) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = body();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // SQLite may already have rolled back (e.g. after SQLITE_FULL); the original error matters.
        }
        throw error;
      }
    },
    async () => {
      if (closed) return;
      closed = true;
      for (const prepared of cache.values()) prepared.free?.();
      cache.clear();
      if (options.owned) db.close();
    },
  );
}

/**
 * The async {@link SqlExecutor} over a synchronous transaction view `tx`: statements call it
 * directly, and `transaction(fn)` runs `fn` inside `atomically` (which opens the transaction, and
 * commits it, or rolls it back when its body throws). A `fn` that returns a promise is refused inside
 * the transaction, which rolls it back: an async callback would let other statements run inside it.
 */
export function asyncExecutor(
  name: string,
  tx: SqlTransaction,
  atomically: <T>(body: () => T) => T,
  close: () => Promise<void>,
): SqlExecutor {
  return {
    name,
    async run(sql, params) {
      tx.run(sql, params);
    },
    async all<Row>(sql: string, params?: readonly SqlValue[]) {
      return tx.all<Row>(sql, params);
    },
    async get<Row>(sql: string, params?: readonly SqlValue[]) {
      return tx.get<Row>(sql, params);
    },
    async transaction<T>(fn: (t: SqlTransaction) => T): Promise<T> {
      return atomically(() => {
        const result = fn(tx);
        if (typeof (result as { then?: unknown } | null)?.then === 'function') {
          throw new TypeError('transaction(fn) needs a synchronous fn; it returned a promise');
        }
        return result;
      });
    },
    close,
  };
}
