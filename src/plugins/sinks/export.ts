/**
 * The export runner: row batches in, one sink out, resumable. Each batch gets a stable id
 * (`<table>:<n>`, its place within its table) and a SHA-256 of its canonical bytes. Written batches
 * are recorded in the sink's manifest once the sink reports them durable; a rerun after an
 * interruption reads the manifest, lets the sink cut its output back to the last recorded batch,
 * checks that each batch it would write again is byte for byte the one already written, skips
 * those, and writes the rest: the destination ends with every record exactly once. A failed write
 * is retried with backoff, then stops the export with `ExportBatchError`.
 */
import { AbortError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import type { RowBatch, TableSpec } from '../workflows/tables.js';
import { canonicalBytes, sha256Hex } from './canonical.js';
import { ExportBatchError, ExportConfigurationError } from './errors.js';
import type { ExportSink, Manifest, ManifestEntry } from './types.js';

/** What `onProgress` hears after each batch written or skipped. */
export interface ExportProgress {
  /** The batch just handled. */
  batchId: string;
  table: string;
  /** Rows and batches written so far by this run. */
  rows: number;
  batches: number;
  /** Rows and batches found already written by an earlier, interrupted run, and skipped. */
  skippedRows: number;
  skippedBatches: number;
  /** Bytes the sink has written (0 when it cannot tell). */
  bytes: number;
  elapsedMs: number;
  /** Rows handled (written or skipped) per second so far. */
  rowsPerSecond: number;
}

/**
 * Options of an export run.
 * @example { retries: 5, onProgress: (p) => console.log(`${p.rows} rows, ${p.batches} batches`) }
 */
export interface ExportRunOptions {
  /** Attempts after the first at writing a batch that failed (default 3). */
  retries?: number;
  /** Base of the backoff between attempts, in ms (default 250; full jitter, doubling). */
  retryDelay?: number;
  /**
   * Batches between checkpoints, where the sink makes its output durable and the manifest is saved
   * (default 10). A crash costs at most this many batches written again.
   */
  checkpointEvery?: number;
  /** Ignore an earlier export's manifest and start again from nothing. */
  restart?: boolean;
  /** Told after each batch. */
  onProgress?: (progress: ExportProgress) => void;
  /** Stops the export between batches (`AbortError`); what was recorded stays resumable. */
  signal?: AbortSignal;
}

/** Options of {@link exportRows}: the run's, plus what the rows are. */
export interface ExportRowsOptions extends ExportRunOptions {
  /** The study the rows come from (recorded in the manifest). */
  studyKey: string;
  /** Every table the batches may belong to, with its columns (`client.workflows.tables`). */
  tables: readonly TableSpec[];
}

/** What an export did. */
export interface ExportSummary {
  studyKey: string;
  /** The sink's kind, e.g. `csv`. */
  sink: string;
  /** Rows written by this run, per table (skipped ones not included). */
  tables: Array<{ name: string; rows: number; batches: number }>;
  rows: number;
  batches: number;
  skippedRows: number;
  skippedBatches: number;
  bytes: number;
  elapsedMs: number;
  /** Whether this run continued an interrupted one. */
  resumed: boolean;
  /** Whether the destination already held this export, complete (nothing was written). */
  alreadyComplete: boolean;
}

/** The shape of a set of tables (names, column names and types), as a SHA-256. */
async function shapeOf(tables: readonly TableSpec[]): Promise<string> {
  return sha256Hex(JSON.stringify(tables.map((t) => [t.name, t.columns.map((c) => [c.name, c.type])])));
}

function checkCount(value: number | undefined, fallback: number, name: string, least: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < least) {
    throw new ExportConfigurationError(
      `${name} must be an integer of at least ${least} (got ${String(value)})`,
    );
  }
  return n;
}

