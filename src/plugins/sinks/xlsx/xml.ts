/**
 * SpreadsheetML text for the Excel sink: cell and row XML, the sheet's opening and closing, the
 * workbook's fixed parts (content types, relationships, styles) and sheet names. Pure functions,
 * no library: the sink spills what these return and zips it.
 */
import { ImednetError } from '../../../core/errors.js';
import type { CellValue, Column, Row } from '../../workflows/tables.js';

/** Excel's most characters in one cell. */
export const MAX_CELL_CHARS = 32_767;
/** Excel's most rows in one sheet, the header row included. */
export const MAX_SHEET_ROWS = 1_048_576;
/** Excel's most columns in one sheet. */
export const MAX_SHEET_COLUMNS = 16_384;

const MS_PER_DAY = 86_400_000;
/** Days from Excel's day 0 (1899-12-30 in its 1900 date system) to 1970-01-01. */
const EPOCH_SERIAL = 25_569;
/** 1900-03-01: before it, Excel's 1900 date system counts a day that never was (29 Feb 1900). */
const FIRST_DATE_MS = (61 - EPOCH_SERIAL) * MS_PER_DAY;
/** 10000-01-01: Excel's dates end on 9999-12-31. */
const END_DATE_MS = Date.UTC(10_000, 0, 1);

/** Style indexes in styles.xml's `cellXfs`. */
const STYLE_DATE = 1;
const STYLE_DATETIME = 2;
const STYLE_HEADER = 3;

/**
 * Text as XML character data that a reader gives back unchanged: `&`, `<`, `>` as entities; the
 * characters XML 1.0 cannot hold (controls but tab and line feed, lone surrogates, U+FFFE, U+FFFF)
 * and carriage return (which XML parsers turn into a line feed) as OOXML's `_xHHHH_`; and the `_`
 * of a literal `_xHHHH_` in the text as `_x005F_`, so a reader does not decode it.
 */
export function xmlText(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x26) out += '&amp;';
    else if (code === 0x3c) out += '&lt;';
    else if (code === 0x3e) out += '&gt;';
    else if (code === 0x5f && /^x[0-9A-Fa-f]{4}_/.test(text.slice(i + 1, i + 7))) out += '_x005F_';
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
      } else out += hexEscape(code);
    } else if (
      (code < 0x20 && code !== 0x09 && code !== 0x0a) ||
      (code >= 0xdc00 && code <= 0xdfff) ||
      code === 0xfffe ||
      code === 0xffff
    )
      out += hexEscape(code);
    else out += text[i];
  }
  return out;
}

const NEEDS_ESCAPE = /[&<>\u0000-\u0008\u000B-\u001F\uD800-\uDFFF\uFFFE\uFFFF]|_x[0-9A-Fa-f]{4}_/;
const hexEscape = (code: number) => `_x${code.toString(16).toUpperCase().padStart(4, '0')}_`;

