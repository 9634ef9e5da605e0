/**
 * Other ways in and out of the study database: a study loaded from the sync cache (no request to
 * the API) holds what the same study loaded from the API holds, and tables exported from the
 * database through the sinks are the files those sinks make from the API (CSV byte for byte,
 * Parquet row for row); a query's result exports with columns typed from it, and an export
 * interrupted halfway resumes to the same files; the Parquet sink's files load back into the same
 * tables and the same profile, and any flat Parquet file loads typed from its schema. One database
 * for the file.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import {
  openStudyDatabase,
  type ParquetFile,
  profileStudy,
  type StudyDatabase,
  StudyDatabaseError,
  type StudyProfile,
} from '../../../src/plugins/duckdb/index.js';
import { csvSink } from '../../../src/plugins/sinks/csv.js';
import { type MemoryDirectory, memoryDirectory } from '../../../src/plugins/sinks/directory.js';
import { exportStudy } from '../../../src/plugins/sinks/export.js';
import { ndjsonSink } from '../../../src/plugins/sinks/json.js';
import { parquetSink } from '../../../src/plugins/sinks/parquet.js';
import { sync } from '../../../src/plugins/sync/index.js';
import { workflows } from '../../../src/plugins/workflows/index.js';
import { memoryStorage } from '../../../src/storage/index.js';
import { lit, openDuckdb } from '../../support/duckdb.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

const { api } = useMockApi({ studyKey: 'SRC', records: 900, subjects: 24, sites: 3 });
const Client = Imednet.plugin(workflows(), sync());
const storage = memoryStorage();
const client = new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL, storage });

let db: StudyDatabase;
/** Every table of the study loaded from the API into `api`, and from the cache into `cache`. */
let tableNames: string[];

const text = (dir: MemoryDirectory, name: string) => new TextDecoder().decode(dir.bytes(name));
const dataFiles = (dir: MemoryDirectory) => dir.names().filter((n) => !n.startsWith('.'));
const parquetRows = (dir: MemoryDirectory, name: string) => {
  const bytes = dir.bytes(name)!;
  return parquetReadObjects({
    file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  });
};
const rowsOf = (schema: string, table: string) =>
  db.query(`SELECT * FROM "${schema}"."${table}" ORDER BY recordId`);

beforeAll(async () => {
  db = openStudyDatabase();
  await db.start();
  const fromApi = await db.loadStudy(client, 'SRC', { schema: 'api' });
  tableNames = fromApi.tables.map((t) => t.name);
  await client.cache.syncStudy('SRC');
}, 120_000);
afterAll(() => db?.close());

describe('loadCache', () => {
  it('loads the synced study with no request to the API, equal to the load from the API but for deleted records', async () => {
    const before = api.requests.length;
    const summary = await db.loadCache(client.cache, 'SRC', { schema: 'cache', batchSize: 128 });
    expect(api.requests.length).toBe(before);
    expect(summary.tables.map((t) => t.name)).toEqual(tableNames);
    // The cache keeps a deleted record as a tombstone, not as a record.
    const deleted = await client.cache.getDeletedRecords('SRC');
    expect(deleted.length).toBeGreaterThan(0);
    expect(summary.rows).toBe(900 - deleted.length);
    expect(summary.rows).toBeGreaterThan(800);
    for (const name of tableNames) {
      const [fromCache, fromApi] = await Promise.all([
        rowsOf('cache', name),
        db.query(`SELECT * FROM api."${name}" WHERE NOT deleted ORDER BY recordId`),
      ]);
      expect(fromCache, name).toEqual(fromApi);
    }
    const [columnsCache, columnsApi] = await Promise.all(
      ['cache', 'api'].map((schema) =>
        db.query(
          `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ? ORDER BY table_name, ordinal_position`,
          [schema],
        ),
      ),
    );
    expect(columnsCache).toEqual(columnsApi);
  });

  it('takes the mapper options: only the forms asked for', async () => {
    const summary = await db.loadCache(client.cache, 'SRC', { schema: 'cache_one', forms: [tableNames[0]!] });
    expect(summary.tables.map((t) => t.name)).toEqual([tableNames[0]]);
  });

  it('names a study the cache never synced', async () => {
    await expect(db.loadCache(client.cache, 'NEVER')).rejects.toThrow(
      new ConfigurationError(
        'loadCache: the cache holds no forms of study NEVER: sync it first (client.cache.syncStudy)',
      ),
    );
  });
});

