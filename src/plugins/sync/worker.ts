/**
 * A background sync loop: `runOnce()` syncs every configured study, `runForever()` repeats it every
 * `intervalMs` until `stop()` or the caller's signal. Stopping aborts the run in flight; what it
 * committed stays and its watermark does not move.
 */
import { AbortError, ConfigurationError } from '../../core/errors.js';
import type { SyncCache } from './cache.js';
import { sleep } from './lock.js';
import type { ProgressListener, StudySyncResult, SyncResult } from './types.js';

/** Options of a {@link SyncWorker}. */
export interface SyncWorkerOptions {
  /** The studies to keep in sync. */
  studyKeys: string | readonly string[];
  /** `records` (default) syncs records only; `study` syncs every stream (`syncStudy`). */
  scope?: 'records' | 'study';
  /** Pause between the end of one round and the start of the next, in ms (default 60000). */
  intervalMs?: number;
  /** Stops the worker (like `stop()`). */
  signal?: AbortSignal;
  /** Progress events of every run. */
  onProgress?: ProgressListener;
  /** Called after each study's run, good or bad. */
  onRun?: (report: SyncWorkerReport) => void;
}

/** What one study's run in a round came to. */
export interface SyncWorkerReport {
  studyKey: string;
  /** The run's result when it succeeded. */
  result?: SyncResult | StudySyncResult;
  /** The run's error when it failed (also recorded in the ledger). */
  error?: unknown;
}

/**
 * Keeps studies in sync in the background.
 * @example
 * const worker = new SyncWorker(client.cache, { studyKeys: ['MYSTUDY'], intervalMs: 30_000 });
 * void worker.runForever();
 * // later
 * worker.stop();
 */
export class SyncWorker {
  readonly #cache: SyncCache;
  readonly #studyKeys: readonly string[];
  readonly #options: SyncWorkerOptions;
  #controller = new AbortController();
  #running = false;

  constructor(cache: SyncCache | { cache: SyncCache }, options: SyncWorkerOptions) {
    this.#cache = 'cache' in cache ? cache.cache : cache;
    const keys = typeof options.studyKeys === 'string' ? [options.studyKeys] : [...(options.studyKeys ?? [])];
    if (keys.length === 0) throw new ConfigurationError('SyncWorker needs at least one study key');
    const interval = options.intervalMs ?? 60_000;
    if (!Number.isFinite(interval) || interval < 0) throw new ConfigurationError('intervalMs must be >= 0');
    this.#studyKeys = keys;
    this.#options = options;
    options.signal?.addEventListener('abort', () => this.stop(), { once: true });
    if (options.signal?.aborted) this.stop();
  }

  /** Whether a round is in progress. */
  get running(): boolean {
    return this.#running;
  }

  /** Whether the worker was stopped. */
  get stopped(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Syncs every study once, one after another. Failures are reported, not thrown. */
  async runOnce(): Promise<SyncWorkerReport[]> {
    const signal = this.#controller.signal;
    const reports: SyncWorkerReport[] = [];
    this.#running = true;
    try {
      for (const studyKey of this.#studyKeys) {
        if (signal.aborted) break;
        const report: SyncWorkerReport = { studyKey };
        try {
          const options: { signal: AbortSignal; onProgress?: ProgressListener } = { signal };
          if (this.#options.onProgress) options.onProgress = this.#options.onProgress;
          report.result =
            this.#options.scope === 'study'
              ? await this.#cache.syncStudy(studyKey, options)
              : await this.#cache.syncRecords(studyKey, options);
        } catch (error) {
          report.error = error;
        }
        reports.push(report);
        try {
          this.#options.onRun?.(report);
        } catch {
          // A failing callback must not stop the worker.
        }
      }
    } finally {
      this.#running = false;
    }
    return reports;
  }

  /** Runs rounds until stopped; resolves when the worker stops. */
  async runForever(): Promise<void> {
    const signal = this.#controller.signal;
    const interval = this.#options.intervalMs ?? 60_000;
    while (!signal.aborted) {
      await this.runOnce();
      if (signal.aborted) break;
      await sleep(interval, signal);
    }
  }

  /** Stops the worker: the run in flight is aborted, no new round starts. */
  stop(): void {
    if (!this.#controller.signal.aborted)
      this.#controller.abort(new AbortError('The sync worker was stopped'));
  }
}
