import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Record as SdkRecord } from '../../../src/endpoints/records.js';
import { canonicalBytes } from '../../../src/plugins/sinks/canonical.js';
import { memoryDirectory } from '../../../src/plugins/sinks/directory.js';
import { ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { exportRows } from '../../../src/plugins/sinks/export.js';
import { nodeDirectory } from '../../../src/plugins/sinks/node.js';
import { hiveValue, parquetSink } from '../../../src/plugins/sinks/parquet.js';
import type { ExportSink, Manifest, ManifestEntry } from '../../../src/plugins/sinks/types.js';
import {
  type CellValue,
  mapRecords,
  planTables,
  type Row,
  type RowBatch,
  type TableSpec,
} from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { structureOf } from '../../support/fake-structure.js';

const study = createFakeStudy({ studyKey: 'DEMO', records: 3000, subjects: 80, sites: 4, seed: 5 });
const structure = structureOf(study);
const tables: TableSpec[] = planTables(structure);

/** The study's row batches, each with the id the export runner gives it (`<table>:<n>`). */
async function batches(batchSize = 100): Promise<Array<{ batch: RowBatch; id: string }>> {
  const out: Array<{ batch: RowBatch; id: string }> = [];
  const counts = new Map<string, number>();
  for await (const batch of mapRecords([...study.records] as unknown as SdkRecord[], structure, {
    batchSize,
  })) {
    const n = counts.get(batch.table.name) ?? 0;
    counts.set(batch.table.name, n + 1);
    out.push({ batch, id: `${batch.table.name}:${n}` });
  }
  return out;
}

const all = await batches();
const rowsByTable = new Map<string, Row[]>();
for (const { batch } of all)
  rowsByTable.set(batch.table.name, [...(rowsByTable.get(batch.table.name) ?? []), ...batch.rows]);

/** Writes batches the way the export runner does: id, canonical bytes, resume state kept. */
async function write(sink: ExportSink, list: typeof all) {
  const states = new Map<string, unknown>();
  for (const { batch, id } of list) states.set(id, await sink.writeBatch(batch, id, canonicalBytes(batch)));
  return states;
}

const toBuffer = (bytes: Uint8Array) =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** A Parquet file read back with hyparquet: its rows, column names and row groups. */
async function readParquet(bytes: Uint8Array) {
  const file = toBuffer(bytes);
  const metadata = parquetMetadata(file);
  const rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
  return { rows, metadata, columns: parquetSchema(metadata).children.map((c) => c.element.name) };
}

/** A cell as read back compared with the mapped one: INT64 comes back as bigint, dates as Date. */
function expectSameCell(read: unknown, mapped: CellValue) {
  if (mapped === null) expect(read ?? null).toBeNull();
  else if (mapped instanceof Date) expect((read as Date).getTime()).toBe(mapped.getTime());
  else if (typeof read === 'bigint') expect(Number(read)).toBe(mapped);
  else expect(read).toBe(mapped);
}

function expectSameRows(read: Array<Record<string, unknown>>, mapped: Row[], table: TableSpec) {
  expect(read.length).toBe(mapped.length);
  // Every 37th row and the last, every column.
  for (let i = 0; i < mapped.length; i += i === mapped.length - 1 ? 1 : Math.min(37, mapped.length - 1 - i)) {
    for (const column of table.columns)
      expectSameCell(read[i]![column.name], mapped[i]![column.name] ?? null);
  }
}

const temporary: string[] = [];
afterAll(async () => {
  for (const path of temporary) await rm(path, { recursive: true, force: true });
});

describe('parquetSink, one file per table', () => {
  it('holds at most maxBufferedRows rows across tables: past it, the fullest table is written as a row group', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory, rowGroupSize: 10_000, maxBufferedRows: 300 });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all);
    await sink.close();
    const largestBatch = Math.max(...all.map((b) => b.batch.rows.length));
    let groups = 0;
    for (const table of tables) {
      const mapped = rowsByTable.get(table.name) ?? [];
      const { rows, metadata } = await readParquet(directory.bytes(`${table.name}.parquet`)!);
      expectSameRows(rows, mapped, table);
      for (const group of metadata.row_groups) {
        expect(Number(group.num_rows)).toBeLessThanOrEqual(300 + largestBatch);
        groups++;
      }
    }
    // 3,000 rows in groups of at most a few hundred: many more groups than tables.
    expect(groups).toBeGreaterThan(tables.length + 3);
  });

  it('writes each table to <table>.parquet that hyparquet reads back: rows, column order, typed values and nulls', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory, rowGroupSize: 250 });
    expect(sink.kind).toBe('parquet');
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all);
    await sink.close();

    expect(directory.names()).toEqual(tables.map((t) => `${t.name}.parquet`).sort());
    const seenTypes = new Set<string>();
    for (const table of tables) {
      const mapped = rowsByTable.get(table.name) ?? [];
      const { rows, metadata, columns } = await readParquet(directory.bytes(`${table.name}.parquet`)!);
      expect(columns).toEqual(table.columns.map((c) => c.name));
      expect(Number(metadata.num_rows)).toBe(mapped.length);
      expect(metadata.row_groups.length).toBe(Math.ceil(mapped.length / 250));
      expectSameRows(rows, mapped, table);
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
    expect(sink.bytesWritten).toBe(
      tables.reduce((n, t) => n + directory.bytes(`${t.name}.parquet`)!.length, 0),
    );
  });

  it('declares the Parquet types: INT64, DOUBLE, BOOLEAN, DATE, UTC millisecond TIMESTAMP, UTF-8 strings, all nullable', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await sink.close();
    const table = tables.find((t) => new Set(t.columns.map((c) => c.type)).size >= 6)!;
    const { metadata, rows } = await readParquet(directory.bytes(`${table.name}.parquet`)!);
    // A table without rows is still a file with its columns.
    expect(rows).toEqual([]);
    const elements = new Map(metadata.schema.slice(1).map((e) => [e.name, e]));
    for (const column of table.columns) {
      const element = elements.get(column.name)!;
      expect(element.repetition_type).toBe('OPTIONAL');
      const expected = {
        integer: ['INT64', undefined],
        number: ['DOUBLE', undefined],
        boolean: ['BOOLEAN', undefined],
        date: ['INT32', 'DATE'],
        datetime: ['INT64', 'TIMESTAMP_MILLIS'],
        time: ['BYTE_ARRAY', 'UTF8'],
        choice: ['BYTE_ARRAY', 'UTF8'],
        text: ['BYTE_ARRAY', 'UTF8'],
      }[column.type];
      expect([element.type, element.converted_type]).toEqual(expected);
      if (column.type === 'datetime') {
        expect(element.logical_type).toEqual({ type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' });
      }
    }
  });

  it('writes to the file system the same files, under .partial until close, and reports every batch durable only at close', async () => {
    const path = await mkdtemp(join(tmpdir(), 'imednet-parquet-'));
    temporary.push(path);
    const directory = nodeDirectory(path);
    const sink = parquetSink({ directory, rowGroupSize: 400 });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    const half = all.slice(0, all.length / 2);
    await write(sink, half);
    expect(await sink.flush()).toEqual([]);
    const first = half[0]!.batch.table.name;
    expect(await directory.exists(`${first}.parquet.partial`)).toBe(true);
    expect(await directory.exists(`${first}.parquet`)).toBe(false);
    await write(sink, all.slice(all.length / 2));
    expect(await sink.flush()).toEqual([]);
    // Every batch at once, in the order written.
    expect(await sink.close()).toEqual(all.map((b) => b.id));

    for (const table of tables) {
      expect(await directory.exists(`${table.name}.parquet.partial`)).toBe(false);
      const { rows, columns, metadata } = await readParquet(
        await readFile(join(path, `${table.name}.parquet`)),
      );
      const mapped = rowsByTable.get(table.name) ?? [];
      expect(columns).toEqual(table.columns.map((c) => c.name));
      expect(metadata.row_groups.length).toBe(Math.ceil(mapped.length / 400));
      expectSameRows(rows, mapped, table);
    }
  });

  it('abort removes the unfinished .partial files and leaves no final file', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all.slice(0, 20));
    expect(directory.names().some((n) => n.endsWith('.partial'))).toBe(true);
    await sink.abort(new Error('stopped'));
    expect(directory.names()).toEqual([]);
  });

  it('on resume removes the .partial files of an interrupted run and writes the tables again', async () => {
    const directory = memoryDirectory();
    const first = parquetSink({ directory });
    await first.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(first, all.slice(0, 30));
    // Dropped without close: a crash. Nothing of it is durable, so the manifest lists no batch.
    const manifest: Manifest = {
      version: 1,
      studyKey: 'DEMO',
      shape: 'x',
      startedAt: new Date().toISOString(),
      batches: [],
    };
    const second = parquetSink({ directory });
    await second.open({ studyKey: 'DEMO', tables, resume: manifest });
    expect(directory.names()).toEqual([]);
    await write(second, all);
    await second.close();
    for (const table of tables) {
      const { rows } = await readParquet(directory.bytes(`${table.name}.parquet`)!);
      expect(rows.map((r) => Number(r.recordId))).toEqual(
        (rowsByTable.get(table.name) ?? []).map((r) => r.recordId),
      );
    }
  });
});

