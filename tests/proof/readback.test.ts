/**
 * The proof of every sink: the 100,000-record fake study, served by the mock API, exported with
 * `exportStudy` to each sink, then read back by a reader that shares no code with the sinks
 * (DuckDB over the CSV, NDJSON, JSON and Parquet files, and over the CSV objects an S3 export put in
 * s3rver, downloaded with plain ListObjects and GET requests; exceljs for the Excel workbook; SQL for
 * PostgreSQL and the DuckDB file).
 * Row counts per form equal the API's records listing per form, and for a sample of records spread
 * over the forms (soft-deleted ones included) every variable's value equals the API's `recordData`
 * value, compared by type: numbers as numbers, dates as dates, text exactly.
 *
 * A sink joins the proof with one entry in `SINKS`: how to make it in a fresh folder, and how to
 * read its output back (for files, a DuckDB `from` clause per table: see `duckdbFiles`).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { http, passthrough } from 'msw';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { csvSink } from '../../src/plugins/sinks/csv.js';
import { duckdbSink } from '../../src/plugins/sinks/duckdb.js';
import { type ExportSink, exportStudy } from '../../src/plugins/sinks/index.js';
import { jsonSink, ndjsonSink } from '../../src/plugins/sinks/json.js';
import { nodeDirectory } from '../../src/plugins/sinks/node.js';
import { hiveValue, parquetSink } from '../../src/plugins/sinks/parquet.js';
import { postgresSink } from '../../src/plugins/sinks/postgres.js';
import { s3Directory } from '../../src/plugins/sinks/s3.js';
import { xlsxSink } from '../../src/plugins/sinks/xlsx.js';
import { type ColumnType, type TableSpec, workflows } from '../../src/plugins/workflows/index.js';
import { type DuckdbReader, ident, lit, openDuckdb } from '../support/duckdb.js';
import { type TestPostgres, usePostgres } from '../support/postgres.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, type TestS3, useS3 } from '../support/s3.js';
import { readXlsxTables } from '../support/xlsx.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../unit/support.js';

const RECORDS = 100_000;
/** Records whose every value is compared, spread over the forms by a hash of their id. */
const SAMPLE = 200;
/** Soft-deleted records added to the sample (the export includes them, flagged). */
const DELETED_IN_SAMPLE = 20;

const { server: msw } = useMockApi({ records: RECORDS });
const pg = usePostgres();
const s3 = useS3(['proof']);
// msw answers the mock API; requests to the local S3 server go through to it.
beforeAll(() => msw.use(http.all(`${s3.endpoint}/*`, () => passthrough())));
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

/** A row as a reader answers it: column name → value (string, number, bigint, boolean, Date, null). */
type ReadRow = Record<string, unknown>;

/** What a proof needs of a destination after the export. */
interface ReadBack {
  /** Rows of a table. */
  count(table: TableSpec): Promise<number>;
  /** The rows of these records, by recordId. */
  rows(table: TableSpec, recordIds: readonly number[]): Promise<Map<number, ReadRow>>;
  /** CSV writes an empty text and a missing one alike: both read back as null. */
  emptyTextIsNull?: boolean;
  close(): Promise<void>;
}

/** One sink in the proof. */
interface ProofSink {
  name: string;
  /** The sink, writing under `dir` (a fresh folder of its own) or to `context`'s server. */
  sink(dir: string, context: ProofContext): ExportSink;
  /** An independent reader over what it wrote. */
  read(dir: string, context: ProofContext): Promise<ReadBack>;
}

interface ProofContext {
  postgres: () => TestPostgres;
  s3: TestS3;
  studyKey: string;
}

/** The DuckDB type a column is read as from text formats (CSV, JSON): DuckDB parses the text. */
const READ_AS: { readonly [type in ColumnType]: string } = {
  integer: 'BIGINT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  datetime: 'TIMESTAMPTZ',
  time: 'VARCHAR',
  choice: 'VARCHAR',
  text: 'VARCHAR',
};

