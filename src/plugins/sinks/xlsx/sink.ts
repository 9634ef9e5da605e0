/**
 * The Excel sink's machinery (the public entry is `../xlsx.ts`). Batches of different tables
 * interleave, so a workbook's zip cannot be written in order as rows come: each sheet's rows are
 * spilled as they come to a scratch file (`<file>.<n>.sheet.partial`, a sequence of frames: a 4-byte
 * little-endian length, then that batch's XML compressed on its own), and `close()` assembles the
 * zip, one sheet after another, reading the spills back. Memory holds one batch and one zip entry's
 * compressor, whatever the number of tables and rows.
 */
import { ImednetError } from '../../../core/errors.js';
import type { TableSpec } from '../../workflows/tables.js';
import { checkFileName, fileManifest, type OutputDirectory, type OutputFile } from '../directory.js';
import { ExportConfigurationError } from '../errors.js';
import type { ExportSink, ManifestStore, SinkOpenContext } from '../types.js';
import {
  cellXml,
  columnLetters,
  contentTypes,
  MAX_SHEET_COLUMNS,
  MAX_SHEET_ROWS,
  PACKAGE_RELS,
  SHARED_STRINGS_END,
  SHEET_END,
  SHEET_HEAD,
  type ShareText,
  SheetNames,
  STYLES,
  sharedString,
  sharedStringsStart,
  sheetStart,
  textRows,
  workbookRels,
  workbookXml,
} from './xml.js';

/**
 * Options of {@link xlsxSink}.
 * @example { directory: nodeDirectory('./export'), layout: 'workbook', fileName: 'mystudy.xlsx' }
 */
export interface XlsxSinkOptions {
  /** Where the files go: `nodeDirectory(path)` or `memoryDirectory()` (it must offer `read`). */
  directory: OutputDirectory;
  /**
   * `workbook` (default): one file, `<studyKey>.xlsx` (or `fileName`), a sheet per table after a
   * `Contents` sheet. `file-per-table`: `<table>.xlsx`, one sheet each (and a `Contents` sheet when
   * a table needed more than one sheet or its sheet name differs from the table's).
   */
  layout?: 'workbook' | 'file-per-table';
  /** The workbook's file name (workbook layout; default `<studyKey>.xlsx`); it must end in `.xlsx`. */
  fileName?: string;
  /**
   * Where the sheets are spilled while the export runs, to be zipped into the workbook at the end
   * (default: `directory`). It must read back files still being written, which an object store's
   * directory (`s3Directory`, `r2Directory`) cannot: with one of those as `directory`, give a local
   * one here (`nodeDirectory(<a temporary folder>)`, or `memoryDirectory()` where there is no disk).
   */
  scratch?: OutputDirectory;
  /** Where the export's manifest is kept (default: `.imednet-export.json` in `directory`). */
  manifest?: ManifestStore;
}

/** Limits a test may lower to see a rollover without writing a million rows. */
export interface XlsxLimits {
  /** Rows per sheet, the header included (Excel's: 1,048,576). */
  maxRowsPerSheet: number;
  /** Uncompressed bytes of one sheet's XML (a zip entry without ZIP64 holds less than 4 GiB). */
  maxSheetBytes: number;
}

/** Excel's limits, and the zip format's. */
export const EXCEL_LIMITS: XlsxLimits = { maxRowsPerSheet: MAX_SHEET_ROWS, maxSheetBytes: 0xffff_0000 };

type Fflate = typeof import('fflate');
let library: Promise<Fflate> | undefined;

/** Loads `fflate` once, at first use: a missing package names itself. */
function loadLibrary(): Promise<Fflate> {
  library ??= import('fflate').catch((cause: unknown) => {
    library = undefined;
    throw new ExportConfigurationError('The Excel sink needs the fflate package: npm install fflate', {
      cause,
    });
  });
  return library;
}

/** One sheet of a table: its rows so far and the scratch file they are spilled to. */
interface Sheet {
  /** The spill's name; undefined for a table without rows (its sheet is the header alone). */
  spill: string | undefined;
  file: OutputFile | undefined;
  /** Data rows (the header not counted). */
  rows: number;
  /** Uncompressed bytes of its XML so far. */
  bytes: number;
}

interface Table {
  spec: TableSpec;
  letters: string[];
  book: Book;
  sheets: Sheet[];
  /** The state before the batch last written, so a retried batch starts from it again. */
  before: Snapshot | undefined;
}

