/**
 * `imednet/storage/sqlite/sql-js`: SQLite compiled to WebAssembly (sql.js, an optional peer
 * dependency loaded at first use), for browsers and any runtime without a native driver. The
 * database lives in memory; pass `data` to start from saved bytes, or pass your own `database` and
 * call its `export()` to save.
 */
import { importOptional } from '../optional.js';
import type { StorageAdapter } from '../types.js';
import { sqliteStorage } from './adapter.js';
import type { SqlValue } from './executor.js';
import { type SyncDatabaseLike, syncExecutor } from './sync-driver.js';

/** A sql.js prepared statement (only what is used here). */
export interface SqlJsStatement {
  bind(values?: SqlValue[]): boolean;
  step(): boolean;
  getAsObject(): Record<string, unknown>;
  reset(): void;
  run(values?: SqlValue[]): void;
  free(): boolean;
}

/** A sql.js `Database` (only what is used here). */
export interface SqlJsDatabase {
  prepare(sql: string): SqlJsStatement;
  exec(sql: string): unknown;
  close(): void;
}

/** The initialised sql.js module, as `await initSqlJs()` returns it. */
export interface SqlJsStatic {
  Database: new (data?: Uint8Array | null) => SqlJsDatabase;
}

/** Options of {@link sqlJsStorage}. */
export interface SqlJsStorageOptions {
  /** An initialised sql.js module; when absent, `sql.js` is imported and initialised at first use. */
  SQL?: SqlJsStatic;
  /** Passed to `initSqlJs`: where to fetch `sql-wasm.wasm` from (browsers usually need this). */
  locateFile?: (file: string, prefix: string) => string;
  /** Passed to `initSqlJs`: the wasm bytes themselves, instead of fetching them. */
  wasmBinary?: ArrayBuffer;
  /** Bytes of a database to open (from a previous `export()`); a new empty database otherwise. */
  data?: Uint8Array;
  /** An open sql.js `Database`; `close()` leaves it open. */
  database?: SqlJsDatabase;
  /** Table-name prefix, see `SqliteStorageOptions.tablePrefix`. */
  tablePrefix?: string;
}

/**
 * A store in an in-memory sql.js database.
 *
 * @example
 * const storage = sqlJsStorage({ locateFile: (file) => `/assets/${file}` });
 */
export function sqlJsStorage(options: SqlJsStorageOptions = {}): StorageAdapter {
  return sqliteStorage(
    async () => {
      if (options.database)
        return syncExecutor(sqlJsDriver(options.database), { name: 'sql.js', owned: false });
      const SQL = options.SQL ?? (await initialise(options));
      return syncExecutor(sqlJsDriver(new SQL.Database(options.data ?? null)), {
        name: 'sql.js',
        owned: true,
      });
    },
    {
      name: 'sqlite:sql-js',
      tablePrefix: options.tablePrefix,
      capabilities: { persistent: false, shared: false, locks: true },
    },
  );
}

async function initialise(options: SqlJsStorageOptions): Promise<SqlJsStatic> {
  const module = await importOptional(
    () => import('sql.js'),
    'sqlJsStorage needs the optional package sql.js: run `npm install sql.js` (or pass an initialised module as { SQL })',
  );
  const init = ((module as { default?: unknown }).default ?? module) as (
    config?: object,
  ) => Promise<SqlJsStatic>;
  const config: { locateFile?: SqlJsStorageOptions['locateFile']; wasmBinary?: ArrayBuffer } = {};
  if (options.locateFile) config.locateFile = options.locateFile;
  if (options.wasmBinary) config.wasmBinary = options.wasmBinary;
  return init(config);
}

/** sql.js statements bind, step and reset explicitly; this gives them the run/all/get shape. */
function sqlJsDriver(db: SqlJsDatabase): SyncDatabaseLike {
  return {
    prepare(sql) {
      const statement = db.prepare(sql);
      const rows = (params: SqlValue[], limit: number): Record<string, unknown>[] => {
        statement.bind(params);
        const out: Record<string, unknown>[] = [];
        try {
          while (out.length < limit && statement.step()) out.push(statement.getAsObject());
        } finally {
          statement.reset();
        }
        return out;
      };
      return {
        run: (...params) => statement.run(params),
        all: (...params) => rows(params, Number.POSITIVE_INFINITY),
        get: (...params) => rows(params, 1)[0],
        free: () => void statement.free(),
      };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}
