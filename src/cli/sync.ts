/**
 * `imednet sync <studyKey>`: keeps a study in a local SQLite file with the sync plugin. The first
 * run stores the whole study, later runs only what changed; `--every` keeps going until Ctrl-C.
 * Progress goes to stderr (a line per second while records stream, a line per finished stream);
 * stdout gets one JSON summary per run, for schedulers and scripts.
 */
import { rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Imednet } from '../client.js';
import type { ImednetOptions } from '../core/config.js';
import {
  ConfigurationError,
  isApiError,
  isForbiddenError,
  isNotFoundError,
  isRateLimitError,
  isServerError,
  isUnauthorizedError,
} from '../core/errors.js';
import type { SyncCache } from '../plugins/sync/cache.js';
import { sync } from '../plugins/sync/index.js';
import { STREAMS, type Stream } from '../plugins/sync/keys.js';
import type {
  ReconcileOptions,
  StudySyncOptions,
  StudySyncResult,
  SyncProgressEvent,
} from '../plugins/sync/types.js';
import { SyncWorker } from '../plugins/sync/worker.js';
import type { StorageAdapter } from '../storage/types.js';
import { requireFile, requireFolder } from './files.js';
import { count, duration } from './output.js';

/** Options of {@link runSync}. */
export interface CliSyncOptions {
  studyKey: string;
  /** The SQLite file (created when missing; ledger and reconcile need it to exist). */
  db: string;
  /** Streams to sync (default: all). */
  streams?: readonly string[];
  /** Seconds between runs; when set, runs until the signal aborts. */
  everySeconds?: number;
  signal?: AbortSignal;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
  /** Summary lines (default: stdout). */
  output?: (line: string) => void;
  /** Throttle of the streaming progress line, in ms (default 1000). */
  progressIntervalMs?: number;
}

/**
 * Opens `filename` with the SQLite this runtime has: bun:sqlite in Bun, node:sqlite in Deno, and in
 * Node better-sqlite3 when it is installed, else node:sqlite (Node 22.5+). Says what it tried when
 * none works.
 */
