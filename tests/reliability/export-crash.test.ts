/**
 * Crash safety of the export sinks, with real processes: a child process exports a study to each
 * sink and is killed with SIGKILL halfway; while it lies dead no output file looks finished (the
 * file sinks' files keep their `.partial` names, the Excel workbook does not exist yet, no object
 * has the final name of an unfinished table in the S3 bucket); a second run resumes and finishes.
 * Then the output is read back with independent readers (csv-parse, JSON.parse, hyparquet, exceljs,
 * SQL, plain S3 GETs) and must hold every record of the study exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import type { Manifest } from '../../src/plugins/sinks/index.js';
import {
  createFakeStudy,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type FakeStudy,
  type MockServer,
  startMockServer,
} from '../../src/testing/index.js';
import { ident, openDuckdb } from '../support/duckdb.js';
import { usePostgres } from '../support/postgres.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, useS3 } from '../support/s3.js';
import { readXlsxTables } from '../support/xlsx.js';

const CHILD = fileURLToPath(new URL('./export-child.ts', import.meta.url));
const STUDY = 'EXPORTCRASH';
const RECORDS = 6000;

let server: MockServer;
let study: FakeStudy;
const dirs: string[] = [];
const pg = usePostgres();
const s3 = useS3(['exports']);
/** The child's S3 key pair, by environment (argv shows in `ps`). */
const S3_ENV = {
  IMEDNET_TEST_S3_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
  IMEDNET_TEST_S3_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
};

beforeAll(async () => {
  study = createFakeStudy({ studyKey: STUDY, records: RECORDS, subjects: 200, seed: 44 });
  // A little latency per page, so that the kill lands in the middle of the export.
  server = await startMockServer({ study, faults: { latencyMs: 5 } });
});
afterAll(async () => {
  await server?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  lines: Array<{ event: string; rows?: number; skipped?: number; resumed?: boolean }>;
  exit: Promise<{ code: number | null; signal: string | null; stderr: string }>;
}

function runChild(kind: string, target: string, env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, server.url, STUDY, kind, target], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: Run['lines'] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
  const exit = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => setTimeout(() => resolve({ code, signal, stderr }), 20));
  });
  return { child, lines, exit };
}

/**
 * Runs an export, kills it once it has written `rows` rows (the child freezes there and says
 * `held`, so the kill lands halfway however slow this side is), and waits for it to be gone.
 */
async function killAfter(kind: string, target: string, rows: number, env: Record<string, string> = {}) {
  const run = runChild(kind, target, { ...env, IMEDNET_TEST_HOLD_AT_ROWS: String(rows) });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const last = run.lines.at(-1);
      if (last?.event === 'done') {
        clearInterval(timer);
        reject(new Error('the export finished before it could be killed'));
      } else if (last?.event === 'held') {
        clearInterval(timer);
        run.child.kill('SIGKILL');
        resolve();
      }
    }, 2);
    run.exit.then(() => {
      clearInterval(timer);
      resolve();
    });
  });
  const { signal } = await run.exit;
  expect(signal).toBe('SIGKILL');
  return run.lines.at(-1)?.rows ?? 0;
}

async function finish(kind: string, target: string, env?: Record<string, string>) {
  const run = runChild(kind, target, env);
  const { code, stderr } = await run.exit;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return run.lines.find((l) => l.event === 'done')!;
}

/**
 * What the rerun says: it continued the killed export and handled every record once. A sink whose
 * output is durable only when finished (an Excel workbook, objects in a bucket) had nothing recorded
 * to skip, and wrote everything again; the others skipped what the killed run had recorded.
 */
function expectRerun(done: Run['lines'][number], from: 'recorded batches' | 'the start') {
  expect(done.resumed).toBe(true);
  if (from === 'the start') expect(done.skipped).toBe(0);
  else expect(done.skipped).toBeGreaterThan(0);
  expect((done.rows ?? 0) + (done.skipped ?? 0)).toBe(RECORDS);
}

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

const expectedIds = () => [...study.records].map((r) => r.recordId).sort((a, b) => a - b);
const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

