/**
 * Arrow in one place: the record mapper's row batches become Arrow record batches (and IPC stream
 * bytes, the only form that crosses into DuckDB-WASM), and query results come back from IPC bytes
 * as Arrow tables or plain rows. Column types follow the table's columns, never the values: a
 * batch of nulls still has its column's type, and a form without records still gets its table.
 */
import type { DataType, Field, Schema, Table } from 'apache-arrow';
import type { CellValue, Column, ColumnType, RowBatch, TableSpec } from '../workflows/tables.js';
import { StudyDatabaseError } from './errors.js';
import { type Arrow, loadArrow } from './library.js';

const DAY_MS = 86_400_000;

/**
 * Who the Arrow is for: `arrow` (any Arrow reader: `datetime` is Timestamp(ms, UTC)) or `duckdb`
 * (the IPC DuckDB-WASM creates and fills tables from: `datetime` is Timestamp(µs) without a zone,
 * which DuckDB reads as a plain `TIMESTAMP`; the values are UTC all the same). DuckDB-WASM does
 * `date_trunc`, `extract` and the like on a `TIMESTAMP WITH TIME ZONE` only with its ICU
 * extension, which it downloads at first use (offline: waits for forever); on a `TIMESTAMP`
 * (not `TIMESTAMP_MS`, what a millisecond Arrow column becomes) they are built in.
 */
export type ArrowTarget = 'arrow' | 'duckdb';

/**
 * The Arrow type of each column type: `integer` is Int64 (the mapper answers any safe integer,
 * which Int32 would refuse partway through a study), `date` a day count (DuckDB `DATE`),
 * `datetime` a UTC timestamp (see {@link ArrowTarget}), and `time` stays the mapper's text
 * (`HH:mm` or `HH:mm:ss`: a TIME column would add seconds never entered).
 */
function arrowType(arrow: Arrow, type: ColumnType, target: ArrowTarget): DataType {
  switch (type) {
    case 'integer':
      return new arrow.Int64();
    case 'number':
      return new arrow.Float64();
    case 'boolean':
      return new arrow.Bool();
    case 'date':
      return new arrow.DateDay();
    case 'datetime':
      return target === 'duckdb' ? new arrow.TimestampMicrosecond() : new arrow.TimestampMillisecond('UTC');
    default:
      return new arrow.Utf8();
  }
}

/** What the mapper knows of a column, kept on its Arrow field for consumers that read metadata. */
function fieldMetadata(column: Column): Map<string, string> {
  const metadata = new Map<string, string>([
    ['imednet.type', column.type],
    ['imednet.kind', column.kind],
  ]);
  if (column.type === 'datetime') metadata.set('imednet.timezone', 'UTC');
  if (column.variable) {
    metadata.set('imednet.variable', column.variable.name);
    if (column.variable.type !== undefined) metadata.set('imednet.variableType', column.variable.type);
    if (column.variable.label !== undefined) metadata.set('imednet.label', column.variable.label);
  }
  return metadata;
}

/** The Arrow schema of a table for `target`: a nullable field per column, in order. */
export function schemaOf(arrow: Arrow, table: TableSpec, target: ArrowTarget = 'arrow'): Schema {
  const fields: Field[] = table.columns.map(
    (column) =>
      new arrow.Field(column.name, arrowType(arrow, column.type, target), true, fieldMetadata(column)),
  );
  return new arrow.Schema(fields, new Map([['imednet.table', table.name]]));
}

/** A validity bitmap being filled: bit i set when row i has a value. */
class Validity {
  readonly bits: Uint8Array;
  nulls = 0;
  constructor(length: number) {
    this.bits = new Uint8Array(Math.ceil(length / 8));
  }
  set(index: number): void {
    this.bits[index >> 3]! |= 1 << (index & 7);
  }
}

const textEncoder = /* @__PURE__ */ new TextEncoder();

const TWO_32 = 2 ** 32;