/** A 0-based column index as Excel's letters: 0 → `A`, 26 → `AA`. */
export function columnLetters(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const rest = (n - 1) % 26;
    out = String.fromCharCode(65 + rest) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

/**
 * Texts that hold a character written as `_xHHHH_` (or a literal `_xHHHH_`). Excel decodes the
 * escape in inline strings too, but other readers (exceljs) only in the shared strings table, so
 * these few texts go there; every other text stays an inline string.
 */
const NEEDS_DECODE = /[\u0000-\u0008\u000B-\u001F\uD800-\uDFFF\uFFFE\uFFFF]|_x[0-9A-Fa-f]{4}_/;

/** Adds a text to the shared strings table, answering its index. */
export type ShareText = (text: string) => number;

/** A shared strings table entry. */
export const sharedString = (text: string) => `<si><t xml:space="preserve">${xmlText(text)}</t></si>`;

/** What opens `xl/sharedStrings.xml` holding `count` texts. */
export const sharedStringsStart = (count: number) =>
  `${XML_HEAD}<sst xmlns="${MAIN_NS}" count="${count}" uniqueCount="${count}">`;

/** What closes `xl/sharedStrings.xml`. */
export const SHARED_STRINGS_END = '</sst>';

/** A text cell: inline (never evaluated as a formula, whatever it starts with), or shared (above). */
function stringCell(ref: string, text: string, share: ShareText, style = ''): string {
  if (NEEDS_DECODE.test(text)) return `<c r="${ref}"${style} t="s"><v>${share(text)}</v></c>`;
  const space = /^\s|\s$/.test(text) ? ' xml:space="preserve"' : '';
  return `<c r="${ref}"${style} t="inlineStr"><is><t${space}>${xmlText(text)}</t></is></c>`;
}

/** Where a value that cannot be written was: for an error naming the cell, never its value. */
export interface CellPlace {
  table: string;
  row: Row;
  column: Column;
}

/** A value that Excel cannot hold as it is; the message names the table, record and column only. */
export class XlsxValueError extends ImednetError {
  static override readonly kind: string = 'XlsxValueError';
}

function refuse(place: CellPlace, why: string): never {
  const record = typeof place.row.recordId === 'number' ? `record ${place.row.recordId}` : 'a record';
  throw new XlsxValueError(`xlsxSink: table ${place.table}, ${record}, column ${place.column.name}: ${why}`);
}

/** A `Date` as an Excel serial day number (1900 date system), refused outside Excel's dates. */
function serial(date: Date, place: CellPlace): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) refuse(place, 'not a valid date');
  if (ms < FIRST_DATE_MS || ms >= END_DATE_MS) {
    refuse(place, 'a date outside 1900-03-01 to 9999-12-31, which Excel cannot hold as a date');
  }
  return String(ms / MS_PER_DAY + EPOCH_SERIAL);
}

/** One cell's XML (empty for null), checked against its column's type. */
export function cellXml(ref: string, value: CellValue, place: CellPlace, share: ShareText): string {
  if (value === null || value === undefined) return '';
  const type = place.column.type;
  switch (type) {
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) refuse(place, `not a finite ${type}`);
      if (type === 'integer' && !Number.isSafeInteger(value)) refuse(place, 'not a safe integer');
      return `<c r="${ref}"><v>${value}</v></c>`;
    case 'boolean':
      if (typeof value !== 'boolean') refuse(place, 'not a boolean');
      return `<c r="${ref}" t="b"><v>${value ? 1 : 0}</v></c>`;
    case 'date':
    case 'datetime':
      if (!(value instanceof Date)) refuse(place, `not a ${type}`);
      return `<c r="${ref}" s="${type === 'date' ? STYLE_DATE : STYLE_DATETIME}"><v>${serial(value, place)}</v></c>`;
    default:
      if (typeof value !== 'string') refuse(place, `not a ${type} (text)`);
      if (value.length > MAX_CELL_CHARS) {
        refuse(
          place,
          `a text of ${value.length} characters, longer than Excel's ${MAX_CELL_CHARS}-character cell limit (export this form to CSV, NDJSON or Parquet, which hold it whole)`,
        );
      }
      return stringCell(ref, value, share);
  }
}

/** A sheet's XML up to and including its header row (row 1, bold, frozen). */
export function sheetStart(columns: readonly Column[], letters: readonly string[], share: ShareText): string {
  let header = '<row r="1">';
  columns.forEach((column, i) => {
    header += stringCell(`${letters[i]}1`, column.name, share, ` s="${STYLE_HEADER}"`);
  });
  return `${SHEET_HEAD}${header}</row>`;
}

/** What opens a sheet's XML, before its rows: the first row frozen as a header. */
export const SHEET_HEAD =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0">' +
  '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>';

/** What closes a sheet's XML. */
export const SHEET_END = '</sheetData></worksheet>';

