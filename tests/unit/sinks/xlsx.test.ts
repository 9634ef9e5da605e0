import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { canonicalBytes } from '../../../src/plugins/sinks/canonical.js';
import { memoryDirectory, type OutputDirectory } from '../../../src/plugins/sinks/directory.js';
import { ExportBatchError, ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { exportRows, exportStudy } from '../../../src/plugins/sinks/export.js';
import { nodeDirectory } from '../../../src/plugins/sinks/node.js';
import type { ExportSink } from '../../../src/plugins/sinks/types.js';
import { createXlsxSink, EXCEL_LIMITS } from '../../../src/plugins/sinks/xlsx/sink.js';
import { XlsxValueError, xlsxSink } from '../../../src/plugins/sinks/xlsx.js';
import {
  type CellValue,
  mapRecords,
  planTables,
  type Row,
  type RowBatch,
  type TableSpec,
  workflows,
} from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';
import { withWriteBatch } from '../../support/sinks.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

// The 100,000-record study, served by the mock API for the exportStudy test.
const { study: big } = useMockApi({ records: 100_000, seed: 11 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

// A smaller study for the rest, mapped without the API.
const study = createFakeStudy({ studyKey: 'DEMO', records: 3000, subjects: 80, sites: 4, seed: 5 });
const structure = structureOf(study);
const tables: TableSpec[] = planTables(structure);

/** The study's row batches with the ids the export runner gives them (`<table>:<n>`). */
async function batchesOf(list: readonly unknown[], batchSize = 100) {
  const out: Array<{ batch: RowBatch; id: string }> = [];
  const counts = new Map<string, number>();
  for await (const batch of mapRecords(sdkRecords(list), structure, { batchSize })) {
    const n = counts.get(batch.table.name) ?? 0;
    counts.set(batch.table.name, n + 1);
    out.push({ batch, id: `${batch.table.name}:${n}` });
  }
  return out;
}
const all = await batchesOf([...study.records]);
const rowsByTable = new Map<string, Row[]>();
for (const { batch } of all) {
  rowsByTable.set(batch.table.name, [...(rowsByTable.get(batch.table.name) ?? []), ...batch.rows]);
}

async function write(sink: ExportSink, list: typeof all) {
  for (const { batch, id } of list) await sink.writeBatch(batch, id, canonicalBytes(batch));
}

const temporary: string[] = [];
afterAll(async () => {
  for (const path of temporary) await rm(path, { recursive: true, force: true });
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imednet-xlsx-'));
  temporary.push(dir);
  return dir;
};

/** A workbook read back with exceljs (independent of our writer). */
async function readWorkbook(bytes: Uint8Array) {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
  return workbook;
}

/** A sheet's rows as arrays of cell values (exceljs rows are 1-based; cell 0 dropped). */
function sheetRows(sheet: ExcelJS.Worksheet): unknown[][] {
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row, number) => {
    rows[number - 1] = (row.values as unknown[]).slice(1);
  });
  return Array.from(rows, (row) => row ?? []);
}

/** A mapped value as exceljs gives it back: dates as Date, the rest as they are, null as undefined. */
function expectSameCell(read: unknown, mapped: CellValue, where: string) {
  if (mapped === null || mapped === undefined) expect(read ?? null, where).toBeNull();
  // An empty text is an empty text cell (Excel's ISBLANK says FALSE), which exceljs reads as no value.
  else if (mapped === '') expect(read ?? '', where).toBe('');
  else if (mapped instanceof Date) expect((read as Date).getTime(), where).toBe(mapped.getTime());
  else expect(read, where).toBe(mapped);
}

function expectSheetHolds(rows: unknown[][], table: TableSpec, mapped: Row[]) {
  expect(rows[0]).toEqual(table.columns.map((c) => c.name));
  expect(rows.length - 1).toBe(mapped.length);
  mapped.forEach((row, r) => {
    table.columns.forEach((column, c) => {
      expectSameCell(rows[r + 1]![c], row[column.name] ?? null, `${table.name} row ${r + 2} ${column.name}`);
    });
  });
}

describe('xlsxSink, one workbook', () => {
  it('writes <studyKey>.xlsx: a Contents sheet, then a sheet per table that exceljs reads back with every row and typed value', async () => {
    const directory = memoryDirectory();
    const sink = xlsxSink({ directory });
    expect(sink.kind).toBe('xlsx');
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all);
    expect(await sink.flush()).toEqual([]);
    expect(await sink.close()).toEqual(all.map((b) => b.id));
    // Spills and the .partial file are gone; the workbook alone stays.
    expect(directory.names()).toEqual(['DEMO.xlsx']);

    const workbook = await readWorkbook(directory.bytes('DEMO.xlsx')!);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['Contents', ...tables.map((t) => t.name)]);
    const contents = sheetRows(workbook.getWorksheet('Contents')!);
    expect(contents[0]).toEqual(['Sheet', 'Table', 'Form', 'Rows', 'First row', 'Last row', 'Note']);
    const seenTypes = new Set<string>();
    for (const [i, table] of tables.entries()) {
      const mapped = rowsByTable.get(table.name) ?? [];
      expect(contents[i + 1]!.slice(0, 4)).toEqual([table.name, table.name, table.formName, mapped.length]);
      expectSheetHolds(sheetRows(workbook.getWorksheet(table.name)!), table, mapped);
      for (const column of table.columns) {
        if (mapped.some((row) => row[column.name] !== null)) seenTypes.add(column.type);
      }
    }
    expect([...seenTypes].sort()).toEqual([
      'boolean',
      'choice',
      'date',
      'datetime',
      'integer',
      'number',
      'text',
      'time',
    ]);
  });

  it('writes numbers, booleans and dates as typed cells with date formats, text as inline strings (a second reader: the zip itself)', async () => {
    const directory = memoryDirectory();
    const sink = xlsxSink({ directory, fileName: 'study.xlsx' });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all);
    await sink.close();
    const files = unzipSync(directory.bytes('study.xlsx')!);
    const types = strFromU8(files['[Content_Types].xml']!);
    const sheetCount = tables.length + 1;
    let shared = 0;
    for (let i = 1; i <= sheetCount; i++) {
      expect(types).toContain(`PartName="/xl/worksheets/sheet${i}.xml"`);
      const xml = strFromU8(files[`xl/worksheets/sheet${i}.xml`]!);
      // Every cell carries its reference, and it names its own row.
      const cells = xml.match(/<c [^>]*>/g) ?? [];
      for (const cell of cells) expect(cell).toMatch(/^<c r="[A-Z]+\d+"/);
      for (const row of xml.matchAll(/<row r="(\d+)">(.*?)<\/row>/g)) {
        for (const ref of row[2]!.matchAll(/<c r="[A-Z]+(\d+)"/g)) expect(ref[1]).toBe(row[1]);
      }
      shared += (xml.match(/ t="s"/g) ?? []).length;
    }
    // Texts are inline strings; only texts with an _xHHHH_ escape go to the shared strings table.
    expect(strFromU8(files['xl/sharedStrings.xml']!)).toContain(`count="${shared}"`);
    expect(Object.keys(files).sort()).toEqual(
      [
        '[Content_Types].xml',
        '_rels/.rels',
        'xl/workbook.xml',
        'xl/_rels/workbook.xml.rels',
        'xl/styles.xml',
        'xl/sharedStrings.xml',
        ...Array.from({ length: sheetCount }, (_, i) => `xl/worksheets/sheet${i + 1}.xml`),
      ].sort(),
    );
    expect(strFromU8(files['xl/styles.xml']!)).toContain('formatCode="yyyy-mm-dd"');
    const workbook = await readWorkbook(directory.bytes('study.xlsx')!);
    const table = tables.find(
      (t) => (rowsByTable.get(t.name)?.length ?? 0) > 0 && t.columns.some((c) => c.type === 'date'),
    )!;
    const sheet = workbook.getWorksheet(table.name)!;
    const row = sheet.getRow(2);
    table.columns.forEach((column, c) => {
      const cell = row.getCell(c + 1);
      if (cell.value === null) return;
      if (column.type === 'date') expect(cell.numFmt).toBe('yyyy-mm-dd');
      if (column.type === 'datetime') expect(cell.numFmt).toBe('yyyy-mm-dd hh:mm:ss');
      const expected = {
        integer: ExcelJS.ValueType.Number,
        number: ExcelJS.ValueType.Number,
        boolean: ExcelJS.ValueType.Boolean,
        date: ExcelJS.ValueType.Date,
        datetime: ExcelJS.ValueType.Date,
        time: ExcelJS.ValueType.String,
        choice: ExcelJS.ValueType.String,
        text: ExcelJS.ValueType.String,
      }[column.type];
      expect(cell.type, column.name).toBe(expected);
    });
  });

  it('continues a table past the sheet row limit on "<name> (2)", header repeated, and says so on the Contents sheet', async () => {
    const directory = memoryDirectory();
    const sink = createXlsxSink({ directory }, { ...EXCEL_LIMITS, maxRowsPerSheet: 101 });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all);
    await sink.close();
    const workbook = await readWorkbook(directory.bytes('DEMO.xlsx')!);
    const contents = sheetRows(workbook.getWorksheet('Contents')!);
    const big = tables.reduce((a, b) =>
      (rowsByTable.get(a.name)?.length ?? 0) >= (rowsByTable.get(b.name)?.length ?? 0) ? a : b,
    );
    const mapped = rowsByTable.get(big.name)!;
    const parts = Math.ceil(mapped.length / 100);
    expect(parts).toBeGreaterThan(2);
    const names = [big.name, ...Array.from({ length: parts - 1 }, (_, i) => `${big.name} (${i + 2})`)];
    const read: unknown[][] = [];
    for (const [i, name] of names.entries()) {
      const rows = sheetRows(workbook.getWorksheet(name)!);
      expect(rows[0]).toEqual(big.columns.map((c) => c.name));
      expect(rows.length - 1).toBe(i < parts - 1 ? 100 : mapped.length - 100 * (parts - 1));
      read.push(...rows.slice(1));
      const line = contents.find((row) => row[0] === name)!;
      expect(line.slice(1, 6)).toEqual([
        big.name,
        big.formName,
        rows.length - 1,
        i * 100 + 1,
        i * 100 + rows.length - 1,
      ]);
      expect(line[6]).toContain(`part ${i + 1} of ${parts}`);
    }
    expectSheetHolds([big.columns.map((c) => c.name), ...read], big, mapped);
  });

  it('gives back text with control characters, carriage returns, a literal _x000D_, markup and leading spaces, unchanged', async () => {
    const table: TableSpec = {
      name: 'NOTES',
      columns: [
        { name: 'recordId', type: 'integer', kind: 'record' },
        { name: 'note', type: 'text', kind: 'variable' },
      ],
    };
    const texts = [
      'bell\u0007 tab\t nul\u0000 esc\u001b',
      'line one\r\nline two\rthree\n',
      'literal _x000D_ and _x41_ and _X0041_ and _x005F_ and _xABCD_',
      '<b>&amp; "quoted" \'single\'</b>',
      '  leading and trailing  ',
      '=1+1',
      'emoji 😀 and lone \ud800 surrogate and \uffff',
    ];
    const rows = texts.map((note, i) => ({ recordId: i + 1, note }));
    const directory = memoryDirectory();
    const sink = xlsxSink({ directory });
    await sink.open({ studyKey: 'S', tables: [table], resume: undefined });
    await sink.writeBatch({ table, rows }, 'NOTES:0', new Uint8Array());
    await sink.close();
    const sheet = (await readWorkbook(directory.bytes('S.xlsx')!)).getWorksheet('NOTES')!;
    expect(
      sheetRows(sheet)
        .slice(1)
        .map((row) => row[1]),
    ).toEqual(texts);
    // A formula-looking text is a string cell, never a formula.
    expect(sheet.getCell('B7').type).toBe(ExcelJS.ValueType.String);
  });

  it('refuses a text over 32,767 characters, naming table, record and column but not the value, before anything of the batch is written', async () => {
    const table: TableSpec = {
      name: 'AE',
      columns: [
        { name: 'recordId', type: 'integer', kind: 'record' },
        { name: 'aeterm', type: 'text', kind: 'variable' },
      ],
    };
    const secret = `patient-secret-${'x'.repeat(32_767)}`;
    const directory = memoryDirectory();
    const attempt = exportRows(
      (async function* () {
        yield { table, rows: [{ recordId: 1, aeterm: 'fine' }] };
        yield {
          table,
          rows: [
            { recordId: 6, aeterm: 'fine' },
            { recordId: 7, aeterm: secret },
          ],
        };
      })(),
      xlsxSink({ directory }),
      { studyKey: 'S', tables: [table], retries: 1, retryDelay: 0 },
    );
    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportBatchError);
    const cause = (error as ExportBatchError).cause;
    expect(cause).toBeInstanceOf(XlsxValueError);
    const message = (error as Error).message;
    expect(message).toContain('table AE, record 7, column aeterm');
    expect(message).toContain('32767');
    expect(message).not.toContain('patient-secret');
    // The failed export leaves no workbook, no spill and no .partial file.
    expect(directory.names()).toEqual(['.imednet-export.json']);
    // Exactly 32,767 characters is fine.
    const ok = memoryDirectory();
    await exportRows(
      (async function* () {
        yield { table, rows: [{ recordId: 1, aeterm: 'y'.repeat(32_767) }] };
      })(),
      xlsxSink({ directory: ok }),
      { studyKey: 'S', tables: [table] },
    );
    const sheet = (await readWorkbook(ok.bytes('S.xlsx')!)).getWorksheet('AE')!;
    expect((sheet.getCell('B2').value as string).length).toBe(32_767);
  });

  it('spills every batch to its sheet file before writeBatch resolves: interleaved tables hold no rows in memory', async () => {
    const directory = memoryDirectory();
    const sink = xlsxSink({ directory });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    // One-row batches, tables interleaved round robin.
    const single = await batchesOf([...study.records].slice(0, 600), 1);
    const seen = new Map<string, number>();
    for (const { batch, id } of single) {
      const before = directory.names().reduce((n, name) => n + (directory.bytes(name)?.length ?? 0), 0);
      await sink.writeBatch(batch, id, canonicalBytes(batch));
      const after = directory.names().reduce((n, name) => n + (directory.bytes(name)?.length ?? 0), 0);
      expect(after).toBeGreaterThan(before);
      seen.set(batch.table.name, (seen.get(batch.table.name) ?? 0) + 1);
    }
    expect(seen.size).toBeGreaterThan(3);
    expect(directory.names().filter((n) => n.endsWith('.sheet.partial')).length).toBe(seen.size);
    await sink.close();
    const workbook = await readWorkbook(directory.bytes('DEMO.xlsx')!);
    for (const [name, count] of seen) expect(workbook.getWorksheet(name)!.actualRowCount).toBe(count + 1);
  });

  it('a batch whose write fails is written whole by the retry: the spill is cut back, nothing doubled', async () => {
    const directory = memoryDirectory();
    let failures = 0;
    const flaky: OutputDirectory = {
      ...directory,
      async open(name, keep) {
        const file = await directory.open(name, keep);
        return {
          get size() {
            return file.size;
          },
          async write(bytes) {
            await file.write(bytes);
            // Every 7th write fails after the bytes landed: a torn write.
            if (name.endsWith('.sheet.partial') && ++failures % 7 === 0) throw new Error('disk hiccup');
          },
          sync: () => file.sync(),
          close: () => file.close(),
        };
      },
    };
    await exportRows(
      (async function* () {
        for (const { batch } of all) yield batch;
      })(),
      createXlsxSink({ directory: flaky }, { ...EXCEL_LIMITS, maxRowsPerSheet: 150 }),
      { studyKey: 'DEMO', tables, retryDelay: 0, retries: 5 },
    );
    expect(failures).toBeGreaterThan(7);
    const workbook = await readWorkbook(directory.bytes('DEMO.xlsx')!);
    for (const table of tables) {
      const mapped = rowsByTable.get(table.name) ?? [];
      const read: unknown[][] = [];
      for (let i = 0; ; i++) {
        const sheet = workbook.getWorksheet(i === 0 ? table.name : `${table.name} (${i + 1})`);
        if (!sheet) break;
        read.push(...sheetRows(sheet).slice(1));
      }
      expect(read.map((row) => row[0])).toEqual(mapped.map((row) => row.recordId));
    }
  });

  it('an interrupted export, run again, writes one correct workbook: stale spills are removed, never reused', async () => {
    const path = await tempDir();
    const directory = nodeDirectory(path);
    // A crash: the process dies after 15 batches, so abort never runs and the spills stay.
    let count = 0;
    const first = xlsxSink({ directory });
    const dying = withWriteBatch(first, async (batch, id, canonical) => {
      if (++count > 15) throw new ExportConfigurationError('killed');
      return first.writeBatch(batch, id, canonical);
    });
    const crashed = { ...dying, abort: async () => undefined };
    await expect(
      exportRows(
        (async function* () {
          for (const { batch } of all) yield batch;
        })(),
        crashed,
        { studyKey: 'DEMO', tables },
      ),
    ).rejects.toThrow('killed');
    const leftover = (await readdir(path)).filter((n) => n.endsWith('.sheet.partial'));
    expect(leftover.length).toBeGreaterThan(0);
    expect(await directory.exists('DEMO.xlsx')).toBe(false);

    const summary = await exportRows(
      (async function* () {
        for (const { batch } of all) yield batch;
      })(),
      xlsxSink({ directory }),
      { studyKey: 'DEMO', tables },
    );
    expect(summary.resumed).toBe(true);
    expect(summary.skippedBatches).toBe(0);
    expect((await readdir(path)).sort()).toEqual(['.imednet-export.json', 'DEMO.xlsx']);
    const workbook = await readWorkbook(await readFile(join(path, 'DEMO.xlsx')));
    for (const table of tables) {
      expectSheetHolds(
        sheetRows(workbook.getWorksheet(table.name)!),
        table,
        rowsByTable.get(table.name) ?? [],
      );
    }
    // A third run finds the export complete and leaves the workbook as it is.
    const again = await exportRows(
      (async function* () {
        for (const { batch } of all) yield batch;
      })(),
      xlsxSink({ directory }),
      { studyKey: 'DEMO', tables },
    );
    expect(again.alreadyComplete).toBe(true);
  });

  it('refuses, before writing anything, a directory that cannot read files back, a bad layout or file name', async () => {
    const directory = memoryDirectory();
    const { read: _read, ...rest } = directory;
    const noRead: OutputDirectory = rest;
    await expect(
      exportRows(
        (async function* () {
          for (const { batch } of all.slice(0, 3)) yield batch;
        })(),
        xlsxSink({ directory: noRead }),
        { studyKey: 'DEMO', tables },
      ),
    ).rejects.toThrow(/cannot read back files still being written/);
    expect(directory.names().filter((n) => n.endsWith('.xlsx') || n.endsWith('.partial'))).toEqual([]);
    expect(() => xlsxSink({ directory, layout: 'sheets' as never })).toThrow(ExportConfigurationError);
    expect(() => xlsxSink({ directory, fileName: 'study.csv' })).toThrow(/must end in \.xlsx/);
    expect(() => xlsxSink({ directory, fileName: '../up.xlsx' })).toThrow(ExportConfigurationError);
    expect(() => xlsxSink({} as never)).toThrow(ExportConfigurationError);
  });
});

