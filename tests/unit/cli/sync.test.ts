import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { sync } from '../../../src/plugins/sync/index.js';
import { betterSqliteStorage } from '../../../src/storage/sqlite/better-sqlite3.js';
import {
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../../src/testing/index.js';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = ['--import', 'tsx', 'src/cli/index.ts'];
const run = promisify(execFile);

describe('imednet sync', () => {
  let server: MockServer;
  let dir: string;
  const env = (overrides: Record<string, string> = {}) => ({
    PATH: process.env.PATH,
    IMEDNET_API_KEY: DEFAULT_API_KEY,
    IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
    IMEDNET_BASE_URL: server.url,
    ...overrides,
  });
  const cli = (args: string[], overrides: Record<string, string> = {}) =>
    run(process.execPath, [...CLI, ...args], { cwd: ROOT, env: env(overrides), maxBuffer: 16 << 20 });

  beforeAll(async () => {
    server = await startMockServer({ study: { records: 2500, subjects: 40, seed: 5 } });
    dir = await mkdtemp(join(tmpdir(), 'imednet-cli-sync-'));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The live records the SQLite file holds, read back through the SDK. */
  async function cachedIds(db: string): Promise<number[]> {
    const storage = betterSqliteStorage({ filename: db });
    const Client = Imednet.plugin(sync({ storage }));
    const client = new Client({ apiKey: 'unused', securityKey: 'unused' });
    try {
      return (await client.cache.getCachedRecords('DEMO')).map((r) => r.recordId as number);
    } finally {
      await storage.close();
    }
  }
  const liveIds = () =>
    [...server.study.records.headers()].filter((h) => h.deleted !== true).map((h) => h.recordId);

  it('stores the study, then fetches only what changed, printing progress and a JSON summary', async () => {
    const db = join(dir, 'demo.db');
    const first = await cli(['sync', 'DEMO', '--db', db]);
    const summary = JSON.parse(first.stdout.trim());
    expect(summary.studyKey).toBe('DEMO');
    expect(summary.streams.records).toMatchObject({ mode: 'full', fetched: 2500 });
    expect(Object.keys(summary.streams).sort()).toEqual(
      ['forms', 'intervals', 'queries', 'records', 'sites', 'subjects', 'variables', 'visits'].sort(),
    );
    expect(first.stderr).toMatch(/^records: full, 2,500 fetched, [\d,]+ stored, [\d,]+ deleted$/m);
    expect(first.stderr).toMatch(/^subjects: \w+, 40 fetched/m);
    expect(await cachedIds(db)).toEqual(liveIds());

    server.study.setNow('2031-01-01 00:00:00');
    const [edited, removed] = liveIds();
    server.study.updateRecord(edited!, { recordStatus: 'Record Verified' });
    server.study.deleteRecord(removed!, { hard: true });

    const second = await cli(['sync', 'DEMO', '--db', db, '--streams', 'records']);
    const next = JSON.parse(second.stdout.trim());
    expect(Object.keys(next.streams)).toEqual(['records']);
    expect(next.streams.records.mode).toBe('incremental');
    expect(next.streams.records.deleted).toBe(1);
    expect(next.streams.records.fetched).toBeLessThan(10);
    expect(next.streams.records.watermark).toBe('2031-01-01 00:00:00');
    expect(await cachedIds(db)).toEqual(liveIds());
  }, 60_000);

  it('shows the ledger offline, moves a watermark back but never forward, and resets a stream', async () => {
    const db = join(dir, 'ledger.db');
    await cli(['sync', 'DEMO', '--db', db, '--streams', 'records,sites']);
    // No credentials needed: the ledger lives in the file.
    const show = await cli(['ledger', 'DEMO', '--db', db], { IMEDNET_API_KEY: '', IMEDNET_SECURITY_KEY: '' });
    const entries = show.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entries.map((e) => e.stream).sort()).toEqual(['records', 'sites']);
    const records = entries.find((e) => e.stream === 'records');
    expect(records).toMatchObject({
      studyKey: 'DEMO',
      status: 'idle',
      recordsProcessed: server.study.records.length,
    });

    const forward = await cli(['ledger', 'DEMO', '--db', db, '--rewind', '2099-01-01 00:00:00']).catch(
      (e) => e,
    );
    expect(forward.code).toBe(2);
    expect(forward.stderr).toMatch(/Refusing to move the DEMO\/records watermark forward/);

    const back = await cli(['ledger', 'DEMO', '--db', db, '--rewind', '2020-01-01']);
    expect(JSON.parse(back.stdout).lastTimestamp).toBe('2020-01-01 00:00:00');
    const refetch = JSON.parse((await cli(['sync', 'DEMO', '--db', db, '--streams', 'records'])).stdout);
    expect(refetch.streams.records).toMatchObject({
      mode: 'incremental',
      fetched: server.study.records.length,
    });

    await cli(['ledger', 'DEMO', '--db', db, '--reset']);
    const full = JSON.parse((await cli(['sync', 'DEMO', '--db', db, '--streams', 'records'])).stdout);
    expect(full.streams.records.mode).toBe('full');
    expect(await cachedIds(db)).toEqual(liveIds());
  }, 60_000);

  it.each([
    ['Bun (bun:sqlite)', 'node_modules/.bin/bun', ['src/cli/index.ts']],
    [
      'Deno (node:sqlite)',
      'node_modules/.bin/deno',
      ['run', '-A', '--unstable-sloppy-imports', 'src/cli/index.ts'],
    ],
  ])(
    'runs under %s with the SQLite the runtime has built in',
    async (_name, binary, args) => {
      const db = join(dir, `${binary.split('/').pop()}.db`);
      const { stdout } = await run(
        join(ROOT, binary),
        [...args, 'sync', 'DEMO', '--db', db, '--streams', 'records'],
        {
          cwd: ROOT,
          env: { ...env(), NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
          maxBuffer: 16 << 20,
        },
      );
      const summary = JSON.parse(stdout.trim());
      expect(summary.streams.records).toMatchObject({ mode: 'full', fetched: server.study.records.length });
      // The file is plain SQLite: better-sqlite3 reads what bun:sqlite or node:sqlite wrote.
      expect(await cachedIds(db)).toEqual(liveIds());
    },
    60_000,
  );

  it('paces itself with --per-minute/--per-hour, and refuses a budget that is not a whole number', async () => {
    const db = join(dir, 'paced.db');
    const paced = await cli(['sync', 'DEMO', '--db', db, '--per-minute', '1000', '--per-hour', '5000']);
    // Every record the server holds now (earlier tests here change the study).
    expect(JSON.parse(paced.stdout.trim()).streams.records.fetched).toBe(
      [...server.study.records.headers()].length,
    );
    const error = await cli(['sync', 'DEMO', '--db', db, '--per-minute', 'lots']).catch((e) => e);
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(/--per-minute must be a whole number/);

    // One request a minute: the first page comes at once, the second not before a minute is up.
    const child = spawn(
      process.execPath,
      [...CLI, 'records', 'DEMO', '--page-size', '100', '--per-minute', '1'],
      {
        cwd: ROOT,
        env: env(),
      },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      lines += chunk.toString().split('\n').length - 1;
    });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (lines >= 100) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    // Unpaced, the other 2,400 records would follow within moments.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGINT');
    expect(lines).toBe(100);
    expect(await exited).toBe(130);
  }, 30_000);

  it('refuses unknown streams, naming the known ones', async () => {
    const error = await cli([
      'sync',
      'DEMO',
      '--db',
      join(dir, 'x.db'),
      '--streams',
      'records,recrods',
    ]).catch((e) => e);
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(/Unknown stream recrods; streams: records, subjects/);
  }, 30_000);

  it('with --every, stops at once on wrong keys instead of retrying forever, printing no key', async () => {
    const error = await cli(['sync', 'DEMO', '--db', join(dir, 'y.db'), '--every', '1'], {
      IMEDNET_SECURITY_KEY: 'sk-wrong-do-not-print',
    }).catch((e) => e);
    expect(error.code).toBe(3);
    expect(error.stderr).toMatch(/UnauthorizedError/);
    expect(error.stderr).not.toContain('sk-wrong-do-not-print');
    // The file it would have created is not left behind, empty, to be taken for a cache.
    expect((await readdir(dir)).filter((f) => f.startsWith('y.db'))).toEqual([]);
  }, 30_000);

  it('a sync refused at once (no such study) leaves no new file, and never removes an existing one', async () => {
    const fresh = join(dir, 'nope.db');
    const refused = await cli(['sync', 'NOPE', '--db', fresh]).catch((e) => e);
    expect(refused.code).toBe(4);
    expect((await readdir(dir)).filter((f) => f.startsWith('nope.db'))).toEqual([]);
    // An existing cache (another study's) refused for NOPE stays as it was.
    const existing = join(dir, 'kept.db');
    await cli(['sync', 'DEMO', '--db', existing]);
    const before = (await stat(existing)).size;
    const again = await cli(['sync', 'NOPE', '--db', existing]).catch((e) => e);
    expect(again.code).toBe(4);
    expect((await stat(existing)).size).toBe(before);
  }, 60_000);

  it('with --every, runs again until Ctrl-C, then exits quietly with 130', async () => {
    const db = join(dir, 'every.db');
    const child: ChildProcess = spawn(
      process.execPath,
      [...CLI, 'sync', 'DEMO', '--db', db, '--every', '0.2', '--streams', 'records'],
      { cwd: ROOT, env: env() },
    );
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    // Two summaries: the full sync, then an incremental one 0.2 s later.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only got: ${stdout}`)), 30_000);
      child.stdout?.on('data', () => {
        if (stdout.trim().split('\n').length >= 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // The shell's code for Ctrl-C, and no stack: at most the line saying what was kept.
    expect(code).toBe(130);
    expect(stderr).not.toMatch(/^\s+at |DOMException|imednet: /m);
    const modes = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).streams.records.mode);
    expect(modes.slice(0, 2)).toEqual(['full', 'incremental']);
  }, 60_000);
  it('reconcile repairs the file against one listing, refusing a large deletion unless forced', async () => {
    const db = join(dir, 'reconcile.db');
    await cli(['sync', 'DEMO', '--db', db, '--streams', 'records']);
    // Records vanish on the server without a sync in between (a restored backup, a purge).
    server.study.setNow('2032-01-01 00:00:00');
    const live = liveIds();
    for (const id of live.slice(0, 3)) server.study.deleteRecord(id, { hard: true });
    const small = JSON.parse((await cli(['reconcile', 'DEMO', '--db', db])).stdout);
    expect(small).toMatchObject({ deleted: 3, listed: server.study.records.length });
    expect(await cachedIds(db)).toEqual(liveIds());

    // A tenth of the study gone at once is refused (nothing deleted) until --force.
    const many = liveIds().filter((_, i) => i % 10 === 5);
    for (const id of many) server.study.deleteRecord(id, { hard: true });
    const refused = await cli(['reconcile', 'DEMO', '--db', db]).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ReconcileRefusedError/);
    expect((await cachedIds(db)).length).toBe(liveIds().length + many.length);
    const forced = JSON.parse((await cli(['reconcile', 'DEMO', '--db', db, '--force'])).stdout);
    expect(forced.deleted).toBe(many.length);
    expect(await cachedIds(db)).toEqual(liveIds());
  }, 60_000);
});
