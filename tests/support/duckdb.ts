/**
 * Reading DuckDB back in tests: an in-memory DuckDB (for read_csv / read_json / read_parquet over
 * exported files) or a database file opened read-only, answering plain JS rows (BIGINT as number,
 * DATE and TIMESTAMPTZ as Date). Independent of the sink: it shares no code with it.
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** A DuckDB opened for reading; `close()` releases it (and a file's lock). */
export interface DuckdbReader {
  /** Rows of a query, values as JS: bigints that fit become numbers. */
  all(
    sql: string,
    params?: readonly (string | number | boolean | null)[],
  ): Promise<Record<string, unknown>[]>;
  close(): void;
}

const toJs = (value: unknown): unknown =>
  typeof value === 'bigint' &&
  value <= BigInt(Number.MAX_SAFE_INTEGER) &&
  value >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;

/** Opens `path` read-only, or an in-memory database when none is given. */
export async function openDuckdb(path?: string): Promise<DuckdbReader> {
  const instance = await DuckDBInstance.create(path ?? ':memory:', path ? { access_mode: 'READ_ONLY' } : {});
  const connection = await instance.connect();
  // Timestamps are instants; shown in UTC so that a failing assertion reads like the API's values.
  await connection.run("set TimeZone = 'UTC'");
  return {
    async all(sql, params = []) {
      const reader = await connection.runAndReadAll(sql, [...params]);
      return reader
        .getRowObjectsJS()
        .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toJs(v)])));
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A quoted SQL identifier. */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A quoted SQL string literal (for file paths in read_* calls, which take no parameters). */
export const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;
