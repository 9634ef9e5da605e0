/**
 * imednet/plugins/duckdb against the mock API: a generated study loaded into DuckDB-WASM holds
 * every record the API lists, typed as the record mapper types it, and answers SQL as plain rows
 * and Arrow. One database for the whole file: DuckDB-WASM takes seconds to start.
 */
import { Table, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import {
  type LoadSummary,
  openStudyDatabase,
  rowBatchToArrow,
  rowBatchToArrowIPC,
  type StudyDatabase,
  StudyDatabaseError,
} from '../../../src/plugins/duckdb/index.js';
import {
  type ColumnType,
  type Row,
  type RowBatch,
  type TableSpec,
  workflows,
} from '../../../src/plugins/workflows/index.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

const { study } = useMockApi({ studyKey: 'DUCK', records: 1500, subjects: 30, sites: 3 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
const plainClient = () => new Imednet({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

let db: StudyDatabase;
let loaded: LoadSummary;
let startMs = 0;
let loadMs = 0;
/** The mapper's tables and rows, straight from the API: what DuckDB must hold. */
let tables: TableSpec[];
const mapped = new Map<string, Row[]>();
const progress: { table: string; rows: number; totalRows: number }[] = [];

beforeAll(async () => {
  db = openStudyDatabase();
  const t0 = performance.now();
  await db.start();
  startMs = performance.now() - t0;
  // A plain client: loadStudy brings the workflows it needs.
  loaded = await db.loadStudy(plainClient(), 'DUCK', {
    batchSize: 97,
    onProgress: (p) => progress.push(p),
  });
  loadMs = loaded.ms;
  const c = client();
  tables = await c.workflows.tables('DUCK');
  for await (const batch of c.workflows.rows('DUCK', { batchSize: 500 })) {
    const rows = mapped.get(batch.table.name) ?? [];
    rows.push(...batch.rows);
    mapped.set(batch.table.name, rows);
  }
}, 90_000);

afterAll(async () => {
  await db?.close();
  console.log(
    `duckdb: started in ${Math.round(startMs)} ms; loaded ${loaded?.rows} rows in ${Math.round(loadMs)} ms`,
  );
});

const count = async (table: string, schema = 'main') =>
  (await db.query<{ n: number }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`))[0]?.n;

describe('loadStudy', () => {
  it("gives each form a table named by its form key, holding exactly the API's records of it", async () => {
    const listed = await plainClient().records.list('DUCK').toArray();
    const perForm = new Map<string, number>();
    for (const r of listed) perForm.set(r.formKey, (perForm.get(r.formKey) ?? 0) + 1);
    expect(listed.length).toBe(1500);
    expect(loaded.rows).toBe(1500);
    expect(loaded.tables.map((t) => t.name)).toEqual(study.forms.map((f) => f.formKey));
    for (const form of study.forms) {
      const expected = perForm.get(form.formKey) ?? 0;
      expect({ form: form.formKey, rows: await count(form.formKey) }).toEqual({
        form: form.formKey,
        rows: expected,
      });
      expect(loaded.tables.find((t) => t.name === form.formKey)?.rows).toBe(expected);
    }
    // A form without records still has its (empty, typed) table.
    expect(loaded.tables.some((t) => t.rows === 0)).toBe(true);
    const names = await db.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
    );
    expect(names.map((r) => r.name).sort()).toEqual(study.forms.map((f) => f.formKey).sort());
  });

  it('reports progress after each batch, ending at the total', () => {
    expect(progress.length).toBeGreaterThanOrEqual(1500 / 97);
    expect(progress.at(-1)?.totalRows).toBe(1500);
    for (const p of progress) expect(p.rows).toBeLessThanOrEqual(p.totalRows);
  });

  it('types every column from its column type', async () => {
    const sql: Record<ColumnType, string> = {
      integer: 'BIGINT',
      number: 'DOUBLE',
      boolean: 'BOOLEAN',
      date: 'DATE',
      // UTC values in a plain TIMESTAMP: see ArrowTarget.
      datetime: 'TIMESTAMP',
      time: 'VARCHAR',
      choice: 'VARCHAR',
      text: 'VARCHAR',
    };
    const seen = new Set<ColumnType>();
    for (const table of tables) {
      const described = await db.query<{ column_name: string; column_type: string }>(
        `DESCRIBE "${table.name}"`,
      );
      expect(described.map((c) => c.column_name)).toEqual(table.columns.map((c) => c.name));
      expect(described.map((c) => c.column_type)).toEqual(table.columns.map((c) => sql[c.type]));
      for (const c of table.columns) seen.add(c.type);
    }
    expect([...seen].sort()).toEqual(Object.keys(sql).sort());
  });

  it("holds the mapper's values: numbers, dates, timestamps, booleans, text and nulls", async () => {
    const nonNull = new Set<ColumnType>();
    const nulls = new Set<ColumnType>();
    for (const table of tables) {
      const expected = mapped.get(table.name) ?? [];
      const actual = await db.query(`SELECT * FROM "${table.name}" ORDER BY recordId`);
      expect(actual.length).toBe(expected.length);
      expect(actual).toEqual(expected);
      for (const column of table.columns) {
        for (const row of expected) {
          if (row[column.name] === null) nulls.add(column.type);
          else nonNull.add(column.type);
        }
      }
    }
    // The study exercises every type with values, and blanks of the variable types.
    expect([...nonNull].sort()).toEqual(
      ['boolean', 'choice', 'date', 'datetime', 'integer', 'number', 'text', 'time'].sort(),
    );
    for (const type of ['integer', 'number', 'date', 'datetime', 'time', 'choice', 'text'] as const) {
      expect(nulls, type).toContain(type);
    }
    // Spot checks of a record's values as JS types.
    const vs = (
      await db.query('SELECT * FROM "VS" WHERE sysbp IS NOT NULL AND vsdtc IS NOT NULL LIMIT 1')
    )[0]!;
    expect(typeof vs.recordId).toBe('number');
    expect(typeof vs.sysbp).toBe('number');
    expect(vs.vsdtc).toBeInstanceOf(Date);
    expect(typeof vs.deleted).toBe('boolean');
  });

  it('loads the long layout into its own schema; a second load replaces the tables instead of adding', async () => {
    const long = await db.loadStudy(client(), 'DUCK', { layout: 'long', schema: 'long' });
    expect(long.tables.map((t) => t.name)).toEqual(['records']);
    let values = 0;
    for await (const batch of client().workflows.rows('DUCK', { layout: 'long' }))
      values += batch.rows.length;
    expect(long.rows).toBe(values);
    expect(await count('records', 'long')).toBe(values);
    // The wide tables in main are untouched.
    expect(await count('VS')).toBe(mapped.get('VS')?.length);
    const again = await db.loadStudy(client(), 'DUCK', { layout: 'long', schema: 'long' });
    expect(again.rows).toBe(values);
    expect(await count('records', 'long')).toBe(values);
  });

  it('loads only the forms asked for', async () => {
    const some = await db.loadStudy(client(), 'DUCK', { forms: ['AE', 'VS'], schema: 'some' });
    expect(some.tables.map((t) => t.name)).toEqual(['VS', 'AE']);
    expect(await count('AE', 'some')).toBe(mapped.get('AE')?.length);
  });
});

describe('loadRows', () => {
  const spec: TableSpec = {
    name: 'My "odd" Table',
    columns: [
      { name: 'recordId', type: 'integer', kind: 'record' },
      { name: 'big', type: 'integer', kind: 'variable' },
      { name: 'x', type: 'number', kind: 'variable' },
      { name: 'flag', type: 'boolean', kind: 'variable' },
      { name: 'day', type: 'date', kind: 'variable' },
      { name: 'at', type: 'datetime', kind: 'variable' },
      { name: 'tm', type: 'time', kind: 'variable' },
      { name: 'Text "quoted"', type: 'text', kind: 'variable' },
    ],
  };
  const rows: Row[] = [
    {
      recordId: 1,
      big: Number.MAX_SAFE_INTEGER,
      x: -0.5,
      flag: true,
      day: new Date(Date.UTC(1969, 11, 31)),
      at: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 123)),
      tm: '08:30',
      'Text "quoted"': 'naïve — 日本語 😀\n"quotes", commas',
    },
    { recordId: 2, big: null, x: null, flag: null, day: null, at: null, tm: null, 'Text "quoted"': null },
    {
      recordId: 3,
      big: -42,
      x: 1e300,
      flag: false,
      day: new Date(Date.UTC(2000, 0, 1)),
      at: null,
      tm: '23:59:59',
      'Text "quoted"': '',
    },
    // Either side of the 32-bit word boundary and of 1970: the 64-bit words are written by hand.
    {
      recordId: 4,
      big: -Number.MAX_SAFE_INTEGER,
      x: 0,
      flag: true,
      day: new Date(Date.UTC(1900, 0, 1)),
      at: new Date(Date.UTC(1900, 0, 1, 0, 0, 0, 1)),
      tm: null,
      'Text "quoted"': 'ascii only',
    },
    {
      recordId: 5,
      big: 2 ** 32,
      x: 2 ** 32 - 1,
      flag: false,
      day: new Date(0),
      at: new Date(-1),
      tm: null,
      'Text "quoted"': 'é',
    },
    {
      recordId: 2 ** 31,
      big: -(2 ** 32),
      x: null,
      flag: null,
      day: null,
      at: new Date(1),
      tm: null,
      'Text "quoted"': 'x'.repeat(100),
    },
  ];

  it('round-trips awkward names and values exactly, in batches', async () => {
    const summary = await db.loadRows(
      [
        { table: spec, rows: rows.slice(0, 2) },
        { table: spec, rows: [] },
        { table: spec, rows: rows.slice(2) },
      ],
      { schema: 'odd schema' },
    );
    expect(summary.tables).toEqual([{ name: spec.name, rows: rows.length }]);
    const back = await db.query(`SELECT * FROM "odd schema"."My ""odd"" Table" ORDER BY recordId`);
    expect(back).toEqual(rows);
  });

  it('refuses a value of the wrong type, naming table, column and record but not the value', async () => {
    const bad: RowBatch = {
      table: spec,
      rows: [{ ...rows[0]!, recordId: 77, x: 'secret-value' as unknown as number }],
    };
    const error = await db.loadRows([bad], { schema: 'bad' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StudyDatabaseError);
    expect((error as Error).message).toContain('column x');
    expect((error as Error).message).toContain('record 77');
    expect((error as Error).message).not.toContain('secret-value');
    // Nothing of the failed load stays: the schema's tables were rolled back.
    const left = await db.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bad'",
    );
    expect(left).toEqual([]);
  });

  it('a load that fails midway leaves the tables as they were', async () => {
    const before = await count('VS');
    async function* failing(): AsyncGenerator<RowBatch> {
      yield { table: tables.find((t) => t.name === 'VS')!, rows: (mapped.get('VS') ?? []).slice(0, 5) };
      throw new Error('the API went away');
    }
    await expect(db.loadRows(failing(), { tables })).rejects.toThrow('the API went away');
    expect(await count('VS')).toBe(before);
    expect(await db.query(`SELECT * FROM "VS" ORDER BY recordId`)).toEqual(mapped.get('VS'));
  });

  it('an aborted load rejects and leaves nothing', async () => {
    const controller = new AbortController();
    const load = db.loadStudy(client(), 'DUCK', {
      schema: 'aborted',
      batchSize: 50,
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('stop')),
    });
    await expect(load).rejects.toThrow();
    expect(await db.query("SELECT * FROM information_schema.tables WHERE table_schema = 'aborted'")).toEqual(
      [],
    );
  });
});

describe('query and queryArrow', () => {
  it('answers plain rows: aggregates as numbers, dates as Date, a bigint only past 2^53', async () => {
    const vs = mapped.get('VS') ?? [];
    const [row] = await db.query(
      `SELECT count(*) AS n, sum(recordId) AS s, avg(sysbp) AS a, min(vsdtc) AS first,
              DATE '2024-02-29' AS d, 9007199254740993::BIGINT AS big, 12.5::DECIMAL(10,2) AS dec,
              TIME '01:02:03.5' AS t, [1, 2] AS l, {'k': 1} AS s2, NULL AS nothing
       FROM "VS"`,
    );
    const sysbp = vs.map((r) => r.sysbp).filter((v): v is number => typeof v === 'number');
    const times = vs
      .map((r) => r.vsdtc)
      .filter((v): v is Date => v instanceof Date)
      .map((d) => d.getTime());
    expect(row).toEqual({
      n: vs.length,
      s: vs.reduce((sum, r) => sum + (r.recordId as number), 0),
      a: expect.closeTo(sysbp.reduce((x, y) => x + y, 0) / sysbp.length, 9),
      first: new Date(Math.min(...times)),
      d: new Date(Date.UTC(2024, 1, 29)),
      big: 9007199254740993n,
      dec: 12.5,
      t: '01:02:03.5',
      l: [1, 2],
      s2: { k: 1 },
      nothing: null,
    });
  });

  it('takes parameters', async () => {
    const subject = (mapped.get('VS') ?? [])[0]!.subjectKey as string;
    const rows = await db.query(
      'SELECT recordId FROM "VS" WHERE subjectKey = ? AND sysbp > ? ORDER BY recordId',
      [subject, 100],
    );
    expect(rows.map((r) => r.recordId)).toEqual(
      (mapped.get('VS') ?? [])
        .filter((r) => r.subjectKey === subject && typeof r.sysbp === 'number' && r.sysbp > 100)
        .map((r) => r.recordId),
    );
    const cutoff = new Date(Date.UTC(2023, 5, 1));
    const [{ n }] = (await db.query('SELECT count(*) AS n FROM "VS" WHERE dateCreated < ?', [cutoff])) as [
      { n: number },
    ];
    expect(n).toBe((mapped.get('VS') ?? []).filter((r) => (r.dateCreated as Date) < cutoff).length);
  });

  it("answers an Arrow table of the ES module's apache-arrow", async () => {
    const table = await db.queryArrow('SELECT recordId, vsdtc, sysbp FROM "VS" ORDER BY recordId LIMIT 3');
    expect(table).toBeInstanceOf(Table);
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => String(f.type))).toEqual([
      'Int64',
      'Timestamp<MICROSECOND>',
      'Int64',
    ]);
  });

  it('a bad statement is a StudyDatabaseError carrying DuckDB’s message; the database goes on', async () => {
    const error = await db.query('SELECT nope FROM "VS"').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StudyDatabaseError);
    expect((error as Error).message).toMatch(/nope/);
    await expect(db.query('')).rejects.toBeInstanceOf(ConfigurationError);
    expect(await count('VS')).toBe(mapped.get('VS')?.length);
  });

  it('does date arithmetic on datetime columns with what DuckDB has built in', async () => {
    const rows = await db.query<{ month: Date; n: number }>(
      `SELECT date_trunc('month', dateCreated) AS month, count(*) AS n FROM "VS" GROUP BY month ORDER BY month`,
    );
    const expected = new Map<number, number>();
    for (const r of mapped.get('VS') ?? []) {
      const d = r.dateCreated as Date;
      const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      expected.set(month, (expected.get(month) ?? 0) + 1);
    }
    expect(rows.map((r) => [r.month.getTime(), r.n])).toEqual([...expected].sort((a, b) => a[0] - b[0]));
    const [year] = await db.query('SELECT extract(year FROM min(dateCreated)) AS y FROM "VS"');
    expect(year?.y).toBe(
      Math.min(...(mapped.get('VS') ?? []).map((r) => (r.dateCreated as Date).getUTCFullYear())),
    );
  });

  it('reaches no file, URL or extension download: such a statement fails at once', async () => {
    const t0 = performance.now();
    for (const sql of [
      `SELECT '{"a": 1}'::JSON AS j`,
      `SELECT date_trunc('month', TIMESTAMPTZ '2024-03-05 10:00:00+00') AS m`,
      `COPY "VS" TO 'vs.csv'`,
      `SELECT * FROM read_csv('https://example.com/x.csv')`,
    ]) {
      await expect(db.query(sql), sql).rejects.toBeInstanceOf(StudyDatabaseError);
    }
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('runs operations in call order: a query asked during a load sees the load committed', async () => {
    const load = db.loadStudy(client(), 'DUCK', { forms: ['AE'], schema: 'order' });
    const counted = db.query(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'order'",
    );
    await load;
    expect(await counted).toEqual([{ n: 1 }]);
  });
});

describe('rowBatchToArrow and rowBatchToArrowIPC', () => {
  it('make one typed Arrow record batch of a row batch, readable by any Arrow reader', async () => {
    const table = tables.find((t) => t.name === 'VS')!;
    const batch: RowBatch = { table, rows: (mapped.get('VS') ?? []).slice(0, 40) };
    const arrow = await rowBatchToArrow(batch);
    expect(arrow.numRows).toBe(40);
    const vsdtc = arrow.schema.fields.find((f) => f.name === 'vsdtc');
    expect(vsdtc?.metadata.get('imednet.variableType')).toBe('DATETIME');
    expect(String(vsdtc?.type)).toBe('Timestamp<MILLISECOND, UTC>');
    const decoded = tableFromIPC(await rowBatchToArrowIPC(batch));
    expect(decoded.numRows).toBe(40);
    const first = decoded.get(0)!.toJSON();
    const row = batch.rows[0]!;
    expect(first.recordId).toBe(BigInt(row.recordId as number));
    expect(first.vsdtc).toBe(row.vsdtc === null ? null : (row.vsdtc as Date).getTime());
    expect(first.subjectKey).toBe(row.subjectKey);
  });
});
