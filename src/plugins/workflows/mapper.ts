/**
 * The record mapper: records in, typed rows out, in batches of at most `batchSize` rows per table.
 * It holds one partly filled batch per table and nothing else, so a study of any size streams
 * through it. Nothing is dropped, blanked or renamed without an option saying so: a value that does
 * not fit its variable's type, a record on a form the study structure does not have and a value
 * under a name that is no variable of its form stop the mapping with a {@link RowMappingError}
 * unless `onInvalidValue` / `unknown` ask otherwise, and even then each case is reported to
 * `onIssue`.
 */
import { parseApiDate } from '../../core/dates.js';
import { AbortError, ConfigurationError, ImednetError } from '../../core/errors.js';
import type { Record as ApiRecord } from '../../endpoints/records.js';
import type { Variable } from '../../endpoints/variables.js';
import type { StudyStructure } from './structure.js';
import {
  type CellValue,
  type Column,
  type ColumnType,
  planTables,
  type Row,
  type RowBatch,
  type TableOptions,
  type TableSpec,
} from './tables.js';

/** Something the mapper met that the options let through; see {@link MapOptions.onIssue}. */
export interface MapIssue {
  /**
   * `invalid-value`: a value that does not fit its column's type (set to null);
   * `unknown-form`: a record on a form the structure does not have (left out);
   * `unknown-variable`: a value under a name that is no variable of its form (left out);
   * `unknown-code`: a choice code with no label in `choiceLabels` (its label column is null).
   */
  kind: 'invalid-value' | 'unknown-form' | 'unknown-variable' | 'unknown-code';
  recordId: number;
  formKey: string;
  /** The variable (or fixed column) concerned. */
  variable?: string;
  /** The type the value was expected to have. */
  expected?: ColumnType;
}

/**
 * Options of the record mapper.
 * @example { header: 'label', batchSize: 5000, onInvalidValue: 'null', onIssue: (issue) => console.warn(issue.kind, issue.recordId, issue.variable) }
 */
export interface MapOptions extends TableOptions {
  /** Most rows per batch (default 1000). */
  batchSize?: number;
  /**
   * A value that does not fit its variable's type (`'abc'` for a NUMBER): `throw` (default) stops
   * with a {@link RowMappingError}; `null` writes null and reports it to `onIssue`.
   */
  onInvalidValue?: 'throw' | 'null';
  /**
   * A record on a form the study structure does not have, or a value under a name that is no
   * variable of its form: `throw` (default) stops with a {@link RowMappingError}; `ignore` leaves
   * it out and reports it to `onIssue`. (Forms and variables left out by `forms`/`variables` are
   * not unknown: you asked for that.)
   */
  unknown?: 'throw' | 'ignore';
  /** Told of every value or record the options let through (see {@link MapIssue}). */
  onIssue?: (issue: MapIssue) => void;
  /** Stops the mapping between records. */
  signal?: AbortSignal;
}

/**
 * The mapper met a value, a form or a variable it may not let through. It names the record, the
 * form and the variable, never the value (it may be patient data).
 */
export class RowMappingError extends ImednetError {
  static override readonly kind: string = 'RowMappingError';
  /** What was wrong (see {@link MapIssue.kind}). */
  readonly issue: MapIssue;
  constructor(issue: MapIssue, message: string) {
    super(message);
    this.issue = issue;
  }
}