/**
 * Writes a safe integer as the 64-bit little-endian two's complement Arrow stores, into the 32-bit
 * words of an Int64 buffer: no BigInt made per value. (Typed arrays use the platform's byte order;
 * every platform a JavaScript engine runs on here is little-endian, as Arrow's IPC is.)
 */
function setInt64(words: Int32Array, index: number, value: number): void {
  words[2 * index] = value >>> 0;
  words[2 * index + 1] = Math.floor(value / TWO_32);
}

/** One column's Arrow data from the rows' values; a value of another type fails, naming where. */
function columnData(arrow: Arrow, table: TableSpec, column: Column, type: DataType, rows: readonly Row[]) {
  const length = rows.length;
  const validity = new Validity(length);
  const wrong = (index: number, value: unknown): never => {
    const recordId = rows[index]?.recordId;
    const where = typeof recordId === 'number' ? `, record ${recordId}` : `, row ${index}`;
    // The value stays out of the message: it may be patient data.
    throw new StudyDatabaseError(
      `table ${table.name}, column ${column.name}${where}: not a ${column.type} value (a ${value instanceof Date ? 'Date' : typeof value})`,
    );
  };
  const each = (accept: (value: NonNullable<CellValue>, index: number) => boolean) => {
    for (let i = 0; i < length; i++) {
      const value = rows[i]![column.name];
      if (value === null || value === undefined) {
        validity.nulls++;
        continue;
      }
      if (!accept(value, i)) wrong(i, value);
      validity.set(i);
    }
  };
  const base = { type, length, offset: 0 };
  const nullsOf = () => ({ nullCount: validity.nulls, nullBitmap: validity.bits });
  switch (column.type) {
    case 'integer': {
      const values = new BigInt64Array(length);
      const words = new Int32Array(values.buffer);
      each((v, i) => {
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
        setInt64(words, i, v);
        return true;
      });
      return arrow.makeData({
        ...base,
        type: type as InstanceType<Arrow['Int64']>,
        data: values,
        ...nullsOf(),
      });
    }
    case 'number': {
      const values = new Float64Array(length);
      each((v, i) => {
        if (typeof v !== 'number') return false;
        values[i] = v;
        return true;
      });
      return arrow.makeData({
        ...base,
        type: type as InstanceType<Arrow['Float64']>,
        data: values,
        ...nullsOf(),
      });
    }
    case 'boolean': {
      const values = new Uint8Array(Math.ceil(length / 8));
      each((v, i) => {
        if (typeof v !== 'boolean') return false;
        if (v) values[i >> 3]! |= 1 << (i & 7);
        return true;
      });
      return arrow.makeData({
        ...base,
        type: type as InstanceType<Arrow['Bool']>,
        data: values,
        ...nullsOf(),
      });
    }
    case 'date': {
      const values = new Int32Array(length);
      each((v, i) => {
        if (!(v instanceof Date) || Number.isNaN(v.getTime())) return false;
        values[i] = Math.floor(v.getTime() / DAY_MS);
        return true;
      });
      return arrow.makeData({
        ...base,
        type: type as InstanceType<Arrow['DateDay']>,
        data: values,
        ...nullsOf(),
      });
    }
    case 'datetime': {
      const values = new BigInt64Array(length);
      const words = new Int32Array(values.buffer);
      const perMs = (type as InstanceType<Arrow['Timestamp']>).unit === arrow.TimeUnit.MICROSECOND ? 1000 : 1;
      each((v, i) => {
        if (!(v instanceof Date)) return false;
        const ms = v.getTime();
        // Microseconds since 1970 stay exact doubles until the year 287,396.
        if (Number.isNaN(ms)) return false;
        setInt64(words, i, ms * perMs);
        return true;
      });
      return arrow.makeData({
        ...base,
        type: type as InstanceType<Arrow['Timestamp']>,
        data: values,
        ...nullsOf(),
      });
    }
    default: {
      const offsets = new Int32Array(length + 1);
      let bytes = new Uint8Array(1024);
      let end = 0;
      each((v, i) => {
        if (typeof v !== 'string') return false;
        // UTF-8 takes at most three bytes per UTF-16 unit.
        if (end + v.length * 3 > bytes.length) {
          const grown = new Uint8Array(Math.max(bytes.length * 2, end + v.length * 3));
          grown.set(bytes.subarray(0, end));
          bytes = grown;
        }
        // Most values are short ASCII: copied byte by byte, without a call into the encoder and a
        // view per value; the first other character hands the whole value to the encoder.
        let at = end;
        let ascii = v.length <= 64;
        for (let c = 0; ascii && c < v.length; c++) {
          const code = v.charCodeAt(c);
          if (code < 0x80) bytes[at++] = code;
          else ascii = false;
        }
        end = ascii ? at : end + textEncoder.encodeInto(v, bytes.subarray(end)).written;
        offsets[i + 1] = end;
        return true;
      });
      // A null's offsets span nothing: carry the running end across it.
      for (let i = 1; i <= length; i++) if (offsets[i]! < offsets[i - 1]!) offsets[i] = offsets[i - 1]!;
      return arrow.makeData({
        ...base,
        type: type as InstanceType<Arrow['Utf8']>,
        valueOffsets: offsets,
        data: bytes.subarray(0, end),
        ...nullsOf(),
      });
    }
  }
}