/** DuckDB's `columns={...}` argument: every column named and typed, as the table spec says. */
const columnsArgument = (table: TableSpec) =>
  `{${table.columns.map((c) => `${lit(c.name)}: ${lit(READ_AS[c.type])}`).join(', ')}}`;

/**
 * A reader over exported files through an in-memory DuckDB: `from(table)` is the table's `from`
 * clause (a `read_csv` / `read_json` / `read_parquet` call, with a `where` when needed), or
 * undefined when the sink wrote no file for it (a form without records, in Hive layout).
 */
async function duckdbFiles(
  from: (table: TableSpec) => { from: string; where?: string } | undefined,
  extra: Partial<ReadBack> = {},
): Promise<ReadBack> {
  const db = await openDuckdb();
  const clause = (table: TableSpec, more?: string) => {
    const source = from(table);
    if (!source) return undefined;
    const where = [source.where, more].filter(Boolean).join(' and ');
    return `from ${source.from}${where ? ` where ${where}` : ''}`;
  };
  return {
    async count(table) {
      const sql = clause(table);
      if (!sql) return 0;
      const [row] = await db.all(`select count(*) as n ${sql}`);
      return row!.n as number;
    },
    async rows(table, recordIds) {
      const out = new Map<number, ReadRow>();
      const sql = recordIds.length > 0 ? clause(table, `"recordId" in (${recordIds.join(', ')})`) : undefined;
      if (!sql) return out;
      for (const row of await db.all(`select * ${sql}`)) out.set(row.recordId as number, row);
      return out;
    },
    async close() {
      db.close();
    },
    ...extra,
  };
}

/** CSV files (`<dir>/<table>.csv`) read by DuckDB, every column typed as the table spec says. */
const csvFiles = (dir: string) =>
  duckdbFiles(
    (t) => ({
      from: `read_csv(${lit(join(dir, `${t.name}.csv`))}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = ${columnsArgument(t)})`,
    }),
    { emptyTextIsNull: true },
  );

/**
 * An Excel workbook read by exceljs: the sheets of each table found through the workbook's Contents
 * sheet (a sheet name may differ from its table's), cells by the header row's names. Numbers come
 * back as numbers, booleans as booleans, date and date-time cells as Dates (exceljs reads the cell's
 * date format), text as text: an empty text cell as `''`, no cell as null.
 */
async function xlsxWorkbook(path: string): Promise<ReadBack> {
  const tables = await readXlsxTables(path);
  const sheetsOf = (table: TableSpec) => {
    const found = tables.get(table.name);
    if (!found) throw new Error(`no sheet of ${path} holds table ${table.name}`);
    return found;
  };
  return {
    async count(table) {
      const { rows, contentsRows } = sheetsOf(table);
      if (contentsRows !== rows.length) {
        throw new Error(
          `the Contents sheet gives ${table.name} ${contentsRows} rows; its sheets hold ${rows.length}`,
        );
      }
      return rows.length;
    },
    async rows(table, recordIds) {
      const { header, rows } = sheetsOf(table);
      const wanted = new Set(recordIds);
      const at = header.indexOf('recordId');
      const out = new Map<number, ReadRow>();
      for (const row of rows) {
        const id = row[at] as number;
        if (wanted.has(id)) out.set(id, Object.fromEntries(header.map((name, i) => [name, row[i] ?? null])));
      }
      return out;
    },
    async close() {},
  };
}

/** Every object under `prefix/` in a bucket, downloaded by ListObjects and GET into `dir`. */
async function download(s3: TestS3, bucket: string, prefix: string, dir: string): Promise<void> {
  for (const key of await s3.keys(bucket, `${prefix}/`)) {
    const path = join(dir, key.slice(prefix.length + 1));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, (await s3.get(bucket, key))!);
  }
}

