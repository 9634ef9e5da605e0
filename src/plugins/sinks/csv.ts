/**
 * `imednet/plugins/sinks/csv`: one RFC 4180 CSV file per table (`<table>.csv`; the mapper's long
 * layout gives one long file, `records.csv`). A header row of column names, CRLF line ends, a
 * field quoted when it holds a comma, a quote, CR or LF. Values: empty for null, numbers as
 * JavaScript writes them, `true`/`false`, dates `YYYY-MM-DD`, date-times ISO 8601 in UTC.
 *
 * The formula-injection guard is on by default: a text cell that starts with `=`, `+`, `-`, `@`,
 * a tab or a carriage return, and is not a number written as text (`-5`, `+3.2`), gets a leading
 * `'` so that a spreadsheet shows it as text instead of running it. A number is never altered.
 * `formulaGuard: false` writes every cell as it is.
 */
import type { CellValue, Column, RowBatch, TableSpec } from '../workflows/tables.js';
import { type TextFileSinkOptions, textFileSink } from './text-files.js';
import type { ExportSink } from './types.js';

/**
 * Options of the CSV sink.
 * @example { directory: nodeDirectory('./export'), formulaGuard: true }
 */
export interface CsvSinkOptions extends TextFileSinkOptions {
  /** Guard text cells that a spreadsheet would run as a formula (default true; see above). */
  formulaGuard?: boolean;
}

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A field as CSV text. */
export function csvField(value: CellValue, column: Column, guard: boolean): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date)
    return column.type === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  if (typeof value !== 'string') return String(value);
  const text = guard && FORMULA_START.test(value) && !NUMBER_TEXT.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const headerOf = (table: TableSpec) =>
  `${table.columns.map((c) => csvField(c.name, { name: c.name, type: 'text', kind: 'record' }, false)).join(',')}\r\n`;

/**
 * The CSV sink.
 * @example const sink = csvSink({ directory: nodeDirectory('./export') });
 */
export function csvSink(options: CsvSinkOptions): ExportSink {
  const guard = options?.formulaGuard ?? true;
  return textFileSink(
    {
      kind: 'csv',
      extension: 'csv',
      header: headerOf,
      encode(batch: RowBatch) {
        const columns = batch.table.columns;
        let out = '';
        for (const row of batch.rows) {
          for (let i = 0; i < columns.length; i++) {
            const column = columns[i]!;
            if (i > 0) out += ',';
            out += csvField(row[column.name] ?? null, column, guard);
          }
          out += '\r\n';
        }
        return out;
      },
      footer: () => '',
    },
    options,
  );
}
