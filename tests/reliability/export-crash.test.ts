/**
 * Crash safety of the export sinks, with real processes: a child process exports a study to each
 * sink and is killed with SIGKILL halfway; while it lies dead no output file looks finished (the
 * file sinks' files keep their `.partial` names); a second run resumes and finishes. Then the output
 * is read back with independent readers (csv-parse, JSON.parse, hyparquet, SQL) and must hold every
 * record of the study exactly once.
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
import {
  createFakeStudy,
  type FakeStudy,
  type MockServer,
  startMockServer,
} from '../../src/testing/index.js';
import { usePostgres } from '../support/postgres.js';

const CHILD = fileURLToPath(new URL('./export-child.ts', import.meta.url));
const STUDY = 'EXPORTCRASH';
const RECORDS = 6000;

let server: MockServer;
let study: FakeStudy;
const dirs: string[] = [];
const pg = usePostgres();

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

function runChild(kind: string, target: string): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, server.url, STUDY, kind, target], {
    stdio: ['ignore', 'pipe', 'pipe'],
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

/** Runs an export, kills it once it has written `rows` rows, and waits for it to be gone. */
async function killAfter(kind: string, target: string, rows: number) {
  const run = runChild(kind, target);
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const last = run.lines.at(-1);
      if (last?.event === 'done') {
        clearInterval(timer);
        reject(new Error('the export finished before it could be killed'));
      } else if ((last?.rows ?? 0) >= rows) {
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

async function finish(kind: string, target: string) {
  const run = runChild(kind, target);
  const { code, stderr } = await run.exit;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return run.lines.find((l) => l.event === 'done')!;
}

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

const expectedIds = () => [...study.records].map((r) => r.recordId).sort((a, b) => a - b);
const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe('export crash safety (SIGKILL halfway, then a rerun)', () => {
  for (const kind of ['csv', 'ndjson', 'json', 'parquet'] as const) {
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
        expect(left.every((f) => f.endsWith('.partial'))).toBe(true);
      }

      const done = await finish(kind, dir);
      expect(done.resumed).toBe(true);
      expect(done.skipped).toBeGreaterThan(0);
      expect((done.rows ?? 0) + (done.skipped ?? 0)).toBe(RECORDS);
      const out = files(dir);
      expect(out.some((f) => f.endsWith('.partial'))).toBe(false);

      const ids: number[] = [];
      for (const name of out.filter((f) => f !== '.imednet-export.json')) {
        const path = join(dir, name);
        if (kind === 'csv') {
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
});