describe('xlsxSink, sheet names and the file-per-table layout', () => {
  const spec = (name: string): TableSpec => ({
    name,
    columns: [{ name: 'recordId', type: 'integer', kind: 'record' }],
  });

  it('shortens and cleans names Excel refuses, keeps them unique, and lists every full table name on Contents', async () => {
    const names = [
      'A_VERY_LONG_FORM_KEY_THAT_GOES_ON_AND_ON_1',
      'A_VERY_LONG_FORM_KEY_THAT_GOES_ON_AND_ON_2',
      'Contents',
      'history',
      'ae',
      'AE',
    ];
    const list = names.map(spec);
    const directory = memoryDirectory();
    const sink = xlsxSink({ directory });
    await sink.open({ studyKey: 'S', tables: list, resume: undefined });
    for (const [i, table] of list.entries())
      await sink.writeBatch({ table, rows: [{ recordId: i }] }, `${table.name}:0`, new Uint8Array());
    await sink.close();
    const workbook = await readWorkbook(directory.bytes('S.xlsx')!);
    const sheetNames = workbook.worksheets.map((s) => s.name);
    expect(sheetNames).toEqual([
      'Contents',
      'A_VERY_LONG_FORM_KEY_THAT_GOES_',
      'A_VERY_LONG_FORM_KEY_THAT_GOE~2',
      'Contents~2',
      'history_',
      'ae',
      'AE~2',
    ]);
    const contents = sheetRows(workbook.getWorksheet('Contents')!);
    expect(contents.slice(1).map((row) => [row[0], row[1]])).toEqual(
      sheetNames.slice(1).map((sheet, i) => [sheet, names[i]]),
    );
    for (const row of contents.slice(1)) {
      expect(row[6] !== undefined && row[6] !== null).toBe(row[0] !== row[1]);
    }
  });

  it('file-per-table: <table>.xlsx with one sheet, a Contents sheet only when a table rolls over', async () => {
    const directory = memoryDirectory();
    const sink = createXlsxSink(
      { directory, layout: 'file-per-table' },
      { ...EXCEL_LIMITS, maxRowsPerSheet: 301 },
    );
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all);
    expect(await sink.close()).toEqual(all.map((b) => b.id));
    expect(directory.names()).toEqual(tables.map((t) => `${t.name}.xlsx`).sort());
    for (const table of tables) {
      const mapped = rowsByTable.get(table.name) ?? [];
      const workbook = await readWorkbook(directory.bytes(`${table.name}.xlsx`)!);
      if (mapped.length <= 300) {
        expect(workbook.worksheets.map((s) => s.name)).toEqual([table.name]);
        expectSheetHolds(sheetRows(workbook.worksheets[0]!), table, mapped);
      } else {
        expect(workbook.worksheets[0]!.name).toBe('Contents');
        expect(workbook.worksheets[2]!.name).toBe(`${table.name} (2)`);
      }
    }
  });
});

