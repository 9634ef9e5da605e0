/**
 * Reading a workbook of the Excel sink back in tests, with exceljs's streaming reader (it shares no
 * code with the sink, and holds one row at a time while parsing, so a 100,000-row workbook reads in
 * a few seconds). Sheets are matched to tables by the workbook's own `Contents` sheet (Sheet and
 * Table columns), as a user would: a sheet name may differ from its table's (Excel's 31 characters,
 * forbidden characters, `~2` for a clash) and a long table continues on `<name> (2)`.
 */
import ExcelJS from 'exceljs';

/** A cell as read: a number, boolean, string, Date (date-formatted numbers), or null for no cell. */
export type XlsxCell = string | number | boolean | Date | null;

/** One table's sheets, joined. */
export interface XlsxTable {
  /** Its sheets, in order, as named in the workbook. */
  sheets: string[];
  /** The header row (the column names), the same on each of its sheets. */
  header: string[];
  /** The data rows of all its sheets, in order (without the headers). */
  rows: XlsxCell[][];
  /** Rows each sheet holds by the Contents sheet (undefined without one). */
  contentsRows: number | undefined;
}

/** Sheet name → its rows (header first), each cell as read. */
async function readSheets(path: string): Promise<Map<string, XlsxCell[][]>> {
  // styles 'cache': exceljs tells date cells by their number format, and answers them as Date.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    sharedStrings: 'cache',
    styles: 'cache',
    worksheets: 'emit',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  const sheets = new Map<string, XlsxCell[][]>();
  for await (const sheet of reader) {
    const rows: XlsxCell[][] = [];
    for await (const row of sheet) {
      // exceljs rows are 1-based and sparse; a missing cell is no value.
      const values = (row.values as unknown[]).slice(1);
      rows[row.number - 1] = Array.from(values, (v) => (v === undefined ? null : (v as XlsxCell)));
    }
    sheets.set(
      (sheet as unknown as { name: string }).name,
      Array.from(rows, (r) => r ?? []),
    );
  }
  return sheets;
}

/**
 * The tables of a workbook, by table name. With a Contents sheet its rows say which sheets hold a
 * table; without one (file-per-table layout) each sheet is the table of its name.
 */
export async function readXlsxTables(path: string): Promise<Map<string, XlsxTable>> {
  const sheets = await readSheets(path);
  const contents = sheets.get('Contents');
  const place = new Map<string, { table: string; rows: number | undefined }>();
  if (contents) {
    const [head = [], ...entries] = contents;
    const column = (name: string) => head.indexOf(name);
    for (const entry of entries) {
      place.set(String(entry[column('Sheet')]), {
        table: String(entry[column('Table')]),
        rows: Number(entry[column('Rows')]),
      });
    }
  } else {
    for (const name of sheets.keys()) place.set(name, { table: name, rows: undefined });
  }
  const tables = new Map<string, XlsxTable>();
  for (const [name, { table, rows }] of place) {
    const sheet = sheets.get(name);
    if (!sheet) throw new Error(`the Contents sheet names a sheet ${name} the workbook lacks`);
    const [header = [], ...data] = sheet;
    const names = header.map(String);
    const into = tables.get(table) ?? { sheets: [], header: names, rows: [], contentsRows: undefined };
    if (names.join('\u0000') !== into.header.join('\u0000')) {
      throw new Error(`sheet ${name} of table ${table} has another header than its first sheet`);
    }
    into.sheets.push(name);
    for (const row of data) into.rows.push(row);
    if (rows !== undefined) into.contentsRows = (into.contentsRows ?? 0) + rows;
    tables.set(table, into);
  }
  return tables;
}
