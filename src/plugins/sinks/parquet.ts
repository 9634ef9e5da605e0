/**
 * The Parquet export sink, on `hyparquet-writer` (an optional peer dependency, loaded at first use):
 * one file per table, or a Hive-partitioned dataset of parts. Rows are buffered per table up to a
 * row group, then encoded and appended to the file; past `maxBufferedRows` rows held across all
 * tables, the fullest table is written early as a smaller row group, so memory stays bounded
 * however many forms a study has, and never holds a whole table. A Parquet file is readable only once its footer is written: each file is
 * written under `<name>.partial` and takes its final name when finished, and its batches become
 * durable only then.
 */
import type { ParquetWriter as HyParquetWriter } from 'hyparquet-writer';
import { ImednetError } from '../../core/errors.js';
import type { CellValue, Column, RowBatch, TableSpec } from '../workflows/tables.js';
import { checkFileName, fileManifest, type OutputDirectory, type OutputFile } from './directory.js';
import { ExportConfigurationError } from './errors.js';
import { type ExportSink, type ManifestStore, type SinkOpenContext, TABLE_METADATA_KEY } from './types.js';

/**
 * Options of {@link parquetSink}.
 * @example { directory: nodeDirectory('./export'), layout: 'hive', rowsPerFile: 500_000 }
 */
export interface ParquetSinkOptions {
  /** Where the files go: `nodeDirectory(path)` or `memoryDirectory()`. */
  directory: OutputDirectory;
  /**
   * `file-per-table` (default): `<table>.parquet`, finished (and durable) when the export closes.
   * `hive`: `study=<studyKey>/form=<table>/part-<n>.parquet`, a part finished every `rowsPerFile`
   * rows, so an interrupted export resumes after the last finished part.
   */
  layout?: 'file-per-table' | 'hive';
  /** Rows per row group (default 10,000): the rows held in memory per table before they are written. */
  rowGroupSize?: number;
  /**
   * Most rows held in memory across all tables (default 10,000): past it, the table holding the
   * most is written as a (smaller) row group, so memory stays bounded however many forms a study
   * has.
   */
  maxBufferedRows?: number;
  /**
   * Hive layout: a part is finished once it holds at least this many rows (default 100,000); it
   * ends at a batch boundary, so it may hold up to a batch more.
   */
  rowsPerFile?: number;
  /** Where the export's manifest is kept (default: `.imednet-export.json` in `directory`). */
  manifest?: ManifestStore;
}

type HyParquet = typeof import('hyparquet-writer');
type SchemaElement = HyParquetWriter['schema'][number];
type ByteWriter = InstanceType<HyParquet['ByteWriter']>;

let library: Promise<HyParquet> | undefined;

/** Loads `hyparquet-writer` once, at first use: a missing package names itself. */
function loadLibrary(): Promise<HyParquet> {
  library ??= import('hyparquet-writer').catch((cause: unknown) => {
    library = undefined;
    throw new ExportConfigurationError(
      'The Parquet sink needs the hyparquet-writer package: npm install hyparquet-writer',
      { cause },
    );
  });
  return library;
}

/**
 * A value of a Hive path segment: `[A-Za-z0-9._-]` kept, every other UTF-8 byte as `%XX`
 * (so `.` and `..` alone are encoded too, never read as directories).
 */
