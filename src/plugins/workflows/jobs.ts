/**
 * Many record-creation jobs at once: polls each until it ends, with a bounded number of status
 * requests in flight, and answers with one summary that places every job.
 */
import type { Imednet } from '../../client.js';
import { AbortError, ConfigurationError } from '../../core/errors.js';
import { sleep } from '../../core/sleep.js';
import { checkNonNegative, checkPositiveInteger, pathSegment } from '../../core/validate.js';
import { isSuccessfulJobState, isTerminalJobState, type Job } from '../../endpoints/jobs.js';

/** Options of `pollJobs`. */
export interface PollJobsOptions {
  /** Milliseconds between two polls of the same job (default 1000). */
  interval?: number;
  /** Milliseconds for the whole set (default 300000); jobs still running then are `unfinished`, reason `timeout`. */
  timeout?: number;
  /**
   * Status requests in flight at once (default 4).
   * @example { concurrency: 8 }
   */
  concurrency?: number;
  /**
   * When a job lands in `failed`, stop polling the others and report them `unfinished`, reason
   * `stopped` (default false: every job is followed to its end).
   */
  failFast?: boolean;
  /**
   * Polls in a row that may report no state before the job is given up as `unfinished`, reason
   * `no-state` (default 3, as in `jobs.wait`): such a job is reported, not polled until the timeout.
   */
  maxMissingState?: number;
  /**
   * Called after each poll. An error it throws stops the polling, and `pollJobs` rejects with it.
   * @example { onProgress: (e) => console.log(`${e.done}/${e.total} jobs done, ${e.failed} failed`) }
   */
  onProgress?: (event: JobsProgress) => void;
  /** Aborts the whole set: `pollJobs` rejects with `AbortError`. */
  signal?: AbortSignal;
}

/** What `onProgress` hears after each poll. */
export interface JobsProgress {
  /** The status just polled; absent when the request failed (the job is then in `failed`). */
  job?: Job;
  /** The polled job's batch id. */
  batchId: string;
  /** Jobs placed so far (succeeded, failed or unfinished). */
  done: number;
  /** Distinct jobs in the set. */
  total: number;
  /** Jobs that completed so far. */
  succeeded: number;
  /** Jobs that failed so far. */
  failed: number;
}

/** A job that ended in a failure state, or whose status request failed. */
export interface FailedJob {
  /** The job's batch id. */
  batchId: string;
  /** The failure state as the API spelled it (`failed`, `CANCELLED`, ...); absent after a request error. */
  state?: string;
  /** The last status polled, when there was one. */
  job?: Job;
  /** The request error (e.g. `NotFoundError` for an unknown batch id), when that is why it failed. */
  error?: unknown;
}

/** Why a job has no outcome in the summary. */
export type UnfinishedReason = 'timeout' | 'no-state' | 'stopped';

/** A job whose outcome is not known. */
export interface UnfinishedJob {
  /** The job's batch id. */
  batchId: string;
  /** The last non-empty state it reported, if any. */
  lastState?: string;
  /**
   * `timeout`: still running when the set's timeout ran out; `no-state`: reported no state
   * `maxMissingState` times in a row; `stopped`: no longer polled because another job failed (`failFast`).
   */
  reason: UnfinishedReason;
}

/** Where every job of a `pollJobs` call ended; each distinct batch id is in exactly one list, in input order. */
export interface JobsSummary {
  /** Jobs that completed, as last polled. */
  succeeded: Job[];
  /** Jobs that failed, were cancelled, or could not be polled. */
  failed: FailedJob[];
  /** Jobs without an outcome. */
  unfinished: UnfinishedJob[];
  /** Milliseconds the whole call took. */
  elapsedMs: number;
  /** Distinct jobs in the set. */
  total: number;
}

type Outcome =
  | { kind: 'succeeded'; job: Job }
  | { kind: 'failed'; entry: FailedJob }
  | { kind: 'unfinished'; entry: UnfinishedJob };

/** A fixed number of slots; waiters are served in arrival order and leave when the signal fires. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(size: number) {
    this.#free = size;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new AbortError('The wait for a request slot was aborted'));
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(grant);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(new AbortError('The wait for a request slot was aborted'));
      };
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

function checkOptions(studyKey: string, batchIds: readonly string[], options: PollJobsOptions) {
  pathSegment(studyKey, 'studyKey');
  if (!Array.isArray(batchIds)) throw new ConfigurationError('batchIds must be an array of batch ids');
  for (const [i, id] of batchIds.entries()) pathSegment(id, `batchIds[${i}]`);
  if (options.failFast !== undefined && typeof options.failFast !== 'boolean') {
    throw new ConfigurationError('failFast must be true or false');
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ConfigurationError('onProgress must be a function');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new ConfigurationError('signal must be an AbortSignal');
  }
  return {
    interval: checkNonNegative(options.interval ?? 1000, 'interval'),
    timeout: checkNonNegative(options.timeout ?? 300_000, 'timeout'),
    concurrency: checkPositiveInteger(options.concurrency ?? 4, 'concurrency'),
    maxMissing: checkPositiveInteger(options.maxMissingState ?? 3, 'maxMissingState'),
  };
}

/**
 * Polls many jobs of one study until each ends, the set's `timeout` runs out, or (with `failFast`)
 * one fails; resolves with a summary that places every job, never throwing for a job's outcome.
 * A batch id given twice is polled once and appears once in the summary (`total` counts distinct ids).
 * A state missing or empty for `maxMissingState` polls in a row puts the job in `unfinished` with
 * reason `no-state` instead of letting it run into the timeout. Bad arguments throw
 * `ConfigurationError` before any request; an abort rejects with `AbortError`.
 * @example
 * const summary = await pollJobs(client, 'MYSTUDY', [batchId], { interval: 2000, concurrency: 4 });
 * if (summary.failed.length) console.log(summary.failed.map((f) => f.batchId));
 */