describe('parquetSink, Hive layout', () => {
  const records = (list: Array<Record<string, unknown>>) => list.map((r) => Number(r.recordId));

  /** Every part of every form, read back, by form. */
  async function readParts(directory: ReturnType<typeof memoryDirectory>) {
    const byForm = new Map<string, Array<{ part: number; rows: Array<Record<string, unknown>> }>>();
    for (const name of directory.names()) {
      const match = /^study=DEMO\/form=([^/]+)\/part-(\d+)\.parquet$/.exec(name);
      if (!match) continue;
      const { rows } = await readParquet(directory.bytes(name)!);
      const list = byForm.get(match[1]!) ?? [];
      list.push({ part: Number(match[2]), rows });
      byForm.set(match[1]!, list);
    }
    for (const list of byForm.values()) list.sort((a, b) => a.part - b.part);
    return byForm;
  }

  it('writes study=<key>/form=<table>/part-<n>.parquet, a new part after rowsPerFile rows at a batch boundary', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory, layout: 'hive', rowsPerFile: 300, rowGroupSize: 120 });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    const states = await write(sink, all);
    const flushed = (await sink.flush()) ?? [];
    const closed = (await sink.close()) ?? [];
    // Every batch is reported durable exactly once, some at flush (finished parts), the rest at close.
    expect(flushed.length).toBeGreaterThan(0);
    expect([...flushed, ...closed].sort()).toEqual(all.map((b) => b.id).sort());
    expect(directory.names().filter((n) => n.endsWith('.partial'))).toEqual([]);

    const parts = await readParts(directory);
    expect([...parts.keys()].sort()).toEqual(tables.map((t) => t.name).sort());
    for (const table of tables) {
      const mapped = rowsByTable.get(table.name) ?? [];
      const list = parts.get(table.name)!;
      expect(list.map((p) => p.part)).toEqual(list.map((_, i) => i));
      // Each part but the last holds rowsPerFile rows up to the end of the batch that reached it.
      for (const { rows } of list.slice(0, -1)) {
        expect(rows.length).toBeGreaterThanOrEqual(300);
        expect(rows.length).toBeLessThan(300 + 100);
      }
      expect(list.flatMap((p) => records(p.rows))).toEqual(mapped.map((r) => r.recordId));
      expectSameRows(
        list.flatMap((p) => p.rows),
        mapped,
        table,
      );
    }
    // The resume state names the part each batch went to.
    const ae = all.filter((b) => b.batch.table.name === 'AE');
    expect(states.get(ae[0]!.id)).toEqual({ part: 0 });
    expect(states.get(ae.at(-1)!.id)).toEqual({ part: parts.get('AE')!.length - 1 });
  });

  it('resumes after an interruption: finished parts kept, unfinished ones dropped, every record exactly once', async () => {
    const directory = memoryDirectory();
    const options = { directory, layout: 'hive' as const, rowsPerFile: 250, rowGroupSize: 100 };
    const first = parquetSink(options);
    await first.open({ studyKey: 'DEMO', tables, resume: undefined });
    const cut = Math.floor(all.length * 0.6);
    const states = await write(first, all.slice(0, cut));
    const durable = (await first.flush()) ?? [];
    // Written after the flush and never reported durable: the rerun must write these again.
    await write(first, all.slice(cut, cut + 5));
    expect(durable.length).toBeGreaterThan(0);
    expect(directory.names().some((n) => n.endsWith('.partial'))).toBe(true);

    const byId = new Map(all.map((b) => [b.id, b.batch]));
    const entries: ManifestEntry[] = durable.map((id) => ({
      batchId: id,
      table: byId.get(id)!.table.name,
      rows: byId.get(id)!.rows.length,
      sha256: '',
      state: JSON.parse(JSON.stringify(states.get(id))),
    }));
    const manifest: Manifest = { version: 1, studyKey: 'DEMO', shape: 'x', startedAt: '', batches: entries };

    const second = parquetSink(options);
    await second.open({ studyKey: 'DEMO', tables, resume: manifest });
    expect(directory.names().filter((n) => n.endsWith('.partial'))).toEqual([]);
    const done = new Set(durable);
    await write(
      second,
      all.filter((b) => !done.has(b.id)),
    );
    await second.flush();
    await second.close();

    const parts = await readParts(directory);
    for (const table of tables) {
      const list = parts.get(table.name)!;
      expect(list.map((p) => p.part)).toEqual(list.map((_, i) => i));
      expect(list.flatMap((p) => records(p.rows))).toEqual(
        (rowsByTable.get(table.name) ?? []).map((r) => r.recordId),
      );
    }
  });

  it('a fresh export removes the parts an earlier export left, so no record is there twice', async () => {
    const directory = memoryDirectory();
    const big = parquetSink({ directory, layout: 'hive', rowsPerFile: 100 });
    await big.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(big, all);
    await big.close();
    const small = parquetSink({ directory, layout: 'hive', rowsPerFile: 100_000 });
    await small.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(small, all);
    await small.close();
    const parts = await readParts(directory);
    for (const table of tables) expect(parts.get(table.name)!.map((p) => p.part)).toEqual([0]);
  });

  it('escapes path values: [A-Za-z0-9._-] kept, the rest percent-encoded as UTF-8', () => {
    expect(hiveValue('DEMO_1.a-b')).toBe('DEMO_1.a-b');
    expect(hiveValue('a b/c=é')).toBe('a%20b%2Fc%3D%C3%A9');
    expect(hiveValue('..')).toBe('%2E%2E');
  });
});

