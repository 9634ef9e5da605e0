/**
 * Crash safety of the sync cache, with real processes: a child Node process syncs a 100k-record study
 * from a mock server (run here) into a SQLite file and is killed with SIGKILL at random moments,
 * during first syncs and during incremental syncs with changes made between runs. After every kill
 * the file is checked (no record stored under the wrong key, the watermark never ahead of the data,
 * a first sync's cursor never ahead of the data), and the next sync must finish. At the end the cache
 * must equal the server. Then two processes sync into one file at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Record_ } from '../../src/endpoints/records.js';
import {
  collectionOf,
  idKey,
  LEDGER_COLLECTION,
  type LedgerEntry,
  type Tombstone,
} from '../../src/plugins/sync/index.js';
import { betterSqliteStorage } from '../../src/storage/sqlite/better-sqlite3.js';
import {
  type ApiRecord,
  createFakeStudy,
  createRandom,
  type FakeStudy,
  type MockServer,
  parseTimestamp,
  startMockServer,
} from '../../src/testing/index.js';

const SOURCE = fileURLToPath(new URL('./sync-child.ts', import.meta.url));
// The child is bundled once, so that 40 process starts do not each compile TypeScript. The bundle
// lives under node_modules/.cache so that its `import('better-sqlite3')` resolves.
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/imednet-sync-crash/', import.meta.url));
const CHILD = join(CACHE, 'sync-child.mjs');
const STUDY = 'CRASH';
const RECORDS = 100_000;
const KILLS = 20;
const LOCK_TTL_MS = 1000;

let server: MockServer;
let study: FakeStudy;
let dir: string;
/** When each hard-deleted record went (API timestamp). */
const hardDeleted = new Map<number, string>();

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true });
  await build({
    entryPoints: [SOURCE],
    outfile: CHILD,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'msw'],
    logLevel: 'error',
  });
  study = createFakeStudy({ studyKey: STUDY, records: RECORDS, subjects: 1000, seed: 31 });
  server = await startMockServer({ study, faults: { latencyMs: 1 } });
  dir = mkdtempSync(join(tmpdir(), 'imednet-sync-crash-'));
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface ChildRun {
  child: ChildProcess;
  /** Resolves when the child printed its first line (modules loaded, sync starting). */
  ready: Promise<void>;
  /** Resolves with the exit code (null when killed) and stderr. */
  exit: Promise<{ code: number | null; signal: string | null; stderr: string; lines: string[] }>;
}

function runChild(file: string, scope: 'records' | 'study' = 'records', stallMs = 0): ChildRun {
  const child = spawn(process.execPath, [CHILD, server.url, file, STUDY, scope], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SYNC_LOCK_TTL_MS: String(LOCK_TTL_MS), SYNC_STALL_MS: String(stallMs) },
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    markReady();
  });
  const exit = new Promise<{ code: number | null; signal: string | null; stderr: string; lines: string[] }>(
    (resolve) => {
      child.on('exit', (code, signal) => {
        markReady();
        // Give the pipes a moment to drain.
        setTimeout(() => resolve({ code, signal, stderr, lines }), 20);
      });
    },
  );
  return { child, ready, exit };
}

function advance(seconds: number): void {
  study.setNow(parseTimestamp(study.now()) + seconds * 1000);
}

/** Changes made between runs: updates, additions, soft and hard deletions, an undelete. */
function mutate(seed: number): void {
  advance(600);
  const r = createRandom(seed);
  const live: number[] = [];
  const soft: number[] = [];
  for (const header of study.records.headers()) (header.deleted ? soft : live).push(header.recordId);
  const pick = () => {
    const i = r.int(0, live.length - 1);
    const id = live[i] as number;
    live[i] = live[live.length - 1] as number;
    live.pop();
    return id;
  };
  for (let i = 0; i < 1000; i++) study.updateRecord(pick(), { recordData: { CRASH: `${seed}/${i}` } });
  for (let i = 0; i < 20; i++) {
    const subject = study.subjects[r.int(0, study.subjects.length - 1)]!;
    study.addRecord({
      formKey: study.forms[0]!.formKey,
      subjectId: subject.subjectId,
      recordData: { N: String(i) },
    });
  }
  for (let i = 0; i < 30; i++) study.deleteRecord(pick());
  for (let i = 0; i < 30; i++) {
    const id = pick();
    hardDeleted.set(id, study.now());
    study.deleteRecord(id, { hard: true });
  }
  if (soft.length > 0) study.updateRecord(soft[r.int(0, soft.length - 1)]!, { deleted: false });
}