type Row = RowBatch['rows'][number];

/** One batch of a table as an Arrow table of one record batch (`schema` from {@link schemaOf}). */
export function batchTable(arrow: Arrow, table: TableSpec, schema: Schema, rows: readonly Row[]): Table {
  const children = table.columns.map((column, i) =>
    columnData(arrow, table, column, schema.fields[i]!.type as DataType, rows),
  );
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  });
  return new arrow.Table([new arrow.RecordBatch(schema, data)]);
}

/** Arrow IPC stream bytes of a table: what DuckDB-WASM's `insertArrowFromIPCStream` takes. */
export function ipcStream(arrow: Arrow, table: Table): Uint8Array {
  return arrow.tableToIPC(table, 'stream');
}

/**
 * A batch of the record mapper's rows as an Arrow table, typed from its table's columns (see
 * {@link https://arrow.apache.org/docs/js/ | Apache Arrow JS}): integer → Int64, number → Float64,
 * boolean → Bool, date → Date32 (days), datetime → Timestamp(ms, UTC), time/choice/text → Utf8.
 * @example
 * for await (const batch of client.workflows.rows('MYSTUDY', { forms: ['VS'] })) {
 *   const table = await rowBatchToArrow(batch);
 *   console.log(table.numRows, table.schema.fields.map((f) => `${f.name}: ${f.type}`));
 * }
 */
export async function rowBatchToArrow(batch: RowBatch): Promise<Table> {
  const arrow = await loadArrow();
  return batchTable(arrow, batch.table, schemaOf(arrow, batch.table), batch.rows);
}

/**
 * A batch of the record mapper's rows as Arrow IPC stream bytes (schema, one record batch, end of
 * stream), typed as {@link rowBatchToArrow} types them: what any Arrow reader takes.
 * @example
 * for await (const batch of client.workflows.rows('MYSTUDY')) {
 *   const bytes = await rowBatchToArrowIPC(batch);
 *   console.log(batch.table.name, bytes.byteLength);
 * }
 */
export async function rowBatchToArrowIPC(batch: RowBatch): Promise<Uint8Array> {
  const arrow = await loadArrow();
  return ipcStream(arrow, await rowBatchToArrow(batch));
}

/** A query result's IPC bytes (stream or file format) as an Arrow table of this entry's Arrow. */
export function decodeIpc(arrow: Arrow, bytes: Uint8Array): Table {
  return arrow.tableFromIPC(bytes);
}

type Convert = (value: unknown) => unknown;

const identity: Convert = (value) => value;

/** A 64-bit integer as a number when it is exactly one, else the bigint itself. */
const int64: Convert = (value) =>
  typeof value === 'bigint' &&
  value <= BigInt(Number.MAX_SAFE_INTEGER) &&
  value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : value;