export function hiveValue(text: string): string {
  if (text === '.' || text === '..') return text.replaceAll('.', '%2E');
  let out = '';
  for (const char of text) {
    if (/^[A-Za-z0-9._-]$/.test(char)) out += char;
    else
      for (const byte of new TextEncoder().encode(char))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The Parquet column for a row column; every one is nullable. Integers are INT64: the mapper
 * answers any safe integer (up to 2^53), which INT32 would refuse halfway through an export.
 */
function schemaElement(column: Column): SchemaElement {
  const base = { name: column.name, repetition_type: 'OPTIONAL' as const };
  switch (column.type) {
    case 'integer':
      return { ...base, type: 'INT64' };
    case 'number':
      return { ...base, type: 'DOUBLE' };
    case 'boolean':
      return { ...base, type: 'BOOLEAN' };
    case 'date':
      return { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'datetime':
      return {
        ...base,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
    default:
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
  }
}

/** Checks a value against its column's type and turns it into what hyparquet-writer takes. */
function cellConverter(column: Column): (value: CellValue) => unknown {
  const valid =
    (
      check: (value: NonNullable<CellValue>) => boolean,
      convert = (value: NonNullable<CellValue>): unknown => value,
    ) =>
    (value: CellValue) => {
      if (value === null || value === undefined) return null;
      // The value itself stays out of the message: it may be patient data.
      if (!check(value)) throw new TypeError(`not a ${column.type} (a ${typeof value})`);
      return convert(value);
    };
  switch (column.type) {
    case 'integer':
      return valid(
        (v) => typeof v === 'number' && Number.isSafeInteger(v),
        (v) => BigInt(v as number),
      );
    case 'number':
      return valid((v) => typeof v === 'number');
    case 'boolean':
      return valid((v) => typeof v === 'boolean');
    case 'date':
    case 'datetime':
      return valid((v) => v instanceof Date && !Number.isNaN(v.getTime()));
    default:
      return valid((v) => typeof v === 'string');
  }
}

const brokenError = (open: OpenFile) =>
  new ImednetError(`parquetSink: ${open.name} could not be encoded; export again to rewrite it`);

/** One Parquet file being written: its writer, its bytes not yet appended, its batches. */
interface OpenFile {
  /** Final name (the file is written under `<name>.partial`). */
  name: string;
  file: OutputFile;
  bytes: ByteWriter;
  writer: HyParquetWriter;
  /** Rows in the file, encoded or buffered. */
  rows: number;
  /** Batches in it, in order. */
  batchIds: string[];
  /** Hive part number. */
  part: number;
  /** Steps of finishing done so far, so a retried call goes on where a failed one stopped. */
  footer: boolean;
  closed: boolean;
  /** Encoding failed halfway: the file cannot be finished. */
  broken: boolean;
}

/** A table's state: its columns, the rows buffered for the next row group, its open file. */
interface TableState {
  spec: TableSpec;
  schema: SchemaElement[];
  convert: Array<(value: CellValue) => unknown>;
  /** Buffered values, column by column. */
  buffer: unknown[][];
  buffered: number;
  open: OpenFile | undefined;
  /** The next Hive part number. */
  nextPart: number;
  /** File per table: finished, by this run or by the export being resumed (its batches are in the manifest). */
  done: boolean;
  /** The last batch taken in, so a retried writeBatch does not buffer it twice. */
  lastBatchId: string | undefined;
}

const positiveInteger = (name: string, value: number | undefined, fallback: number) => {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ExportConfigurationError(
      `parquetSink: ${name} must be a positive integer (got ${String(value)})`,
    );
  }
  return n;
};

/**
 * An export sink writing Parquet files (types: integer INT64, number DOUBLE, boolean BOOLEAN, date
 * DATE, datetime TIMESTAMP in UTC milliseconds, time/choice/text UTF-8 strings; every column
 * nullable). On opening it removes the `.partial` files an interrupted run left, and any part (Hive)
 * its manifest does not list, so the output ends with every record exactly once. `abort` removes
 * the `.partial` files it was writing: without its footer a Parquet file cannot be read or resumed.
 * @example
 * const sink = parquetSink({ directory: nodeDirectory('./export'), layout: 'hive' });
 * await exportStudy(client, 'MYSTUDY', sink);
 */
export function parquetSink(options: ParquetSinkOptions): ExportSink {
  if (!options || typeof options.directory?.open !== 'function') {
    throw new ExportConfigurationError(
      'parquetSink: give the output directory (nodeDirectory(path) or memoryDirectory())',
    );
  }
  const { directory } = options;
  const layout = options.layout ?? 'file-per-table';
  if (layout !== 'file-per-table' && layout !== 'hive') {
    throw new ExportConfigurationError(
      `parquetSink: layout must be 'file-per-table' or 'hive' (got ${String(layout)})`,
    );
  }
  const rowGroupSize = positiveInteger('rowGroupSize', options.rowGroupSize, 10_000);
  const rowsPerFile = positiveInteger('rowsPerFile', options.rowsPerFile, 100_000);
  const maxBufferedRows = positiveInteger('maxBufferedRows', options.maxBufferedRows, 10_000);
  const manifest = options.manifest ?? fileManifest(directory);

  let lib: HyParquet | undefined;
  let studyKey = '';
  const tables = new Map<string, TableState>();
  /** Batches in files finished since the last report. */
  let durable: string[] = [];
  /** Each batch's place in the order written, so batches are reported in that order. */
  const order = new Map<string, number>();
  let written = 0;
  const report = () => {
    const ids = durable.sort((a, b) => order.get(a)! - order.get(b)!);
    for (const id of ids) order.delete(id);
    durable = [];
    return ids;
  };
  let bytesWritten = 0;

  const fileName = (table: string, part: number) =>
    layout === 'hive'
      ? `study=${hiveValue(studyKey)}/form=${hiveValue(table)}/part-${part}.parquet`
      : `${table}.parquet`;

  const tableOf = (name: string): TableState => {
    const state = tables.get(name);
    if (!state)
      throw new ExportConfigurationError(
        `parquetSink: table ${name} was not among the tables given to open()`,
      );
    return state;
  };

  /** Appends what the writer encoded; the bytes stay until appended, so a failed append can be tried again. */
  async function drain(open: OpenFile): Promise<void> {
    const { bytes } = open;
    if (bytes.index === 0) return;
    await open.file.write(new Uint8Array(bytes.buffer, 0, bytes.index));
    bytesWritten += bytes.index;
    bytes.index = 0;
  }

  async function openFile(state: TableState): Promise<OpenFile> {
    if (state.open) return state.open;
    const name = fileName(state.spec.name, state.nextPart);
    const file = await directory.open(`${name}.partial`, 0);
    const bytes = new lib!.ByteWriter();
    const writer = new lib!.ParquetWriter({
      writer: bytes,
      schema: state.schema,
      createdBy: 'imednet',
      kvMetadata: [{ key: TABLE_METADATA_KEY, value: JSON.stringify(state.spec) }],
    });
    state.open = {
      name,
      file,
      bytes,
      writer,
      rows: 0,
      batchIds: [],
      part: state.nextPart,
      footer: false,
      closed: false,
      broken: false,
    };
    return state.open;
  }

  /**
   * Encodes the first `count` buffered rows as one row group. The rows leave the buffer only once
   * encoded; a failure halfway leaves the writer in an unknown state, so the file is marked broken
   * and every later call on it fails (nothing is dropped silently; a rerun writes it again).
   */
  function encodeRowGroup(state: TableState, open: OpenFile, count: number): void {
    if (open.broken) throw brokenError(open);
    const columnData = state.spec.columns.map((column, i) => ({
      name: column.name,
      data: state.buffer[i]!.slice(0, count) as never[],
    }));
    try {
      open.writer.write({ columnData, rowGroupSize: count });
    } catch (error) {
      open.broken = true;
      throw error;
    }
    for (const values of state.buffer) values.splice(0, count);
    state.buffered -= count;
  }

  /** While more than `maxBufferedRows` rows are held, writes the largest table's as a row group. */
  async function spill(): Promise<void> {
    for (;;) {
      let total = 0;
      let largest: TableState | undefined;
      for (const state of tables.values()) {
        total += state.buffered;
        if (state.buffered > (largest?.buffered ?? 0)) largest = state;
      }
      if (total <= maxBufferedRows || !largest?.open) return;
      encodeRowGroup(largest, largest.open, largest.buffered);
      await drain(largest.open);
    }
  }

  /** Writes full row groups, and finishes a Hive part that reached its size. */
  async function pump(state: TableState): Promise<void> {
    const open = await openFile(state);
    while (state.buffered >= rowGroupSize) {
      encodeRowGroup(state, open, rowGroupSize);
      await drain(open);
    }
    await drain(open);
    if (layout === 'hive' && open.rows >= rowsPerFile) await finish(state);
  }

  /** Writes the rest of a table's rows and the footer, and gives the file its final name. */
  async function finish(state: TableState): Promise<void> {
    const open = await openFile(state);
    if (!open.footer) {
      if (state.buffered > 0) encodeRowGroup(state, open, state.buffered);
      if (open.broken) throw brokenError(open);
      try {
        await open.writer.finish();
      } catch (error) {
        open.broken = true;
        throw error;
      }
      open.footer = true;
    }
    await drain(open);
    if (!open.closed) {
      await open.file.close();
      open.closed = true;
    }
    await directory.rename(`${open.name}.partial`, open.name);
    state.open = undefined;
    state.nextPart = open.part + 1;
    state.done = layout === 'file-per-table';
    durable.push(...open.batchIds);
  }

  /** Removes a table's unfinished files and, in Hive layout, every part from `from` on. */
  async function clearFrom(table: string, from: number): Promise<void> {
    if (layout === 'file-per-table') {
      await directory.remove(`${fileName(table, 0)}.partial`);
      return;
    }
    // Parts are numbered without gaps, so the first number with neither file ends the search.
    for (let part = from; ; part++) {
      const name = fileName(table, part);
      const [whole, partial] = await Promise.all([
        directory.exists(name),
        directory.exists(`${name}.partial`),
      ]);
      if (!whole && !partial) return;
      await directory.remove(name);
      await directory.remove(`${name}.partial`);
    }
  }

  return {
    kind: 'parquet',
    manifest,
    get bytesWritten() {
      return bytesWritten;
    },

    async open(context: SinkOpenContext) {
      lib = await loadLibrary();
      studyKey = context.studyKey;
      tables.clear();
      durable = [];
      order.clear();
      const resumed = new Map<string, number>();
      for (const entry of context.resume?.batches ?? []) {
        const part = (entry.state as { part?: unknown } | undefined)?.part;
        // A manifest of the other layout would have this run delete or overwrite recorded output.
        if ((layout === 'hive') !== (typeof part === 'number' && Number.isSafeInteger(part) && part >= 0)) {
          throw new ExportConfigurationError(
            `parquetSink: the export being resumed was not written in the ${layout} layout (batch ${entry.batchId}); resume with the layout it had, or pass restart: true`,
          );
        }
        const next = typeof part === 'number' ? part + 1 : 0;
        resumed.set(entry.table, Math.max(resumed.get(entry.table) ?? 0, next));
      }
      for (const spec of context.tables) {
        if (tables.has(spec.name))
          throw new ExportConfigurationError(`parquetSink: table ${spec.name} is given twice`);
        const done = layout === 'file-per-table' && resumed.has(spec.name);
        const nextPart = layout === 'hive' ? (resumed.get(spec.name) ?? 0) : 0;
        tables.set(spec.name, {
          spec,
          schema: [{ name: 'root', num_children: spec.columns.length }, ...spec.columns.map(schemaElement)],
          convert: spec.columns.map(cellConverter),
          buffer: spec.columns.map(() => []),
          buffered: 0,
          open: undefined,
          nextPart,
          done,
          lastBatchId: undefined,
        });
        // Checks the name now, before any row, so a table or study key unfit for a path fails the opening.
        checkFileName(`${fileName(spec.name, 0)}.partial`);
        if (!done) await clearFrom(spec.name, nextPart);
      }
    },

    async writeBatch(batch: RowBatch, batchId: string) {
      const state = tableOf(batch.table.name);
      if (state.done) {
        throw new ImednetError(
          `parquetSink: batch ${batchId} belongs to ${state.spec.name}.parquet, which is already finished`,
        );
      }
      const open = await openFile(state);
      if (state.lastBatchId !== batchId) {
        // Converted whole before buffering: a batch with a bad value leaves nothing behind.
        const columns = state.spec.columns;
        const converted = columns.map(() => new Array<unknown>(batch.rows.length));
        batch.rows.forEach((row, r) => {
          for (let c = 0; c < columns.length; c++) {
            try {
              converted[c]![r] = state.convert[c]!(row[columns[c]!.name] ?? null);
            } catch (error) {
              throw new ImednetError(
                `parquetSink: batch ${batchId}, row ${r}${typeof row.recordId === 'number' ? ` (record ${row.recordId})` : ''}, column ${columns[c]!.name}: ${(error as Error).message}`,
              );
            }
          }
        });
        converted.forEach((values, c) => {
          const buffer = state.buffer[c]!;
          for (const value of values) buffer.push(value);
        });
        state.buffered += batch.rows.length;
        open.rows += batch.rows.length;
        open.batchIds.push(batchId);
        order.set(batchId, written++);
        state.lastBatchId = batchId;
      }
      const part = open.part;
      await pump(state);
      await spill();
      return layout === 'hive' ? { part } : undefined;
    },

    async flush() {
      if (layout === 'file-per-table') return [];
      return report();
    },

    async close() {
      for (const state of tables.values()) {
        if (state.done) continue;
        // A table without rows still gets a file (file per table) or one part (Hive): its columns.
        if (state.open || layout === 'file-per-table' || state.nextPart === 0) await finish(state);
      }
      return report();
    },

    async abort() {
      for (const state of tables.values()) {
        const open = state.open;
        if (!open) continue;
        state.open = undefined;
        if (!open.closed) await open.file.close().catch(() => undefined);
        await directory.remove(`${open.name}.partial`).catch(() => undefined);
      }
    },
  };
}
