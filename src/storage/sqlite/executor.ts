/**
 * The executor contract: the little that {@link sqliteStorage} needs from a SQLite driver, so that
 * each flavour (better-sqlite3, node:sqlite, bun:sqlite, sql.js, Cloudflare D1) is a thin file and a
 * driver we do not ship can be plugged in by writing one object.
 */

/** A value bound to a `?` placeholder. The adapter binds only text, numbers and NULL. */
export type SqlValue = string | number | null;

/** One statement and its positional parameters. */
export interface SqlStatement {
  /** SQL text with `?` placeholders. */
  sql: string;
  /** Values for the placeholders, in order. */
  params: readonly SqlValue[];
}

/** Synchronous access inside {@link SqlExecutor.transaction}; nothing else can run in between. */
export interface SqlTransaction {
  /** Executes a statement that returns no rows. */
  run(sql: string, params?: readonly SqlValue[]): void;
  /** Every row of a query. */
  all<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Row[];
  /** The first row of a query, or undefined. */
  get<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Row | undefined;
}

/**
 * A SQLite connection as the adapter sees it. An executor offers `transaction` (drivers with
 * interactive, synchronous transactions) or `batch` (stores without them, such as D1), so that a
 * multi-statement write is atomic either way.
 */
export interface SqlExecutor {
  /** Driver name for messages, e.g. `better-sqlite3`. */
  readonly name: string;
  /** Executes a statement that returns no rows. */
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** Every row of a query. */
  all<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The first row of a query, or undefined. */
  get<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Runs the statements as one atomic unit: all apply, or none. */
  batch?(statements: readonly SqlStatement[]): Promise<void>;
  /** Runs `fn` inside BEGIN … COMMIT, rolling back if it throws. */
  transaction?<T>(fn: (tx: SqlTransaction) => T): Promise<T>;
  /** Releases the connection (a no-op for handles the caller owns). */
  close(): Promise<void>;
}
