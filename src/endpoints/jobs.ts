/** Jobs: the asynchronous processing of a record POST. */
import * as v from 'valibot';
import type { ClientContext } from '../core/context.js';
import { JobFailedError, JobTimeoutError } from '../core/errors.js';
import { parseResponse } from '../core/schema.js';
import { sleep } from '../core/sleep.js';
import { checkNonNegative, pathSegment } from '../core/validate.js';
import { sentText, text } from './fields.js';

/**
 * A job's status. `state` comes in any case (`completed`, `COMPLETED`, ...).
 * Always sent (non-null, checked): `batchId`; the other fields may be absent or null.
 */
export const JobSchema = v.looseObject({
  jobId: text(),
  batchId: sentText(),
  state: text(),
  dateCreated: text(),
  dateStarted: text(),
  dateFinished: text(),
});
/** A job's status. */
export type Job = v.InferOutput<typeof JobSchema>;

const SUCCESS_STATES = new Set(['completed', 'success', 'succeeded']);
const FAILURE_STATES = new Set(['failed', 'cancelled', 'canceled', 'error']);

/** Whether a job state says the job succeeded, in any letter case. */
export function isSuccessfulJobState(state: string | null | undefined): boolean {
  return SUCCESS_STATES.has(state?.trim().toLowerCase() ?? '');
}

/** Whether a job state is terminal, in any letter case. */
export function isTerminalJobState(state: string | null | undefined): boolean {
  const s = state?.trim().toLowerCase() ?? '';
  return SUCCESS_STATES.has(s) || FAILURE_STATES.has(s);
}

/** Options of `jobs.wait`. */
export interface JobWaitOptions {
  /** Milliseconds between polls (default 1000). */
  interval?: number;
  /** Milliseconds before giving up with `JobTimeoutError` (default 300000). */
  timeout?: number;
  /**
   * Polls in a row that may report no state before giving up (default 3): a job that never says
   * what it is doing is reported, not polled until the timeout.
   */
  maxMissingState?: number;
  /** Called with every status polled. */
  onProgress?: (job: Job) => void;
  /** Aborts the wait. */
  signal?: AbortSignal;
}

/** `client.jobs`. */
export class JobsEndpoint {
  readonly #ctx: ClientContext;
  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  /** Fetches a job's status by batch id. */
  async get(studyKey: string, batchId: string, options: { signal?: AbortSignal } = {}): Promise<Job> {
    const path = `/studies/${pathSegment(studyKey, 'studyKey')}/jobs/${pathSegment(batchId, 'batchId')}`;
    const request: Parameters<ClientContext['transport']['request']>[0] = { method: 'GET', path };
    if (options.signal) request.signal = options.signal;
    const body = await this.#ctx.transport.request(request);
    if (!this.#ctx.validate) return body as Job;
    return parseResponse(JobSchema, body, 'job status', {
      method: 'GET',
      url: this.#ctx.transport.apiRoot + path,
    });
  }

  /**
   * Polls a job until it reaches a terminal state. Resolves with the job when it completed;
   * throws `JobFailedError` when it failed or was cancelled, `JobTimeoutError` on timeout or when
   * it keeps reporting no state.
   * @example const job = await client.jobs.wait('MYSTUDY', batchId, { interval: 2000, onProgress: (j) => console.log(j.state) });
   */
  async wait(studyKey: string, batchId: string, options: JobWaitOptions = {}): Promise<Job> {
    const interval = checkNonNegative(options.interval ?? 1000, 'interval');
    const timeout = checkNonNegative(options.timeout ?? 300_000, 'timeout');
    const maxMissing = options.maxMissingState ?? 3;
    const deadline = Date.now() + timeout;
    let missing = 0;
    let lastState: string | undefined;
    for (;;) {
      const job = await this.get(studyKey, batchId, options.signal ? { signal: options.signal } : {});
      options.onProgress?.(job);
      const state = typeof job.state === 'string' ? job.state.trim() : '';
      if (state === '') {
        missing++;
        if (missing >= maxMissing) {
          throw new JobTimeoutError(
            batchId,
            `Job ${batchId} reported no state ${missing} times in a row`,
            lastState,
          );
        }
      } else {
        missing = 0;
        lastState = state;
        const lower = state.toLowerCase();
        if (SUCCESS_STATES.has(lower)) return job;
        if (FAILURE_STATES.has(lower)) throw new JobFailedError(batchId, state);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new JobTimeoutError(
          batchId,
          `Job ${batchId} did not finish within ${timeout} ms (last state: ${lastState ?? 'none'})`,
          lastState,
        );
      }
      await sleep(Math.min(interval, remaining), options.signal);
    }
  }

  /** Waits for several jobs at once; settles like `Promise.allSettled`, in the order given. */
  waitAll(
    studyKey: string,
    batchIds: readonly string[],
    options: JobWaitOptions = {},
  ): Promise<PromiseSettledResult<Job>[]> {
    return Promise.allSettled(batchIds.map((id) => this.wait(studyKey, id, options)));
  }
}