describe('export', () => {
  it('writes the loaded tables as CSV byte for byte as the CSV sink writes them from the API', async () => {
    const fromApi = memoryDirectory();
    await exportStudy(client, 'SRC', csvSink({ directory: fromApi }));
    const fromDb = memoryDirectory();
    const summary = await db.export({ sink: csvSink({ directory: fromDb }), schema: 'api', batchSize: 250 });
    expect(summary).toMatchObject({ studyKey: 'SRC', sink: 'csv', rows: 900, resumed: false });
    expect(dataFiles(fromDb)).toEqual(dataFiles(fromApi));
    expect(dataFiles(fromDb)).toHaveLength(tableNames.length);
    for (const name of dataFiles(fromApi)) expect(text(fromDb, name), name).toBe(text(fromApi, name));
  });

  it('writes Parquet whose rows equal the Parquet sink’s from the API', async () => {
    const fromApi = memoryDirectory();
    await exportStudy(client, 'SRC', parquetSink({ directory: fromApi }), { forms: tableNames.slice(0, 2) });
    const fromDb = memoryDirectory();
    await db.export({
      sink: parquetSink({ directory: fromDb }),
      schema: 'api',
      tables: tableNames.slice(0, 2),
    });
    expect(dataFiles(fromDb)).toEqual(dataFiles(fromApi));
    for (const name of dataFiles(fromApi)) {
      const rows = await parquetRows(fromDb, name);
      expect(rows.length, name).toBeGreaterThan(0);
      expect(rows, name).toEqual(await parquetRows(fromApi, name));
    }
  });

  it('exports a query with columns typed from its result', async () => {
    const form = tableNames[0]!;
    const out = memoryDirectory();
    const summary = await db.export({
      sink: ndjsonSink({ directory: out }),
      queries: {
        per_site: `SELECT siteName, count(*) AS records, min(dateCreated) AS first, max(dateCreated)::DATE AS lastDay,
                   avg(recordId) AS meanId, bool_or(deleted) AS anyDeleted
                   FROM api."${form}" GROUP BY siteName ORDER BY siteName`,
      },
    });
    expect(summary.tables.map((t) => t.name)).toEqual(['per_site']);
    const expected = await db.query(
      `SELECT siteName, count(*) AS n, min(dateCreated) AS first, max(dateCreated)::DATE AS lastDay, avg(recordId) AS meanId, bool_or(deleted) AS anyDeleted
       FROM api."${form}" GROUP BY siteName ORDER BY siteName`,
    );
    const lines = text(out, 'per_site.ndjson')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual(
      expected.map((r) => ({
        siteName: r.siteName,
        records: r.n,
        first: (r.first as Date).toISOString(),
        lastDay: (r.lastDay as Date).toISOString(),
        meanId: r.meanId,
        anyDeleted: r.anyDeleted,
      })),
    );
    expect(lines.length).toBe(3);
  });

  it('resumes an export stopped halfway to the same files, each row once', async () => {
    const whole = memoryDirectory();
    await db.export({ sink: csvSink({ directory: whole }), schema: 'api', batchSize: 50 });
    const out = memoryDirectory();
    const controller = new AbortController();
    let seen = 0;
    await expect(
      db.export({
        sink: csvSink({ directory: out }),
        schema: 'api',
        batchSize: 50,
        checkpointEvery: 1,
        signal: controller.signal,
        onProgress: () => {
          if (++seen === 7) controller.abort();
        },
      }),
    ).rejects.toThrow('The export was aborted');
    const resumed = await db.export({ sink: csvSink({ directory: out }), schema: 'api', batchSize: 50 });
    expect(resumed.resumed).toBe(true);
    // Checkpointed after every batch: the six or seven written before the stop are not written again.
    expect(resumed.skippedBatches).toBeGreaterThanOrEqual(6);
    expect(resumed.rows + resumed.skippedRows).toBe(900);
    for (const name of dataFiles(whole)) expect(text(out, name), name).toBe(text(whole, name));
    // The database goes on after the stopped export.
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('refuses what it cannot export, saying why', async () => {
    const sink = () => csvSink({ directory: memoryDirectory() });
    await expect(db.export({ sink: sink(), schema: 'api', tables: ['NOPE'] })).rejects.toThrow(
      /^export: no table NOPE was loaded into schema api \(loaded: /,
    );
    await expect(db.export({ sink: sink(), schema: 'empty' })).rejects.toThrow(
      'export: nothing to export: no table was loaded into schema empty and no query was given',
    );
    await expect(
      db.export({ sink: sink(), queries: { a: 'SELECT 1 AS x', A: 'SELECT 2 AS x' } }),
    ).rejects.toThrow('export: two tables are named A (letter case aside)');
    await expect(db.export({ sink: sink(), queries: { bad: 'SELECT FROM WHERE' } })).rejects.toBeInstanceOf(
      StudyDatabaseError,
    );
    await expect(db.export({} as never)).rejects.toThrow('export: give a sink, e.g. csvSink({ directory })');
    await expect(db.export({ sink: sink(), batchSize: 0 })).rejects.toThrow(
      'batchSize must be a positive integer (got 0)',
    );
  });
});

/** A profile without its schema and time, its lists in one order whatever order the tables were loaded in. */
const comparable = ({ forms, fields, sites, intervals }: StudyProfile) => {
  const sorted = <T>(items: T[]) =>
    [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { forms: sorted(forms), fields: sorted(fields), sites: sorted(sites), intervals: sorted(intervals) };
};

/** Every data file of a directory as loadParquet takes it. */
const filesOf = (dir: MemoryDirectory): ParquetFile[] =>
  dataFiles(dir).map((name) => ({ name, data: dir.bytes(name)! }));

describe('loadParquet', () => {
  it.each([
    ['one file per form', { layout: 'file-per-table' as const }],
    ['Hive parts', { layout: 'hive' as const, rowsPerFile: 40, rowGroupSize: 16 }],
  ])(
    'loads the Parquet sink’s %s back into the tables and the profile of the load from the API',
    async (_, layout) => {
      const out = memoryDirectory();
      await exportStudy(client, 'SRC', parquetSink({ directory: out, ...layout }), { batchSize: 20 });
      const schema = `pq_${layout.layout.replaceAll('-', '_')}`;
      const summary = await db.loadParquet(filesOf(out), { schema });
      expect(summary.rows).toBe(900);
      expect(summary.tables.map((t) => t.name).sort()).toEqual([...tableNames].sort());
      // The tables' specs (variables, labels, declared types) come back from the files' metadata.
      const bySpec = (schemaName: string) =>
        [...db.loadedTables(schemaName)].sort((a, b) => a.name.localeCompare(b.name));
      expect(bySpec(schema)).toEqual(bySpec('api'));
      for (const name of tableNames)
        expect(await rowsOf(schema, name), name).toEqual(await rowsOf('api', name));
      expect(comparable(await profileStudy(db, { schema }))).toEqual(
        comparable(await profileStudy(db, { schema: 'api' })),
      );
    },
  );

  it('loads any flat Parquet file, typed from its schema, from bytes or a Blob', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imednet-pq-'));
    const reader = await openDuckdb();
    try {
      const path = join(dir, 'labs.parquet');
      // Written by native DuckDB: no imednet metadata, DuckDB's own choice of Parquet types.
      await reader.all(
        `COPY (SELECT range::INTEGER AS id, (range * 1.5)::DECIMAL(10, 2) AS dose, range / 3 AS ratio,
                      range % 2 = 0 AS even, DATE '2024-03-01' + range::INTEGER AS day,
                      TIMESTAMP '2024-03-01 08:30:00' + INTERVAL (range) MINUTE AS at,
                      CASE WHEN range = 2 THEN NULL ELSE 'lab ' || range END AS note
               FROM range(5)) TO ${lit(path)} (FORMAT parquet)`,
      );
      const bytes = await readFile(path);
      const summary = await db.loadParquet(
        [
          { name: 'archive/labs.parquet', data: bytes },
          { name: 'more.parquet', data: new Blob([bytes]), table: 'labs' },
          // A Node Buffer that is a view into a larger pool (as readFileSync gives small files).
          {
            name: 'pooled.parquet',
            data: Buffer.concat([Buffer.alloc(100, 7), bytes]).subarray(100),
            table: 'labs',
          },
        ],
        { schema: 'ext' },
      );
      expect(summary.tables).toEqual([{ name: 'labs', rows: 15 }]);
      const types = await db.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'ext' AND table_name = 'labs' ORDER BY ordinal_position`,
      );
      expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual([
        'id BIGINT',
        'dose DOUBLE',
        'ratio DOUBLE',
        'even BOOLEAN',
        'day DATE',
        'at TIMESTAMP',
        'note VARCHAR',
      ]);
      const rows = await db.query('SELECT DISTINCT * FROM ext.labs ORDER BY id LIMIT 2');
      expect(rows).toEqual([
        {
          id: 0,
          dose: 0,
          ratio: 0,
          even: true,
          day: new Date('2024-03-01T00:00:00Z'),
          at: new Date('2024-03-01T08:30:00Z'),
          note: 'lab 0',
        },
        {
          id: 1,
          dose: 1.5,
          ratio: 1 / 3,
          even: false,
          day: new Date('2024-03-02T00:00:00Z'),
          at: new Date('2024-03-01T08:31:00Z'),
          note: 'lab 1',
        },
      ]);
      expect(await db.query('SELECT count(*) AS n FROM ext.labs WHERE note IS NULL')).toEqual([{ n: 3 }]);
      expect(await db.query('SELECT id, count(*) AS n FROM ext.labs GROUP BY id ORDER BY id')).toEqual(
        [0, 1, 2, 3, 4].map((id) => ({ id, n: 3 })),
      );
    } finally {
      reader.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is no Parquet, or parts that disagree, leaving nothing of the load', async () => {
    const out = memoryDirectory();
    await exportStudy(client, 'SRC', parquetSink({ directory: out }), { forms: tableNames.slice(0, 2) });
    const [first, second] = filesOf(out);
    const notParquet = db.loadParquet(
      [first!, { name: 'junk.parquet', data: new TextEncoder().encode('a,b\n1,2\n') }],
      {
        schema: 'broken',
      },
    );
    await expect(notParquet).rejects.toThrow(
      new StudyDatabaseError('loadParquet: junk.parquet is not a Parquet file hyparquet can read'),
    );
    await expect(
      db.loadParquet([first!, { ...second!, table: first!.name.replace('.parquet', '') }], {
        schema: 'broken',
      }),
    ).rejects.toThrow(/has other columns than the earlier files of table/);
    expect(
      await db.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'broken'`),
    ).toEqual([{ n: 0 }]);
    await expect(db.loadParquet({ name: 'one.parquet', data: new Uint8Array() } as never)).rejects.toThrow(
      new ConfigurationError('loadParquet: give a list of { name, data } files'),
    );
    await expect(db.loadParquet([{ data: new Uint8Array() } as never])).rejects.toThrow(
      'loadParquet: every file needs a name',
    );
  });

  it('without hyparquet installed, names the package to install', async () => {
    vi.resetModules();
    vi.doMock('hyparquet', () => {
      throw new Error('Cannot find package');
    });
    try {
      const fresh = await import('../../../src/plugins/duckdb/index.js');
      const errors = await import('../../../src/core/errors.js');
      await using other = fresh.openStudyDatabase();
      const error = await other
        .loadParquet([{ name: 'a.parquet', data: new Uint8Array(8) }])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.ConfigurationError);
      expect((error as Error).message).toBe(
        'imednet/plugins/duckdb needs the hyparquet package: npm install hyparquet',
      );
    } finally {
      vi.doUnmock('hyparquet');
      vi.resetModules();
    }
  });
});