const INVALID = Symbol('invalid');
type Converted = CellValue | typeof INVALID;

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two decimal digits at `at`, or -1. */
function digits2(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The API's own shapes, `YYYY-MM-DD` and `YYYY-MM-DD HH:mm:ss`, read without a regular expression
 * (a million records carry several each); undefined for any other shape or an impossible date,
 * and then the general parser decides.
 */
function apiDate(text: string): Date | undefined {
  const length = text.length;
  if (length !== 10 && length !== 19) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const century = digits2(text, 0);
  const yy = digits2(text, 2);
  const month = digits2(text, 5);
  const day = digits2(text, 8);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1) return undefined;
  const year = century * 100 + yy;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return undefined;
  if (length === 10) return new Date(Date.UTC(year, month - 1, day));
  const separator = text.charCodeAt(10);
  if ((separator !== 32 && separator !== 84) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return undefined;
  }
  const hour = digits2(text, 11);
  const minute = digits2(text, 14);
  const second = digits2(text, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

function toNumber(raw: unknown): Converted {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : INVALID;
  if (typeof raw !== 'string') return INVALID;
  const text = raw.trim();
  if (text === '') return null;
  return NUMERIC.test(text) ? Number(text) : INVALID;
}

/** Turns one value as the API sent it into its column's type; INVALID when it does not fit. */
export function convertValue(type: ColumnType, raw: unknown): Converted {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'text':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      return JSON.stringify(raw);
    case 'number':
      return toNumber(raw);
    case 'integer': {
      const n = toNumber(raw);
      return n === null || (typeof n === 'number' && Number.isSafeInteger(n)) ? n : INVALID;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 1 || raw === 0) return raw === 1;
      if (typeof raw === 'string') {
        const text = raw.trim().toLowerCase();
        if (text === '') return null;
        if (text === '1' || text === 'true') return true;
        if (text === '0' || text === 'false') return false;
      }
      return INVALID;
    case 'date':
    case 'datetime': {
      if (typeof raw !== 'string') return INVALID;
      const fast = type === 'datetime' || raw.length === 10 ? apiDate(raw) : undefined;
      if (fast !== undefined) return fast;
      const text = raw.trim();
      if (text === '') return null;
      if (type === 'date' && !DATE_ONLY.test(text)) return INVALID;
      return parseApiDate(text) ?? INVALID;
    }
    case 'time': {
      if (typeof raw !== 'string') return INVALID;
      const text = raw.trim();
      if (text === '') return null;
      return TIME.test(text) ? text : INVALID;
    }
    case 'choice':
      if (typeof raw === 'string') return raw.trim() === '' ? null : raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      return INVALID;
  }
}

/**
 * Records for the mapper: one by one or in chunks (arrays), from any (async) iterable — a listing,
 * an extraction, a listing's `.pages()` mapped to their items, or the sync cache's
 * `iterateRecords`.
 */
export type RecordSource =
  | AsyncIterable<ApiRecord | readonly ApiRecord[]>
  | Iterable<ApiRecord | readonly ApiRecord[]>;

/** How one variable's value lands in a wide row. */
interface Cell {
  key: string;
  column: string;
  type: ColumnType;
  labels?: { readonly [code: string]: string };
  labelColumn?: string;
}

/** A table being filled. */
interface Filling {
  spec: TableSpec;
  cells: Cell[];
  /** Variable names of the form, selected or not. */
  known: Set<string>;
  rows: Row[];
}

/**
 * Maps records to row batches. `source` is any (async) iterable of records or of chunks of
 * records: a listing, an extraction, or the sync cache's `iterateRecords`. Batches of different tables interleave as the records
 * come; within a table rows keep the source's order.
 * @example
 * const structure = await fetchStructure(client, 'MYSTUDY');
 * for await (const batch of mapRecords(client.records.list('MYSTUDY'), structure, { forms: ['AE'] })) {
 *   console.log(batch.table.name, batch.rows.length);
 * }
 */
export async function* mapRecords(
  source: RecordSource,
  structure: StudyStructure,
  options: MapOptions = {},
): AsyncGenerator<RowBatch, void, undefined> {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigurationError(`batchSize must be a positive integer (got ${String(options.batchSize)})`);
  }
  for (const [name, value] of [
    ['onInvalidValue', options.onInvalidValue],
    ['unknown', options.unknown],
  ] as const) {
    const allowed = name === 'unknown' ? ['throw', 'ignore'] : ['throw', 'null'];
    if (value !== undefined && !allowed.includes(value)) {
      throw new ConfigurationError(
        `${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')} (got ${String(value)})`,
      );
    }
  }
  const tables = planTables(structure, options);
  const long = options.layout === 'long';
  const selected = new Set(options.forms ?? structure.forms.map((f) => f.form.formKey));
  const fillings = new Map<string, Filling>();
  for (const spec of tables) {
    if (long) break;
    const byVariable = new Map<string, Column[]>();
    for (const column of spec.columns) {
      if (!column.variable) continue;
      const list = byVariable.get(column.variable.name) ?? [];
      list.push(column);
      byVariable.set(column.variable.name, list);
    }
    const cells: Cell[] = [];
    for (const [key, [value, label]] of byVariable) {
      const labels = options.choiceLabels?.[key];
      cells.push({
        key,
        column: value!.name,
        type: value!.type,
        ...(labels && label ? { labels, labelColumn: label.name } : {}),
      });
    }
    const form = structure.form(spec.formKey!)!;
    fillings.set(spec.formKey!, {
      spec,
      cells,
      known: new Set(form.variables.map((v) => v.variableName)),
      rows: [],
    });
  }
  const longTable: Filling | undefined = long
    ? { spec: tables[0]!, cells: [], known: new Set(), rows: [] }
    : undefined;

  const longVariables = new Map<string, Map<string, Variable>>();
  const wanted = options.variables ? new Set(options.variables) : undefined;
  const invalid = options.onInvalidValue ?? 'throw';
  const unknown = options.unknown ?? 'throw';
  const report = (issue: MapIssue, message: string, lenient: boolean) => {
    if (!lenient) throw new RowMappingError(issue, message);
    options.onIssue?.(issue);
  };
  const typed = (type: ColumnType, raw: unknown, record: ApiRecord, variable: string): CellValue => {
    const value = convertValue(type, raw);
    if (value !== INVALID) return value;
    report(
      { kind: 'invalid-value', recordId: record.recordId, formKey: record.formKey, variable, expected: type },
      `Record ${record.recordId} on form ${record.formKey}: the value of ${variable} is not a valid ${type}; pass onInvalidValue: 'null' to write null for such values and be told of each`,
      invalid === 'null',
    );
    return null;
  };
  const fixed = (record: ApiRecord): Row => ({
    recordId: record.recordId,
    subjectKey: record.subjectKey ?? null,
    siteId: record.siteId ?? null,
    siteName: record.siteId == null ? null : (structure.site(record.siteId)?.siteName ?? null),
    intervalId: record.intervalId ?? null,
    intervalName:
      record.intervalId == null
        ? null
        : (structure.interval(record.intervalId)?.interval.intervalName ?? null),
    visitId: record.visitId ?? null,
    formKey: record.formKey,
    recordStatus: record.recordStatus ?? null,
    dateCreated: typed('datetime', record.dateCreated, record, 'dateCreated'),
    dateModified: typed('datetime', record.dateModified, record, 'dateModified'),
    deleted: record.deleted ?? null,
  });

  const signal = options.signal;
  const one: ApiRecord[] = [];
  for await (const item of source) {
    // A source may hand over records one by one, or in chunks (a page, the sync cache's batches).
    let records: readonly ApiRecord[];
    if (Array.isArray(item)) records = item;
    else {
      one[0] = item as ApiRecord;
      records = one;
    }
    for (const record of records) {
      if (signal?.aborted) throw new AbortError('The mapping was aborted', { cause: signal.reason });
      const form = structure.form(record.formKey);
      if (!form) {
        report(
          { kind: 'unknown-form', recordId: record.recordId, formKey: record.formKey },
          `Record ${record.recordId} is on form ${record.formKey}, which the study structure does not have (fetch it again with refresh: true if the form is new); pass unknown: 'ignore' to leave such records out and be told of each`,
          unknown === 'ignore',
        );
        continue;
      }
      if (!selected.has(record.formKey)) continue;
      const data = (record.recordData ?? {}) as { [name: string]: unknown };
      if (longTable) {
        let variables = longVariables.get(record.formKey);
        if (!variables) {
          variables = new Map(form.variables.map((v) => [v.variableName, v]));
          longVariables.set(record.formKey, variables);
        }
        yield* fillLong(longTable, record, data, variables, wanted, fixed, report, unknown, batchSize);
        continue;
      }
      const filling = fillings.get(record.formKey)!;
      const row = fixed(record);
      for (const cell of filling.cells) {
        const raw = data[cell.key];
        const value = typed(cell.type, raw, record, cell.key);
        row[cell.column] = value;
        if (cell.labelColumn !== undefined) {
          const label = value === null ? null : (cell.labels![String(value)] ?? null);
          if (value !== null && label === null) {
            options.onIssue?.({
              kind: 'unknown-code',
              recordId: record.recordId,
              formKey: record.formKey,
              variable: cell.key,
            });
          }
          row[cell.labelColumn] = label;
        }
      }
      for (const key in data) {
        if (!filling.known.has(key)) {
          report(
            { kind: 'unknown-variable', recordId: record.recordId, formKey: record.formKey, variable: key },
            `Record ${record.recordId} on form ${record.formKey} has a value under ${JSON.stringify(key)}, which is no variable of the form; pass unknown: 'ignore' to leave such values out and be told of each`,
            unknown === 'ignore',
          );
        }
      }
      filling.rows.push(row);
      if (filling.rows.length >= batchSize) {
        const rows = filling.rows;
        filling.rows = [];
        yield { table: filling.spec, rows };
      }
    }
  }
  for (const filling of longTable ? [longTable] : fillings.values()) {
    if (filling.rows.length > 0) yield { table: filling.spec, rows: filling.rows };
    filling.rows = [];
  }
}

