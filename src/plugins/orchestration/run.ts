/**
 * `runPerStudy`: one task per study, a few at a time, each retried on its own, the whole run
 * slowing down together when the server says 429, and one result per study at the end, whatever
 * happened to the others.
 *
 * Two attempts of one study never overlap: a timed-out or aborted attempt keeps its place until
 * its promise settles, so a task must honour its signal (pass it to every SDK call and sink).
 * An export whose first attempt still writes while a second starts would write its files twice.
 */
import { AbortError, ConfigurationError, TimeoutError } from '../../core/errors.js';
import { retryDelay } from '../../core/retry.js';
import { sleep } from '../../core/sleep.js';
import { checkNonNegative, checkPositiveInteger } from '../../core/validate.js';
import { checkDiscovery, checkExclude, type StudiesClient, studyKeys } from './discovery.js';
import { RunLimit } from './limit.js';
import { isRateLimited, isRetryableError, retryAfterOf } from './retryable.js';

/**
 * What a task is handed besides its study key.
 * @example { signal: AbortSignal.timeout(60_000), attempt: 1 }
 */
export interface StudyTaskContext {
  /**
   * Fires when this attempt's `timeout` passes or the run's `signal` fires. Pass it on to every
   * call the task makes; the next attempt of the study waits until this one has settled.
   */
  signal: AbortSignal;
  /** 1 for the first attempt at this study, 2 for the first retry, and so on. */
  attempt: number;
}

/**
 * The work done for one study.
 * @example
 * const task: StudyTask<number> = async (studyKey, { signal }) =>
 *   (await client.subjects.list(studyKey, { signal }).toArray()).length;
 */
export type StudyTask<T> = (studyKey: string, context: StudyTaskContext) => Promise<T> | T;

/**
 * How one study's task ended: `fulfilled` with its `value`, `failed` with the last attempt's
 * `error`, or `cancelled` by the run's signal (before it started, during a wait between attempts,
 * or while it ran). `attempts` counts the attempts started; `durationMs` runs from the first
 * attempt's start to the end, waits between attempts included (0 when it never started).
 * @example { studyKey: 'MYSTUDY', status: 'failed', error: new Error('503 from the API'), attempts: 3, durationMs: 5012 }
 */
export type StudyResult<T = unknown> =
  | {
      studyKey: string;
      status: 'fulfilled';
      value: T;
      error?: undefined;
      attempts: number;
      durationMs: number;
    }
  | {
      studyKey: string;
      status: 'failed';
      value?: undefined;
      error: unknown;
      attempts: number;
      durationMs: number;
    }
  | {
      studyKey: string;
      status: 'cancelled';
      value?: undefined;
      error: unknown;
      attempts: number;
      durationMs: number;
    };

/**
 * What `onRetry` hears before the wait that comes before an attempt again.
 * @example { studyKey: 'MYSTUDY', attempt: 1, error: new Error('503 from the API'), delayMs: 1200, concurrency: 1 }
 */
export interface RetryEvent {
  studyKey: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** Why it failed. */
  error: unknown;
  /** The wait, in milliseconds, before the next attempt may start. */
  delayMs: number;
  /** Tasks the run may have going now (lower than `concurrency` after a 429). */
  concurrency: number;
}

/**
 * Options of {@link runPerStudy}.
 * @example { client, exclude: ['TRAINING'], concurrency: 2, retries: 2, timeout: 30 * 60_000 }
 */