/** Rows of plain text cells (the contents sheet), from row 1. */
export function textRows(rows: ReadonlyArray<ReadonlyArray<string | number>>, share: ShareText): string {
  let out = '';
  rows.forEach((cells, r) => {
    out += `<row r="${r + 1}">`;
    cells.forEach((cell, c) => {
      const ref = `${columnLetters(c)}${r + 1}`;
      if (typeof cell === 'number') out += `<c r="${ref}"><v>${cell}</v></c>`;
      else if (cell !== '') out += stringCell(ref, cell, share, r === 0 ? ` s="${STYLE_HEADER}"` : '');
    });
    out += '</row>';
  });
  return out;
}

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PACKAGE_REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

/** Text for an XML attribute value. */
const attribute = (text: string) => xmlText(text).replaceAll('"', '&quot;');

/** `[Content_Types].xml` for a workbook of `sheets` sheets. */
export function contentTypes(sheets: number): string {
  let overrides = '';
  for (let i = 1; i <= sheets; i++) {
    overrides += `<Override PartName="/xl/worksheets/sheet${i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`;
  }
  return (
    `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' +
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' +
    `${overrides}</Types>`
  );
}

/** `_rels/.rels`: the package's one relationship, to the workbook. */
export const PACKAGE_RELS = `${XML_HEAD}<Relationships xmlns="${PACKAGE_REL_NS}"><Relationship Id="rId1" Type="${REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`;

/** `xl/workbook.xml`: the sheets by name, in order. */
export function workbookXml(names: readonly string[]): string {
  const sheets = names
    .map((name, i) => `<sheet name="${attribute(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
    .join('');
  return `${XML_HEAD}<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheets>${sheets}</sheets></workbook>`;
}

/** `xl/_rels/workbook.xml.rels`: each sheet's part, then the styles and the shared strings. */
export function workbookRels(sheets: number): string {
  let out = `${XML_HEAD}<Relationships xmlns="${PACKAGE_REL_NS}">`;
  for (let i = 1; i <= sheets; i++) {
    out += `<Relationship Id="rId${i}" Type="${REL_NS}/worksheet" Target="worksheets/sheet${i}.xml"/>`;
  }
  return (
    `${out}<Relationship Id="rId${sheets + 1}" Type="${REL_NS}/styles" Target="styles.xml"/>` +
    `<Relationship Id="rId${sheets + 2}" Type="${REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
  );
}

/** `xl/styles.xml`: default, date `yyyy-mm-dd`, date-time `yyyy-mm-dd hh:mm:ss`, bold header. */
export const STYLES =
  `${XML_HEAD}<styleSheet xmlns="${MAIN_NS}">` +
  '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>' +
  '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>' +
  '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
  '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
  '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' +
  '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>' +
  '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>';

/** Excel's longest sheet name. */
const MAX_SHEET_NAME = 31;

/**
 * Hands out sheet names Excel accepts, each unique ignoring case: `[]:*?/\` and control characters
 * become `_`, as does a `'` at either end; `History` (reserved by Excel) becomes `History_`; a name
 * is cut to 31 characters (with room for a suffix); a table's further sheets are `<name> (2)`,
 * `<name> (3)`; a name already taken gets `~2`, `~3`.
 */
export class SheetNames {
  readonly #taken = new Set<string>();

  /** A free name for `wanted` (a table's name), with `suffix` (` (2)`) when given. */
  take(wanted: string, suffix = ''): string {
    let base = wanted.replace(/[[\]:*?/\\\u0000-\u001F]/g, '_').replace(/^'|'$/g, '_');
    if (base === '') base = 'Sheet';
    if (base.toLowerCase() === 'history') base = `${base}_`;
    for (let n = 1; ; n++) {
      const extra = `${suffix}${n === 1 ? '' : `~${n}`}`;
      const name = cut(base, MAX_SHEET_NAME - extra.length) + extra;
      if (!this.#taken.has(name.toLowerCase())) {
        this.#taken.add(name.toLowerCase());
        return name;
      }
    }
  }
}

/** The first `length` UTF-16 units, never half a surrogate pair; a cut name never ends in `'`. */
function cut(text: string, length: number): string {
  if (text.length <= length) return text;
  let end = length;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end).replace(/'$/, '_');
}