/** A table's and its book's state before a batch. */
interface Snapshot {
  batchId: string;
  sheets: number;
  rows: number;
  bytes: number;
  size: number;
  spills: number;
  strings: number;
  stringsSize: number;
}

/** One .xlsx file being written. */
interface Book {
  name: string;
  tables: Table[];
  /** Spills made so far: the next one's number. */
  spills: number;
  /** Finished by the export being resumed (its batches are in the manifest). */
  done: boolean;
  /** Whether a Contents sheet goes first whatever the tables need. */
  contents: boolean;
  /** The shared strings table (the few texts with `_xHHHH_` escapes), spilled like a sheet. */
  strings: Sheet;
}

const encoder = new TextEncoder();

/** UTF-8 length of a string. */
const utf8Length = (text: string) =>
  /^[\u0000-\u007F]*$/.test(text) ? text.length : encoder.encode(text).length;

/** The Excel sink with the given limits (`xlsxSink` passes Excel's). */
export function createXlsxSink(options: XlsxSinkOptions, limits: XlsxLimits): ExportSink {
  if (!options || typeof options.directory?.open !== 'function') {
    throw new ExportConfigurationError(
      'xlsxSink: give the output directory (nodeDirectory(path) or memoryDirectory())',
    );
  }
  const { directory } = options;
  const scratch = options.scratch ?? directory;
  const layout = options.layout ?? 'workbook';
  if (layout !== 'workbook' && layout !== 'file-per-table') {
    throw new ExportConfigurationError(
      `xlsxSink: layout must be 'workbook' or 'file-per-table' (got ${String(layout)})`,
    );
  }
  if (options.fileName !== undefined && (layout !== 'workbook' || !/\.xlsx$/.test(options.fileName))) {
    throw new ExportConfigurationError(
      layout === 'workbook'
        ? `xlsxSink: fileName must end in .xlsx (got ${JSON.stringify(options.fileName)})`
        : "xlsxSink: fileName names the workbook of layout 'workbook'; file-per-table files are named <table>.xlsx",
    );
  }
  if (options.fileName !== undefined) checkFileName(options.fileName);
  const { maxRowsPerSheet, maxSheetBytes } = limits;
  if (!Number.isSafeInteger(maxRowsPerSheet) || maxRowsPerSheet < 2 || maxRowsPerSheet > MAX_SHEET_ROWS) {
    throw new ExportConfigurationError(`xlsxSink: maxRowsPerSheet must be 2 to ${MAX_SHEET_ROWS}`);
  }
  const manifest = options.manifest ?? fileManifest(directory);

  let lib: Fflate | undefined;
  const tables = new Map<string, Table>();
  let books: Book[] = [];
  /** Batch ids in the order written. */
  let written: string[] = [];
  let bytesWritten = 0;

  const spillName = (book: Book, n: number) => `${book.name}.${n}.sheet.partial`;
  const stringsName = (book: string) => `${book}.strings.partial`;

  /** A ShareText for a book, collecting the texts in `into` (written by `spillStrings`). */
  const sharer =
    (book: Book, into: string[]): ShareText =>
    (text) => {
      into.push(sharedString(text));
      return book.strings.rows + into.length - 1;
    };

  /** Appends the texts collected by a sharer to the book's shared strings spill. */
  async function spillStrings(book: Book, texts: string[]): Promise<void> {
    if (texts.length === 0) return;
    book.strings.file ??= await scratch.open(book.strings.spill!, 0);
    await spill(book.strings, texts.join(''));
    book.strings.rows += texts.length;
    texts.length = 0;
  }

  /** Removes the spills and the unfinished file an earlier run of this book left. */
  async function clearStale(book: Book): Promise<void> {
    await directory.remove(`${book.name}.partial`);
    await scratch.remove(stringsName(book.name));
    let count = 0;
    while (await scratch.exists(spillName(book, count))) count++;
    // Highest first: a crash halfway leaves spills 0..k, which the next run finds again.
    for (let n = count - 1; n >= 0; n--) await scratch.remove(spillName(book, n));
  }

  /** Appends one frame (length, then the XML compressed on its own) to a sheet's spill. */
  async function spill(sheet: Sheet, xml: string): Promise<void> {
    const raw = encoder.encode(xml);
    const packed = lib!.deflateSync(raw, { level: 1 });
    const frame = new Uint8Array(4 + packed.length);
    new DataView(frame.buffer).setUint32(0, packed.length, true);
    frame.set(packed, 4);
    await sheet.file!.write(frame);
    sheet.bytes += raw.length;
    bytesWritten += frame.length;
  }

  async function newSheet(table: Table, share: ShareText): Promise<Sheet> {
    const book = table.book;
    const sheet: Sheet = { spill: spillName(book, book.spills++), file: undefined, rows: 0, bytes: 0 };
    table.sheets.push(sheet);
    sheet.file = await scratch.open(sheet.spill!, 0);
    await spill(sheet, sheetStart(table.spec.columns, table.letters, share));
    return sheet;
  }

  /** Puts a table back as it was before `before` (a retried batch): cut spills, dropped sheets. */
  async function restore(table: Table): Promise<void> {
    const before = table.before!;
    while (table.sheets.length > before.sheets) {
      const sheet = table.sheets.pop()!;
      await sheet.file?.close().catch(() => undefined);
      if (sheet.spill) await scratch.remove(sheet.spill);
    }
    table.book.spills = before.spills;
    const { strings } = table.book;
    if (strings.file && strings.file.size !== before.stringsSize) {
      await strings.file.close().catch(() => undefined);
      strings.file = await scratch.open(strings.spill!, before.stringsSize);
    }
    strings.rows = before.strings;
    const last = table.sheets.at(-1);
    if (last?.file && last.file.size !== before.size) {
      await last.file.close().catch(() => undefined);
      last.file = await scratch.open(last.spill!, before.size);
    }
    if (last) {
      last.rows = before.rows;
      last.bytes = before.bytes;
    }
  }

  /** Reads a spill's frames back, each inflated: one batch's XML at a time. */
  async function* frames(name: string): AsyncGenerator<Uint8Array> {
    let pending = new Uint8Array(0);
    for await (const chunk of scratch.read!(name)) {
      const joined = new Uint8Array(pending.length + chunk.length);
      joined.set(pending);
      joined.set(chunk, pending.length);
      let at = 0;
      while (joined.length - at >= 4) {
        const length = new DataView(joined.buffer, joined.byteOffset + at, 4).getUint32(0, true);
        if (joined.length - at - 4 < length) break;
        yield lib!.inflateSync(joined.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      pending = joined.slice(at);
    }
    if (pending.length > 0) throw new ImednetError(`xlsxSink: the scratch file ${name} ends in a torn frame`);
  }

  /** Zips a book's sheets into `<name>.partial`, renames it, removes the spills. */
  async function finish(book: Book): Promise<void> {
    const { Zip, ZipDeflate } = lib!;
    for (const table of book.tables) {
      // A table without rows still gets its sheet: the header alone.
      if (table.sheets.length === 0)
        table.sheets.push({ spill: undefined, file: undefined, rows: 0, bytes: 0 });
    }
    // file-per-table: a Contents sheet only when a note needs one (a rollover, a changed name).
    const contents =
      book.contents ||
      book.tables.some((t) => t.sheets.length > 1 || new SheetNames().take(t.spec.name) !== t.spec.name);
    const names = new SheetNames();
    const sheets: Array<{ name: string; sheet: Sheet | undefined; table: Table | undefined }> = [];
    if (contents) sheets.push({ name: names.take('Contents'), sheet: undefined, table: undefined });
    const contentsRows: Array<Array<string | number>> = [
      ['Sheet', 'Table', 'Form', 'Rows', 'First row', 'Last row', 'Note'],
    ];
    for (const table of book.tables) {
      let first = 1;
      table.sheets.forEach((sheet, i) => {
        const name = names.take(table.spec.name, i === 0 ? '' : ` (${i + 1})`);
        const notes: string[] = [];
        if (table.sheets.length > 1) {
          notes.push(
            `part ${i + 1} of ${table.sheets.length} of the table: a sheet holds at most ${maxRowsPerSheet - 1} rows under its header`,
          );
        }
        if (i === 0 && name !== table.spec.name) {
          notes.push(
            "sheet name shortened or changed: Excel's names hold at most 31 characters, none of []:*?/\\, and are unique",
          );
        }
        contentsRows.push([
          name,
          table.spec.name,
          table.spec.formName ?? '',
          sheet.rows,
          sheet.rows > 0 ? first : '',
          sheet.rows > 0 ? first + sheet.rows - 1 : '',
          notes.join('; '),
        ]);
        first += sheet.rows;
        sheets.push({ name, sheet, table });
      });
    }

    // What is written only now (the Contents sheet, the sheets of tables without rows) may share
    // texts too: rendered first, so the shared strings table is whole before it is zipped.
    const texts: string[] = [];
    const share = sharer(book, texts);
    const closing = new Map<(typeof sheets)[number], string>();
    for (const entry of sheets) {
      if (!entry.table) closing.set(entry, `${SHEET_HEAD}${textRows(contentsRows, share)}${SHEET_END}`);
      else if (!entry.sheet?.spill) {
        closing.set(entry, `${sheetStart(entry.table.spec.columns, entry.table.letters, share)}${SHEET_END}`);
      }
    }
    await spillStrings(book, texts);
    for (const sheet of [...sheets.map((entry) => entry.sheet), book.strings]) {
      if (!sheet?.file) continue;
      await sheet.file.close();
      sheet.file = undefined;
    }
    const out = await directory.open(`${book.name}.partial`, 0);
    const queue: Uint8Array[] = [];
    let failure: Error | null = null;
    let size = 0;
    const zip = new Zip((error, chunk) => {
      if (error) failure = error;
      else queue.push(chunk);
    });
    const drain = async () => {
      if (failure) throw failure;
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        size += chunk.length;
        // Without ZIP64 an offset past 4 GiB cannot be written.
        if (size > 0xffff_ffff) {
          throw new ImednetError(
            `xlsxSink: ${book.name} would exceed 4 GiB, more than a zip without ZIP64 holds; use layout 'file-per-table'`,
          );
        }
        await out.write(chunk);
        bytesWritten += chunk.length;
      }
    };
    const addText = async (path: string, text: string) => {
      const file = new ZipDeflate(path, { level: 4 });
      zip.add(file);
      file.push(encoder.encode(text), true);
      await drain();
    };
    await addText('[Content_Types].xml', contentTypes(sheets.length));
    await addText('_rels/.rels', PACKAGE_RELS);
    await addText('xl/workbook.xml', workbookXml(sheets.map((s) => s.name)));
    await addText('xl/_rels/workbook.xml.rels', workbookRels(sheets.length));
    await addText('xl/styles.xml', STYLES);
    /** Zips a part from its head, its spill's frames and its end. */
    const addSpilled = async (path: string, head: string, spilled: string | undefined, end: string) => {
      const file = new ZipDeflate(path, { level: 4 });
      zip.add(file);
      file.push(encoder.encode(head));
      if (spilled) {
        for await (const xml of frames(spilled)) {
          file.push(xml);
          await drain();
        }
      }
      file.push(encoder.encode(end), true);
      await drain();
    };
    const { strings } = book;
    await addSpilled(
      'xl/sharedStrings.xml',
      sharedStringsStart(strings.rows),
      strings.rows > 0 ? strings.spill : undefined,
      SHARED_STRINGS_END,
    );
    for (const [i, entry] of sheets.entries()) {
      const path = `xl/worksheets/sheet${i + 1}.xml`;
      const whole = closing.get(entry);
      if (whole !== undefined) await addText(path, whole);
      else await addSpilled(path, '', entry.sheet!.spill, SHEET_END);
    }
    zip.end();
    await drain();
    await out.close();
    await directory.rename(`${book.name}.partial`, book.name);
    for (const entry of sheets) if (entry.sheet?.spill) await scratch.remove(entry.sheet.spill);
    await scratch.remove(strings.spill!);
    book.done = true;
  }

  return {
    kind: 'xlsx',
    manifest,
    get bytesWritten() {
      return bytesWritten;
    },

    async open(context: SinkOpenContext) {
      if (typeof scratch.read !== 'function' || scratch.durability === 'rename') {
        const what = scratch === directory ? 'output directory' : 'scratch directory';
        throw new ExportConfigurationError(
          `xlsxSink: the ${what} ${scratch.label} cannot read back files still being written, which the Excel sink needs to assemble a workbook from its spilled sheets; ${scratch === directory ? 'write to nodeDirectory(path) or memoryDirectory(), or give one of those as scratch' : 'give nodeDirectory(path) or memoryDirectory()'}`,
        );
      }
      lib = await loadLibrary();
      tables.clear();
      books = [];
      written = [];
      const resumed = new Set((context.resume?.batches ?? []).map((entry) => entry.table));
      const bookOf = new Map<string, Book>();
      for (const spec of context.tables) {
        if (tables.has(spec.name))
          throw new ExportConfigurationError(`xlsxSink: table ${spec.name} is given twice`);
        if (spec.columns.length > MAX_SHEET_COLUMNS) {
          throw new ExportConfigurationError(
            `xlsxSink: table ${spec.name} has ${spec.columns.length} columns, more than Excel's ${MAX_SHEET_COLUMNS}`,
          );
        }
        const name = checkFileName(
          layout === 'workbook' ? (options.fileName ?? `${context.studyKey}.xlsx`) : `${spec.name}.xlsx`,
        );
        checkFileName(`${name}.0.sheet.partial`);
        let book = bookOf.get(name);
        if (!book) {
          book = {
            name,
            tables: [],
            spills: 0,
            done: false,
            contents: layout === 'workbook',
            strings: { spill: stringsName(name), file: undefined, rows: 0, bytes: 0 },
          };
          bookOf.set(name, book);
          books.push(book);
        }
        const table: Table = {
          spec,
          letters: spec.columns.map((_, i) => columnLetters(i)),
          book,
          sheets: [],
          before: undefined,
        };
        book.tables.push(table);
        tables.set(spec.name, table);
        // A book's batches are reported durable all at once, when it is whole: any of them in the
        // manifest means the book was finished.
        if (resumed.has(spec.name)) book.done = true;
      }
      for (const book of books) {
        await clearStale(book);
      }
    },

    async writeBatch(batch, batchId) {
      const table = tables.get(batch.table.name);
      if (!table) {
        throw new ExportConfigurationError(
          `xlsxSink: table ${batch.table.name} was not among the tables given to open()`,
        );
      }
      if (table.book.done) {
        throw new ImednetError(
          `xlsxSink: batch ${batchId} belongs to ${table.book.name}, which is already finished`,
        );
      }
      if (table.before?.batchId === batchId) await restore(table);
      else {
        const last = table.sheets.at(-1);
        table.before = {
          batchId,
          sheets: table.sheets.length,
          rows: last?.rows ?? 0,
          bytes: last?.bytes ?? 0,
          size: last?.file?.size ?? 0,
          spills: table.book.spills,
          strings: table.book.strings.rows,
          stringsSize: table.book.strings.file?.size ?? 0,
        };
      }
      const texts: string[] = [];
      const share = sharer(table.book, texts);
      // Every row's XML first, so a value Excel cannot hold stops the batch before anything is written.
      const { columns } = table.spec;
      const rendered = batch.rows.map((row) => {
        let cells = '';
        for (let c = 0; c < columns.length; c++) {
          const column = columns[c]!;
          cells += cellXml(
            `${table.letters[c]}\u0000`,
            row[column.name] ?? null,
            {
              table: table.spec.name,
              row,
              column,
            },
            share,
          );
        }
        return cells;
      });
      let sheet = table.sheets.at(-1);
      let xml = '';
      let xmlBytes = 0;
      let rows = 0;
      for (const cells of rendered) {
        const full = !sheet || sheet.rows + rows + 1 >= maxRowsPerSheet;
        const number = full ? 2 : sheet!.rows + rows + 2;
        const rowXml = `<row r="${number}">${cells.replaceAll('\u0000', String(number))}</row>`;
        const length = utf8Length(rowXml);
        if (full || sheet!.bytes + xmlBytes + length + SHEET_END.length > maxSheetBytes) {
          if (sheet && rows > 0) {
            await spill(sheet, xml);
            sheet.rows += rows;
          }
          sheet = await newSheet(table, share);
          xml = '';
          xmlBytes = 0;
          rows = 0;
          if (!full) {
            // Rolled over on bytes: the row's number in the new sheet is 2.
            const again = `<row r="2">${cells.replaceAll('\u0000', '2')}</row>`;
            xml = again;
            xmlBytes = utf8Length(again);
            rows = 1;
            continue;
          }
        }
        xml += rowXml;
        xmlBytes += length;
        rows++;
      }
      if (sheet && rows > 0) {
        await spill(sheet, xml);
        sheet.rows += rows;
      }
      await spillStrings(table.book, texts);
      if (written.at(-1) !== batchId) written.push(batchId);
      return undefined;
    },

    async flush() {
      return [];
    },

    async close() {
      for (const book of books) if (!book.done) await finish(book);
      const ids = written;
      written = [];
      return ids;
    },

    async abort() {
      for (const book of books) {
        if (book.done) continue;
        for (const table of book.tables)
          for (const sheet of table.sheets) await sheet.file?.close().catch(() => undefined);
        await book.strings.file?.close().catch(() => undefined);
        await clearStale(book).catch(() => undefined);
      }
    },
  };
}