export interface RunPerStudyOptions<T = unknown> {
  /** Discovers the studies (`studyKeys`) when `studies` is not given. */
  client?: StudiesClient;
  /**
   * The studies to run, in the order the results come back; each key once.
   * @example ['STUDY_A', 'STUDY_B']
   */
  studies?: Iterable<string>;
  /** Study keys to leave out (of `studies`, or of the discovered ones). */
  exclude?: Iterable<string>;
  /**
   * Tasks running at once (default 2). After a 429 the run halves it (at least 1) and gives one
   * place back per round of successes.
   * @example { concurrency: 4 }
   */
  concurrency?: number;
  /** Attempts after the first at a study whose error is retryable (default 2). */
  retries?: number;
  /**
   * Milliseconds one attempt may take (default: no limit). When it passes, the attempt's signal
   * fires; the attempt fails with `TimeoutError`, which is retried like the others.
   * @example { timeout: 30 * 60_000 }
   */
  timeout?: number;
  /**
   * Base of the backoff between attempts, in milliseconds (default 1000): a random wait up to
   * `backoffFactor * 2^(n-1)` before retry n, at most 30 s. A 429 that says `Retry-After` waits
   * that long instead.
   */
  backoffFactor?: number;
  /** The longest `Retry-After` honoured, in milliseconds (default 60000). */
  maxRetryAfter?: number;
  /**
   * Which errors are worth another attempt (default {@link isRetryableError}: 429, 5xx, network
   * errors and timeouts).
   * @example { retryable: (error: unknown) => isRetryableError(error) || (error as Error).name === 'ExportBatchError' }
   */
  retryable?: (error: unknown) => boolean;
  /**
   * Stops the run: nothing new starts, running tasks see their signal fire, and studies not
   * finished come back `cancelled`.
   */
  signal?: AbortSignal;
  /**
   * Told each study's result as it ends (the cancelled ones at the end). What it throws is ignored,
   * so a failing log line cannot stop the run.
   * @example { onResult: (r) => console.log(`${r.studyKey}: ${r.status} after ${r.attempts} attempt(s)`) }
   */
  onResult?: (result: StudyResult<T>) => void;
  /**
   * Told before each wait for another attempt. What it throws is ignored.
   * @example { onRetry: (e) => console.warn(`${e.studyKey}: attempt ${e.attempt} failed, again in ${e.delayMs} ms`) }
   */
  onRetry?: (event: RetryEvent) => void;
}

/** The options, checked, with their defaults. */
interface Settings<T> {
  concurrency: number;
  retries: number;
  timeout: number | undefined;
  backoffFactor: number;
  maxRetryAfter: number;
  retryable: (error: unknown) => boolean;
  signal: AbortSignal | undefined;
  onResult: ((result: StudyResult<T>) => void) | undefined;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

/**
 * Runs `task` once per study, `concurrency` at a time, and resolves to one {@link StudyResult} per
 * study in the order of the studies (given, or as the API lists them). A failed attempt is retried
 * with full-jitter backoff when its error is retryable (429, 5xx, network, timeout), up to
 * `retries` times; a 429 also halves the run's concurrency for a while and holds every new start
 * for its `Retry-After`. A study that fails is a `failed` result: the run rejects only for bad
 * options (`ConfigurationError`, before anything starts) or when discovering the studies fails
 * (the listing's error, e.g. `UnauthorizedError`, or `AbortError` when the signal fired then).
 * @example
 * const results = await runPerStudy(
 *   async (studyKey, { signal }) => (await client.subjects.list(studyKey, { signal }).toArray()).length,
 *   { client, concurrency: 2, retries: 2, timeout: 10 * 60_000 },
 * );
 * for (const r of results) console.log(r.studyKey, r.status, r.value ?? r.error, `${r.attempts} attempt(s)`);
 */
export async function runPerStudy<T>(
  task: StudyTask<T>,
  options: RunPerStudyOptions<T> = {},
): Promise<StudyResult<T>[]> {
  const settings = checkOptions(task, options);
  const keys =
    options.studies === undefined
      ? await studyKeys(options.client as StudiesClient, discovery(options))
      : givenStudies(options.studies, checkExclude(options.exclude, 'runPerStudy'));
  return schedule(task, keys, settings);
}

function discovery<T>(options: RunPerStudyOptions<T>) {
  const out: { exclude?: Iterable<string>; signal?: AbortSignal } = {};
  if (options.exclude !== undefined) out.exclude = options.exclude;
  if (options.signal !== undefined) out.signal = options.signal;
  return out;
}

function checkOptions<T>(task: unknown, options: RunPerStudyOptions<T>): Settings<T> {
  if (typeof task !== 'function') throw new ConfigurationError('runPerStudy: task must be a function');
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('runPerStudy: options must be an object');
  }
  if (options.studies === undefined) {
    if (options.client === undefined) {
      throw new ConfigurationError('runPerStudy needs `studies` or a `client` to discover them with');
    }
    checkDiscovery(options.client, options, 'runPerStudy');
  } else {
    checkExclude(options.exclude, 'runPerStudy');
  }
  const signal = options.signal;
  if (
    signal !== undefined &&
    (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function')
  ) {
    throw new ConfigurationError('runPerStudy: signal must be an AbortSignal');
  }
  for (const name of ['retryable', 'onResult', 'onRetry'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new ConfigurationError(`runPerStudy: ${name} must be a function`);
    }
  }
  return {
    concurrency: checkPositiveInteger(options.concurrency ?? 2, 'runPerStudy: concurrency'),
    retries: checkPositiveInteger(options.retries ?? 2, 'runPerStudy: retries', 0),
    timeout:
      options.timeout === undefined
        ? undefined
        : checkPositiveInteger(options.timeout, 'runPerStudy: timeout'),
    backoffFactor: checkNonNegative(options.backoffFactor ?? 1000, 'runPerStudy: backoffFactor'),
    maxRetryAfter: checkNonNegative(options.maxRetryAfter ?? 60_000, 'runPerStudy: maxRetryAfter'),
    retryable: options.retryable ?? isRetryableError,
    signal,
    onResult: options.onResult,
    onRetry: options.onRetry,
  };
}

function givenStudies(studies: unknown, excluded: ReadonlySet<string>): string[] {
  if (
    typeof studies === 'string' ||
    typeof (studies as Iterable<unknown>)?.[Symbol.iterator] !== 'function'
  ) {
    throw new ConfigurationError('runPerStudy: studies must be a list of study keys');
  }
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const key of studies as Iterable<unknown>) {
    if (typeof key !== 'string' || key.trim() === '') {
      throw new ConfigurationError('runPerStudy: studies must be non-empty strings');
    }
    // Two tasks on one study at once would race each other, in the same files or tables.
    if (seen.has(key)) throw new ConfigurationError(`runPerStudy: studies names ${key} twice`);
    seen.add(key);
    if (!excluded.has(key)) keys.push(key);
  }
  return keys;
}

