/**
 * Parquet files into the study database, read in JavaScript with `hyparquet` (DuckDB-WASM reads
 * Parquet only through an extension it downloads at first use, which offline never comes). A file
 * the Parquet sink wrote names its table and columns in its metadata (`imednet.table`), so the
 * table is the one a load from the API makes; any other file's columns are typed from its
 * Parquet schema. Read a row group at a time: a file is never held as rows whole.
 */
import { ConfigurationError } from '../../core/errors.js';
import { TABLE_METADATA_KEY } from '../sinks/types.js';
import {
  type Column,
  type ColumnType,
  RECORD_COLUMNS,
  type Row,
  type RowBatch,
  type TableSpec,
} from '../workflows/tables.js';
import { StudyDatabaseError } from './errors.js';
import { type HyParquet, loadHyparquet } from './library.js';

/** Bytes hyparquet reads on demand: a file's length and its ranges. */
interface AsyncBuffer {
  byteLength: number;
  slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer>;
}

/**
 * A Parquet file to load: its name (a path, as the Parquet sink names its files, e.g. `AE.parquet`
 * or `study=S/form=AE/part-00000.parquet`) and its bytes. A browser `File` (from an `<input>`, the
 * origin private file system or a drop) is one as it is: read a range at a time.
 * @example { name: 'AE.parquet', data: new Uint8Array(await (await fetch('/exports/AE.parquet')).arrayBuffer()) }
 */
export interface ParquetFile {
  name: string;
  /** The file's bytes, or a `Blob`/`File` (read a range at a time). */
  data: ArrayBuffer | Uint8Array | Blob;
  /** The table it goes into (default: its metadata's, else `form=` of its path, else its base name). */
  table?: string;
}

function asyncBuffer(data: ParquetFile['data']): AsyncBuffer {
  if (data instanceof ArrayBuffer) return data;
  if (data instanceof Uint8Array) {
    return data.byteOffset === 0 &&
      data.byteLength === data.buffer.byteLength &&
      data.buffer instanceof ArrayBuffer
      ? data.buffer
      : // Exactly the view's bytes: a Node Buffer is often a view into a larger shared pool, and
        // its slice() is another view of that pool, not a copy.
        (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
  }
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    return { byteLength: data.size, slice: (start, end) => data.slice(start, end).arrayBuffer() };
  }
  throw new ConfigurationError("loadParquet: a file's data must be an ArrayBuffer, a Uint8Array or a Blob");
}

/** The table a file's path names: `form=X` of a Hive path, else the base name without `.parquet`. */
export function tableOfPath(name: string): string {
  const parts = name.split(/[\\/]/).filter(Boolean);
  const form = parts.find((part) => part.startsWith('form='));
  if (form) return decodeURIComponent(form.slice('form='.length));
  const base = parts.at(-1) ?? name;
  return base.replace(/\.parquet$/i, '');
}

type Metadata = Awaited<ReturnType<HyParquet['parquetMetadataAsync']>>;
type Element = Metadata['schema'][number];

/** A column type from a Parquet column's physical and logical types. */
function typeOfElement(element: Element): ColumnType {
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'DATE' || converted === 'DATE') return 'date';
  if (logical === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS')
    return 'datetime';
  if (element.type === 'INT96') return 'datetime';
  if (logical === 'DECIMAL' || converted === 'DECIMAL')
    return (element.scale ?? 0) === 0 ? 'integer' : 'number';
  switch (element.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
      return 'integer';
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    default:
      return 'text';
  }
}

/** The table spec a file names in its metadata, when the Parquet sink wrote it. */
function specOfMetadata(metadata: Metadata): TableSpec | undefined {
  const text = metadata.key_value_metadata?.find((kv) => kv.key === TABLE_METADATA_KEY)?.value;
  if (!text) return undefined;
  try {
    const spec = JSON.parse(text) as TableSpec;
    if (typeof spec?.name === 'string' && Array.isArray(spec.columns)) return spec;
  } catch {
    // Not ours after all: typed from the schema instead.
  }
  return undefined;
}