export async function pollJobs(
  client: Imednet,
  studyKey: string,
  batchIds: readonly string[],
  options: PollJobsOptions = {},
): Promise<JobsSummary> {
  const { interval, timeout, concurrency, maxMissing } = checkOptions(studyKey, batchIds, options);
  const { failFast = false, onProgress, signal } = options;
  if (signal?.aborted) throw new AbortError('Polling the jobs was aborted', { cause: signal.reason });

  const started = Date.now();
  const deadline = started + timeout;
  const ids = [...new Set(batchIds)];
  const outcomes = new Map<string, Outcome>();
  const lastStates = new Map<string, string>();
  const counts = { succeeded: 0, failed: 0 };
  const slots = new Slots(concurrency);
  // Stops every job's loop: fired by the caller's signal, by failFast, or by a throwing onProgress.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let callbackError: { error: unknown } | undefined;

  const place = (batchId: string, outcome: Outcome) => {
    if (outcomes.has(batchId)) return;
    outcomes.set(batchId, outcome);
    if (outcome.kind === 'succeeded') counts.succeeded++;
    if (outcome.kind === 'failed') {
      counts.failed++;
      if (failFast) {
        // Placed at once, so the event for this poll already reads done === total.
        for (const id of ids) placeStopped(id);
        stop.abort();
      }
    }
  };
  const placeStopped = (batchId: string) => {
    const lastState = lastStates.get(batchId);
    place(batchId, {
      kind: 'unfinished',
      entry:
        lastState === undefined ? { batchId, reason: 'stopped' } : { batchId, lastState, reason: 'stopped' },
    });
  };
  const report = (batchId: string, job: Job | undefined) => {
    if (!onProgress || callbackError) return;
    const event: JobsProgress = { batchId, done: outcomes.size, total: ids.length, ...counts };
    if (job) event.job = job;
    try {
      onProgress(event);
    } catch (error) {
      callbackError = { error };
      stop.abort();
    }
  };

  const follow = async (batchId: string): Promise<void> => {
    let missing = 0;
    for (;;) {
      let job: Job;
      try {
        await slots.acquire(stop.signal);
      } catch {
        return placeStopped(batchId);
      }
      try {
        job = await client.jobs.get(studyKey, batchId, { signal: stop.signal });
      } catch (error) {
        if (stop.signal.aborted) return placeStopped(batchId);
        place(batchId, { kind: 'failed', entry: { batchId, error } });
        return report(batchId, undefined);
      } finally {
        slots.release();
      }
      if (outcomes.has(batchId)) return; // placed as stopped while this poll was in flight
      const state = typeof job.state === 'string' ? job.state.trim() : '';
      if (state === '') {
        missing++;
      } else {
        missing = 0;
        lastStates.set(batchId, state);
      }
      if (isSuccessfulJobState(state)) place(batchId, { kind: 'succeeded', job });
      else if (isTerminalJobState(state)) place(batchId, { kind: 'failed', entry: { batchId, state, job } });
      else if (missing >= maxMissing || Date.now() >= deadline) {
        const lastState = lastStates.get(batchId);
        const reason = missing >= maxMissing ? 'no-state' : 'timeout';
        place(batchId, {
          kind: 'unfinished',
          entry: lastState === undefined ? { batchId, reason } : { batchId, lastState, reason },
        });
      }
      report(batchId, job);
      if (outcomes.has(batchId)) return;
      try {
        await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), stop.signal);
      } catch {
        return placeStopped(batchId);
      }
    }
  };

  try {
    await Promise.all(ids.map(follow));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw new AbortError('Polling the jobs was aborted', { cause: signal.reason });
  if (callbackError) throw callbackError.error;

  const summary: JobsSummary = {
    succeeded: [],
    failed: [],
    unfinished: [],
    elapsedMs: Date.now() - started,
    total: ids.length,
  };
  for (const id of ids) {
    const outcome = outcomes.get(id);
    if (outcome?.kind === 'succeeded') summary.succeeded.push(outcome.job);
    else if (outcome?.kind === 'failed') summary.failed.push(outcome.entry);
    else summary.unfinished.push(outcome?.entry ?? { batchId: id, reason: 'stopped' });
  }
  return summary;
}