/** One study's progress through the run. */
interface Job {
  index: number;
  studyKey: string;
  attempts: number;
  /** Date.now() at the first attempt's start. */
  startedAt?: number;
  lastError?: unknown;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function schedule<T>(task: StudyTask<T>, keys: readonly string[], s: Settings<T>): Promise<StudyResult<T>[]> {
  const results: StudyResult<T>[] = new Array(keys.length);
  const limit = new RunLimit(s.concurrency);
  const outer = s.signal;
  /** Retries whose wait is over: they start before any study that has not started. */
  const ready: Job[] = [];
  let next = 0;
  let running = 0;
  /** Jobs in their wait between attempts. */
  let waiting = 0;
  /** No attempt starts before this time (a 429's Retry-After). */
  let pausedUntil = 0;
  let pauseTimer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  let resolveRun: (results: StudyResult<T>[]) => void = () => {};
  const done = new Promise<StudyResult<T>[]>((resolve) => {
    resolveRun = resolve;
  });

  const tell = <A>(listener: ((arg: A) => void) | undefined, arg: A) => {
    try {
      listener?.(arg);
    } catch {
      // A listener's failure is its own; the run and the other studies go on.
    }
  };
  const end = (job: Job, result: StudyResult<T>) => {
    results[job.index] = result;
    tell(s.onResult, result);
  };
  const elapsed = (job: Job) => (job.startedAt === undefined ? 0 : Date.now() - job.startedAt);
  const cancelled = (job: Job, error: unknown): StudyResult<T> => ({
    studyKey: job.studyKey,
    status: 'cancelled',
    error,
    attempts: job.attempts,
    durationMs: elapsed(job),
  });
  const aborted = (job: Job) =>
    new AbortError(
      job.attempts === 0
        ? `runPerStudy was aborted before study ${job.studyKey} started`
        : `runPerStudy was aborted between attempts at study ${job.studyKey}`,
      { cause: job.attempts === 0 ? outer?.reason : job.lastError },
    );

  const check = () => {
    if (finished || running > 0 || waiting > 0) return;
    const more = ready.length > 0 || next < keys.length;
    if (more && !outer?.aborted) return;
    finished = true;
    clearTimeout(pauseTimer);
    outer?.removeEventListener('abort', onAbort);
    for (const job of ready.splice(0)) end(job, cancelled(job, aborted(job)));
    while (next < keys.length) {
      const job: Job = { index: next, studyKey: keys[next++] as string, attempts: 0 };
      end(job, cancelled(job, aborted(job)));
    }
    resolveRun(results);
  };

  const pump = () => {
    while (!outer?.aborted && running < limit.limit && (ready.length > 0 || next < keys.length)) {
      const wait = pausedUntil - Date.now();
      if (wait > 0) {
        pauseTimer ??= setTimeout(() => {
          pauseTimer = undefined;
          pump();
        }, wait);
        return;
      }
      const job = ready.shift() ?? { index: next, studyKey: keys[next++] as string, attempts: 0 };
      void attempt(job);
    }
    check();
  };

  const onAbort = () => {
    clearTimeout(pauseTimer);
    pauseTimer = undefined;
    check();
  };

  const attempt = async (job: Job) => {
    running++;
    job.attempts++;
    job.startedAt ??= Date.now();
    const epoch = limit.epoch;
    const controller = new AbortController();
    const forward = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', forward, { once: true });
    let timedOut = false;
    const timer =
      s.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort(
              new TimeoutError(`Study ${job.studyKey}: the attempt passed its ${s.timeout} ms`),
            );
          }, s.timeout);
    let outcome: Outcome<T>;
    try {
      // Called a tick later, so a task that throws at once does not re-enter the loop that started it.
      const context = { signal: controller.signal, attempt: job.attempts };
      const value = (await Promise.resolve().then(() => task(job.studyKey, context))) as T;
      outcome = { ok: true, value };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
      running--;
    }
    settle(job, outcome, epoch, timedOut);
    pump();
  };

  const settle = (job: Job, outcome: Outcome<T>, epoch: number, timedOut: boolean) => {
    const base = { studyKey: job.studyKey, attempts: job.attempts };
    if (outcome.ok) {
      // A task that finished despite a timeout or an abort did its work: that work counts.
      limit.succeeded();
      end(job, { ...base, status: 'fulfilled', value: outcome.value, durationMs: elapsed(job) });
      return;
    }
    if (outer?.aborted) {
      end(job, cancelled(job, outcome.error));
      return;
    }
    const error = timedOut
      ? new TimeoutError(
          `Study ${job.studyKey}: attempt ${job.attempts} took longer than its timeout of ${s.timeout} ms`,
          { cause: outcome.error },
        )
      : outcome.error;
    job.lastError = error;
    let retryAfter: number | undefined;
    if (isRateLimited(error)) {
      limit.rateLimited(epoch);
      const asked = retryAfterOf(error);
      if (asked !== undefined) {
        retryAfter = Math.min(asked, s.maxRetryAfter);
        pausedUntil = Math.max(pausedUntil, Date.now() + retryAfter);
      }
    }
    if (job.attempts > s.retries || !isRetryable(s.retryable, error)) {
      end(job, { ...base, status: 'failed', error, durationMs: elapsed(job) });
      return;
    }
    const delayMs =
      retryAfter ??
      retryDelay(job.attempts, { backoffFactor: s.backoffFactor, maxRetryAfter: s.maxRetryAfter });
    tell(s.onRetry, {
      studyKey: job.studyKey,
      attempt: job.attempts,
      error,
      delayMs,
      concurrency: limit.limit,
    });
    if (retryAfter !== undefined) {
      // The run's pause holds it as long, and once the pause is over a retry goes before any new study.
      ready.push(job);
      return;
    }
    waiting++;
    sleep(delayMs, outer).then(
      () => {
        waiting--;
        ready.push(job);
        pump();
      },
      () => {
        waiting--;
        end(job, cancelled(job, aborted(job)));
        check();
      },
    );
  };

  if (outer?.aborted) {
    check();
  } else {
    outer?.addEventListener('abort', onAbort, { once: true });
    pump();
  }
  return done;
}

/** A caller's `retryable` that throws decides nothing: the error is then final. */
function isRetryable(retryable: (error: unknown) => boolean, error: unknown): boolean {
  try {
    return retryable(error) === true;
  } catch {
    return false;
  }
}