describe('parquetSink settings and bad input', () => {
  it('refuses bad options with ExportConfigurationError, before writing anything', () => {
    const directory = memoryDirectory();
    expect(() => parquetSink({} as never)).toThrow(ExportConfigurationError);
    expect(() => parquetSink({ directory, layout: 'flat' as never })).toThrow(/layout/);
    expect(() => parquetSink({ directory, rowGroupSize: 0 })).toThrow(/rowGroupSize/);
    expect(() => parquetSink({ directory, layout: 'hive', rowsPerFile: 1.5 })).toThrow(/rowsPerFile/);
    expect(directory.names()).toEqual([]);
  });

  it('a value that does not fit its column fails the batch naming batch, record and column, never the value', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    const { batch, id } = all[0]!;
    const column =
      batch.table.columns.find((c) => c.type === 'integer' && c.kind === 'variable') ??
      batch.table.columns.find((c) => c.name === 'siteId')!;
    const bad: RowBatch = {
      table: batch.table,
      rows: batch.rows.map((r, i) => (i === 1 ? { ...r, [column.name]: 'SECRET-VALUE' } : r)),
    };
    const error = await sink.writeBatch(bad, id, canonicalBytes(bad)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(id);
    expect((error as Error).message).toContain(column.name);
    expect((error as Error).message).toContain(String(batch.rows[1]!.recordId));
    expect((error as Error).message).not.toContain('SECRET');
    // Nothing of the failed batch was kept: the same id written right afterwards lands once.
    await sink.writeBatch(batch, id, canonicalBytes(batch));
    await sink.close();
    const { rows } = await readParquet(directory.bytes(`${batch.table.name}.parquet`)!);
    expect(rows.length).toBe(batch.rows.length);
  });

  it('a second close finishes nothing again, and a manifest of the other layout is refused before anything is removed', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    await write(sink, all.slice(0, 10));
    await sink.close();
    const before = directory.names().map((n) => [n, directory.bytes(n)!.length]);
    expect(await sink.close()).toEqual([]);
    expect(directory.names().map((n) => [n, directory.bytes(n)!.length])).toEqual(before);

    const { batch, id } = all[0]!;
    const entry = { batchId: id, table: batch.table.name, rows: batch.rows.length, sha256: '' };
    const hive = parquetSink({ directory, layout: 'hive' });
    const resume: Manifest = { version: 1, studyKey: 'DEMO', shape: 'x', startedAt: '', batches: [entry] };
    await expect(hive.open({ studyKey: 'DEMO', tables, resume })).rejects.toThrow(ExportConfigurationError);
    const flat = parquetSink({ directory });
    const hiveResume = { ...resume, batches: [{ ...entry, state: { part: 0 } }] };
    await expect(flat.open({ studyKey: 'DEMO', tables, resume: hiveResume })).rejects.toThrow(/hive|layout/);
    expect(directory.names().map((n) => [n, directory.bytes(n)!.length])).toEqual(before);
  });

  it('a retried writeBatch of the same batch does not write its rows twice', async () => {
    const directory = memoryDirectory();
    const sink = parquetSink({ directory, rowGroupSize: 50 });
    await sink.open({ studyKey: 'DEMO', tables, resume: undefined });
    const { batch, id } = all[0]!;
    await sink.writeBatch(batch, id, canonicalBytes(batch));
    await sink.writeBatch(batch, id, canonicalBytes(batch));
    expect(await sink.close()).toEqual([id]);
    const { rows } = await readParquet(directory.bytes(`${batch.table.name}.parquet`)!);
    expect(rows.length).toBe(batch.rows.length);
  });

  it('a missing hyparquet-writer fails open() with ExportConfigurationError naming the package', async () => {
    vi.resetModules();
    vi.doMock('hyparquet-writer', () => {
      throw new Error('Cannot find package');
    });
    try {
      const fresh = await import('../../../src/plugins/sinks/parquet.js');
      const errors = await import('../../../src/plugins/sinks/errors.js');
      const sink = fresh.parquetSink({ directory: memoryDirectory() });
      const error = await sink.open({ studyKey: 'DEMO', tables, resume: undefined }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.ExportConfigurationError);
      expect((error as Error).message).toMatch(/npm install hyparquet-writer/);
    } finally {
      vi.doUnmock('hyparquet-writer');
      vi.resetModules();
    }
  });
});