let listed: Promise<Map<string, number[]>> | undefined;
/** The API's records per form (each form's table), as the records listing gives them: form → sorted ids. */
const apiForms = () => {
  listed ??= (async () => {
    const client = new Imednet({
      apiKey: DEFAULT_API_KEY,
      securityKey: DEFAULT_SECURITY_KEY,
      baseUrl: server.url,
    });
    const forms = new Map<string, number[]>();
    for await (const record of client.records.list(STUDY)) {
      forms.set(record.formKey, [...(forms.get(record.formKey) ?? []), record.recordId]);
    }
    for (const ids of forms.values()) ids.sort((a, b) => a - b);
    return forms;
  })();
  return listed;
};

/** Each table's record ids, sorted, are the API's for its form: every record once, in its form's table. */
async function expectPerForm(tables: Map<string, number[]>) {
  const forms = await apiForms();
  const got = Object.fromEntries(
    [...tables].filter(([, ids]) => ids.length > 0).map(([t, ids]) => [t, sorted(ids)]),
  );
  expect(got).toEqual(Object.fromEntries(forms));
}

describe('export crash safety (SIGKILL halfway, then a rerun)', () => {
  for (const kind of ['csv', 'ndjson', 'json', 'parquet', 'xlsx'] as const) {
    it(`${kind}: no file looks finished after the kill; the rerun resumes; every record exactly once`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `imednet-export-crash-${kind}-`));
      dirs.push(dir);
      const killedAt = await killAfter(kind, dir, RECORDS * 0.4);
      expect(killedAt).toBeGreaterThan(0);
      expect(killedAt).toBeLessThan(RECORDS);
      const left = files(dir).filter((f) => f !== '.imednet-export.json');
      expect(left.length).toBeGreaterThan(0);
      if (kind === 'parquet') {
        // Hive parts: finished parts may stand; the one being written is still .partial.
        expect(left.some((f) => f.endsWith('.parquet.partial'))).toBe(true);
      } else {
        // The Excel sink's sheet spills are .partial too; the workbook appears only when whole.
        expect(left.every((f) => f.endsWith('.partial'))).toBe(true);
        expect(left.filter((f) => f.endsWith('.xlsx'))).toEqual([]);
      }

      const done = await finish(kind, dir);
      expectRerun(done, kind === 'xlsx' ? 'the start' : 'recorded batches');
      const out = files(dir);
      expect(out.some((f) => f.endsWith('.partial'))).toBe(false);

      const ids: number[] = [];
      for (const name of out.filter((f) => f !== '.imednet-export.json')) {
        const path = join(dir, name);
        if (kind === 'xlsx') {
          expect(name).toBe(`${STUDY}.xlsx`);
          const tables = await readXlsxTables(path);
          const perTable = new Map<string, number[]>();
          for (const [table, { header, rows, contentsRows }] of tables) {
            const at = header.indexOf('recordId');
            perTable.set(
              table,
              rows.map((row) => row[at] as number),
            );
            expect(contentsRows).toBe(rows.length);
          }
          // Every record once on its form's sheet.
          await expectPerForm(perTable);
          ids.push(...[...perTable.values()].flat());
        } else if (kind === 'csv') {
          ids.push(
            ...(parse(readFileSync(path, 'utf8'), { columns: true }) as Array<{ recordId: string }>).map(
              (r) => Number(r.recordId),
            ),
          );
        } else if (kind === 'ndjson') {
          const text = readFileSync(path, 'utf8');
          ids.push(
            ...text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l).recordId as number),
          );
        } else if (kind === 'json') {
          ids.push(
            ...(JSON.parse(readFileSync(path, 'utf8')) as Array<{ recordId: number }>).map((r) => r.recordId),
          );
        } else {
          const bytes = readFileSync(path);
          const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
          const rows = (await parquetReadObjects({ file, columns: ['recordId'] })) as Array<{
            recordId: bigint | number;
          }>;
          ids.push(...rows.map((r) => Number(r.recordId)));
        }
      }
      expect(sorted(ids)).toEqual(expectedIds());
    }, 240_000);
  }

  it('postgres: the rerun resumes; every record exactly once in the tables', async () => {
    const url = pg().url;
    const killedAt = await killAfter('postgres', url, RECORDS * 0.4);
    expect(killedAt).toBeLessThan(RECORDS);
    const done = await finish('postgres', url);
    expect(done.resumed).toBe(true);
    expect((done.rows ?? 0) + (done.skipped ?? 0)).toBe(RECORDS);
    const db = postgres(url, { onnotice: () => undefined, max: 1 });
    try {
      const tables = await db<{ name: string }[]>`
        select table_name as name from information_schema.tables
        where table_schema = 'public' and table_name <> 'imednet_export_manifest'`;
      const ids: number[] = [];
      for (const { name } of tables) {
        const rows = await db.unsafe(`select "recordId" as id from "${name}" where study_key = $1`, [STUDY]);
        ids.push(...rows.map((r) => Number(r.id)));
      }
      expect(sorted(ids)).toEqual(expectedIds());
    } finally {
      await db.end({ timeout: 5 });
    }
  }, 240_000);

  it('duckdb: unfinished while dead; the rerun resumes; every record exactly once, as many per form as the API lists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imednet-export-crash-duckdb-'));
    dirs.push(dir);
    const path = join(dir, 'export.duckdb');
    const killedAt = await killAfter('duckdb', path, RECORDS * 0.4);
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(RECORDS);
    // The file's own manifest says the export is unfinished (read-only: the rerun replays the log).
    const dead = await openDuckdb(path);
    try {
      const [row] = await dead.all('select manifest from imednet_export_manifest where study_key = $1', [
        STUDY,
      ]);
      const manifest = JSON.parse(String(row!.manifest)) as Manifest;
      expect(manifest.completedAt).toBeUndefined();
      expect(manifest.batches.length).toBeGreaterThan(0);
    } finally {
      dead.close();
    }

    const done = await finish('duckdb', path);
    expectRerun(done, 'recorded batches');
    const db = await openDuckdb(path);
    try {
      const tables = await db.all(
        "select table_name as name from information_schema.tables where table_schema = 'main' and table_name <> 'imednet_export_manifest'",
      );
      const perTable = new Map<string, number[]>();
      for (const { name } of tables) {
        const rows = await db.all(
          `select "recordId" as id from ${ident(String(name))} where study_key = $1`,
          [STUDY],
        );
        perTable.set(
          String(name),
          rows.map((r) => r.id as number),
        );
      }
      await expectPerForm(perTable);
      expect(sorted([...perTable.values()].flat())).toEqual(expectedIds());
    } finally {
      db.close();
    }
  }, 240_000);

  it('s3: no object under the final name of an unfinished table after the kill; the rerun writes them; every record exactly once, read back by GET', async () => {
    const bucket = 'exports';
    const prefix = `crash/${STUDY}`;
    const target = `${s3.endpoint}/${bucket}/${prefix}`;
    const manifestKey = `${prefix}/.imednet-export.json`;
    const killedAt = await killAfter('s3', target, RECORDS * 0.4, S3_ENV);
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(RECORDS);
    const manifest = JSON.parse((await s3.text(bucket, manifestKey))!) as Manifest;
    expect(manifest.completedAt).toBeUndefined();
    // A table's object exists only once its file is whole, and its batches are recorded only then.
    const recorded = new Set(manifest.batches.map((b) => b.table));
    const tableOf = (key: string) => key.slice(prefix.length + 1).replace(/\.csv$/, '');
    const objects = (await s3.keys(bucket, `${prefix}/`)).filter((k) => k !== manifestKey);
    expect(objects.filter((k) => !recorded.has(tableOf(k)))).toEqual([]);

    const done = await finish('s3', target, S3_ENV);
    expectRerun(done, recorded.size > 0 ? 'recorded batches' : 'the start');
    const keys = await s3.keys(bucket, `${prefix}/`);
    const finished = JSON.parse((await s3.text(bucket, manifestKey))!) as Manifest;
    expect(finished.completedAt).toBeDefined();
    const perTable = new Map<string, number[]>();
    for (const key of keys.filter((k) => k !== manifestKey)) {
      expect(key).toMatch(/\.csv$/);
      const rows = parse((await s3.text(bucket, key))!, { columns: true }) as Array<{ recordId: string }>;
      perTable.set(
        tableOf(key),
        rows.map((r) => Number(r.recordId)),
      );
    }
    await expectPerForm(perTable);
    expect(sorted([...perTable.values()].flat())).toEqual(expectedIds());
  }, 240_000);
});