/** Arrow's decimal words (little-endian 32-bit, two's complement) as a bigint. */
function decimalBigInt(words: ArrayLike<number>): bigint {
  let result = 0n;
  for (let i = words.length - 1; i >= 0; i--) result = (result << 32n) | BigInt(words[i]! >>> 0);
  const bits = BigInt(words.length * 32);
  return words.length > 0 && words[words.length - 1]! >>> 31 === 1 ? result - (1n << bits) : result;
}

/** A decimal as a number: exact for integers (a bigint past 2^53), the nearest double for fractions. */
function decimal(scale: number): Convert {
  return (value) => {
    if (typeof value === 'number' || typeof value === 'bigint') return value;
    const unscaled = decimalBigInt(value as ArrayLike<number>);
    if (scale === 0) return int64(unscaled);
    const negative = unscaled < 0n;
    const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
    return Number(`${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`);
  };
}

const toDate: Convert = (value) => (value instanceof Date ? value : new Date(Number(value)));

/** A time of day as text `HH:mm:ss` (and a fraction when there is one), from its unit's count. */
function timeOfDay(unit: number): Convert {
  // TimeUnit: SECOND 0, MILLISECOND 1, MICROSECOND 2, NANOSECOND 3.
  const digits = [0, 3, 6, 9][unit] ?? 0;
  const perSecond = 10n ** BigInt(digits);
  return (value) => {
    const count = BigInt(value as number | bigint);
    const seconds = Number(count / perSecond);
    const fraction =
      digits > 0 ? (count % perSecond).toString().padStart(digits, '0').replace(/0+$/, '') : '';
    const two = (n: number) => String(n).padStart(2, '0');
    const text = `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
    return fraction ? `${text}.${fraction}` : text;
  };
}

/** How a value of an Arrow type becomes a plain JS value. */
function converter(arrow: Arrow, type: DataType): Convert {
  const { DataType: T } = arrow;
  if (T.isNull(type)) return () => null;
  if (T.isInt(type)) return type.bitWidth === 64 ? int64 : identity;
  if (T.isDecimal(type)) return decimal(type.scale);
  if (T.isDate(type) || T.isTimestamp(type)) return toDate;
  if (T.isTime(type)) return timeOfDay(type.unit);
  if (T.isDictionary(type)) return converter(arrow, type.dictionary);
  if (T.isList(type) || T.isFixedSizeList(type)) {
    const child = converter(arrow, type.children[0]!.type);
    return (value) => Array.from(value as Iterable<unknown>, (item) => (item == null ? null : child(item)));
  }
  if (T.isStruct(type)) {
    const children = type.children.map((field) => [field.name, converter(arrow, field.type)] as const);
    return (value) => {
      const row = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [name, convert] of children) {
        const item = row[name];
        out[name] = item == null ? null : convert(item);
      }
      return out;
    };
  }
  if (T.isMap(type)) {
    const entry = type.children[0]!.type as DataType;
    const [keyField, valueField] = (entry.children ?? []) as Field[];
    const key = keyField ? converter(arrow, keyField.type) : identity;
    const item = valueField ? converter(arrow, valueField.type) : identity;
    return (value) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value as Iterable<[unknown, unknown]>) {
        out[String(k == null ? k : key(k))] = v == null ? null : item(v);
      }
      return out;
    };
  }
  return identity;
}

/**
 * An Arrow table as plain rows: an object per row, a property per column in order. Integers are
 * numbers where exactly representable (a bigint otherwise, as for a 64-bit value past 2^53),
 * decimals are numbers (integral ones as integers), dates and timestamps `Date`s, times of day
 * text, lists arrays, structs and maps plain objects; a column named twice keeps its last value.
 */
export function plainRows(arrow: Arrow, table: Table): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = Array.from({ length: table.numRows }, () => ({}));
  table.schema.fields.forEach((field, index) => {
    const convert = converter(arrow, field.type);
    const vector = table.getChildAt(index);
    if (!vector) return;
    let i = 0;
    for (const value of vector) {
      rows[i]![field.name] = value == null ? null : convert(value);
      i++;
    }
  });
  return rows;
}