const SINKS: ProofSink[] = [
  {
    name: 'CSV',
    sink: (dir) => csvSink({ directory: nodeDirectory(dir) }),
    read: (dir) => csvFiles(dir),
  },
  {
    name: 'NDJSON',
    sink: (dir) => ndjsonSink({ directory: nodeDirectory(dir) }),
    read: (dir) =>
      duckdbFiles((t) => ({
        from: `read_json(${lit(join(dir, `${t.name}.ndjson`))}, format = 'newline_delimited', columns = ${columnsArgument(t)})`,
      })),
  },
  {
    name: 'JSON',
    sink: (dir) => jsonSink({ directory: nodeDirectory(dir) }),
    read: (dir) =>
      duckdbFiles((t) => ({
        from: `read_json(${lit(join(dir, `${t.name}.json`))}, format = 'array', columns = ${columnsArgument(t)})`,
      })),
  },
  {
    name: 'Parquet (file per table)',
    sink: (dir) => parquetSink({ directory: nodeDirectory(dir) }),
    read: (dir) => duckdbFiles((t) => ({ from: `read_parquet(${lit(join(dir, `${t.name}.parquet`))})` })),
  },
  {
    name: 'Parquet (Hive)',
    sink: (dir) => parquetSink({ directory: nodeDirectory(dir), layout: 'hive', rowsPerFile: 20_000 }),
    read: (dir, { studyKey }) =>
      duckdbFiles((t) => {
        const folder = join(dir, `study=${hiveValue(studyKey)}`, `form=${hiveValue(t.name)}`);
        if (!existsSync(folder)) return undefined;
        // The form's parts, the partition columns read from the folder names.
        return {
          from: `read_parquet(${lit(join(folder, '*.parquet'))}, hive_partitioning = true)`,
          where: `study = ${lit(studyKey)} and form = ${lit(t.name)}`,
        };
      }),
  },
  {
    name: 'PostgreSQL',
    sink: (_dir, { postgres: server }) => postgresSink({ url: server().url, schema: 'proof' }),
    async read(_dir, { postgres: server, studyKey }) {
      const sql = postgres(server().url, { onnotice: () => undefined, max: 1 });
      return {
        async count(table) {
          const [row] =
            await sql`select count(*)::int as n from proof.${sql(table.name)} where study_key = ${studyKey}`;
          return row!.n as number;
        },
        async rows(table, recordIds) {
          const found = await sql`select * from proof.${sql(table.name)}
            where study_key = ${studyKey} and "recordId" = any(${sql.array([...recordIds])}::bigint[])`;
          return new Map(found.map((row) => [Number(row.recordId), row as ReadRow]));
        },
        close: () => sql.end({ timeout: 5 }),
      };
    },
  },
  {
    name: 'DuckDB file',
    sink: (dir) => duckdbSink({ path: join(dir, 'export.duckdb') }),
    async read(dir, { studyKey }) {
      const db: DuckdbReader = await openDuckdb(join(dir, 'export.duckdb'));
      return {
        async count(table) {
          const [row] = await db.all(`select count(*) as n from ${ident(table.name)} where study_key = $1`, [
            studyKey,
          ]);
          return row!.n as number;
        },
        async rows(table, recordIds) {
          const out = new Map<number, ReadRow>();
          if (recordIds.length === 0) return out;
          const found = await db.all(
            `select * from ${ident(table.name)} where study_key = $1 and "recordId" in (${recordIds.join(', ')})`,
            [studyKey],
          );
          for (const row of found) out.set(row.recordId as number, row);
          return out;
        },
        async close() {
          db.close();
        },
      };
    },
  },
  {
    name: 'Excel (.xlsx)',
    sink: (dir) => xlsxSink({ directory: nodeDirectory(dir) }),
    read: (dir, { studyKey }) => xlsxWorkbook(join(dir, `${studyKey}.xlsx`)),
  },
  {
    // CSV objects in s3rver (SigV4 checked), one per form, fetched back as a user's tools would.
    name: 'S3',
    sink: (_dir, { s3: store, studyKey }) =>
      csvSink({
        directory: s3Directory({
          endpoint: store.endpoint,
          bucket: 'proof',
          prefix: `exports/${studyKey}`,
          accessKeyId: S3_ACCESS_KEY_ID,
          secretAccessKey: S3_SECRET_ACCESS_KEY,
        }),
      }),
    async read(dir, { s3: store, studyKey }) {
      await download(store, 'proof', `exports/${studyKey}`, dir);
      return csvFiles(dir);
    },
  },
];