function* fillLong(
  table: Filling,
  record: ApiRecord,
  data: { [name: string]: unknown },
  variables: Map<string, Variable>,
  wanted: Set<string> | undefined,
  fixed: (record: ApiRecord) => Row,
  report: (issue: MapIssue, message: string, lenient: boolean) => void,
  unknown: 'throw' | 'ignore',
  batchSize: number,
): Generator<RowBatch, void, undefined> {
  const base = fixed(record);
  for (const key in data) {
    const variable = variables.get(key);
    if (!variable) {
      report(
        { kind: 'unknown-variable', recordId: record.recordId, formKey: record.formKey, variable: key },
        `Record ${record.recordId} on form ${record.formKey} has a value under ${JSON.stringify(key)}, which is no variable of the form; pass unknown: 'ignore' to leave such values out and be told of each`,
        unknown === 'ignore',
      );
      continue;
    }
    if (wanted && !wanted.has(key)) continue;
    table.rows.push({
      ...base,
      variableName: key,
      variableLabel: variable.label ?? null,
      variableType: variable.variableType ?? null,
      value: convertValue('text', data[key]) as string | null,
    });
    if (table.rows.length >= batchSize) {
      const rows = table.rows;
      table.rows = [];
      yield { table: table.spec, rows };
    }
  }
}
