/**
 * Tables and query results out of the database, through the export sinks: the columns of a loaded
 * table are its load's (types, variables, labels), so a table exported from DuckDB is the same
 * file as the study exported from the API; a query's columns are typed from its result.
 *
 * DuckDB's own `COPY … TO` is not the path: in DuckDB-WASM it writes into the worker's file
 * system (in Node the real disk, which needs external access; in a browser a buffer copied out
 * whole), its Parquet writer is an extension downloaded at first use (offline: never), and it
 * knows nothing of resuming. The sinks stream to any destination, resumably, with the same rules
 * as every other export.
 */
import type { DataType, RecordBatch, Schema } from 'apache-arrow';
import { ConfigurationError } from '../../core/errors.js';
import type { ExportRunOptions } from '../sinks/export.js';
import type { ExportSink } from '../sinks/types.js';
import type { CellValue, Column, ColumnType, Row, RowBatch, TableSpec } from '../workflows/tables.js';
import { plainRows } from './arrow.js';
import type { Arrow } from './library.js';

/**
 * Options of {@link StudyDatabase.export}: what to export, where, and the export run's own
 * options (retries, checkpoints, `restart`, progress, signal). A destination that already holds this
 * export, finished, is left as it is (`alreadyComplete`): pass `restart: true` to write it anew.
 * @example
 * ({
 *   sink: csvSink({ directory: nodeDirectory('out') }),
 *   tables: ['AE'],
 *   queries: { ae_per_site: 'SELECT siteName, count(*) AS n FROM "AE" GROUP BY siteName ORDER BY siteName' },
 * })
 */
export interface DatabaseExportOptions extends ExportRunOptions {
  /** Where the tables go: any export sink (`csvSink`, `parquetSink`, `xlsxSink`...). */
  sink: ExportSink;
  /**
   * Loaded tables to export, by name (default: every table loaded in the schema, unless
   * `queries` are given, in which case only those).
   */
  tables?: readonly string[];
  /**
   * More tables, each the result of a query: output name → SQL. Columns are typed from the
   * result: integers, decimals and floats, booleans, dates, timestamps; anything else is text.
   * Give the query an `ORDER BY` if the export is to be resumed: batches are matched by position.
   */
  queries?: Readonly<Record<string, string>>;
  /** The schema holding the tables (default `main`). */
  schema?: string;
  /** The study recorded in the export's manifest (default: the study loaded into the schema). */
  studyKey?: string;
  /** Rows per batch handed to the sink (default 1,000). */
  batchSize?: number;
}

/** One table of an export: its columns, and the SQL that reads its rows in order. */
export interface ExportSource {
  spec: TableSpec;
  sql: string;
}

/** The column type a query result's Arrow type becomes (what the sinks know). */
export function columnTypeOf(arrow: Arrow, type: DataType): ColumnType {
  const { DataType: T } = arrow;
  if (T.isInt(type)) return 'integer';
  if (T.isFloat(type)) return 'number';
  if (T.isDecimal(type)) return type.scale === 0 ? 'integer' : 'number';
  if (T.isBool(type)) return 'boolean';
  if (T.isDate(type)) return 'date';
  if (T.isTimestamp(type)) return 'datetime';
  if (T.isDictionary(type)) return columnTypeOf(arrow, type.dictionary);
  return 'text';
}

/** A table spec for a query's result: a column per result column, typed from its Arrow type. */
export function specOfResult(arrow: Arrow, name: string, schema: Schema): TableSpec {
  // DuckDB names a result's columns apart already (`x`, `X_1`), as the sinks need.
  const columns: Column[] = schema.fields.map((field) => ({
    name: field.name,
    type: columnTypeOf(arrow, field.type),
    kind: 'variable',
  }));
  if (columns.length === 0) throw new ConfigurationError(`queries.${name}: the query answers no columns`);
  return { name, columns };
}

/** A value of a result as the sinks take it for its column's type; what fits no type becomes text. */
function cell(type: ColumnType, value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer':
    case 'number':
      // A 64-bit integer past 2^53 stays exact as text rather than rounded.
      return typeof value === 'number' ? value : String(value);
    case 'boolean':
      return Boolean(value);
    case 'date':
    case 'datetime':
      return value instanceof Date ? value : new Date(Number(value));
    default:
      if (typeof value === 'string') return value;
      if (value instanceof Date) return value.toISOString();
      return typeof value === 'object'
        ? JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v))
        : String(value);
  }
}

/**
 * A stream of Arrow record batches as row batches of `batchSize` rows for `spec`: values as the
 * sinks take them (dates as Date, integers as numbers), batches of a fixed size so that a rerun
 * cuts them at the same rows and the export resumes.
 */
export async function* rowBatchesOf(
  arrow: Arrow,
  spec: TableSpec,
  batches: AsyncIterable<RecordBatch>,
  batchSize: number,
  signal: AbortSignal,
): AsyncGenerator<RowBatch, void, undefined> {
  let rows: Row[] = [];
  for await (const batch of batches) {
    signal.throwIfAborted();
    for (const plain of plainRows(arrow, new arrow.Table(batch))) {
      const row: Row = {};
      for (const column of spec.columns) row[column.name] = cell(column.type, plain[column.name]);
      rows.push(row);
      if (rows.length === batchSize) {
        yield { table: spec, rows };
        rows = [];
      }
    }
  }
  if (rows.length > 0) yield { table: spec, rows };
}
