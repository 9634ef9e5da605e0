// `imednet export` as a user runs it: the real command in a child process against the loopback mock,
// its files read back with independent readers, its progress on a pipe and on a terminal, Ctrl-C
// then --resume, and each error a user can make, with its documented exit code.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { parquetReadObjects } from 'hyparquet';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeStudy,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../../src/testing/index.js';
import { openDuckdb } from '../../support/duckdb.js';
import { usePostgres } from '../../support/postgres.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, useS3 } from '../../support/s3.js';

const ROOT = join(import.meta.dirname, '../../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const CLI = ['--import', TSX, join(ROOT, 'src/cli/index.ts')];
const run = promisify(execFile);

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: MockServer;
let dir: string;
const s3 = useS3(['exports']);
const pg = usePostgres();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imednet-export-cli-'));
  server = await startMockServer({
    study: [
      createFakeStudy({ studyKey: 'DEMO', records: 3000, subjects: 60, sites: 3, seed: 11 }),
      createFakeStudy({ studyKey: 'OTHER', records: 400, subjects: 10, sites: 2, seed: 12 }),
    ],
  });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});
const keys = () => ({
  IMEDNET_API_KEY: DEFAULT_API_KEY,
  IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
  IMEDNET_BASE_URL: server.url,
});

async function cli(args: string[], env: Record<string, string>, cwd = ROOT): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      maxBuffer: 64 << 20,
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout: string; stderr: string; killed?: boolean };
    if (failed.killed) throw new Error(`imednet ${args.join(' ')} did not end`);
    return {
      code: typeof failed.code === 'number' ? failed.code : null,
      stdout: failed.stdout,
      stderr: failed.stderr,
    };
  }
}

/** The records of a study the server holds, per form: recordIds in order. */
function recordIdsByForm(studyKey: string): Map<string, number[]> {
  const study = server.studies.find((s) => s.studyKey === studyKey)!;
  const byForm = new Map<string, number[]>();
  for (const record of study.records) {
    byForm.set(record.formKey, [...(byForm.get(record.formKey) ?? []), record.recordId]);
  }
  return byForm;
}