describe('parquetSink through exportRows', () => {
  /** The study's batches, the stream failing after `stopAfter` of them (an interrupted export). */
  async function* stream(stopAfter = Number.POSITIVE_INFINITY): AsyncGenerator<RowBatch> {
    let n = 0;
    for (const { batch } of all) {
      if (n++ === stopAfter) throw new Error('connection lost');
      yield batch;
    }
  }

  it.each([
    ['hive', { layout: 'hive' as const, rowsPerFile: 200, rowGroupSize: 100 }],
    ['file-per-table', { rowGroupSize: 100 }],
  ])('an interrupted %s export, run again, ends with every record exactly once', async (layout, settings) => {
    const directory = memoryDirectory();
    const options = { studyKey: 'DEMO', tables, checkpointEvery: 4, retryDelay: 0 };
    await expect(
      exportRows(stream(Math.floor(all.length / 2)), parquetSink({ directory, ...settings }), options),
    ).rejects.toThrow(/connection lost/);
    expect(directory.names().filter((n) => n.endsWith('.partial'))).toEqual([]);

    const summary = await exportRows(stream(), parquetSink({ directory, ...settings }), options);
    expect(summary.resumed).toBe(true);
    // Hive keeps the parts finished and recorded before the interruption; one file per table has nothing finished.
    if (layout === 'hive') expect(summary.skippedBatches).toBeGreaterThan(0);
    else expect(summary.skippedBatches).toBe(0);
    expect(summary.batches + summary.skippedBatches).toBe(all.length);

    const recordIds: number[] = [];
    for (const name of directory.names().filter((n) => n.endsWith('.parquet'))) {
      const { rows } = await readParquet(directory.bytes(name)!);
      recordIds.push(...rows.map((r) => Number(r.recordId)));
    }
    expect(recordIds.sort((a, b) => a - b)).toEqual(
      [...study.records].map((r) => r.recordId).sort((a, b) => a - b),
    );
    const manifest = await parquetSink({ directory }).manifest.load();
    expect(manifest?.completedAt).toBeDefined();
    expect(manifest?.batches.length).toBe(all.length);
  });
});
