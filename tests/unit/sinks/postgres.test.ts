import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Record as SdkRecord } from '../../../src/endpoints/records.js';
import { ExportBatchError, ExportConfigurationError } from '../../../src/plugins/sinks/errors.js';
import { exportRows } from '../../../src/plugins/sinks/export.js';
import {
  PostgresSinkError,
  type PostgresSinkOptions,
  postgresSink,
} from '../../../src/plugins/sinks/postgres.js';
import type { ExportSink, Manifest } from '../../../src/plugins/sinks/types.js';
import {
  type CellValue,
  type Column,
  type MapOptions,
  mapRecords,
  planTables,
  type Row,
  type RowBatch,
  type TableSpec,
} from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { structureOf } from '../../support/fake-structure.js';
import { usePostgres } from '../../support/postgres.js';
import { withWriteBatch } from '../../support/sinks.js';

const server = usePostgres();
let db: postgres.Sql;
beforeAll(() => {
  db = postgres(server().url, { onnotice: () => undefined, max: 2 });
});
afterAll(async () => {
  await db?.end({ timeout: 5 });
});

const study = createFakeStudy({ studyKey: 'PGSTUDY', records: 3000, subjects: 80, sites: 4 });

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

/** Sinks made by a test, released after it (a sink only reading its manifest keeps a connection). */
const made: ExportSink[] = [];
afterEach(async () => {
  for (const sink of made.splice(0)) await sink.abort();
});
const sinkFor = (schema: string, options: Partial<PostgresSinkOptions> = {}) => {
  const sink = postgresSink({ url: server().url, schema, ...options });
  made.push(sink);
  return sink;
};

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

  it('keeps one manifest per study: with several, studyKey says which', async () => {
    const schema = freshSchema();
    const manifestOf = (studyKey: string): Manifest => ({
      version: 1,
      studyKey,
      shape: '00',
      startedAt: '2026-01-01T00:00:00.000Z',
      batches: [],
    });
    await sinkFor(schema, { studyKey: 'A' }).manifest.save(manifestOf('A'));
    const onlyA = sinkFor(schema);
    expect(await onlyA.manifest.load()).toEqual(manifestOf('A'));
    await sinkFor(schema, { studyKey: 'B' }).manifest.save(manifestOf('B'));
    await expect(sinkFor(schema).manifest.load()).rejects.toThrow(/exports of 2 studies.*pass studyKey/);
    expect(await sinkFor(schema, { studyKey: 'B' }).manifest.load()).toEqual(manifestOf('B'));
    await sinkFor(schema, { studyKey: 'B' }).manifest.clear();
    expect(await sinkFor(schema, { studyKey: 'A' }).manifest.load()).toEqual(manifestOf('A'));
    const { tables } = await mapped();
    await expect(
      sinkFor(schema, { studyKey: 'A' }).open({ studyKey: study.studyKey, tables, resume: undefined }),
    ).rejects.toThrow(/made for study A/);
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

/** Yields the batches as a mapper would. */
async function* replay(batches: readonly RowBatch[]) {
  yield* batches;
}

/** The sink, failing every write after the first `after` (an interruption mid-export). */
function interruptedAfter(sink: ExportSink, after: number): ExportSink {
  let writes = 0;
  return withWriteBatch(sink, async (batch, batchId, canonical) => {
    if (++writes > after) throw new Error('simulated interruption');
    return sink.writeBatch(batch, batchId, canonical);
  });
}

describe('postgresSink through exportRows', () => {
  it('resumes an interrupted export: the tables end with every record exactly once', async () => {
    const schema = freshSchema();
    const { tables, batches } = await mapped();
    const options = { studyKey: study.studyKey, tables, retries: 0, checkpointEvery: 4 };
    const first = await exportRows(replay(batches), interruptedAfter(sinkFor(schema), 11), options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(ExportBatchError);
    const recorded = (await sinkFor(schema).manifest.load())!;
    expect(recorded.completedAt).toBeUndefined();
    // Checkpoints every 4 batches: 8 of the 11 written were recorded, 3 will be written again.
    expect(recorded.batches).toHaveLength(8);

    const summary = await exportRows(replay(batches), sinkFor(schema), options);
    expect(summary.resumed).toBe(true);
    expect(summary.skippedBatches).toBe(8);
    expect(summary.batches + summary.skippedBatches).toBe(batches.length);

    const expected: { [table: string]: number } = {};
    for (const spec of tables)
      expected[spec.name] = [...study.records].filter((r) => r.formKey === spec.name).length;
    expect(await countsBySchema(schema, tables)).toEqual(expected);
    for (const spec of tables) {
      const [row] = await db`select count(distinct "recordId")::int as n from ${db(schema)}.${db(spec.name)}`;
      expect(row!.n).toBe(expected[spec.name]);
      await expectSampleEqual(schema, spec, rowsOf(batches, spec.name), 101);
    }
    expect((await sinkFor(schema).manifest.load())!.completedAt).toEqual(expect.any(String));
    const third = await exportRows(replay(batches), sinkFor(schema), options);
    expect(third.alreadyComplete).toBe(true);
    expect(third.rows).toBe(0);
  });
});

describe('postgresSink connections', () => {
  it('an export that finished, a manifest read before it and a rerun leave no connection open', async () => {
    // The runner records completion after close: that write must not leave a connection behind,
    // or a command exporting to PostgreSQL never exits.
    const schema = freshSchema();
    const { tables, batches } = await mapped();
    const options = { studyKey: study.studyKey, tables };
    const ours = async () => {
      const [row] = await db`
        select count(*)::int as n from pg_stat_activity
        where backend_type = 'client backend' and pid <> pg_backend_pid() and application_name = 'imednet-sink-test'`;
      return row!.n as number;
    };
    const url = new URL(server().url);
    url.searchParams.set('application_name', 'imednet-sink-test');
    const sink = () => postgresSink({ url: url.href, schema });
    expect(await sink().manifest.load(study.studyKey)).toBeUndefined();
    expect(await ours()).toBe(0);
    await exportRows(replay(batches), sink(), options);
    expect(await ours()).toBe(0);
    expect((await exportRows(replay(batches), sink(), options)).alreadyComplete).toBe(true);
    expect(await ours()).toBe(0);
  });
});

describe('postgresSink settings and names', () => {
  const spec = (columns: Array<Pick<Column, 'name' | 'type'>>, name = 'ODD'): TableSpec => ({
    name,
    formKey: name,
    columns: [
      { name: 'recordId', type: 'integer', kind: 'record' },
      ...columns.map((c) => ({ ...c, kind: 'variable' as const })),
    ],
  });

  it('refuses bad options with ExportConfigurationError before connecting', async () => {
    const tables = [spec([{ name: 'x', type: 'text' }])];
    const cases: PostgresSinkOptions[] = [
      {},
      { url: server().url, sql: db as unknown as PostgresSinkOptions['sql'] },
      { url: server().url, schema: '' },
      { url: server().url, schema: 's'.repeat(64) },
      { url: server().url, manifestTable: 'm'.repeat(64) },
    ];
    for (const options of cases) {
      const sink = postgresSink(options);
      await expect(sink.open({ studyKey: 'S', tables, resume: undefined })).rejects.toBeInstanceOf(
        ExportConfigurationError,
      );
      await sink.abort();
    }
    // A name PostgreSQL would cut to 63 bytes is refused, not cut.
    const long = postgresSink({ url: server().url, schema: freshSchema() });
    await expect(
      long.open({
        studyKey: 'S',
        tables: [spec([{ name: 'é'.repeat(32), type: 'text' }])],
        resume: undefined,
      }),
    ).rejects.toThrow(/longer than PostgreSQL's 63 bytes/);
    await long.abort();
    const clash = postgresSink({ url: server().url, schema: freshSchema() });
    await expect(
      clash.open({ studyKey: 'S', tables: [spec([{ name: 'study_key', type: 'text' }])], resume: undefined }),
    ).rejects.toThrow(/two columns named "study_key"/);
    await clash.abort();
  });

  it('keeps names with dots and quotes, and text exactly as given (quotes, backslashes, braces, "NULL", empty)', async () => {
    const schema = freshSchema();
    const table = spec(
      [
        { name: 'a.b "c"', type: 'text' },
        { name: 'Weight (kg)', type: 'number' },
        { name: 'when', type: 'datetime' },
      ],
      'Odd.Form "1"',
    );
    const texts = [
      'say "hi"',
      'back\\slash',
      '{a,b}',
      'NULL',
      '',
      'naïve ☃ 漢字',
      "it's",
      'line\nbreak',
      null,
    ];
    const rows: Row[] = texts.map((text, i) => ({
      recordId: i + 1,
      'a.b "c"': text,
      'Weight (kg)': i === 0 ? null : i * 1.25 - 3,
      when: i === 1 ? null : new Date(Date.UTC(2020, 1, 29, 23, 59, 59, 999) + i * 1000),
    }));
    await run(postgresSink({ url: server().url, schema }), [table], [{ table, rows }]);
    const found = await db`select * from ${db(schema)}.${db.unsafe('"Odd.Form ""1"""')} order by "recordId"`;
    expect(found).toHaveLength(rows.length);
    for (let i = 0; i < rows.length; i++) expectRowEqual(found[i]!, rows[i]!, table.columns);
  });

  it('a value PostgreSQL refuses fails the batch with its SQLSTATE, never with the value', async () => {
    const schema = freshSchema();
    const table = spec([{ name: 'dose', type: 'integer' }]);
    const sink = postgresSink({ url: server().url, schema });
    await sink.open({ studyKey: 'S', tables: [table], resume: undefined });
    const secret = 'JOHN-DOE-1970';
    const error = await sink
      .writeBatch({ table, rows: [{ recordId: 1, dose: secret }] }, 'ODD:0', new Uint8Array())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await sink.abort();
    expect(error).toBeInstanceOf(PostgresSinkError);
    expect((error as PostgresSinkError).code).toBe('22P02');
    expect((error as Error).message).toContain('ODD:0');
    expect(`${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause)}`).not.toContain(
      secret,
    );
  });

  it('uses a connection you give it and leaves it open', async () => {
    const schema = freshSchema();
    const { tables, batches } = await mapped({ forms: [study.forms[0]!.formKey] });
    await run(postgresSink({ sql: db as unknown as PostgresSinkOptions['sql'], schema }), tables, batches);
    const [row] = await db`select count(*)::int as n from ${db(schema)}.${db(tables[0]!.name)}`;
    expect(row!.n).toBe(rowsOf(batches, tables[0]!.name).length);
  });
});

describe('postgresSink round trips', () => {
  it('writes a batch of 1,000 rows in one statement, however many columns (250 here)', async () => {
    const schema = freshSchema();
    const columns: Column[] = [{ name: 'recordId', type: 'integer', kind: 'record' }];
    for (let i = 0; i < 250; i++)
      columns.push({ name: `v${i}`, type: i % 2 ? 'number' : 'text', kind: 'variable' });
    const table: TableSpec = { name: 'WIDE', formKey: 'WIDE', columns };
    const rows: Row[] = [];
    for (let r = 1; r <= 1000; r++) {
      const row: Row = { recordId: r };
      for (let i = 0; i < 250; i++) row[`v${i}`] = i % 2 ? r * i + 0.5 : `r${r}c${i}`;
      rows.push(row);
    }
    const statements: string[] = [];
    const counted = postgres(server().url, {
      onnotice: () => undefined,
      debug: (_connection, query) => statements.push(query),
    });
    try {
      const sink = postgresSink({ sql: counted as unknown as PostgresSinkOptions['sql'], schema });
      await sink.open({ studyKey: study.studyKey, tables: [table], resume: undefined });
      statements.length = 0;
      await sink.writeBatch({ table, rows }, 'WIDE:0', new Uint8Array());
      await sink.writeBatch({ table, rows: rows.slice(0, 10) }, 'WIDE:1', new Uint8Array());
      await sink.close();
      expect(statements).toHaveLength(2);
      expect(statements.every((s) => s.startsWith('insert into'))).toBe(true);
      const [count] =
        await counted`select count(*)::int as n, sum("v249")::float8 as s from ${counted(schema)}."WIDE"`;
      expect(count!.n).toBe(1000);
      expect(count!.s).toBe(rows.reduce((sum, row) => sum + (row.v249 as number), 0));
    } finally {
      await counted.end({ timeout: 5 });
    }
  });
});
