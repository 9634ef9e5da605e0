import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Record as SdkRecord } from '../../../src/endpoints/records.js';
import { DuckdbSinkError, type DuckdbSinkOptions, duckdbSink } from '../../../src/plugins/sinks/duckdb.js';
import { ExportBatchError, ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { exportRows } from '../../../src/plugins/sinks/export.js';
import type { ExportSink } from '../../../src/plugins/sinks/types.js';
import {
  type Column,
  type MapOptions,
  mapRecords,
  planTables,
  type Row,
  type RowBatch,
  type TableSpec,
} from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { type DuckdbReader, ident, openDuckdb } from '../../support/duckdb.js';
import { structureOf } from '../../support/fake-structure.js';
import { withWriteBatch } from '../../support/sinks.js';

const study = createFakeStudy({ studyKey: 'DDBSTUDY', records: 3000, subjects: 80, sites: 4 });

const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});
/** A fresh database file's path, in a folder of its own. */
const freshPath = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imednet-duckdb-'));
  temps.push(dir);
  return join(dir, 'export.duckdb');
};

/** Sinks made by a test, released after it (a sink that only read its manifest holds the file). */
const made: ExportSink[] = [];
afterEach(async () => {
  for (const sink of made.splice(0)) await sink.abort();
});
const sinkFor = (path: string, options: Partial<DuckdbSinkOptions> = {}) => {
  const sink = duckdbSink({ path, ...options });
  made.push(sink);
  return sink;
};

/** Readers opened by a test, closed after it. */
const readers: DuckdbReader[] = [];
afterEach(() => {
  for (const reader of readers.splice(0)) reader.close();
});
const read = async (path: string) => {
  const reader = await openDuckdb(path);
  readers.push(reader);
  return reader;
};

/** The study's tables and every batch of its rows (3,000 records, several batches per table). */
async function mapped(mapOptions: MapOptions = {}) {
  const options = { batchSize: 100, ...mapOptions };
  const structure = structureOf(study);
  const tables = planTables(structure, options);
  const batches: RowBatch[] = [];
  for await (const batch of mapRecords([...study.records] as unknown as SdkRecord[], structure, options)) {
    batches.push(batch);
  }
  return { tables, batches };
}

async function* replay(batches: readonly RowBatch[]): AsyncGenerator<RowBatch> {
  yield* batches;
}

/** Drives a sink as the runner does: open, every batch with its id, flush, close. */
async function run(sink: ExportSink, tables: readonly TableSpec[], batches: readonly RowBatch[]) {
  await sink.open({ studyKey: study.studyKey, tables, resume: undefined });
  const sequence = new Map<string, number>();
  for (const batch of batches) {
    const n = sequence.get(batch.table.name) ?? 0;
    sequence.set(batch.table.name, n + 1);
    expect(await sink.writeBatch(batch, `${batch.table.name}:${n}`, new Uint8Array())).toBeUndefined();
  }
  expect(await sink.flush()).toBeUndefined();
  expect(await sink.close()).toBeUndefined();
}

const rowsOf = (batches: readonly RowBatch[], table: string) =>
  batches.filter((b) => b.table.name === table).flatMap((b) => b.rows);

async function counts(reader: DuckdbReader, tables: readonly TableSpec[]) {
  const out: { [table: string]: number } = {};
  for (const table of tables) {
    const [row] = await reader.all(`select count(*) as n from ${ident(table.name)}`);
    out[table.name] = row!.n as number;
  }
  return out;
}

function expectRowEqual(actual: Record<string, unknown>, expected: Row, columns: readonly Column[]) {
  for (const column of columns) {
    const want = expected[column.name] ?? null;
    const got = actual[column.name];
    if (want instanceof Date) {
      expect(got, column.name).toBeInstanceOf(Date);
      expect((got as Date).toISOString(), column.name).toBe(want.toISOString());
    } else {
      expect(got, column.name).toEqual(want);
    }
  }
}

/** Every `step`-th row, read back with SQL by its key, equals the row written. */
async function expectSampleEqual(reader: DuckdbReader, spec: TableSpec, rows: readonly Row[], step = 37) {
  const long = spec.columns.some((c) => c.name === 'variableName');
  let checked = 0;
  for (let i = 0; i < rows.length; i += step) {
    const row = rows[i]!;
    const found = await reader.all(
      `select * from ${ident(spec.name)} where study_key = $1 and "recordId" = $2${long ? ' and "variableName" = $3' : ''}`,
      [study.studyKey, row.recordId as number, ...(long ? [row.variableName as string] : [])],
    );
    expect(found, `record ${row.recordId}`).toHaveLength(1);
    expectRowEqual(found[0]!, row, spec.columns);
    checked++;
  }
  return checked;
}