describe('xlsxSink through exportStudy: the 100,000-record study', () => {
  it('row counts per form equal the API records; sampled records equal the API and the mapper, read back from disk', async () => {
    const path = await tempDir();
    const summary = await exportStudy(client(), 'DEMO', xlsxSink({ directory: nodeDirectory(path) }), {
      batchSize: 1000,
    });
    expect((await readdir(path)).sort()).toEqual(['.imednet-export.json', 'DEMO.xlsx']);
    const apiRecords = [...big.records] as unknown as Array<Record<string, unknown>>;
    const perForm = new Map<string, number>();
    for (const record of apiRecords)
      perForm.set(String(record.formKey), (perForm.get(String(record.formKey)) ?? 0) + 1);
    expect(summary.rows).toBe(apiRecords.length);

    // A sample: every 997th record, with the mapper's row for it.
    const sample = new Map<number, Record<string, unknown>>();
    for (let i = 0; i < apiRecords.length; i += 997)
      sample.set(Number(apiRecords[i]!.recordId), apiRecords[i]!);
    const bigStructure = structureOf(big);
    const expected = new Map<number, { table: TableSpec; row: Row }>();
    for await (const batch of mapRecords(sdkRecords([...sample.values()]), bigStructure, {
      batchSize: 500,
    })) {
      for (const row of batch.rows) expected.set(row.recordId as number, { table: batch.table, row });
    }
    expect(expected.size).toBe(sample.size);

    // Read with exceljs's streaming reader: one row at a time.
    const counts = new Map<string, number>();
    const found = new Set<number>();
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(join(path, 'DEMO.xlsx'), {
      worksheets: 'emit',
      sharedStrings: 'cache',
      styles: 'cache',
    });
    for await (const sheet of reader) {
      const name = (sheet as unknown as { name: string }).name;
      let n = 0;
      let header: string[] = [];
      for await (const row of sheet as AsyncIterable<ExcelJS.Row>) {
        const values = (row.values as unknown[]).slice(1);
        if (row.number === 1) {
          header = values as string[];
          continue;
        }
        n++;
        if (name === 'Contents') continue;
        const want = expected.get(values[0] as number);
        if (!want) continue;
        found.add(values[0] as number);
        expect(header).toEqual(want.table.columns.map((c) => c.name));
        want.table.columns.forEach((column, c) => {
          expectSameCell(values[c], want.row[column.name] ?? null, `${name} ${column.name}`);
        });
        const api = sample.get(values[0] as number)!;
        expect([values[1], values[2], values[7]]).toEqual([api.subjectKey, api.siteId, api.formKey]);
      }
      counts.set(name, n);
    }
    expect(found.size).toBe(sample.size);
    const { Contents: _contents, ...forms } = Object.fromEntries(counts);
    for (const [form, n] of perForm) expect(forms[form], form).toBe(n);
    expect(Object.values(forms).reduce((a, b) => a + b, 0)).toBe(apiRecords.length);
  }, 240_000);

  it('no API key or security key in any message of a failed Excel export', async () => {
    const { read: _read, ...noRead } = memoryDirectory();
    const error = await exportStudy(client(), 'DEMO', xlsxSink({ directory: noRead }), {
      forms: ['AE'],
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(ExportConfigurationError);
    const text = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)}`;
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(SECURITY_KEY);
  });
});