interface FileState {
  entry: LedgerEntry | undefined;
  live: Map<number, Record_>;
  dead: Map<number, Tombstone>;
  /** What is wrong, for one assertion at the end (per-record expect() calls are slow). */
  problems: string[];
}

/** Reads the whole cache of a file, checking that every entry sits under its own record's key. */
async function readFile(file: string): Promise<FileState> {
  const storage = betterSqliteStorage({ filename: file });
  const problems: string[] = [];
  try {
    const entry = await storage.get<LedgerEntry>(LEDGER_COLLECTION, `${STUDY}/records`);
    const live = new Map<number, Record_>();
    for await (const batch of storage.scan<Record_>(collectionOf(STUDY, 'records'), { batchSize: 5000 })) {
      for (const [key, record] of batch) {
        if (key !== idKey(record.recordId)) problems.push(`record ${record.recordId} stored under ${key}`);
        live.set(record.recordId as number, record);
      }
    }
    const dead = new Map<number, Tombstone>();
    for await (const batch of storage.scan<Tombstone>(collectionOf(STUDY, 'deleted'), { batchSize: 5000 })) {
      for (const [key, tombstone] of batch) {
        if (key !== idKey(tombstone.recordId)) problems.push(`tombstone ${tombstone.recordId} under ${key}`);
        if (live.has(tombstone.recordId)) problems.push(`record ${tombstone.recordId} both live and deleted`);
        dead.set(tombstone.recordId, tombstone);
      }
    }
    return { entry, live, dead, problems };
  } finally {
    await storage.close();
  }
}

/** The cached copy of a server record must be exact (live, or tombstoned when soft-deleted). */
function checkExact(state: FileState, record: ApiRecord, why: string): void {
  const id = record.recordId;
  if (record.deleted === true) {
    if (state.live.has(id)) state.problems.push(`${why}: soft-deleted ${id} is live`);
    else if (!isDeepStrictEqual(state.dead.get(id)?.record, record))
      state.problems.push(`${why}: tombstone of ${id} differs`);
  } else if (!isDeepStrictEqual(state.live.get(id), record)) {
    state.problems.push(`${why}: record ${id} ${state.live.has(id) ? 'differs' : 'is missing'}`);
  }
}

/** How to replay the kill moments of this run, for failure messages (set once the seed is known). */
let replay = '';

/** The seed of the kill moments: IMEDNET_CRASH_SEED replays a run; otherwise the clock picks one. */
function crashSeed(): number {
  const given = process.env.IMEDNET_CRASH_SEED;
  if (given === undefined || given === '') return Date.now() % 1_000_000;
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`IMEDNET_CRASH_SEED must be a non-negative integer, got "${given}"`);
  }
  return seed;
}

function expectNoProblems(state: FileState): void {
  expect(state.problems.slice(0, 20), `${state.problems.length} problems${replay}`).toEqual([]);
}

/** After a kill: neither the watermark nor a first sync's cursor is ahead of the stored data. */
async function checkAfterKill(file: string): Promise<string> {
  const state = await readFile(file);
  const entry = state.entry;
  let where: string;
  if (!entry) {
    if (state.live.size > 0) state.problems.push('records stored without a ledger entry');
    where = 'before the first write';
  } else if (entry.lastTimestamp !== null) {
    const watermark = entry.lastTimestamp;
    for (const record of study.records) {
      if ((record.dateModified ?? '') < watermark) checkExact(state, record, `below watermark ${watermark}`);
    }
    for (const [id, at] of hardDeleted) {
      if (at < watermark && state.live.has(id)) state.problems.push(`hard-deleted ${id} still live`);
    }
    where = entry.status === 'idle' ? 'after the commit' : 'during an incremental sync';
  } else {
    const cursor = entry.metadata.full?.cursor ?? 0;
    for (const record of study.records) {
      if (record.recordId > cursor) break;
      checkExact(state, record, `below cursor ${cursor}`);
    }
    for (const id of state.live.keys()) {
      if (id > cursor) state.problems.push(`record ${id} stored beyond the cursor ${cursor}`);
    }
    where = `during the first sync (cursor ${cursor})`;
  }
  expectNoProblems(state);
  return where;
}

/** The whole cache equals the server. */
async function checkEqual(file: string): Promise<void> {
  const state = await readFile(file);
  let live = 0;
  for (const record of study.records) {
    checkExact(state, record, 'final');
    if (record.deleted !== true) live++;
  }
  if (state.live.size !== live)
    state.problems.push(`${state.live.size} live records cached, ${live} on the server`);
  for (const id of hardDeleted.keys()) if (state.live.has(id)) state.problems.push(`hard-deleted ${id} live`);
  expectNoProblems(state);
  expect(state.entry?.status).toBe('idle');
  expect(state.entry?.metadata.full).toBeUndefined();
}