/** A record as the API listed it, kept for the sample. */
interface ApiRecord {
  recordId: number;
  formKey: string;
  subjectKey?: string | null;
  siteId?: number | null;
  intervalId?: number | null;
  visitId?: number | null;
  recordStatus?: string | null;
  dateCreated?: string | null;
  dateModified?: string | null;
  deleted?: boolean | null;
  recordData?: Record<string, unknown> | null;
}

/** A stable spread of record ids: a multiplicative hash of the id, below a threshold. */
const hashed = (id: number, fraction: number) => (Math.imul(id, 2654435761) >>> 0) / 2 ** 32 < fraction;

/** The API's side: records per form from one listing, and the sampled records whole. */
async function fromApi(studyKey: string) {
  const perForm = new Map<string, number>();
  const sample = new Map<number, ApiRecord>();
  let deleted = 0;
  let total = 0;
  for await (const item of client().records.list(studyKey)) {
    const record = item as unknown as ApiRecord;
    total++;
    const n = perForm.get(record.formKey) ?? 0;
    perForm.set(record.formKey, n + 1);
    // The first record of every form, a hashed spread, and the first soft-deleted ones.
    if (n === 0 || hashed(record.recordId, SAMPLE / RECORDS)) sample.set(record.recordId, record);
    else if (record.deleted === true && deleted < DELETED_IN_SAMPLE) {
      deleted++;
      sample.set(record.recordId, record);
    }
  }
  return { perForm, sample, total };
}

/** The API's value for a column of a record, as it sent it. */
function apiValue(record: ApiRecord, column: TableSpec['columns'][number]): unknown {
  if (column.kind === 'variable') return record.recordData?.[column.variable!.name];
  return (record as unknown as Record<string, unknown>)[column.name];
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
/** The API's date-times: `YYYY-MM-DD HH:mm:ss` in UTC. */
const apiInstant = (text: string) =>
  Date.parse(`${text.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? '' : 'Z'}`);
const readDay = (value: unknown) =>
  value instanceof Date
    ? value.toISOString().slice(0, 10)
    : typeof value === 'string'
      ? value.slice(0, 10)
      : undefined;
const readInstant = (value: unknown) =>
  value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;

/**
 * Whether a value read back is the API's value for a column of this type. Blank answers: the API
 * sends `''` (or leaves the variable out); a text column keeps `''`, any other holds null.
 */
function sameValue(type: ColumnType, api: unknown, got: unknown, emptyTextIsNull: boolean): boolean {
  const text = type === 'text' || type === 'choice' || type === 'time';
  if (api === undefined || api === null) return got === null;
  if (api === '') return type === 'text' ? got === '' || (emptyTextIsNull && got === null) : got === null;
  if (got === null || got === undefined) return false;
  switch (type) {
    case 'integer':
    case 'number':
      return (
        (typeof got === 'number' || typeof got === 'bigint' || typeof got === 'string') &&
        Number(got) === Number(api)
      );
    case 'boolean': {
      const want = api === true || api === 1 || api === '1' || api === 'true';
      return got === want || got === String(want);
    }
    case 'date':
      return typeof api === 'string' && DATE_ONLY.test(api) && readDay(got) === api;
    case 'datetime':
      return typeof api === 'string' && readInstant(got) === apiInstant(api);
    default:
      return text && typeof got === 'string' && got === String(api);
  }
}

/** The fixed record columns the API gives as they are (names and labels of sites and intervals are looked up). */
const FROM_API = new Set([
  'recordId',
  'subjectKey',
  'siteId',
  'intervalId',
  'visitId',
  'formKey',
  'recordStatus',
  'dateCreated',
  'dateModified',
  'deleted',
]);

const timings: Array<{ sink: string; ms: number; rows: number }> = [];
let api: Awaited<ReturnType<typeof fromApi>>;
let tables: TableSpec[];
const temps: string[] = [];

beforeAll(async () => {
  api = await fromApi('DEMO');
  tables = await client().workflows.tables('DEMO');
}, 120_000);
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
  console.log(
    `Export of ${RECORDS} records, per sink:\n${timings.map((t) => `  ${t.sink}: ${(t.ms / 1000).toFixed(1)} s (${Math.round((t.rows * 1000) / t.ms)} rows/s)`).join('\n')}`,
  );
});

