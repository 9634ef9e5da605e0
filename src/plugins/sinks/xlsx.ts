/**
 * `imednet/plugins/sinks/xlsx`: Excel workbooks (.xlsx, SpreadsheetML) written with a streaming zip
 * on `fflate` (an optional peer dependency, loaded at first use); runs wherever the sinks run.
 *
 * Layout `workbook` (default): one `<studyKey>.xlsx` with a `Contents` sheet first (each sheet: its
 * table's full name, the form's name, its rows and which of the table's rows it holds, and a note
 * when the sheet name differs or the table continues over several sheets), then a sheet per table.
 * Layout `file-per-table`: `<table>.xlsx`, one sheet each.
 *
 * Sheet names: Excel allows 31 characters and none of `[]:*?/\`. Those characters (and control
 * characters, and a `'` at either end) become `_`; a longer name is cut to 31; `History`, reserved
 * by Excel, becomes `History_`; a name already taken (ignoring case) gets `~2`, `~3`. The Contents
 * sheet always gives the table's full name beside its sheet.
 *
 * Rows: a sheet holds 1,048,576 rows with its header; a table with more continues on `<name> (2)`,
 * `<name> (3)`, the header repeated, and the Contents sheet says which rows each part holds.
 *
 * Cells: header row the mapper's column names (bold, frozen); integer and number numeric cells
 * (Excel shows 15 significant digits; the file holds the full value); boolean TRUE/FALSE cells;
 * date and datetime real Excel dates (1900 date system, formats `yyyy-mm-dd` and
 * `yyyy-mm-dd hh:mm:ss`; date-times are UTC, as the API gives them, and keep their milliseconds);
 * time, choice codes and text inline text cells (time stays the API's `HH:mm` text). An empty value
 * is an empty cell. Text cells are inline strings, which Excel never evaluates, so no formula guard
 * is needed and none is applied: `=1+1` stays the text `=1+1`. Characters XML cannot hold (control
 * characters) are written as `_xHHHH_` and a literal `_xHHHH_` in a text is escaped, so readers give
 * the text back unchanged. Nothing is cut or changed: a text longer than Excel's 32,767-character
 * cell limit, or a date outside 1900-03-01 to 9999-12-31, stops the export with an
 * `XlsxValueError` naming the table, record id and column (never the value): export that form to
 * CSV, NDJSON or Parquet.
 *
 * Memory stays bounded: each sheet's rows are spilled, compressed, to a scratch file beside the
 * output (`<file>.xlsx.<n>.sheet.partial`) and the workbook is zipped from them at the end, as
 * `<file>.xlsx.partial`, renamed when whole. The output directory must be able to read files back
 * (`read(name)`: `nodeDirectory` and `memoryDirectory` can). A workbook is durable only when
 * finished, so an interrupted export writes it again from the start on its rerun.
 */

import type { ExportSink } from './types.js';
import { createXlsxSink, EXCEL_LIMITS, type XlsxSinkOptions } from './xlsx/sink.js';

export type { XlsxSinkOptions } from './xlsx/sink.js';
export { XlsxValueError } from './xlsx/xml.js';

/**
 * An export sink writing Excel workbooks (see the module's notes for layouts, names and types).
 * @example
 * const sink = xlsxSink({ directory: nodeDirectory('./export') });
 * await exportStudy(client, 'MYSTUDY', sink); // ./export/MYSTUDY.xlsx
 */
export function xlsxSink(options: XlsxSinkOptions): ExportSink {
  return createXlsxSink(options, EXCEL_LIMITS);
}
