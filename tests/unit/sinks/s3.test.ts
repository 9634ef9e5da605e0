import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { http, passthrough } from 'msw';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { csvSink } from '../../../src/plugins/sinks/csv.js';
import {
  ExportConfigurationError,
  type ExportSink,
  exportRows,
  exportStudy,
  type OutputDirectory,
} from '../../../src/plugins/sinks/index.js';
import { ndjsonSink } from '../../../src/plugins/sinks/json.js';
import { nodeDirectory } from '../../../src/plugins/sinks/node.js';
import { hiveValue, parquetSink } from '../../../src/plugins/sinks/parquet.js';
import { ObjectStoreError, type S3DirectoryOptions, s3Directory } from '../../../src/plugins/sinks/s3.js';
import { xlsxSink } from '../../../src/plugins/sinks/xlsx.js';
import type { Row, RowBatch, TableSpec } from '../../../src/plugins/workflows/index.js';
import { workflows } from '../../../src/plugins/workflows/index.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, useS3 } from '../../support/s3.js';
import { withWriteBatch } from '../../support/sinks.js';
import { readXlsxTables } from '../../support/xlsx.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

const { study, server } = useMockApi({ records: 1500, subjects: 40, sites: 3 });
const s3 = useS3(['exports']);
// msw answers the mock API; requests to the local S3 server go through to it.
beforeAll(() => server.use(http.all(`${s3.endpoint}/*`, () => passthrough())));

const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
let prefixes = 0;
/** A fresh prefix per export, so the tests share one bucket without meeting. */
const freshPrefix = () => `run-${++prefixes}/DEMO`;
const directory = (options: Partial<S3DirectoryOptions> = {}): OutputDirectory =>
  s3Directory({
    endpoint: s3.endpoint,
    bucket: 'exports',
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    ...options,
  });

/** The mapped rows of the study, per table, as the workflows plugin gives them. */
async function expectedRows() {
  const tables = new Map<string, Row[]>();
  for await (const { table, rows } of client().workflows.rows('DEMO')) {
    tables.set(table.name, [...(tables.get(table.name) ?? []), ...rows]);
  }
  return tables;
}

/** Rows as JSON gives them back (dates as ISO 8601 text). */
const plain = (row: Row) => JSON.parse(JSON.stringify(row)) as Record<string, unknown>;

/** A sink that fails after `n` batches (an interruption). */
function failingAfter(sink: ExportSink, n: number): ExportSink {
  let written = 0;
  return withWriteBatch(sink, async (batch, id, canonical) => {
    if (++written > n) throw new ExportConfigurationError('interrupted on purpose');
    return sink.writeBatch(batch, id, canonical);
  });
}

/** A fetch that counts the multipart requests it passes on. */
function countingFetch() {
  const counts = { create: 0, parts: 0, complete: 0, abort: 0, put: 0 };
  const fetcher: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    const { searchParams } = new URL(request.url);
    if (request.method === 'POST' && searchParams.has('uploads')) counts.create++;
    else if (request.method === 'PUT' && searchParams.has('partNumber')) counts.parts++;
    else if (request.method === 'POST' && searchParams.has('uploadId')) counts.complete++;
    else if (request.method === 'DELETE' && searchParams.has('uploadId')) counts.abort++;
    else if (request.method === 'PUT') counts.put++;
    return fetch(request);
  };
  return { counts, fetch: fetcher };
}