/** Every CSV file of a folder, parsed: form key → rows. */
async function readCsvFolder(folder: string): Promise<Map<string, Record<string, string>[]>> {
  const out = new Map<string, Record<string, string>[]>();
  for (const name of await readdir(folder)) {
    if (!name.endsWith('.csv')) continue;
    const text = await readFile(join(folder, name), 'utf8');
    out.set(name.replace(/\.csv$/, ''), parse(text, { columns: true, bom: true }));
  }
  return out;
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe('imednet export', () => {
  it('writes a CSV file per form whose rows are the API records, prints a summary, and refuses to overwrite', async () => {
    const out = join(dir, 'csv');
    const first = await cli(['export', 'DEMO', '--to', 'csv', '--out', out], keys());
    expect(first.code).toBe(0);
    // Piped: plain lines on stderr, the summary on stdout.
    expect(first.stderr).toMatch(/^DEMO: exporting \d+ tables \(3,000 records\) to /);
    expect(first.stdout).toMatch(/^DEMO: 3,000 rows in \d+ tables to .* \(csv\)/);
    const tables = await readCsvFolder(out);
    const expected = recordIdsByForm('DEMO');
    for (const [form, ids] of expected) {
      expect(tables.get(form)?.map((row) => Number(row.recordId))).toEqual(ids);
      expect(first.stdout).toMatch(new RegExp(`\\n  ${form} +${ids.length.toLocaleString('en-US')} rows`));
    }
    // Values: a text variable of each record equals the API's.
    const study = server.studies.find((s) => s.studyKey === 'DEMO')!;
    for (const record of [...study.records].slice(0, 200)) {
      const row = tables.get(record.formKey)!.find((r) => Number(r.recordId) === record.recordId)!;
      expect(row.subjectKey).toBe(record.subjectKey);
      expect(row.recordStatus).toBe(record.recordStatus ?? '');
    }
    expect((await readdir(out)).filter((f) => f.endsWith('.partial'))).toEqual([]);

    const again = await cli(['export', 'DEMO', '--to', 'csv', '--out', out], keys());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a finished export of DEMO .*--restart/);
    const resumed = await cli(['export', 'DEMO', '--to', 'csv', '--out', out, '--resume'], keys());
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/already holds this export, complete; nothing written/);
    const restarted = await cli(
      ['export', 'DEMO', '--to', 'csv', '--out', out, '--restart', '--forms', 'AE'],
      keys(),
    );
    expect(restarted.code).toBe(0);
    // AE is written anew from the API; the other forms' files are the user's, left as they were.
    const after = await readCsvFolder(out);
    expect(after.get('AE')?.map((row) => Number(row.recordId))).toEqual(expected.get('AE'));
    for (const [form, rows] of tables) if (form !== 'AE') expect(after.get(form)).toEqual(rows);
    expect(restarted.stdout).toMatch(/^DEMO: [\d,]+ rows in 1 table /);
  }, 180_000);

  it('Parquet in the Hive layout, and --json progress events for schedulers', async () => {
    const out = join(dir, 'hive');
    const { code, stdout, stderr } = await cli(
      ['export', 'DEMO', '--to', 'parquet', '--hive', '--out', out, '--json', '--batch-size', '250'],
      keys(),
    );
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({ event: 'start', study: 'DEMO' });
    const done = events.at(-1);
    expect(done).toMatchObject({ event: 'done', study: 'DEMO', rows: 3000, sink: 'parquet' });
    const expected = recordIdsByForm('DEMO');
    const totals = [...expected].map(([name, ids]) => ({ name, total: ids.length }));
    // Every form of the study is a table; a form with no records (OLDVS) has a total of 0.
    expect(events[0].tables).toEqual(expect.arrayContaining(totals));
    const empty = events[0].tables.filter((t: { name: string }) => !expected.has(t.name));
    expect(empty.length).toBe(events[0].tables.length - totals.length);
    for (const table of empty) expect(table.total).toBe(0);
    for (const [form, ids] of expected) {
      const folder = join(out, 'study=DEMO', `form=${form}`);
      const got: number[] = [];
      for (const part of (await readdir(folder)).sort()) {
        const bytes = await readFile(join(folder, part));
        const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        for (const row of await parquetReadObjects({ file, columns: ['recordId'] }))
          got.push(Number(row.recordId));
      }
      expect(got.sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    }
  }, 120_000);

  it('on a terminal, draws a bar per form that ends at 100%', async () => {
    const out = join(dir, 'tty');
    const command = [process.execPath, ...CLI, 'export', 'OTHER', '--to', 'ndjson', '--out', out]
      .map((a) => `'${a}'`)
      .join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...keys() },
      timeout: 60_000,
    });
    const screen = stdout.replaceAll('\r', '\n');
    expect(screen).toMatch(/OTHER \S+ +\[[█░]+\] 100% \| [\d,]+\/[\d,]+ rows/);
    expect(screen).toMatch(/OTHER: 400 rows in \d+ tables/);
  }, 60_000);

  it.each([
    ['Ctrl-C (SIGINT)', 'SIGINT', 130],
    ["a scheduler's SIGTERM", 'SIGTERM', 143],
  ] as const)(
    '%s stops it at once, leaving no file that looks finished; --resume then writes every record exactly once',
    async (_what, signal, exitCode) => {
      const out = join(dir, `interrupted-${signal}`);
      server.api.setFaults({ latencyMs: 150 });
      let child: ChildProcess | undefined;
      try {
        child = spawn(
          process.execPath,
          [...CLI, 'export', 'DEMO', '--to', 'csv', '--out', out, '--batch-size', '100'],
          {
            cwd: ROOT,
            env: { PATH: process.env.PATH ?? '', ...keys() },
          },
        );
        let stderr = '';
        child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
        // Wait until some batches are on disk.
        for (let i = 0; i < 600; i++) {
          const manifest = await readFile(join(out, '.imednet-export.json'), 'utf8').catch(() => '');
          if (manifest.includes('"batchId"')) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const sent = Date.now();
        child.kill(signal);
        expect(await exited).toBe(exitCode);
        expect(Date.now() - sent).toBeLessThan(3000);
        expect(stderr.trim().split('\n').at(-1)).toBe('imednet: stopped');
        noStack(stderr);
      } finally {
        server.api.setFaults({});
      }
      const files = await readdir(out);
      expect(files.some((f) => f.endsWith('.csv.partial'))).toBe(true);
      expect(files.filter((f) => f.endsWith('.csv'))).toEqual([]);

      const refused = await cli(['export', 'DEMO', '--to', 'csv', '--out', out], keys());
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/holds an interrupted export of DEMO .*--resume/);

      const resumed = await cli(
        ['export', 'DEMO', '--to', 'csv', '--out', out, '--resume', '--batch-size', '100'],
        keys(),
      );
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/resumed: [\d,]+ rows were already written/);
      const tables = await readCsvFolder(out);
      for (const [form, ids] of recordIdsByForm('DEMO')) {
        expect(tables.get(form)?.map((row) => Number(row.recordId))).toEqual(ids);
      }
    },
    180_000,
  );

  it('--all-studies writes a folder per study, less --exclude', async () => {
    const out = join(dir, 'all');
    const { code, stdout } = await cli(
      ['export', '--all-studies', '--to', 'ndjson', '--out', out, '-q'],
      keys(),
    );
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect((await readdir(out)).sort()).toEqual(['DEMO', 'OTHER']);
    const lines = (await readFile(join(out, 'OTHER', 'AE.ndjson'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).recordId)).toEqual(recordIdsByForm('OTHER').get('AE'));
    const some = join(dir, 'some');
    expect(
      (
        await cli(
          ['export', '--all-studies', '--exclude', 'DEMO', '--to', 'ndjson', '--out', some, '-q'],
          keys(),
        )
      ).code,
    ).toBe(0);
    expect(await readdir(some)).toEqual(['OTHER']);
  }, 120_000);

  it('--concurrency 2 exports studies side by side; one that fails is named, the others finish, exit 8', async () => {
    const out = join(dir, 'side-by-side');
    const { code, stdout, stderr } = await cli(
      ['export', 'DEMO', 'NOPE', 'OTHER', '--to', 'ndjson', '--out', out, '--concurrency', '2'],
      keys(),
    );
    expect(code).toBe(8);
    expect(stderr).toMatch(/^NOPE: failed: .*NOPE/m);
    noStack(stderr);
    expect(stdout).toMatch(/^DEMO: 3,000 rows in /m);
    expect(stdout).toMatch(/^OTHER: 400 rows in /m);
    for (const study of ['DEMO', 'OTHER']) {
      for (const [form, ids] of recordIdsByForm(study)) {
        const lines = (await readFile(join(out, study, `${form}.ndjson`), 'utf8')).trim().split('\n');
        expect(lines.map((l) => JSON.parse(l).recordId)).toEqual(ids);
      }
    }
    const bad = await cli(
      ['export', 'DEMO', '--to', 'duckdb', '--out', 'x.duckdb', '--concurrency', '2'],
      {},
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/leave out --concurrency/);
  }, 120_000);

  it('takes the keys from a .env file in the working folder when the environment has none', async () => {
    const folder = await mkdtemp(join(dir, 'dotenv-'));
    await writeFile(
      join(folder, '.env'),
      `# iMednet\nIMEDNET_API_KEY=${DEFAULT_API_KEY}\nIMEDNET_SECURITY_KEY="${DEFAULT_SECURITY_KEY}"\nIMEDNET_BASE_URL=${server.url}\n`,
    );
    const { code } = await cli(['export', 'OTHER', '--to', 'json', '--out', 'out', '-q'], {}, folder);
    expect(code).toBe(0);
    const rows = JSON.parse(await readFile(join(folder, 'out', 'AE.json'), 'utf8'));
    expect(rows).toHaveLength(recordIdsByForm('OTHER').get('AE')!.length);
  }, 60_000);

  it('--to xlsx writes one workbook with a sheet per form holding every record', async () => {
    const out = join(dir, 'xlsx');
    const { code, stdout } = await cli(['export', 'OTHER', '--to', 'xlsx', '--out', out], keys());
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OTHER: 400 rows in \d+ tables to .* \(xlsx\)/);
    expect((await readdir(out)).filter((f) => !f.startsWith('.'))).toEqual(['OTHER.xlsx']);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(join(out, 'OTHER.xlsx'));
    for (const [form, ids] of recordIdsByForm('OTHER')) {
      const sheet = workbook.getWorksheet(form)!;
      const header = (sheet.getRow(1).values as unknown[]).slice(1);
      const column = header.indexOf('recordId') + 1;
      const got: number[] = [];
      sheet.eachRow((row, n) => {
        if (n > 1) got.push(Number(row.getCell(column).value));
      });
      expect(got).toEqual(ids);
    }
  }, 60_000);

  it('--to duckdb writes a table per form; with several studies, a schema per study', async () => {
    const file = join(dir, 'studies.duckdb');
    const { code } = await cli(['export', 'DEMO', 'OTHER', '--to', 'duckdb', '--out', file, '-q'], keys());
    expect(code).toBe(0);
    const db = await openDuckdb(file);
    try {
      for (const study of ['DEMO', 'OTHER']) {
        for (const [form, ids] of recordIdsByForm(study)) {
          const rows = await db.all(`select "recordId" from "${study}"."${form}" order by "recordId"`);
          expect(rows.map((r) => r.recordId)).toEqual([...ids].sort((a, b) => a - b));
        }
      }
    } finally {
      db.close();
    }
  }, 60_000);

  it('--to postgres writes a table per form; with several studies, a schema per study; a rerun with --resume writes nothing', async () => {
    const url = pg().url;
    const first = await cli(['export', 'DEMO', 'OTHER', '--to', 'postgres', '--out', url], keys());
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /DEMO: 3,000 rows in \d+ tables to postgres:\/\/127\.0\.0\.1:\d+\/postgres \(postgres\)/,
    );
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      for (const studyKey of ['DEMO', 'OTHER']) {
        const study = server.studies.find((s) => s.studyKey === studyKey)!;
        for (const [form, ids] of recordIdsByForm(studyKey)) {
          const rows = await sql<{ recordId: string; subjectKey: string }[]>`
            select "recordId", "subjectKey" from ${sql(studyKey)}.${sql(form)} order by "recordId"`;
          expect(rows.map((r) => Number(r.recordId))).toEqual([...ids].sort((a, b) => a - b));
          const bySubject = new Map([...study.records].map((r) => [r.recordId, r.subjectKey]));
          for (const row of rows) expect(row.subjectKey).toBe(bySubject.get(Number(row.recordId)));
        }
      }
    } finally {
      await sql.end();
    }
    const again = await cli(
      ['export', 'DEMO', 'OTHER', '--to', 'postgres', '--out', url, '--resume'],
      keys(),
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already holds this export, complete; nothing written/);
  }, 120_000);

  it('--to s3 writes Parquet under the prefix, and --to csv and xlsx take an s3:// folder too', async () => {
    const aws = {
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
      AWS_REGION: 'us-east-1',
    };
    const parquet = await cli(
      ['export', 'OTHER', '--to', 's3', '--out', 's3://exports/nightly/', '--s3-endpoint', s3.endpoint],
      { ...keys(), ...aws },
    );
    expect(parquet.code).toBe(0);
    expect(parquet.stdout).toMatch(/to s3:\/\/exports\/nightly \(parquet\)/);
    const expected = recordIdsByForm('OTHER');
    const names = await s3.keys('exports', 'nightly/');
    expect(names).toEqual(
      expect.arrayContaining([...expected.keys()].map((form) => `nightly/${form}.parquet`)),
    );
    expect(names.filter((k) => k.endsWith('.partial'))).toEqual([]);
    const bytes = (await s3.get('exports', 'nightly/AE.parquet'))!;
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const rows = await parquetReadObjects({ file, columns: ['recordId'] });
    expect(rows.map((r) => Number(r.recordId))).toEqual(expected.get('AE'));

    // A workbook too: its sheets wait in a local folder until it is finished.
    const xlsx = await cli(
      ['export', 'OTHER', '--to', 'xlsx', '--out', 's3://exports/book', '--s3-endpoint', s3.endpoint],
      { ...keys(), ...aws },
    );
    expect(xlsx.code).toBe(0);
    expect(await s3.keys('exports', 'book/')).toEqual(['book/.imednet-export.json', 'book/OTHER.xlsx']);

    // The endpoint from the environment (AWS_ENDPOINT_URL_S3), as the AWS tools take it.
    const csv = await cli(['export', 'OTHER', '--to', 'csv', '--out', 's3://exports/csv', '-q'], {
      ...keys(),
      ...aws,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
    });
    expect(csv.code).toBe(0);
    const text = (await s3.text('exports', 'csv/AE.csv'))!;
    expect(
      (parse(text, { columns: true, bom: true }) as Array<{ recordId: string }>).map((r) =>
        Number(r.recordId),
      ),
    ).toEqual(expected.get('AE'));
  }, 60_000);

  it.each([
    ['--to s3 without a bucket', ['export', 'DEMO', '--to', 's3', '--out', 'x'], 2, /--out s3:\/\/bucket/],
    ['a URL for duckdb', ['export', 'DEMO', '--to', 'duckdb', '--out', 'postgres://h/db'], 2, /FILE\.duckdb/],
    ['postgres into S3', ['export', 'DEMO', '--to', 'postgres', '--out', 's3://b/p'], 2, /connection string/],
    [
      '--s3-endpoint without S3',
      ['export', 'DEMO', '--to', 'csv', '--out', 'x', '--s3-endpoint', 'http://h'],
      2,
      /--s3-endpoint/,
    ],
  ])(
    'refuses %s before asking for keys (exit 2)',
    async (_what, args, exit, message) => {
      const { code, stdout, stderr } = await cli(args, {});
      expect({ code, stdout }).toEqual({ code: exit, stdout: '' });
      expect(stderr).toMatch(message);
    },
    30_000,
  );

  it('an S3 export without AWS keys says which are missing, and a wrong secret is never shown', async () => {
    const none = await cli(
      ['export', 'OTHER', '--to', 's3', '--out', 's3://exports/x', '--s3-endpoint', s3.endpoint],
      keys(),
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Missing the S3 keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    const wrong = await cli(
      ['export', 'OTHER', '--to', 's3', '--out', 's3://exports/x', '--s3-endpoint', s3.endpoint],
      {
        ...keys(),
        AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: 'aws-secret-3',
      },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/exports/);
    expect(wrong.stderr).not.toMatch(/aws-secret-3/);
    noStack(wrong.stderr);
  }, 60_000);

  it.each([
    ['no study', ['export', '--to', 'csv', '--out', 'x'], 2, /Name a study/],
    [
      'no --to',
      ['export', 'DEMO', '--out', 'x'],
      2,
      /--to csv\|ndjson\|json\|parquet\|xlsx\|duckdb\|postgres\|s3/,
    ],
    [
      'an unknown format',
      ['export', 'DEMO', '--to', 'xls', '--out', 'x'],
      2,
      /Unknown --to xls; one of: csv/,
    ],
    ['no --out', ['export', 'DEMO', '--to', 'csv'], 2, /--out DIR/],
    [
      '--hive without parquet',
      ['export', 'DEMO', '--to', 'csv', '--hive', '--out', 'x'],
      2,
      /--hive is a Parquet layout/,
    ],
    ['a bad --since', ['export', 'DEMO', '--to', 'csv', '--since', 'yesterday', '--out', 'x'], 2, /--since/],
    ['an unknown flag', ['export', 'DEMO', '--to', 'csv', '--out', 'x', '--colour'], 2, /--colour/],
  ])(
    'refuses %s before asking for keys (exit 2)',
    async (_what, args, exit, message) => {
      const { code, stdout, stderr } = await cli(args, {});
      expect({ code, stdout }).toEqual({ code: exit, stdout: '' });
      expect(stderr).toMatch(message);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    },
    30_000,
  );

  it('each failure is one line with its documented exit code, and never a key or a password', async () => {
    const out = join(dir, 'errors');
    const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
      [
        ['export', 'DEMO', '--to', 'csv', '--out', out],
        { IMEDNET_SECURITY_KEY: 'sk-secret-1' },
        2,
        /Missing the iMednet API key: set IMEDNET_API_KEY .*\.env.*--api-key/,
      ],
      [
        ['export', 'DEMO', '--to', 'csv', '--out', out],
        { ...keys(), IMEDNET_SECURITY_KEY: 'sk-secret-1' },
        3,
        /UnauthorizedError/,
      ],
      [['export', 'NOPE', '--to', 'csv', '--out', out], keys(), 4, /NotFoundError/],
      [
        ['export', 'DEMO', '--to', 'csv', '--out', out],
        { ...keys(), IMEDNET_BASE_URL: 'http://127.0.0.1:9' },
        6,
        /ConnectionError/,
      ],
      [
        ['export', 'DEMO', '--to', 'csv', '--out', '/proc/imednet-nope/x'],
        keys(),
        7,
        /Cannot create the output directory \/proc\/imednet-nope\/x/,
      ],
      [
        ['export', 'DEMO', '--to', 'postgres', '--out', 'postgres://alice:pw-secret-2@127.0.0.1:9/edc'],
        keys(),
        6,
        /ExportConfigurationError: postgres sink: .*ECONNREFUSED/,
      ],
    ];
    for (const [args, env, exit, message] of cases) {
      const { code, stdout, stderr } = await cli(args, env);
      expect({ args, code, stdout }).toEqual({ args, code: exit, stdout: '' });
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/sk-secret-1|pw-secret-2|alice/);
      noStack(stderr);
    }
  }, 180_000);
});