function wipe(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

describe('sync crash safety (SQLite, separate processes)', () => {
  it(`survives ${KILLS} SIGKILLs at random moments of first and incremental syncs`, async () => {
    const file = join(dir, 'crash.db');
    // Random moments: the seed is printed first and named in every failure message.
    const seed = crashSeed();
    const r = createRandom(seed);
    replay = ` (kill moments from seed ${seed}; replay with IMEDNET_CRASH_SEED=${seed})`;
    console.log(`sync crash test: seed ${seed}; replay with IMEDNET_CRASH_SEED=${seed}`);
    // Typical durations (ms from the child's first line), learnt as the test goes.
    const typical = { full: 6000, incremental: 1200 };
    const outcomes: string[] = [];
    const started = Date.now();
    let kills = 0;
    let attempts = 0;
    while (kills < KILLS) {
      attempts++;
      expect(attempts, `too many runs finished before their kill${replay}`).toBeLessThan(KILLS * 3);
      // Every fifth kill hits a first sync of an empty file; the others an incremental sync.
      const first = kills % 5 === 0;
      if (first) wipe(file);
      else mutate(1000 + attempts);
      const victim = runChild(file);
      await victim.ready;
      const t0 = Date.now();
      const delay = r.int(0, first ? typical.full : typical.incremental);
      const timer = setTimeout(() => victim.child.kill('SIGKILL'), delay);
      const ended = await victim.exit;
      clearTimeout(timer);
      if (ended.signal !== 'SIGKILL') {
        // It finished first: learn how long such a run takes, and try again.
        expect(ended.code, `${ended.stderr}${replay}`).toBe(0);
        const took = Date.now() - t0;
        if (first) typical.full = Math.max(500, took);
        else typical.incremental = Math.max(200, took);
        continue;
      }
      kills++;
      const c0 = Date.now();
      const where = await checkAfterKill(file);
      const checked = Date.now() - c0;

      // The next sync finishes, with no error (a lock left by the dead process only delays it).
      const n0 = Date.now();
      const next = runChild(file);
      const done = await next.exit;
      expect(done.stderr, replay).toBe('');
      expect(done.code, replay).toBe(0);
      outcomes.push(
        `killed after ${delay} ms ${where}; checked in ${checked} ms; next sync ${Date.now() - n0} ms`,
      );
      if (kills % 5 === 4) await checkEqual(file);
    }
    await checkEqual(file);
    console.log(
      `sync crash test (seed ${seed}): ${kills} kills in ${attempts} runs\n  ${outcomes.join('\n  ')}`,
    );
    // The kills landed in different places.
    expect(outcomes.some((o) => o.includes('first sync'))).toBe(true);
    console.log(`total ${Date.now() - started} ms`);
    expect(outcomes.some((o) => o.includes('incremental') || o.includes('commit'))).toBe(true);
  }, 400_000);

  it('two processes syncing into one SQLite file finish with a correct cache and no lock errors', async () => {
    const file = join(dir, 'two.db');
    mutate(77);
    // Each process stalls for three lock lifetimes after its first write, as on a busy machine, so
    // the other one takes the lock over: the stalled one must notice, wait and run again.
    const stall = 3 * LOCK_TTL_MS;
    const [a, b] = [runChild(file, 'study', stall), runChild(file, 'study', stall)];
    const [x, y] = await Promise.all([a.exit, b.exit]);
    expect([x.stderr, y.stderr]).toEqual(['', '']);
    expect([x.code, y.code]).toEqual([0, 0]);
    const modes = [x, y].map((run) => {
      const result = run.lines.map((l) => JSON.parse(l)).find((l) => l.event === 'result');
      return result.result.streams.records.mode as string;
    });
    expect(modes.sort()).toEqual(['full', 'incremental']);
    // Each finished every stream. (A writer that stalled past the lock's ttl on a busy machine may
    // have lost the lock to the other one; it then waited and ran again, so it started more often.)
    const events = (lines: string[]) => lines.map((l) => JSON.parse(l) as { event: string; stream?: string });
    for (const run of [x, y]) {
      const done = new Set(
        events(run.lines)
          .filter((e) => e.event === 'done')
          .map((e) => e.stream),
      );
      expect(done.size).toBe(8);
      expect(events(run.lines).filter((e) => e.event === 'start').length).toBeGreaterThanOrEqual(8);
    }
    await checkEqual(file);
  }, 120_000);
});
