/**
 * `imednet/storage/sqlite/d1`: Cloudflare D1. D1 has no interactive transactions, so the executor
 * offers `batch` (D1 runs a batch as one transaction) and the adapter sends every multi-statement
 * write through it. Nothing is imported: the D1 binding comes from the Worker's `env`.
 */
import type { StorageAdapter } from '../types.js';
import { sqliteStorage } from './adapter.js';
import type { SqlExecutor, SqlValue } from './executor.js';

/** A D1 prepared statement (only what is used here; the Workers type `D1PreparedStatement` fits). */
export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  run(): Promise<unknown>;
  all<Row = Record<string, unknown>>(): Promise<{ results: Row[] }>;
  first<Row = Record<string, unknown>>(): Promise<Row | null>;
}

/** A D1 database binding (only what is used here; the Workers type `D1Database` fits). */
export interface D1DatabaseLike {
  prepare(sql: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<unknown[]>;
}

/** Options of {@link d1Storage}. */
export interface D1StorageOptions {
  /** Table-name prefix, see `SqliteStorageOptions.tablePrefix`. */
  tablePrefix?: string;
}

/**
 * A store in a Cloudflare D1 database.
 *
 * @example
 * export default {
 *   async fetch(request: Request, env: { DB: D1Database }) {
 *     const storage = d1Storage(env.DB);
 *     // ...
 *   },
 * };
 */
export function d1Storage(db: D1DatabaseLike, options: D1StorageOptions = {}): StorageAdapter {
  return sqliteStorage(d1Executor(db), {
    name: 'sqlite:d1',
    tablePrefix: options.tablePrefix,
    capabilities: { persistent: true, shared: true, locks: true },
  });
}

/** The {@link SqlExecutor} over a D1 binding. */
export function d1Executor(db: D1DatabaseLike): SqlExecutor {
  const prepare = (sql: string, params: readonly SqlValue[] = []) =>
    params.length > 0 ? db.prepare(sql).bind(...params) : db.prepare(sql);
  return {
    name: 'd1',
    async run(sql, params) {
      await prepare(sql, params).run();
    },
    async all<Row>(sql: string, params?: readonly SqlValue[]) {
      return (await prepare(sql, params).all<Row>()).results;
    },
    async get<Row>(sql: string, params?: readonly SqlValue[]) {
      return (await prepare(sql, params).first<Row>()) ?? undefined;
    },
    async batch(statements) {
      await db.batch(statements.map((s) => prepare(s.sql, s.params)));
    },
    // The binding belongs to the runtime; there is no connection to release.
    async close() {},
  };
}