/**
 * Exports row batches (from `client.workflows.rows` or `mapRecords`) to a sink, resumably.
 * @example
 * const tables = await client.workflows.tables('MYSTUDY');
 * const summary = await exportRows(client.workflows.rows('MYSTUDY'), csvSink({ directory: nodeDirectory('out') }), { studyKey: 'MYSTUDY', tables });
 */
export async function exportRows(
  batches: AsyncIterable<RowBatch>,
  sink: ExportSink,
  options: ExportRowsOptions,
): Promise<ExportSummary> {
  const retries = checkCount(options.retries, 3, 'retries', 0);
  const retryDelay = checkCount(options.retryDelay, 250, 'retryDelay', 0);
  const checkpointEvery = checkCount(options.checkpointEvery, 10, 'checkpointEvery', 1);
  const { studyKey, tables, signal } = options;
  if (typeof studyKey !== 'string' || studyKey.length === 0) {
    throw new ExportConfigurationError('exportRows: studyKey must be a non-empty string');
  }
  if (!Array.isArray(tables) || tables.length === 0) {
    throw new ExportConfigurationError(
      'exportRows: tables must list the tables to export (client.workflows.tables)',
    );
  }
  const started = Date.now();
  const shape = await shapeOf(tables);
  if (options.restart) await sink.manifest.clear(studyKey);
  const previous = options.restart ? undefined : await sink.manifest.load(studyKey);
  if (previous && (previous.studyKey !== studyKey || previous.shape !== shape)) {
    throw new ExportConfigurationError(
      previous.studyKey !== studyKey
        ? `The destination holds an export of study ${previous.studyKey}; export ${studyKey} elsewhere, or pass restart: true to replace it`
        : 'The destination holds an export with other tables or columns; pass restart: true to replace it',
    );
  }
  const summary: ExportSummary = {
    studyKey,
    sink: sink.kind,
    tables: tables.map((t) => ({ name: t.name, rows: 0, batches: 0 })),
    rows: 0,
    batches: 0,
    skippedRows: 0,
    skippedBatches: 0,
    bytes: 0,
    elapsedMs: 0,
    resumed: previous !== undefined && previous.completedAt === undefined,
    alreadyComplete: previous?.completedAt !== undefined,
  };
  if (summary.alreadyComplete) {
    summary.elapsedMs = Date.now() - started;
    return summary;
  }
  const manifest: Manifest = previous
    ? { ...previous, batches: [...previous.batches] }
    : { version: 1, studyKey, shape, startedAt: new Date(started).toISOString(), batches: [] };
  const done = new Map(manifest.batches.map((entry) => [entry.batchId, entry]));
  const perTable = new Map(summary.tables.map((t) => [t.name, t]));
  const known = new Set(tables.map((t) => t.name));
  // Written, not yet reported durable by the sink.
  const pending = new Map<string, ManifestEntry>();

  const checkpoint = async (durable: readonly string[] | undefined) => {
    const ids = durable ?? [...pending.keys()];
    if (ids.length === 0) return;
    for (const id of ids) {
      const entry = pending.get(id);
      if (!entry) continue;
      pending.delete(id);
      manifest.batches.push(entry);
    }
    await sink.manifest.save(manifest);
  };

  const write = async (batch: RowBatch, batchId: string, canonical: Uint8Array): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortError('The export was aborted', { cause: signal.reason });
      try {
        return await sink.writeBatch(batch, batchId, canonical);
      } catch (error) {
        // Settings and aborts are not transient: no retry, and they keep their own class.
        if (error instanceof ExportConfigurationError || error instanceof AbortError) throw error;
        if (attempt > retries) throw new ExportBatchError(batchId, attempt, error);
        await sleep(Math.random() * retryDelay * 2 ** (attempt - 1), signal);
      }
    }
  };

  await sink.open({ studyKey, tables, resume: previous, ...(signal ? { signal } : {}) });
  try {
    if (!previous) await sink.manifest.save(manifest);
    const sequence = new Map<string, number>();
    let sinceCheckpoint = 0;
    for await (const batch of batches) {
      if (signal?.aborted) throw new AbortError('The export was aborted', { cause: signal.reason });
      const table = batch.table.name;
      if (!known.has(table)) {
        throw new ExportConfigurationError(`A batch of table ${table}, which is not among the tables given`);
      }
      const n = sequence.get(table) ?? 0;
      sequence.set(table, n + 1);
      const batchId = `${table}:${n}`;
      const canonical = canonicalBytes(batch);
      const sha256 = await sha256Hex(canonical);
      const earlier = done.get(batchId);
      if (earlier) {
        if (earlier.sha256 !== sha256 || earlier.rows !== batch.rows.length) {
          throw new ExportConfigurationError(
            `Batch ${batchId} is not the one the interrupted export wrote: the study changed since; pass restart: true to export it again from the start`,
          );
        }
        summary.skippedBatches++;
        summary.skippedRows += batch.rows.length;
      } else {
        const state = await write(batch, batchId, canonical);
        pending.set(batchId, {
          batchId,
          table,
          rows: batch.rows.length,
          sha256,
          ...(state !== undefined ? { state } : {}),
        });
        summary.batches++;
        summary.rows += batch.rows.length;
        const counts = perTable.get(table)!;
        counts.rows += batch.rows.length;
        counts.batches++;
        if (++sinceCheckpoint >= checkpointEvery) {
          sinceCheckpoint = 0;
          await checkpoint(await sink.flush());
        }
      }
      if (options.onProgress) {
        const elapsedMs = Date.now() - started;
        options.onProgress({
          batchId,
          table,
          rows: summary.rows,
          batches: summary.batches,
          skippedRows: summary.skippedRows,
          skippedBatches: summary.skippedBatches,
          bytes: sink.bytesWritten ?? 0,
          elapsedMs,
          rowsPerSecond: ((summary.rows + summary.skippedRows) * 1000) / Math.max(1, elapsedMs),
        });
      }
    }
    await checkpoint(await sink.flush());
    await checkpoint(await sink.close());
    if (pending.size > 0) {
      throw new ExportConfigurationError(
        `The ${sink.kind} sink closed without reporting ${pending.size} written batch(es) durable`,
      );
    }
    manifest.completedAt = new Date().toISOString();
    await sink.manifest.save(manifest);
  } catch (error) {
    await sink.abort(error).catch(() => undefined);
    throw error;
  }
  summary.bytes = sink.bytesWritten ?? 0;
  summary.elapsedMs = Date.now() - started;
  return summary;
}

