import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { csvField, csvSink } from '../../../src/plugins/sinks/csv.js';
import {
  ExportBatchError,
  ExportConfigurationError,
  type ExportProgress,
  type ExportSink,
  exportRows,
  exportStudy,
  memoryDirectory,
} from '../../../src/plugins/sinks/index.js';
import { jsonSink, ndjsonSink } from '../../../src/plugins/sinks/json.js';
import { nodeDirectory } from '../../../src/plugins/sinks/node.js';
import { type Row, workflows } from '../../../src/plugins/workflows/index.js';
import { withWriteBatch } from '../../support/sinks.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

const { study } = useMockApi({ records: 1500, subjects: 40, sites: 3 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imednet-sink-'));
  temps.push(dir);
  return dir;
};

/** The mapped rows of the study, per table, as the workflows plugin gives them. */
async function expectedRows() {
  const tables = new Map<string, Row[]>();
  for await (const { table, rows } of client().workflows.rows('DEMO')) {
    tables.set(table.name, [...(tables.get(table.name) ?? []), ...rows]);
  }
  return tables;
}

/** A row's cells as CSV text would give them back (read by csv-parse, not by our writer). */
function asCsvText(row: Row, types: Map<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      v === null
        ? ''
        : v instanceof Date
          ? types.get(k) === 'date'
            ? v.toISOString().slice(0, 10)
            : v.toISOString()
          : String(v),
    ]),
  );
}

describe('the CSV, NDJSON and JSON sinks through exportStudy', () => {
  it('CSV: a file per form, read back by an independent parser, every row and value as the mapper gave it', async () => {
    const dir = await tempDir();
    const progress: ExportProgress[] = [];
    const summary = await exportStudy(
      client(),
      'DEMO',
      csvSink({ directory: nodeDirectory(dir), formulaGuard: false }),
      {
        batchSize: 200,
        onProgress: (p) => progress.push(p),
      },
    );
    const expected = await expectedRows();
    const tables = await client().workflows.tables('DEMO');
    // Every table has its file, a form with no record too (a header only); nothing is left .partial.
    const files = (await readdir(dir)).sort();
    expect(files).toEqual([...tables.map((t) => `${t.name}.csv`), '.imednet-export.json'].sort());
    for (const table of tables) {
      const text = await readFile(join(dir, `${table.name}.csv`), 'utf8');
      const records = parse(text, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
      const rows = expected.get(table.name) ?? [];
      const types = new Map(table.columns.map((c) => [c.name, c.type]));
      expect(records.length).toBe(rows.length);
      expect(records).toEqual(rows.map((r) => asCsvText(r, types)));
    }
    expect(summary.rows).toBe(study.records.length);
    expect(summary.skippedBatches).toBe(0);
    expect(progress.at(-1)!.rows).toBe(summary.rows);
    expect(progress.at(-1)!.bytes).toBe(summary.bytes);
    const manifest = JSON.parse(await readFile(join(dir, '.imednet-export.json'), 'utf8'));
    expect(manifest.completedAt).toEqual(expect.any(String));
    expect(manifest.batches.reduce((n: number, b: { rows: number }) => n + b.rows, 0)).toBe(
      study.records.length,
    );
  });

  it('NDJSON and JSON: each line or element is the mapped row, dates as ISO 8601', async () => {
    const expected = await expectedRows();
    const tables = await client().workflows.tables('DEMO');
    const plain = (row: Row) => JSON.parse(JSON.stringify(row));
    const nd = memoryDirectory();
    await exportStudy(client(), 'DEMO', ndjsonSink({ directory: nd }), { batchSize: 300 });
    const js = memoryDirectory();
    await exportStudy(client(), 'DEMO', jsonSink({ directory: js }), { batchSize: 300 });
    for (const table of tables) {
      const rows = (expected.get(table.name) ?? []).map(plain);
      const lines = new TextDecoder().decode(nd.bytes(`${table.name}.ndjson`)!).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => JSON.parse(l))).toEqual(rows);
      expect(JSON.parse(new TextDecoder().decode(js.bytes(`${table.name}.json`)!))).toEqual(rows);
    }
    // Column order is kept in every line.
    const first = new TextDecoder().decode(nd.bytes(`${tables[0]!.name}.ndjson`)!).split('\n')[0]!;
    expect(Object.keys(JSON.parse(first))).toEqual(tables[0]!.columns.map((c) => c.name));
  });

  it('the CSV formula guard marks text that a spreadsheet would run, and never a number', () => {
    const text = { name: 'x', type: 'text', kind: 'variable' } as const;
    const guarded = ['=SUM(A1)', '+cmd', '-rm', '@x', '\tTAB', '\rCR'].map((v) => csvField(v, text, true));
    expect(guarded).toEqual(["'=SUM(A1)", "'+cmd", "'-rm", "'@x", "'\tTAB", '"\'\rCR"']);
    expect(['-5', '+3.2', '-1e3', 'plain', ''].map((v) => csvField(v, text, true))).toEqual([
      '-5',
      '+3.2',
      '-1e3',
      'plain',
      '',
    ]);
    expect(csvField(-5, { ...text, type: 'number' }, true)).toBe('-5');
    expect(csvField('=SUM(A1)', text, false)).toBe('=SUM(A1)');
    expect(csvField('a "quoted", value\nnext', text, true)).toBe('"a ""quoted"", value\nnext"');
  });
});