describe(`every sink, read back by an independent reader (${RECORDS} records)`, () => {
  it('the API side: the listing holds every record, the sample spreads over the forms and holds soft-deleted ones', () => {
    expect(api.total).toBe(RECORDS);
    const forms = new Set([...api.sample.values()].map((r) => r.formKey));
    expect(forms.size).toBe(api.perForm.size);
    expect(api.sample.size).toBeGreaterThanOrEqual(SAMPLE);
    expect([...api.sample.values()].filter((r) => r.deleted === true).length).toBeGreaterThan(0);
    // Every form of the study is a table, and no record is on a form the tables lack.
    expect([...api.perForm.keys()].every((form) => tables.some((t) => t.name === form))).toBe(true);
  });

  const context: ProofContext = { postgres: pg, s3, studyKey: 'DEMO' };
  for (const entry of SINKS) {
    it(`${entry.name}: rows per form equal the API's, and every sampled value equals the API's`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imednet-proof-'));
      temps.push(dir);
      const started = performance.now();
      const summary = await exportStudy(client(), 'DEMO', entry.sink(dir, context));
      timings.push({ sink: entry.name, ms: performance.now() - started, rows: summary.rows });
      expect(summary.rows).toBe(RECORDS);

      const reader = await entry.read(dir, context);
      try {
        const counts: Record<string, number> = {};
        const expected: Record<string, number> = {};
        for (const table of tables) {
          counts[table.name] = await reader.count(table);
          expected[table.name] = api.perForm.get(table.name) ?? 0;
        }
        expect(counts).toEqual(expected);

        const mismatches: string[] = [];
        let compared = 0;
        for (const table of tables) {
          const sampled = [...api.sample.values()].filter((r) => r.formKey === table.name);
          const found = await reader.rows(
            table,
            sampled.map((r) => r.recordId),
          );
          for (const record of sampled) {
            const row = found.get(record.recordId);
            if (!row) {
              mismatches.push(`record ${record.recordId} (${table.name}) not found`);
              continue;
            }
            for (const column of table.columns) {
              if (column.kind !== 'variable' && !FROM_API.has(column.name)) continue;
              const want = apiValue(record, column);
              const got = row[column.name];
              compared++;
              if (!sameValue(column.type, want, got, reader.emptyTextIsNull === true)) {
                mismatches.push(
                  `record ${record.recordId} ${table.name}.${column.name} (${column.type}): API ${JSON.stringify(want)}, read ${got instanceof Date ? got.toISOString() : String(got)} (${typeof got})`,
                );
              }
            }
          }
        }
        expect(mismatches.slice(0, 20)).toEqual([]);
        expect(compared).toBeGreaterThan(api.sample.size * 10);
      } finally {
        await reader.close();
      }
    }, 180_000);
  }
});