describe('s3Directory: the file sinks write to an S3-compatible server (s3rver, SigV4 checked)', () => {
  it('CSV: one object per form under the prefix, read back with GET and csv-parse, every row and value', async () => {
    const prefix = freshPrefix();
    const summary = await exportStudy(
      client(),
      'DEMO',
      csvSink({ directory: directory({ prefix }), formulaGuard: false }),
      { batchSize: 200 },
    );
    const expected = await expectedRows();
    const tables = await client().workflows.tables('DEMO');
    expect(await s3.keys('exports', `${prefix}/`)).toEqual(
      [...tables.map((t) => `${prefix}/${t.name}.csv`), `${prefix}/.imednet-export.json`].sort(),
    );
    let total = 0;
    for (const table of tables) {
      const text = (await s3.text('exports', `${prefix}/${table.name}.csv`))!;
      const records = parse(text, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
      const rows = expected.get(table.name) ?? [];
      expect(records.length).toBe(rows.length);
      total += records.length;
      // Every value, as text: numbers as JavaScript writes them, dates ISO 8601, blanks empty.
      const types = new Map(table.columns.map((c) => [c.name, c.type]));
      const asText = (row: Row) =>
        Object.fromEntries(
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
      expect(records).toEqual(rows.map(asText));
    }
    expect(total).toBe(study.records.length);
    expect(summary.rows).toBe(study.records.length);
    const manifest = JSON.parse((await s3.text('exports', `${prefix}/.imednet-export.json`))!);
    expect(manifest.completedAt).toEqual(expect.any(String));
    expect(manifest.batches.reduce((n: number, b: { rows: number }) => n + b.rows, 0)).toBe(
      study.records.length,
    );

    // Run again: the manifest in the bucket says the export is whole.
    const again = await exportStudy(client(), 'DEMO', csvSink({ directory: directory({ prefix }) }), {
      batchSize: 200,
    });
    expect(again.alreadyComplete).toBe(true);
  });

  it('NDJSON: each line is the mapped row', async () => {
    const prefix = freshPrefix();
    await exportStudy(client(), 'DEMO', ndjsonSink({ directory: directory({ prefix }) }), { batchSize: 300 });
    const expected = await expectedRows();
    for (const table of await client().workflows.tables('DEMO')) {
      const lines = (await s3.text('exports', `${prefix}/${table.name}.ndjson`))!.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => JSON.parse(l))).toEqual((expected.get(table.name) ?? []).map(plain));
    }
  });

  it('Parquet, a file per table and Hive parts: hyparquet reads back every form, row counts and values', async () => {
    const expected = await expectedRows();
    const tables = await client().workflows.tables('DEMO');
    const flat = freshPrefix();
    await exportStudy(client(), 'DEMO', parquetSink({ directory: directory({ prefix: flat }) }), {
      batchSize: 250,
    });
    const hive = freshPrefix();
    await exportStudy(
      client(),
      'DEMO',
      parquetSink({ directory: directory({ prefix: hive }), layout: 'hive', rowsPerFile: 200 }),
      { batchSize: 100 },
    );
    const read = async (key: string) => {
      const bytes = (await s3.get('exports', key))!;
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      return (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    };
    const hiveKeys = await s3.keys('exports', `${hive}/`);
    expect(hiveKeys.filter((k) => k.endsWith('.partial'))).toEqual([]);
    for (const table of tables) {
      const rows = expected.get(table.name) ?? [];
      const fromFile = await read(`${flat}/${table.name}.parquet`);
      const folder = `${hive}/study=${hiveValue('DEMO')}/form=${hiveValue(table.name)}/`;
      const parts = hiveKeys
        .filter((k) => k.startsWith(folder))
        .sort((a, b) => Number(a.match(/part-(\d+)/)![1]) - Number(b.match(/part-(\d+)/)![1]));
      expect(parts.length).toBe(Math.max(1, Math.ceil(rows.length / 200)));
      const fromParts = (await Promise.all(parts.map(read))).flat();
      for (const got of [fromFile, fromParts]) {
        expect(got.length).toBe(rows.length);
        expect(got.map((r) => Number(r.recordId))).toEqual(rows.map((r) => r.recordId));
        // Sampled rows, every column: dates as dates, INT64 as bigint, blanks as null.
        for (const i of [0, Math.floor(rows.length / 2), rows.length - 1].filter(
          (n) => n >= 0 && n < rows.length,
        )) {
          for (const column of table.columns) {
            const mapped = rows[i]![column.name] ?? null;
            const value = got[i]![column.name];
            if (mapped === null) expect(value ?? null).toBeNull();
            else if (mapped instanceof Date) expect((value as Date).getTime()).toBe(mapped.getTime());
            else if (typeof value === 'bigint') expect(Number(value)).toBe(mapped);
            else expect(value).toBe(mapped);
          }
        }
      }
    }
  });

  it('a file larger than a part goes up as a multipart upload, and no object exists before it completes', async () => {
    // Parts are at least 5 MiB, so the rows are wide: 3,000 rows of 4 KiB of text, 12 MiB of NDJSON.
    const table: TableSpec = {
      name: 'WIDE',
      columns: [
        { name: 'recordId', type: 'integer', kind: 'record' },
        { name: 'notes', type: 'text', kind: 'variable' },
      ],
    } as unknown as TableSpec;
    const rowsOf = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        recordId: from + i,
        notes: `${from + i}:${'abcdefghij'.repeat(410)}`,
      }));
    async function* batches(): AsyncIterable<RowBatch> {
      for (let n = 0; n < 30; n++) yield { table, rows: rowsOf(n * 100, 100) } as unknown as RowBatch;
    }
    const prefix = freshPrefix();
    const { counts, fetch: counting } = countingFetch();
    // The server fails the second part once: the runner writes that batch again, and the part
    // numbers sent again replace what the failed attempt had sent.
    let failed = false;
    const flaky: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (!failed && new URL(request.url).searchParams.get('partNumber') === '2') {
        failed = true;
        return new Response('<Error><Code>InternalError</Code></Error>', { status: 500 });
      }
      return counting(request);
    };
    let seenBeforeClose: string[] | undefined;
    const sink = ndjsonSink({
      directory: directory({ prefix, partSize: 5 * 1024 * 1024, fetch: flaky }),
    });
    const watching = withWriteBatch(sink, async (batch, id, canonical) => {
      const state = await sink.writeBatch(batch, id, canonical);
      if (id === 'WIDE:29') seenBeforeClose = await s3.keys('exports', `${prefix}/`);
      return state;
    });
    const summary = await exportRows(batches(), watching, {
      studyKey: 'DEMO',
      tables: [table],
      retryDelay: 0,
    });
    expect(summary.rows).toBe(3000);
    expect(failed).toBe(true);
    // Two full parts were sent while writing, yet only the manifest was an object.
    expect(seenBeforeClose).toEqual([`${prefix}/.imednet-export.json`]);
    expect(counts.create).toBe(1);
    expect(counts.parts).toBe(3); // 5 MiB, 5 MiB and the rest
    expect(counts.complete).toBe(1);
    const lines = (await s3.text('exports', `${prefix}/WIDE.ndjson`))!.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(rowsOf(0, 3000));
  });

  it('an interrupted export reruns: no object under a final name meanwhile, every record exactly once after', async () => {
    const prefix = freshPrefix();
    const c = client();
    const tables = await c.workflows.tables('DEMO');
    const run = (sink: ExportSink) =>
      exportRows(c.workflows.rows('DEMO', { batchSize: 100 }), sink, {
        studyKey: 'DEMO',
        tables,
        checkpointEvery: 3,
        retryDelay: 0,
      });
    await expect(run(failingAfter(csvSink({ directory: directory({ prefix }) }), 8))).rejects.toThrow(
      'interrupted on purpose',
    );
    // Only the manifest, recording nothing: unfinished files are not durable in object storage.
    expect(await s3.keys('exports', `${prefix}/`)).toEqual([`${prefix}/.imednet-export.json`]);
    const interrupted = JSON.parse((await s3.text('exports', `${prefix}/.imednet-export.json`))!);
    expect(interrupted.batches).toEqual([]);

    // A second interruption while finishing: two files complete, the third fails to.
    const base = directory({ prefix });
    let renames = 0;
    const flaky: OutputDirectory = {
      ...base,
      label: base.label,
      durability: 'rename',
      open: (name, keep) => base.open(name, keep),
      async rename(from, to) {
        if (++renames > 2) throw new ExportConfigurationError('interrupted while finishing');
        return base.rename(from, to);
      },
    };
    await expect(run(csvSink({ directory: flaky }))).rejects.toThrow('interrupted while finishing');
    const halfway = await s3.keys('exports', `${prefix}/`);
    expect(halfway.filter((k) => k.endsWith('.csv'))).toHaveLength(2);
    expect(halfway.filter((k) => k.endsWith('.partial'))).toEqual([]);

    const resumed = await run(csvSink({ directory: directory({ prefix }) }));
    expect(resumed.resumed).toBe(true);
    expect(resumed.rows + resumed.skippedRows).toBe(study.records.length);
    const ids: number[] = [];
    for (const table of tables) {
      const text = (await s3.text('exports', `${prefix}/${table.name}.csv`))!;
      ids.push(
        ...(parse(text, { columns: true }) as Array<{ recordId: string }>).map((r) => Number(r.recordId)),
      );
    }
    expect(ids.sort((a, b) => a - b)).toEqual([...study.records].map((r) => r.recordId));
  });

  it('an interrupted Hive Parquet export resumes after its last finished part: every record exactly once', async () => {
    const prefix = freshPrefix();
    const c = client();
    const tables = await c.workflows.tables('DEMO');
    const run = (sink: ExportSink) =>
      exportRows(c.workflows.rows('DEMO', { batchSize: 100 }), sink, {
        studyKey: 'DEMO',
        tables,
        checkpointEvery: 2,
        retryDelay: 0,
      });
    const options = { layout: 'hive' as const, rowsPerFile: 200 };
    await expect(
      run(failingAfter(parquetSink({ directory: directory({ prefix }), ...options }), 9)),
    ).rejects.toThrow('interrupted on purpose');
    const manifest = JSON.parse((await s3.text('exports', `${prefix}/.imednet-export.json`))!);
    expect(manifest.batches.length).toBeGreaterThan(0);
    const resumed = await run(parquetSink({ directory: directory({ prefix }), ...options }));
    expect(resumed.skippedBatches).toBe(manifest.batches.length);
    const ids: number[] = [];
    for (const key of await s3.keys('exports', `${prefix}/`)) {
      if (!key.endsWith('.parquet')) continue;
      const bytes = (await s3.get('exports', key))!;
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      ids.push(
        ...((await parquetReadObjects({ file, columns: ['recordId'] })) as Array<{ recordId: unknown }>).map(
          (r) => Number(r.recordId),
        ),
      );
    }
    expect(ids.sort((a, b) => a - b)).toEqual([...study.records].map((r) => r.recordId));
  });
});