/** A client with the workflows plugin: what {@link exportStudy} reads the rows through. */
export interface WorkflowsClient {
  workflows: {
    tables(studyKey: string, options?: object): Promise<TableSpec[]>;
    rows(studyKey: string, options?: object): AsyncIterable<RowBatch>;
  };
}

/**
 * Exports a study through the workflows plugin's record mapper to a sink: `options` takes the
 * mapper's and the listing's options (`forms`, `header`, `criteria`, `batchSize`, ...) and the
 * run's (`retries`, `restart`, `onProgress`, `signal`, ...).
 * @example const summary = await exportStudy(client, 'MYSTUDY', csvSink({ directory: nodeDirectory('out') }), { forms: ['AE'] });
 */
export async function exportStudy<O extends object>(
  client: WorkflowsClient,
  studyKey: string,
  sink: ExportSink,
  options: O & ExportRunOptions = {} as O & ExportRunOptions,
): Promise<ExportSummary> {
  if (typeof client?.workflows?.rows !== 'function') {
    throw new ExportConfigurationError(
      'exportStudy needs a client with the workflows plugin: Imednet.plugin(workflows())',
    );
  }
  const tables = await client.workflows.tables(studyKey, options);
  return exportRows(client.workflows.rows(studyKey, options), sink, { ...options, studyKey, tables });
}