describe('duckdbSink (a DuckDB database file, read back with SQL)', () => {
  it('creates a table per form: study_key, then the columns typed from the column types, keyed by (study_key, recordId)', async () => {
    const path = await freshPath();
    const { tables } = await mapped();
    const sink = sinkFor(path);
    await sink.open({ studyKey: study.studyKey, tables, resume: undefined });
    await sink.close();
    const expectedType = {
      integer: 'BIGINT',
      number: 'DOUBLE',
      boolean: 'BOOLEAN',
      date: 'DATE',
      datetime: 'TIMESTAMP WITH TIME ZONE',
      time: 'VARCHAR',
      choice: 'VARCHAR',
      text: 'VARCHAR',
    } as const;
    const reader = await read(path);
    const found = await reader.all(
      "select table_name, column_name, data_type from information_schema.columns where table_schema = 'main' order by table_name, ordinal_position",
    );
    const typesSeen = new Set<string>();
    for (const spec of tables) {
      const columns = found.filter((c) => c.table_name === spec.name);
      // Names exactly as the mapper gave them, in order.
      expect(columns.map((c) => c.column_name)).toEqual(['study_key', ...spec.columns.map((c) => c.name)]);
      expect(columns.map((c) => c.data_type)).toEqual([
        'VARCHAR',
        ...spec.columns.map((c) => expectedType[c.type]),
      ]);
      for (const c of spec.columns) typesSeen.add(c.type);
      const [key] = await reader.all(
        "select constraint_column_names as cols from duckdb_constraints() where constraint_type = 'PRIMARY KEY' and table_name = $1",
        [spec.name],
      );
      expect((key!.cols as string[]).slice().sort()).toEqual(['recordId', 'study_key']);
    }
    expect([...typesSeen]).toEqual(expect.arrayContaining(['boolean', 'date', 'integer', 'number', 'text']));
    expect(found.filter((c) => c.table_name === 'imednet_export_manifest').map((c) => c.column_name)).toEqual(
      ['study_key', 'sink', 'manifest', 'updated_at'],
    );
    // Staging tables are temporary: the file holds only the export's tables and the manifest.
    const names = new Set(found.map((c) => c.table_name));
    expect([...names].sort()).toEqual([...tables.map((t) => t.name), 'imednet_export_manifest'].sort());
  });

  it('writes every record once with its values, and a batch written twice is still one row per record', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped();
    expect(batches.length).toBeGreaterThan(tables.length);
    await run(sinkFor(path), tables, batches);
    // The same batches again, through a second sink on the same file: an upsert changes nothing.
    await run(sinkFor(path), tables, batches.slice(0, 5));

    const expected: { [table: string]: number } = {};
    for (const spec of tables)
      expected[spec.name] = [...study.records].filter((r) => r.formKey === spec.name).length;
    expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBe(3000);
    const reader = await read(path);
    expect(await counts(reader, tables)).toEqual(expected);

    let checked = 0;
    const kinds = new Set<string>();
    for (const spec of tables) {
      checked += await expectSampleEqual(reader, spec, rowsOf(batches, spec.name));
      for (const row of rowsOf(batches, spec.name))
        for (const column of spec.columns) {
          const value = row[column.name];
          kinds.add(value === null ? 'null' : value instanceof Date ? `Date:${column.type}` : typeof value);
        }
    }
    expect(checked).toBeGreaterThan(50);
    expect([...kinds]).toEqual(
      expect.arrayContaining(['number', 'string', 'boolean', 'null', 'Date:date', 'Date:datetime']),
    );
  });

  it('the long layout: one records table keyed by (study_key, recordId, variableName), every value once', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped({ layout: 'long', batchSize: 2000 });
    expect(tables.map((t) => t.name)).toEqual(['records']);
    await run(sinkFor(path), tables, batches);
    await run(sinkFor(path), tables, batches.slice(0, 3));
    const reader = await read(path);
    const total = batches.reduce((n, b) => n + b.rows.length, 0);
    expect(await counts(reader, tables)).toEqual({ records: total });
    const [key] = await reader.all(
      "select constraint_column_names as cols from duckdb_constraints() where constraint_type = 'PRIMARY KEY' and table_name = 'records'",
    );
    expect((key!.cols as string[]).slice().sort()).toEqual(['recordId', 'study_key', 'variableName']);
    expect(await expectSampleEqual(reader, tables[0]!, rowsOf(batches, 'records'), 211)).toBeGreaterThan(20);
  });

  it('schema and tablePrefix place the tables; names with quotes, spaces and dots are kept as they are', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped({ header: 'label' });
    // A column named by its label, odd characters and all.
    const odd = tables.flatMap((t) => t.columns).filter((c) => /[^A-Za-z0-9_]/.test(c.name));
    expect(odd.length).toBeGreaterThan(0);
    await run(sinkFor(path, { schema: 'edc', tablePrefix: 'my "study". ' }), tables, batches);
    const reader = await read(path);
    const spec = tables[0]!;
    const columns = await reader.all(
      "select column_name from information_schema.columns where table_schema = 'edc' and table_name = $1 order by ordinal_position",
      [`my "study". ${spec.name}`],
    );
    expect(columns.map((c) => c.column_name)).toEqual(['study_key', ...spec.columns.map((c) => c.name)]);
  });

  it('resumes an interrupted export: the tables end with every record exactly once', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped();
    const options = { studyKey: study.studyKey, tables, retries: 0, checkpointEvery: 4 };
    let writes = 0;
    const base = sinkFor(path);
    const interrupted = withWriteBatch(base, async (batch, batchId, canonical) => {
      if (++writes > 11) throw new Error('simulated interruption');
      return base.writeBatch(batch, batchId, canonical);
    });
    const first = await exportRows(replay(batches), interrupted, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(ExportBatchError);
    // The failed export released the file: another process can open it for writing.
    expect(await holdFile(path, 0)).toBe(0);
    const recorded = (await sinkFor(path).manifest.load(study.studyKey))!;
    expect(recorded.completedAt).toBeUndefined();
    // Checkpoints every 4 batches: 8 of the 11 written were recorded; 3 are in the tables but not recorded.
    expect(recorded.batches).toHaveLength(8);
    await made.pop()!.abort();

    const summary = await exportRows(replay(batches), sinkFor(path), options);
    expect(summary.resumed).toBe(true);
    expect(summary.skippedBatches).toBe(8);
    expect(summary.batches).toBe(batches.length - 8);
    const reader = await read(path);
    const expected: { [table: string]: number } = {};
    for (const spec of tables) expected[spec.name] = rowsOf(batches, spec.name).length;
    expect(await counts(reader, tables)).toEqual(expected);
    for (const spec of tables) {
      const [row] = await reader.all(
        `select count(distinct "recordId") as n from ${ident(spec.name)} where study_key = $1`,
        [study.studyKey],
      );
      expect(row!.n).toBe(expected[spec.name]);
    }
    const [manifest] = await reader.all('select manifest from imednet_export_manifest');
    expect(JSON.parse(manifest!.manifest as string).completedAt).toEqual(expect.any(String));
  });

  it('a rerun of a finished export writes nothing', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped();
    await exportRows(replay(batches), sinkFor(path), { studyKey: study.studyKey, tables });
    const again = await exportRows(replay(batches), sinkFor(path), { studyKey: study.studyKey, tables });
    expect(again.alreadyComplete).toBe(true);
    expect(again.batches).toBe(0);
  });

  it('two exports one after the other into one file, in one process, are both in the file after it exits', async () => {
    // The CLI's `export A B --to duckdb`: a sink per study, the first closed before the second
    // opens. DuckDB must not hold the file twice in one process (a lock does not stop a process
    // from itself): the first database, destroyed at exit, would write over the second's tables.
    const path = await freshPath();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'duckdb-child.ts'),
        path,
        study.studyKey,
        '3000',
        '80',
        '4',
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const { tables, batches } = await mapped();
    const reader = await read(path);
    for (const schema of ['first', 'second']) {
      for (const table of tables) {
        const [row] = await reader.all(`select count(*) as n from ${ident(schema)}.${ident(table.name)}`);
        expect({ schema, table: table.name, rows: row!.n }).toEqual({
          schema,
          table: table.name,
          rows: rowsOf(batches, table.name).length,
        });
      }
    }
  }, 60_000);

  it('refuses an existing table with other columns, before writing anything', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped();
    await run(sinkFor(path), tables, batches.slice(0, 2));
    const other = tables.map((t, i) =>
      i === 0
        ? { ...t, columns: t.columns.map((c, j) => (j === 2 ? { ...c, type: 'text' as const } : c)) }
        : t,
    );
    const error = await sinkFor(path)
      .open({ studyKey: study.studyKey, tables: other, resume: undefined })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportConfigurationError);
    expect((error as Error).message).toMatch(/exists with other columns: "siteId" is BIGINT, not VARCHAR/);
  });

  it('a value of the wrong type fails the batch without the value in the message, and leaves no row of it', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped();
    const batch = batches[0]!;
    const secret = 'PATIENT-NAME-Jane-Doe';
    const bad: RowBatch = {
      table: batch.table,
      rows: batch.rows.map((r, i) => (i === 3 ? { ...r, siteId: secret } : r)),
    };
    const sink = sinkFor(path);
    await sink.open({ studyKey: study.studyKey, tables, resume: undefined });
    const error = await sink
      .writeBatch(bad, `${batch.table.name}:0`, new Uint8Array())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuckdbSinkError);
    expect((error as Error).message).toMatch(/not a integer/);
    expect((error as Error).message).not.toContain(secret);
    // The good batch written after it holds its rows and nothing of the failed one.
    await sink.writeBatch(batch, `${batch.table.name}:0`, new Uint8Array());
    await sink.close();
    const reader = await read(path);
    expect(await reader.all(`select count(*) as n from ${ident(batch.table.name)}`)).toEqual([
      { n: batch.rows.length },
    ]);
  });

  it('lets go of the file when an export finishes and after a manifest read: another process can write it', async () => {
    // The runner records completion after close: that write must not hold the file on.
    const path = await freshPath();
    const { tables, batches } = await mapped();
    await exportRows(replay(batches), sinkFor(path), { studyKey: study.studyKey, tables });
    expect(await holdFile(path, 0)).toBe(0);
    expect((await sinkFor(path).manifest.load(study.studyKey))?.completedAt).toEqual(expect.any(String));
    expect(await holdFile(path, 0)).toBe(0);
  });

  it('closes the file: after close another process can open it for writing', async () => {
    const path = await freshPath();
    const { tables, batches } = await mapped();
    await run(sinkFor(path), tables, batches.slice(0, 2));
    const code = await holdFile(path, 0);
    expect(code).toBe(0);
  });

  it('a file another process holds open: ExportConfigurationError saying so, nothing written', async () => {
    const path = await freshPath();
    const { tables } = await mapped();
    await run(sinkFor(path), tables, []);
    const child = spawnHolder(path, 4000);
    await child.ready;
    try {
      const error = await sinkFor(path)
        .manifest.load(study.studyKey)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExportConfigurationError);
      expect((error as Error).message).toMatch(/is open in another process .*PID \d+.*close it there/);
    } finally {
      child.process.kill('SIGKILL');
      await child.exited;
    }
  });

  it('bad settings and a missing folder are ExportConfigurationError before anything is written', async () => {
    expect(() => duckdbSink({ path: '' })).toThrow(ExportConfigurationError);
    expect(() => duckdbSink({ path: ':memory:' })).toThrow(/in-memory database is lost/);
    expect(() => duckdbSink(undefined as unknown as DuckdbSinkOptions)).toThrow(ExportConfigurationError);
    const missing = join(tmpdir(), 'imednet-no-such-folder-', String(Date.now()), 'x.duckdb');
    const { tables } = await mapped();
    const error = await sinkFor(missing)
      .open({ studyKey: study.studyKey, tables, resume: undefined })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportConfigurationError);
    expect((error as Error).message).toMatch(/cannot open the database file .*No such file or directory/);
    const wrongStudy = await sinkFor(await freshPath(), { studyKey: 'OTHER' })
      .open({ studyKey: study.studyKey, tables, resume: undefined })
      .catch((e: unknown) => e);
    expect(wrongStudy).toBeInstanceOf(ExportConfigurationError);
  });

  it('a missing @duckdb/node-api fails at first use with ExportConfigurationError naming the package', async () => {
    vi.resetModules();
    vi.doMock('@duckdb/node-api', () => {
      throw new Error('Cannot find package');
    });
    try {
      const fresh = await import('../../../src/plugins/sinks/duckdb.js');
      const errors = await import('../../../src/plugins/sinks/errors.js');
      // Making the sink loads nothing; the first use does.
      const sink = fresh.duckdbSink({ path: await freshPath() });
      const { tables } = await mapped();
      const error = await sink.open({ studyKey: 'DEMO', tables, resume: undefined }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.ExportConfigurationError);
      expect((error as Error).message).toMatch(/npm install @duckdb\/node-api/);
    } finally {
      vi.doUnmock('@duckdb/node-api');
      vi.resetModules();
    }
  });
});

const HOLDER = `
const { DuckDBInstance } = require('@duckdb/node-api');
DuckDBInstance.create(process.argv[1]).then(async (db) => {
  const c = await db.connect();
  await c.run('create table if not exists held (x int)');
  process.stdout.write('ready\\n');
  setTimeout(() => { c.closeSync(); db.closeSync(); }, Number(process.argv[2]));
}, (e) => { process.stderr.write(String(e.message)); process.exit(3); });
`;

/** A child process that opens the file for writing and holds it for `ms`. */
function spawnHolder(path: string, ms: number) {
  const child = spawn(process.execPath, ['-e', HOLDER, path, String(ms)], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`the holder exited (${code}) before opening the file`)));
  });
  return { process: child, ready, exited };
}

/** Opens the file for writing in another process; resolves to its exit code. */
async function holdFile(path: string, ms: number): Promise<number | null> {
  const child = spawnHolder(path, ms);
  await child.ready;
  return child.exited;
}