export async function openSqlite(filename: string): Promise<StorageAdapter> {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  const { betterSqliteStorage } = await import('../storage/sqlite/better-sqlite3.js');
  const { nodeSqliteStorage } = await import('../storage/sqlite/node-sqlite.js');
  const { bunSqliteStorage } = await import('../storage/sqlite/bun-sqlite.js');
  const candidates: Array<[string, (options: { filename: string }) => StorageAdapter]> =
    runtime.Bun !== undefined
      ? [['bun:sqlite', bunSqliteStorage]]
      : runtime.Deno !== undefined
        ? [['node:sqlite', nodeSqliteStorage]]
        : [
            ['better-sqlite3', betterSqliteStorage],
            ['node:sqlite', nodeSqliteStorage],
          ];
  const tried: string[] = [];
  for (const [name, open] of candidates) {
    const storage = open({ filename });
    try {
      await storage.count('imednet_cli.probe');
      return storage;
    } catch (error) {
      // A driver that is missing or cannot load here (a native addon in another runtime) is skipped.
      await storage.close().catch(() => undefined);
      tried.push(`${name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  throw new ConfigurationError(
    'imednet sync keeps the study in SQLite: in Node install better-sqlite3 (npm install better-sqlite3) ' +
      `or use Node 22.5 or later; Bun and Deno have it built in. Tried:\n${tried.join('\n')}`,
  );
}

/**
 * Opens the SQLite file, runs `fn` with a sync cache over it, and closes the file however it ends.
 * Only `sync` creates the file: for the commands that read or repair a cache (`existing`), a
 * missing file is an error that names it (a typo must not leave an empty cache behind).
 */
async function withCache<T>(
  target: { db: string; studyKey: string; existing?: boolean },
  clientOptions: ImednetOptions,
  fn: (cache: SyncCache) => Promise<T>,
): Promise<T> {
  const { db, studyKey } = target;
  let created = false;
  if (target.existing) {
    await requireFile(db, `No sync cache at ${db}; create it with: imednet sync ${studyKey} --db ${db}`);
  } else {
    const folder = dirname(resolve(db));
    await requireFolder(folder, `Cannot create ${db}: there is no folder ${folder}`);
    created = !(await stat(db).then(
      () => true,
      () => false,
    ));
  }
  const storage = await openSqlite(db);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await storage.close();
  };
  try {
    const Synced = Imednet.plugin(sync({ storage }));
    return await fn(new Synced(clientOptions).cache);
  } catch (error) {
    // A file this run created, refused before anything was fetched (wrong keys, no permission, no
    // such study), is removed: no empty cache is left to be mistaken for one. Anything a sync had
    // begun to store stays, for the next run to go on from.
    if (created && nothingFetched(error)) {
      await close();
      for (const file of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) await rm(file, { force: true });
    }
    throw error;
  } finally {
    await close();
  }
}

/** Errors that stop a sync before its first listing answers. */
const nothingFetched = (error: unknown) =>
  isUnauthorizedError(error) || isForbiddenError(error) || isNotFoundError(error);

const toStdout = (line: string) => void process.stdout.write(`${line}\n`);
const toStderr = (line: string) => void process.stderr.write(`${line}\n`);

function checkStreams(names: readonly string[] | undefined): Stream[] | undefined {
  if (!names || names.length === 0) return undefined;
  const known = new Set<string>(STREAMS);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new ConfigurationError(`Unknown stream ${unknown.join(', ')}; streams: ${STREAMS.join(', ')}`);
  }
  return names as Stream[];
}

/** The JSON line a finished run prints. */
function summary(result: StudySyncResult): Record<string, unknown> {
  const streams: Record<string, unknown> = {};
  for (const [name, r] of Object.entries(result.streams)) {
    if (!r) continue;
    streams[name] = {
      mode: r.mode,
      fetched: r.fetched,
      stored: r.stored,
      deleted: r.deleted,
      watermark: r.watermark,
    };
  }
  return { studyKey: result.studyKey, durationMs: Math.round(result.durationMs), streams };
}

/** Runs one sync (or, with `everySeconds`, one every so often until aborted). */
export async function runSync(
  clientOptions: ImednetOptions,
  options: CliSyncOptions,
): Promise<StudySyncResult[]> {
  const progress = options.progress ?? toStderr;
  const output = options.output ?? toStdout;
  const streams = checkStreams(options.streams);
  const every = options.everySeconds;
  if (every !== undefined && !(Number.isFinite(every) && every > 0)) {
    throw new ConfigurationError('--every must be a positive number of seconds');
  }
  const throttle = options.progressIntervalMs ?? 1000;

  let lastLine = 0;
  const onProgress = (event: SyncProgressEvent) => {
    if (event.type === 'done') {
      progress(
        `${event.stream}: ${event.mode}, ${count(event.fetched)} fetched, ${count(event.stored)} stored, ${count(event.deleted)} deleted`,
      );
    } else if (event.type === 'fetched' && event.stream === 'records') {
      const now = Date.now();
      if (now - lastLine < throttle) return;
      lastLine = now;
      const of = event.expected !== undefined ? ` of ${count(event.expected)}` : '';
      const left = event.etaMs ? `, about ${duration(event.etaMs)} left` : '';
      progress(`records: ${count(event.fetched)}${of} fetched, ${count(event.stored)} stored${left}`);
    }
  };

  const results: StudySyncResult[] = [];
  return withCache(options, clientOptions, async (cache) => {
    if (every === undefined) {
      const runOptions: StudySyncOptions = { onProgress };
      if (options.signal) runOptions.signal = options.signal;
      if (streams) runOptions.streams = streams;
      const result = await cache.syncStudy(options.studyKey, runOptions);
      results.push(result);
      output(JSON.stringify(summary(result)));
      return results;
    }
    let failure: unknown;
    const workerOptions: ConstructorParameters<typeof SyncWorker>[1] = {
      studyKeys: [options.studyKey],
      scope: 'study',
      intervalMs: every * 1000,
      onProgress,
      onRun: (report) => {
        if (report.result && 'streams' in report.result) {
          results.push(report.result);
          output(JSON.stringify(summary(report.result)));
          return;
        }
        const error = report.error;
        if (options.signal?.aborted) {
          progress('stopped: what was stored stays, and the next run goes on from there');
        } else if (isApiError(error) && !isRateLimitError(error) && !isServerError(error)) {
          // Wrong keys, no access, no such study: trying again changes nothing.
          failure = error;
          worker.stop();
        } else {
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          progress(`sync failed (${message}); trying again in ${every} s`);
        }
      },
    };
    if (options.signal) workerOptions.signal = options.signal;
    const worker = new SyncWorker(cache, workerOptions);
    await worker.runForever();
    if (failure !== undefined) throw failure;
    return results;
  });
}

/** Options of {@link runLedger}. */
export interface CliLedgerOptions {
  studyKey: string;
  db: string;
  /** The stream to change (default records); `show` lists every stream. */
  stream?: string;
  /** Moves the stream's watermark back to this timestamp. */
  rewind?: string;
  /** Forgets the stream's entry: its next sync is a full one. */
  reset?: boolean;
  signal?: AbortSignal;
  output?: (line: string) => void;
}

/**
 * `imednet ledger`: shows a study's ledger entries (one JSON line each), or moves one stream's
 * watermark back, or resets it. Works offline: the API is never called.
 */
export async function runLedger(options: CliLedgerOptions): Promise<void> {
  const output = options.output ?? toStdout;
  if (options.rewind !== undefined && options.reset) {
    throw new ConfigurationError('Give --rewind or --reset, not both');
  }
  const stream = checkStreams([options.stream ?? 'records'])?.[0] as Stream;
  // The ledger lives in the store; the client is needed only to hold the cache and is never used,
  // so placeholder keys will do.
  const offline = { apiKey: 'offline', securityKey: 'offline' };
  await withCache({ ...options, existing: true }, offline, async (cache) => {
    const runOptions: { signal?: AbortSignal } = {};
    if (options.signal) runOptions.signal = options.signal;
    if (options.reset) {
      output(JSON.stringify(await cache.rewind(options.studyKey, stream, null, runOptions)));
    } else if (options.rewind !== undefined) {
      output(JSON.stringify(await cache.rewind(options.studyKey, stream, options.rewind, runOptions)));
    } else {
      const entries = await cache.ledger.list(options.studyKey);
      // Nothing to show is a mistyped study key far more often than an answer.
      if (entries.length === 0) {
        throw new ConfigurationError(`The cache at ${options.db} holds no sync of study ${options.studyKey}`);
      }
      for (const entry of entries) output(JSON.stringify(entry));
    }
  });
}

/** Options of {@link runReconcile}. */
export interface CliReconcileOptions {
  studyKey: string;
  db: string;
  /** Delete even from an empty listing or beyond the share (default false). */
  force?: boolean;
  /** Largest share of the cache it may delete (default 0.05). */
  maxShare?: number;
  signal?: AbortSignal;
  progress?: (line: string) => void;
  output?: (line: string) => void;
}

/**
 * `imednet reconcile`: lists the whole study once and repairs the cache against it, refusing to
 * delete from an empty listing or more than `maxShare` of the cache unless forced.
 */
export async function runReconcile(clientOptions: ImednetOptions, options: CliReconcileOptions) {
  const progress = options.progress ?? toStderr;
  const output = options.output ?? toStdout;
  return withCache({ ...options, existing: true }, clientOptions, async (cache) => {
    const runOptions: ReconcileOptions = {
      onProgress: (event) => {
        if (event.type === 'done') {
          progress(`records: reconcile, ${count(event.fetched)} listed, ${count(event.deleted)} deleted`);
        }
      },
    };
    if (options.signal) runOptions.signal = options.signal;
    if (options.force) runOptions.force = true;
    if (options.maxShare !== undefined) runOptions.maxShare = options.maxShare;
    const result = await cache.reconcile(options.studyKey, runOptions);
    output(JSON.stringify(result));
    return result;
  });
}
