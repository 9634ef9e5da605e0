import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Record as SdkRecord } from '../../../src/endpoints/records.js';
import { ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { type PostgresSinkOptions, postgresSink } from '../../../src/plugins/sinks/postgres.js';
import type { ExportSink, Manifest } from '../../../src/plugins/sinks/types.js';
import {
  type CellValue,
  type MapOptions,
  mapRecords,
  planTables,
  type Row,
  type RowBatch,
  StudyStructure,
  type TableSpec,
} from '../../../src/plugins/workflows/index.js';
import { createFakeStudy, type FakeStudy } from '../../../src/testing/index.js';
import { usePostgres } from '../../support/postgres.js';

type Parts = ConstructorParameters<typeof StudyStructure>[1];

const server = usePostgres();
let db: postgres.Sql;
beforeAll(() => {
  db = postgres(server().url, { onnotice: () => undefined, max: 2 });
});
afterAll(async () => {
  await db?.end({ timeout: 5 });
});

const study = createFakeStudy({ studyKey: 'PGSTUDY', records: 3000, subjects: 80, sites: 4 });
const structureOf = (s: FakeStudy) =>
  new StudyStructure(s.studyKey, {
    intervals: [...s.intervals],
    forms: [...s.forms],
    variables: [...s.variables],
    sites: [...s.sites],
  } as unknown as Parts);

/** The study's tables and every batch of its rows (3,000 records: small enough to keep). */
async function mapped(mapOptions: MapOptions = {}) {
  // Several batches per table, and the one-batch-per-table case is the default 1000.
  const options = { batchSize: 100, ...mapOptions };
  const structure = structureOf(study);
  const tables = planTables(structure, options);
  const batches: RowBatch[] = [];
  for await (const batch of mapRecords([...study.records] as unknown as SdkRecord[], structure, options)) {
    batches.push(batch);
  }
  return { tables, batches };
}

/** Each test writes to a schema of its own. */
let schemas = 0;
const freshSchema = () => `sink_test_${++schemas}`;

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

const sinkFor = (schema: string, options: Partial<PostgresSinkOptions> = {}) =>
  postgresSink({ url: server().url, schema, ...options });

const rowsOf = (batches: readonly RowBatch[], table: string) =>
  batches.filter((b) => b.table.name === table).flatMap((b) => b.rows);

async function countsBySchema(schema: string, tables: readonly TableSpec[]) {
  const counts: { [table: string]: number } = {};
  for (const table of tables) {
    const [row] =
      await db`select count(*)::int as n, count(distinct "recordId")::int as records from ${db(schema)}.${db(table.name)}`;
    counts[table.name] = row!.n;
  }
  return counts;
}

/** A value read back, in the row's terms: bigint arrives as text from postgres.js. */
function readBack(value: unknown, type: string): CellValue {
  if (value === null) return null;
  if (type === 'integer') return Number(value);
  return value as CellValue;
}

function expectRowEqual(actual: Record<string, unknown>, expected: Row, columns: TableSpec['columns']) {
  for (const column of columns) {
    const want = expected[column.name] ?? null;
    const got = readBack(actual[column.name], column.type);
    if (want instanceof Date) {
      expect(got, column.name).toBeInstanceOf(Date);
      expect((got as Date).toISOString(), column.name).toBe(want.toISOString());
    } else {
      expect(got, column.name).toEqual(want);
    }
  }
}

/** Every `step`-th row of a table, read back by its recordId, equals the row written. */
async function expectSampleEqual(schema: string, spec: TableSpec, rows: readonly Row[], step = 37) {
  let checked = 0;
  for (let i = 0; i < rows.length; i += step) {
    const row = rows[i]!;
    const [found] =
      await db`select * from ${db(schema)}.${db(spec.name)} where study_key = ${study.studyKey} and "recordId" = ${row.recordId as number}`;
    expect(found, `record ${row.recordId}`).toBeDefined();
    expectRowEqual(found!, row, spec.columns);
    checked++;
  }
  return checked;
}

describe('postgresSink (against a real PostgreSQL server)', () => {
  it('creates a table per form: study_key, then the columns typed from the column types, keyed by (study_key, recordId)', async () => {
    const schema = freshSchema();
    const { tables } = await mapped();
    const sink = sinkFor(schema);
    await sink.open({ studyKey: study.studyKey, tables, resume: undefined });
    await sink.close();
    const expectedType = {
      integer: 'bigint',
      number: 'double precision',
      boolean: 'boolean',
      date: 'date',
      datetime: 'timestamp with time zone',
      time: 'text',
      choice: 'text',
      text: 'text',
    } as const;
    const found = await db<{ table_name: string; column_name: string; data_type: string }[]>`
      select table_name, column_name, data_type from information_schema.columns
      where table_schema = ${schema} order by table_name, ordinal_position`;
    const typesSeen = new Set<string>();
    for (const spec of tables) {
      const columns = found.filter((c) => c.table_name === spec.name);
      expect(columns.map((c) => c.column_name)).toEqual(['study_key', ...spec.columns.map((c) => c.name)]);
      expect(columns.map((c) => c.data_type)).toEqual([
        'text',
        ...spec.columns.map((c) => expectedType[c.type]),
      ]);
      for (const c of spec.columns) typesSeen.add(c.type);
      const key = await db`
        select a.attname as name from pg_index i
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = ${`"${schema}"."${spec.name}"`}::regclass and i.indisprimary`;
      expect(key.map((k) => k.name).sort()).toEqual(['recordId', 'study_key']);
    }
    // The fake study exercises every type the mapper gives, so each mapping above was checked.
    expect([...typesSeen].sort()).toEqual(
      expect.arrayContaining(['boolean', 'date', 'integer', 'number', 'text']),
    );
    const manifestTable = found
      .filter((c) => c.table_name === 'imednet_export_manifest')
      .map((c) => c.column_name);
    expect(manifestTable).toEqual(['study_key', 'sink', 'manifest', 'updated_at']);
  });

  it('writes every record once, with its values, and writing the same batches again changes nothing', async () => {
    const schema = freshSchema();
    const { tables, batches } = await mapped();
    expect(batches.length).toBeGreaterThan(tables.length);
    await run(sinkFor(schema), tables, batches);

    const expected: { [table: string]: number } = {};
    for (const spec of tables)
      expected[spec.name] = [...study.records].filter((r) => r.formKey === spec.name).length;
    expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBe(3000);
    expect(await countsBySchema(schema, tables)).toEqual(expected);

    let checked = 0;
    const kinds = new Set<string>();
    for (const spec of tables) {
      checked += await expectSampleEqual(schema, spec, rowsOf(batches, spec.name));
      for (const row of rowsOf(batches, spec.name)) {
        for (const column of spec.columns) {
          const value = row[column.name];
          kinds.add(value === null ? 'null' : value instanceof Date ? `Date:${column.type}` : typeof value);
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    // The sample covered numbers, text, booleans, dates, timestamps and nulls.
    expect([...kinds]).toEqual(
      expect.arrayContaining(['number', 'string', 'boolean', 'null', 'Date:date', 'Date:datetime']),
    );

    const dump = async () => {
      const out: unknown[] = [];
      for (const spec of tables) {
        out.push(await db`select * from ${db(schema)}.${db(spec.name)} order by "recordId"`);
      }
      return out;
    };
    const before = await dump();
    await run(sinkFor(schema), tables, batches);
    expect(await countsBySchema(schema, tables)).toEqual(expected);
    expect(await dump()).toEqual(before);
  });

  it('refuses a table that exists with other columns before writing or creating anything, naming the table and the columns', async () => {
    const schema = freshSchema();
    const { tables, batches } = await mapped();
    const target = tables[1]!;
    await db`create schema ${db(schema)}`;
    await db`create table ${db(schema)}.${db(target.name)} (study_key text, "recordId" text, "somethingElse" int, primary key (study_key, "recordId"))`;
    const sink = sinkFor(schema);
    const error = await sink.open({ studyKey: study.studyKey, tables, resume: undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await sink.abort();
    expect(error).toBeInstanceOf(ExportConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain(target.name);
    expect(message).toContain('"recordId" is text, not bigint');
    expect(message).toContain('"somethingElse"');
    expect(message).toContain(`"${target.columns[1]!.name}" missing`);
    // Nothing else was created and nothing written.
    const created = await db`select table_name from information_schema.tables where table_schema = ${schema}`;
    expect(created.map((t) => t.table_name)).toEqual([target.name]);
    const [count] = await db`select count(*)::int as n from ${db(schema)}.${db(target.name)}`;
    expect(count!.n).toBe(0);
    expect(batches.length).toBeGreaterThan(0);
  });

  it('keeps the manifest in the database: save then load gives it back, clear forgets it', async () => {
    const schema = freshSchema();
    const { tables } = await mapped();
    const sink = sinkFor(schema);
    expect(await sink.manifest.load()).toBeUndefined();
    await sink.open({ studyKey: study.studyKey, tables, resume: undefined });
    const manifest: Manifest = {
      version: 1,
      studyKey: study.studyKey,
      shape: 'ab'.repeat(32),
      startedAt: '2026-01-02T03:04:05.000Z',
      batches: [
        { batchId: `${tables[0]!.name}:0`, table: tables[0]!.name, rows: 1000, sha256: 'cd'.repeat(32) },
        {
          batchId: `${tables[0]!.name}:1`,
          table: tables[0]!.name,
          rows: 7,
          sha256: 'ef'.repeat(32),
          state: { n: 1 },
        },
      ],
    };
    await sink.manifest.save(manifest);
    expect(await sink.manifest.load()).toEqual(manifest);
    const finished = { ...manifest, completedAt: '2026-01-02T04:00:00.000Z' };
    await sink.manifest.save(finished);
    await sink.close();

    // A new sink on the same tables (as a rerun makes) finds it before opening.
    const again = sinkFor(schema);
    expect(await again.manifest.load()).toEqual(finished);
    // Another prefix is another destination with its own manifest.
    expect(await sinkFor(schema, { tablePrefix: 'other_' }).manifest.load()).toBeUndefined();
    await again.manifest.clear();
    expect(await again.manifest.load()).toBeUndefined();
    await again.close();
    const [rows] = await db`select count(*)::int as n from ${db(schema)}.imednet_export_manifest`;
    expect(rows!.n).toBe(0);
  });

  it('never shows the connection string, its user or its password in an error', async () => {
    const { tables } = await mapped();
    const user = 'secret_user_x';
    const password = 'pa55-w0rd-y';
    const urls = [
      `postgres://${user}:${password}@127.0.0.1:${server().port}/no_such_database`,
      `http://${user}:${password}@127.0.0.1:${server().port}/postgres`,
      `postgres://${user}:${password}@127.0.0.1:${server().port}/postgres?sslmode=nonsense%`,
      `not a url ${user} ${password}`,
    ];
    for (const url of urls) {
      const sink = postgresSink({ url });
      const error = await sink.open({ studyKey: study.studyKey, tables, resume: undefined }).then(
        () => undefined,
        (e: unknown) => e,
      );
      await sink.abort();
      expect(error, url).toBeInstanceOf(ExportConfigurationError);
      const shown = `${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause ?? '')}`;
      for (const secret of [user, password, url]) expect(shown, url).not.toContain(secret);
    }
  });

  it('long layout: one records table keyed by (study_key, recordId, variableName), every value once', async () => {
    const schema = freshSchema();
    const { tables, batches } = await mapped({ layout: 'long' });
    expect(tables.map((t) => t.name)).toEqual(['records']);
    await run(sinkFor(schema), tables, batches);
    await run(sinkFor(schema), tables, batches);
    const spec = tables[0]!;
    const rows = rowsOf(batches, 'records');
    const [count] = await db`select count(*)::int as n from ${db(schema)}.records`;
    expect(count!.n).toBe(rows.length);
    const columns =
      await db`select column_name, data_type from information_schema.columns where table_schema = ${schema} and table_name = 'records' order by ordinal_position`;
    expect(columns.map((c) => c.column_name).slice(-4)).toEqual([
      'variableName',
      'variableLabel',
      'variableType',
      'value',
    ]);
    expect(columns.find((c) => c.column_name === 'value')!.data_type).toBe('text');
    for (let i = 0; i < rows.length; i += 101) {
      const row = rows[i]!;
      const [found] =
        await db`select * from ${db(schema)}.records where study_key = ${study.studyKey} and "recordId" = ${row.recordId as number} and "variableName" = ${row.variableName as string}`;
      expectRowEqual(found!, row, spec.columns);
    }
  });

  it('jsonb: the record columns as columns, every variable column in one JSONB column data', async () => {
    const schema = freshSchema();
    const { tables, batches } = await mapped();
    await run(sinkFor(schema, { jsonb: true }), tables, batches);
    for (const spec of tables) {
      const columns =
        await db`select column_name, data_type from information_schema.columns where table_schema = ${schema} and table_name = ${spec.name} order by ordinal_position`;
      const record = spec.columns.filter((c) => c.kind === 'record');
      expect(columns.map((c) => c.column_name)).toEqual(['study_key', ...record.map((c) => c.name), 'data']);
      expect(columns.at(-1)!.data_type).toBe('jsonb');
      const rows = rowsOf(batches, spec.name);
      const [count] = await db`select count(*)::int as n from ${db(schema)}.${db(spec.name)}`;
      expect(count!.n).toBe(rows.length);
      for (let i = 0; i < rows.length; i += 53) {
        const row = rows[i]!;
        const [found] =
          await db`select * from ${db(schema)}.${db(spec.name)} where "recordId" = ${row.recordId as number}`;
        expectRowEqual(found!, row, record);
        const data: { [name: string]: unknown } = {};
        for (const c of spec.columns) {
          if (c.kind === 'record') continue;
          const value = row[c.name] ?? null;
          data[c.name] = value instanceof Date ? value.toISOString() : value;
        }
        expect(found!.data).toEqual(data);
      }
    }
    // A plain sink over the same tables is refused: the columns differ.
    const plain = sinkFor(schema);
    await expect(plain.open({ studyKey: study.studyKey, tables, resume: undefined })).rejects.toBeInstanceOf(
      ExportConfigurationError,
    );
    await plain.abort();
  });
});