/** A table spec from a file's Parquet schema: its flat columns typed; the record columns as the mapper's. */
function specOfSchema(name: string, file: string, metadata: Metadata): TableSpec {
  const [root, ...elements] = metadata.schema;
  const columns: Column[] = [];
  for (const element of elements) {
    if (element.num_children) {
      throw new StudyDatabaseError(
        `loadParquet: ${file} has a nested column (${element.name}); only flat columns load`,
      );
    }
    const type = typeOfElement(element);
    const record = RECORD_COLUMNS.find((c) => c.name === element.name && c.type === type);
    columns.push(record ?? { name: element.name, type, kind: 'variable' });
  }
  if (columns.length === 0 || !root) throw new StudyDatabaseError(`loadParquet: ${file} has no columns`);
  return { name, columns };
}

/** A value as hyparquet reads it, as the row value of its column's type. */
function cell(type: ColumnType, value: unknown): Row[string] {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer':
    case 'number':
      if (typeof value === 'bigint') {
        const n = Number(value);
        if (!Number.isSafeInteger(n))
          throw new StudyDatabaseError('loadParquet: an integer past 2^53 cannot load exactly');
        return n;
      }
      return Number(value);
    case 'date':
    case 'datetime':
      return value instanceof Date ? value : new Date(Number(value));
    case 'boolean':
      return Boolean(value);
    default:
      return typeof value === 'string'
        ? value
        : value instanceof Uint8Array
          ? new TextDecoder().decode(value)
          : String(value);
  }
}

/** Same table, same columns: parts of a table must agree (names and types, in order). */
function sameColumns(a: TableSpec, b: TableSpec): boolean {
  return (
    a.columns.length === b.columns.length &&
    a.columns.every((c, i) => c.name === b.columns[i]?.name && c.type === b.columns[i]?.type)
  );
}

/**
 * Row batches of Parquet files, a row group at a time: each file's table spec from its metadata
 * (the Parquet sink's) or its schema, files of one table checked to agree; a table's first batch
 * is empty, so that a table without rows is made all the same.
 */
export async function* parquetBatches(
  files: Iterable<ParquetFile> | AsyncIterable<ParquetFile>,
  signal: AbortSignal,
): AsyncGenerator<RowBatch, void, undefined> {
  const hyparquet = await loadHyparquet();
  const specs = new Map<string, TableSpec>();
  for await (const file of files) {
    signal.throwIfAborted();
    if (typeof file?.name !== 'string' || file.name === '') {
      throw new ConfigurationError('loadParquet: every file needs a name');
    }
    const buffer = asyncBuffer(file.data);
    const metadata = await hyparquet.parquetMetadataAsync(buffer).catch((cause: unknown) => {
      throw new StudyDatabaseError(`loadParquet: ${file.name} is not a Parquet file hyparquet can read`, {
        cause,
      });
    });
    const own = specOfMetadata(metadata);
    const name = file.table ?? own?.name ?? tableOfPath(file.name);
    const found = own ? { ...own, name } : specOfSchema(name, file.name, metadata);
    const known = specs.get(name);
    if (known && !sameColumns(known, found)) {
      throw new StudyDatabaseError(
        `loadParquet: ${file.name} has other columns than the earlier files of table ${name}`,
      );
    }
    const spec = known ?? found;
    if (!known) {
      specs.set(name, spec);
      // An empty batch makes the table even when no file of it holds a row.
      yield { table: spec, rows: [] };
    }
    let start = 0;
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      signal.throwIfAborted();
      const objects = (await hyparquet.parquetReadObjects({
        file: buffer,
        metadata,
        rowStart: start,
        rowEnd: end,
        columns: spec.columns.map((c) => c.name),
      })) as Record<string, unknown>[];
      const rows = objects.map((object) => {
        const row: Row = {};
        for (const column of spec.columns) row[column.name] = cell(column.type, object[column.name]);
        return row;
      });
      start = end;
      if (rows.length > 0) yield { table: spec, rows };
    }
  }
}