/** Batches from the study, with a sink that fails after `n` batches (an interruption). */
function failingAfter(sink: ExportSink, n: number): ExportSink {
  let written = 0;
  return withWriteBatch(sink, async (batch, id, canonical) => {
    if (++written > n) throw new ExportConfigurationError('interrupted on purpose');
    return sink.writeBatch(batch, id, canonical);
  });
}

describe('the export runner', () => {
  it('resumes an interrupted CSV export: skips what was recorded, cuts back what was not, every row once', async () => {
    const dir = await tempDir();
    const c = client();
    const tables = await c.workflows.tables('DEMO');
    const run = (sink: ExportSink, options = {}) =>
      exportRows(c.workflows.rows('DEMO', { batchSize: 100 }), sink, {
        studyKey: 'DEMO',
        tables,
        checkpointEvery: 3,
        ...options,
      });
    await expect(run(failingAfter(csvSink({ directory: nodeDirectory(dir) }), 8))).rejects.toThrow(
      'interrupted on purpose',
    );
    // Unfinished files keep the .partial name: none looks complete.
    const after = await readdir(dir);
    expect(after.filter((f) => f.endsWith('.csv'))).toEqual([]);
    expect(after.some((f) => f.endsWith('.csv.partial'))).toBe(true);

    const resumed = await run(csvSink({ directory: nodeDirectory(dir) }));
    expect(resumed.resumed).toBe(true);
    expect(resumed.skippedBatches).toBe(6); // two checkpoints of three; batches 7 and 8 were cut back
    expect(resumed.rows + resumed.skippedRows).toBe(study.records.length);
    const ids: number[] = [];
    for (const table of tables) {
      const records = parse(await readFile(join(dir, `${table.name}.csv`), 'utf8'), {
        columns: true,
      }) as Record<string, string>[];
      ids.push(...records.map((r) => Number(r.recordId)));
    }
    expect(ids.sort((a, b) => a - b)).toEqual([...study.records].map((r) => r.recordId));

    // Run again: the destination already holds the whole export.
    const again = await run(csvSink({ directory: nodeDirectory(dir) }));
    expect(again.alreadyComplete).toBe(true);
    expect(again.rows).toBe(0);
  });

  it('refuses to resume onto an export of another shape, and restart: true starts over', async () => {
    const out = memoryDirectory();
    const c = client();
    const all = await c.workflows.tables('DEMO');
    await exportRows(c.workflows.rows('DEMO'), ndjsonSink({ directory: out }), {
      studyKey: 'DEMO',
      tables: all,
    });
    const some = await c.workflows.tables('DEMO', { forms: ['AE'] });
    const run = (restart: boolean) =>
      exportRows(c.workflows.rows('DEMO', { forms: ['AE'] }), ndjsonSink({ directory: out }), {
        studyKey: 'DEMO',
        tables: some,
        restart,
      });
    await expect(run(false)).rejects.toBeInstanceOf(ExportConfigurationError);
    const fresh = await run(true);
    expect(fresh.resumed).toBe(false);
    expect(fresh.rows).toBe([...study.records].filter((r) => r.formKey === 'AE').length);
  });

  it('retries a failed write, cutting back what the failed attempt left, then gives up with ExportBatchError', async () => {
    const out = memoryDirectory();
    const c = client();
    const tables = await c.workflows.tables('DEMO', { forms: ['VS'] });
    const sink = ndjsonSink({ directory: out });
    let failures = 2;
    const flaky = withWriteBatch(sink, async (batch, id, canonical) => {
      const state = await sink.writeBatch(batch, id, canonical);
      // Written, then "the connection dropped": the attempt counts as failed.
      if (id === 'VS:1' && failures-- > 0) throw new Error('ECONNRESET');
      return state;
    });
    const summary = await exportRows(c.workflows.rows('DEMO', { forms: ['VS'], batchSize: 50 }), flaky, {
      studyKey: 'DEMO',
      tables,
      retryDelay: 1,
    });
    const lines = new TextDecoder().decode(out.bytes('VS.ndjson')!).trim().split('\n');
    expect(lines.length).toBe(summary.rows);
    expect(new Set(lines.map((l) => JSON.parse(l).recordId)).size).toBe(lines.length);

    const broken = withWriteBatch(sink, async () => Promise.reject(new Error('disk full')));
    const error = await exportRows(c.workflows.rows('DEMO', { forms: ['VS'] }), broken, {
      studyKey: 'DEMO',
      tables,
      retries: 2,
      retryDelay: 1,
      restart: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportBatchError);
    expect((error as ExportBatchError).batchId).toBe('VS:0');
    expect((error as ExportBatchError).writeAttempts).toBe(3);
  });

  it('refuses bad settings before writing anything', async () => {
    expect(() => csvSink({} as never)).toThrow(ExportConfigurationError);
    expect(() => nodeDirectory('')).toThrow(ExportConfigurationError);
    const out = memoryDirectory();
    const c = client();
    const tables = await c.workflows.tables('DEMO');
    await expect(
      exportRows(c.workflows.rows('DEMO'), csvSink({ directory: out }), {
        studyKey: 'DEMO',
        tables,
        retries: -1,
      }),
    ).rejects.toThrow(/retries/);
    await expect(
      exportRows(c.workflows.rows('DEMO'), csvSink({ directory: out }), { studyKey: '', tables }),
    ).rejects.toThrow(/studyKey/);
    await expect(exportStudy({} as never, 'DEMO', csvSink({ directory: out }))).rejects.toThrow(
      /workflows plugin/,
    );
    expect(out.names()).toEqual([]);
  });
});

describe('output directories', () => {
  it('read() streams back what was written, in memory and on disk, and rejects a missing file', async () => {
    const bytes = new Uint8Array(3 << 20).map((_, i) => (i * 7) % 251);
    for (const directory of [memoryDirectory(), nodeDirectory(await tempDir())]) {
      const file = await directory.open('spill.bin', 0);
      await file.write(bytes.subarray(0, 1000));
      await file.write(bytes.subarray(1000));
      await file.close();
      const chunks: Uint8Array[] = [];
      for await (const chunk of directory.read!('spill.bin')) chunks.push(chunk);
      expect(chunks.length).toBeGreaterThan(0);
      expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
      await expect(
        (async () => {
          for await (const _ of directory.read!('missing.bin')) void _;
        })(),
      ).rejects.toThrow();
    }
  });

  it('nodeDirectory makes missing folders, and a folder it cannot make is a prompt error naming it', async () => {
    const root = await tempDir();
    const nested = nodeDirectory(join(root, 'a', 'b'));
    const file = await nested.open('study=S/form=AE/part-0.csv', 0);
    await file.write(new TextEncoder().encode('x'));
    await file.close();
    expect(await readFile(join(root, 'a', 'b', 'study=S', 'form=AE', 'part-0.csv'), 'utf8')).toBe('x');
    // /proc exists but takes no folders: Node's recursive mkdir would never return there.
    const refused = nodeDirectory('/proc/imednet-nope/x');
    const error = await refused.open('AE.csv', 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportConfigurationError);
    expect((error as Error).message).toBe('Cannot create the output directory /proc/imednet-nope/x');
  });
});