describe('the Excel sink into a bucket', () => {
  it('refuses an object store as the place to spill sheets, before any request for records', async () => {
    const prefix = freshPrefix();
    const error = await exportStudy(client(), 'DEMO', xlsxSink({ directory: directory({ prefix }) })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExportConfigurationError);
    expect((error as Error).message).toMatch(/cannot read back files still being written.*scratch/);
    expect(await s3.keys('exports', `${prefix}/`)).toEqual([]);
  });

  it('with a local scratch folder: one finished workbook object holding every record, and no spill left', async () => {
    const prefix = freshPrefix();
    const local = await mkdtemp(join(tmpdir(), 'imednet-xlsx-scratch-'));
    try {
      const sink = xlsxSink({ directory: directory({ prefix }), scratch: nodeDirectory(local) });
      await exportStudy(client(), 'DEMO', sink);
      expect(await s3.keys('exports', `${prefix}/`)).toEqual([
        `${prefix}/.imednet-export.json`,
        `${prefix}/DEMO.xlsx`,
      ]);
      expect(await readdir(local)).toEqual([]);
      const file = join(local, 'read-back.xlsx');
      await writeFile(file, (await s3.get('exports', `${prefix}/DEMO.xlsx`))!);
      const tables = await readXlsxTables(file);
      for (const [name, rows] of await expectedRows()) {
        const column = tables.get(name)!.header.indexOf('recordId');
        expect(tables.get(name)!.rows.map((row) => row[column])).toEqual(rows.map((row) => row.recordId));
      }
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  });
});

describe('s3Directory: errors name the bucket and key, never a credential', () => {
  const SECRET = 'wrong-secret-4f1c9d2e7a';
  const TOKEN = 'session-token-8b3e6f0a1d';

  /** Every text an error shows: its message, its JSON, and its causes'. */
  const everything = (error: unknown): string => {
    const parts: string[] = [];
    for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
      parts.push(String(e), (e as Error).stack ?? '', JSON.stringify(e, Object.getOwnPropertyNames(e)));
    }
    return parts.join('\n');
  };

  it('a wrong secret is a 403: ExportConfigurationError before any row, naming the bucket, without the secret', async () => {
    const prefix = freshPrefix();
    const sink = csvSink({
      directory: directory({ prefix, secretAccessKey: SECRET, sessionToken: TOKEN }),
    });
    const error = await exportStudy(client(), 'DEMO', sink).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportConfigurationError);
    expect((error as Error).message).toMatch(/403/);
    expect((error as Error).message).toContain('bucket exports');
    expect((error as Error).message).toContain(`${prefix}/.imednet-export.json`);
    const text = everything(error);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toMatch(/Signature=|X-Amz-Signature/i);
    expect(await s3.keys('exports', `${prefix}/`)).toEqual([]);
  });

  it('a missing bucket is an ExportConfigurationError naming it', async () => {
    const error = await exportStudy(
      client(),
      'DEMO',
      ndjsonSink({
        directory: directory({ bucket: 'no-such-bucket', secretAccessKey: S3_SECRET_ACCESS_KEY }),
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportConfigurationError);
    expect((error as Error).message).toMatch(/bucket no-such-bucket does not exist/);
  });

  it('an unreachable endpoint is an ObjectStoreError naming the host, without the secret', async () => {
    // A port nothing listens on: the connection is refused.
    server.use(http.all('http://127.0.0.1:9/*', () => passthrough()));
    const error = await exportStudy(
      client(),
      'DEMO',
      ndjsonSink({ directory: directory({ endpoint: 'http://127.0.0.1:9', secretAccessKey: SECRET }) }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectStoreError);
    expect((error as Error).message).toContain('cannot reach http://127.0.0.1:9');
    expect(everything(error)).not.toContain(SECRET);
  });

  it('a 5xx when a file is stored is tried again; a lasting one stops the export, naming the key', async () => {
    const prefix = freshPrefix();
    let failures = 0;
    // The server fails the first uploads of the CSV files (`limit` of them).
    const failing =
      (limit: number): typeof fetch =>
      async (input, init) => {
        const request = new Request(input, init);
        if (request.method === 'PUT' && request.url.includes('.csv') && failures < limit) {
          failures++;
          return new Response('<Error><Code>ServiceUnavailable</Code></Error>', { status: 503 });
        }
        return fetch(request);
      };
    const summary = await exportStudy(
      client(),
      'DEMO',
      csvSink({ directory: directory({ prefix, fetch: failing(2) }) }),
      { retryDelay: 0 },
    );
    expect(summary.rows).toBe(study.records.length);
    expect(failures).toBe(2);
    expect((await s3.keys('exports', `${prefix}/`)).filter((k) => k.endsWith('.csv')).length).toBeGreaterThan(
      0,
    );

    failures = 0;
    const error = await exportStudy(
      client(),
      'DEMO',
      csvSink({ directory: directory({ prefix: freshPrefix(), fetch: failing(1000) }) }),
      { retryDelay: 0 },
    ).catch((e: unknown) => e);
    // The files are sent when finished (close), where a transient failure is tried a few times.
    expect(error).toBeInstanceOf(ObjectStoreError);
    expect((error as Error).message).toMatch(/503 ServiceUnavailable/);
    expect((error as Error).message).toMatch(/\.csv in bucket exports/);
  });

  it('settings are checked before anything is written', () => {
    const base = {
      endpoint: 'http://127.0.0.1:1',
      bucket: 'exports',
      accessKeyId: 'a',
      secretAccessKey: 'b',
    };
    expect(() => s3Directory({ ...base, partSize: 1024 * 1024 })).toThrow(/at least 5 MiB/);
    expect(() => s3Directory({ ...base, bucket: 'Bad_Bucket' })).toThrow(ExportConfigurationError);
    expect(() => s3Directory({ ...base, secretAccessKey: '' })).toThrow(/secretAccessKey/);
    expect(() => s3Directory({ ...base, prefix: 'a/../b' })).toThrow(/prefix/);
    expect(() => s3Directory({ ...base, endpoint: undefined })).toThrow(/endpoint.*region/);
    const withPassword = () => s3Directory({ ...base, endpoint: 'https://user:hunter2@s3.example.com' });
    expect(withPassword).toThrow(/must not hold a user name, password/);
    expect(
      String(
        (() => {
          try {
            withPassword();
          } catch (e) {
            return e;
          }
        })(),
      ),
    ).not.toContain('hunter2');
  });

  it('an object cannot be reopened at a length: a half-written file is never durable there', async () => {
    const out = directory({ prefix: freshPrefix() });
    expect(out.durability).toBe('rename');
    await expect(out.open('AE.csv.partial', 10)).rejects.toThrow(ExportConfigurationError);
  });

  it('a missing aws4fetch fails the first request with ExportConfigurationError naming the package', async () => {
    vi.resetModules();
    vi.doMock('aws4fetch', () => {
      throw new Error('Cannot find package');
    });
    try {
      const fresh = await import('../../../src/plugins/sinks/s3.js');
      const errors = await import('../../../src/plugins/sinks/errors.js');
      const out = fresh.s3Directory({
        endpoint: s3.endpoint,
        bucket: 'exports',
        accessKeyId: S3_ACCESS_KEY_ID,
        secretAccessKey: S3_SECRET_ACCESS_KEY,
      });
      const error = await out.readText('.imednet-export.json').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.ExportConfigurationError);
      expect((error as Error).message).toMatch(/npm install aws4fetch/);
    } finally {
      vi.doUnmock('aws4fetch');
      vi.resetModules();
    }
  });
});

describe('s3Directory: uploads a crashed run left pending', () => {
  it('are aborted for a key when it is opened again, where the store lists them (s3rver does not: stubbed)', async () => {
    const prefix = freshPrefix();
    const key = `${prefix}/AE.csv`;
    const aborted: string[] = [];
    // ListMultipartUploads answered as S3 does; a neighbour key sharing the prefix is left alone.
    const listing: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (request.method === 'GET' && url.searchParams.has('uploads')) {
        expect(url.searchParams.get('prefix')).toBe(key);
        return new Response(
          `<ListMultipartUploadsResult><Upload><Key>${key}</Key><UploadId>stale-1</UploadId></Upload><Upload><Key>${key}.bak</Key><UploadId>other-2</UploadId></Upload></ListMultipartUploadsResult>`,
        );
      }
      if (request.method === 'DELETE' && url.searchParams.has('uploadId')) {
        aborted.push(`${decodeURIComponent(url.pathname)}#${url.searchParams.get('uploadId')}`);
        return new Response(null, { status: 204 });
      }
      return fetch(request);
    };
    const out = directory({ prefix, fetch: listing });
    const file = await out.open('AE.csv.partial', 0);
    expect(aborted).toEqual([`/exports/${key}#stale-1`]);
    await file.write(new TextEncoder().encode('a,b\r\n'));
    await file.close();
    expect(await out.exists('AE.csv')).toBe(false);
    await out.rename('AE.csv.partial', 'AE.csv');
    expect(await s3.text('exports', key)).toBe('a,b\r\n');
  });
});
