import { describe, expect, it } from 'vitest';
import { AbortError, ConfigurationError, NotFoundError } from '../../../src/core/errors.js';
import { createRecord } from '../../../src/endpoints/records.js';
import { type JobsProgress, pollJobs } from '../../../src/plugins/workflows/jobs.js';
import { useMockApi } from '../support.js';

const mock = useMockApi({ records: 200, subjects: 20 });
const { api, study } = mock;
const statusRequests = () => api.requests.filter((r) => r.method === 'GET' && r.path.includes('/jobs/'));
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

/** Posts one record and returns its job's batch id; a record whose term is FAIL makes a job that fails. */
async function post(term = 'Cough'): Promise<string> {
  const accepted = await mock
    .client()
    .records.create('DEMO', [
      createRecord({ formKey: 'AE', subjectKey: study.subjects[0]!.subjectKey!, data: { AETERM: term } }),
    ]);
  return accepted.batchId;
}

const failOnTerm = (items: readonly unknown[]) =>
  JSON.stringify(items).includes('"FAIL"') ? ('failed' as const) : ('completed' as const);

describe('pollJobs', () => {
  it('follows every job to its end and reports them in the order given', async () => {
    api.setJobOptions({ jobPollsToComplete: 2 });
    const ids = [await post(), await post(), await post()];
    const summary = await pollJobs(mock.client(), 'DEMO', ids, { interval: 1 });
    expect(summary.succeeded.map((j) => j.batchId)).toEqual(ids);
    expect(summary.succeeded.map((j) => j.state)).toEqual(['completed', 'completed', 'completed']);
    expect(summary.failed).toEqual([]);
    expect(summary.unfinished).toEqual([]);
    expect(summary.total).toBe(3);
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(0);
    // 'processing' then 'completed': two status requests per job, none after the end.
    expect(statusRequests()).toHaveLength(6);
  });

  it('polls a batch id given twice once and lists it once', async () => {
    api.setJobOptions({ jobPollsToComplete: 2 });
    const [a, b] = [await post(), await post()];
    const summary = await pollJobs(mock.client(), 'DEMO', [a!, b!, a!], { interval: 1 });
    expect(summary.total).toBe(2);
    expect(summary.succeeded.map((j) => j.batchId)).toEqual([a, b]);
    expect(statusRequests()).toHaveLength(4);
  });

  it('puts failed jobs and unknown batch ids in failed, and still follows the others', async () => {
    api.setJobOptions({ jobPollsToComplete: 2, jobOutcome: failOnTerm, jobStateCase: 'upper' });
    const good = await post();
    const bad = await post('FAIL');
    const summary = await pollJobs(mock.client(), 'DEMO', [good, UNKNOWN, bad], { interval: 1 });
    expect(summary.succeeded.map((j) => [j.batchId, j.state])).toEqual([[good, 'COMPLETED']]);
    expect(summary.failed.map((f) => f.batchId)).toEqual([UNKNOWN, bad]);
    const [unknown, failed] = summary.failed;
    expect(unknown!.error).toBeInstanceOf(NotFoundError);
    expect(unknown!.state).toBeUndefined();
    expect(failed!.state).toBe('FAILED');
    expect(failed!.job?.batchId).toBe(bad);
    expect(failed!.error).toBeUndefined();
    expect(summary.unfinished).toEqual([]);
    // Two polls each for the real jobs, one (404) for the unknown id.
    expect(statusRequests()).toHaveLength(5);
  });

  it('with failFast, stops polling the others once a job fails and reports them stopped', async () => {
    api.setJobOptions({ jobPollsToComplete: 50 });
    const ids = [await post(), await post()];
    const events: JobsProgress[] = [];
    const summary = await pollJobs(mock.client(), 'DEMO', [UNKNOWN, ...ids], {
      interval: 1,
      concurrency: 1,
      failFast: true,
      onProgress: (e) => events.push(e),
    });
    expect(summary.failed.map((f) => f.batchId)).toEqual([UNKNOWN]);
    expect(summary.succeeded).toEqual([]);
    expect(summary.unfinished).toEqual(ids.map((batchId) => ({ batchId, reason: 'stopped' })));
    // One request at a time and the unknown id first: its 404 stops the set before any other poll.
    expect(statusRequests()).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ batchId: UNKNOWN, done: 3, total: 3, failed: 1, succeeded: 0 });
  });

  it('without failFast, the same set polls the others to their end', async () => {
    api.setJobOptions({ jobPollsToComplete: 3 });
    const ids = [await post(), await post()];
    const summary = await pollJobs(mock.client(), 'DEMO', [UNKNOWN, ...ids], { interval: 1, concurrency: 1 });
    expect(summary.failed.map((f) => f.batchId)).toEqual([UNKNOWN]);
    expect(summary.succeeded.map((j) => j.batchId)).toEqual(ids);
    expect(statusRequests()).toHaveLength(1 + 3 * 2);
  });

  it.each(['absent', 'empty'] as const)(
    'reports jobs whose state is %s as unfinished, no-state, instead of polling until the timeout',
    async (missing) => {
      api.setJobOptions({ jobStateMissing: missing });
      const ids = [await post(), await post()];
      const summary = await pollJobs(mock.client(), 'DEMO', ids, {
        interval: 1,
        timeout: 600_000,
        maxMissingState: 2,
      });
      expect(summary.unfinished).toEqual(ids.map((batchId) => ({ batchId, reason: 'no-state' })));
      expect(summary.succeeded).toEqual([]);
      expect(summary.failed).toEqual([]);
      expect(statusRequests()).toHaveLength(2 * 2);
    },
  );

  it('keeps the last state a job reported before it went silent', async () => {
    api.setJobOptions({ jobPollsToComplete: 50 });
    const id = await post();
    const summary = await pollJobs(mock.client(), 'DEMO', [id], {
      interval: 1,
      onProgress: (e) => {
        if (e.job?.state === 'processing') api.setJobOptions({ jobStateMissing: 'empty' });
      },
    });
    expect(summary.unfinished).toEqual([{ batchId: id, lastState: 'processing', reason: 'no-state' }]);
    // One poll with a state, then the default of three without one.
    expect(statusRequests()).toHaveLength(4);
  });

  it('reports jobs still running at the timeout as unfinished, timeout, with their last state', async () => {
    api.setJobOptions({ jobPollsToComplete: 100_000 });
    const ids = [await post(), await post()];
    const summary = await pollJobs(mock.client(), 'DEMO', ids, { interval: 2, timeout: 30 });
    expect(summary.unfinished).toEqual(
      ids.map((batchId) => ({ batchId, lastState: 'processing', reason: 'timeout' })),
    );
    expect(summary.total).toBe(2);
  });

  it('calls onProgress after every poll, the last one with done === total', async () => {
    api.setJobOptions({ jobPollsToComplete: 3, jobOutcome: failOnTerm });
    const ids = [await post(), await post('FAIL'), await post(), UNKNOWN];
    const events: JobsProgress[] = [];
    await pollJobs(mock.client(), 'DEMO', ids, { interval: 1, onProgress: (e) => events.push(e) });
    expect(events).toHaveLength(statusRequests().length);
    expect(events).toHaveLength(3 * 3 + 1);
    expect(events.at(-1)).toMatchObject({ done: 4, total: 4, succeeded: 2, failed: 2 });
    const dones = events.map((e) => e.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(events.filter((e) => e.batchId === UNKNOWN).map((e) => e.job)).toEqual([undefined]);
    expect(events.filter((e) => e.batchId === ids[0]).map((e) => e.job?.state)).toEqual([
      'processing',
      'processing',
      'completed',
    ]);
  });

  it('keeps at most `concurrency` status requests in flight', async () => {
    api.setJobOptions({ jobPollsToComplete: 2 });
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push(await post());
    api.setFaults({ latencyMs: 5 });
    const summary = await pollJobs(mock.client(), 'DEMO', ids, { interval: 1, concurrency: 2 });
    expect(summary.succeeded).toHaveLength(8);
    const inFlight = statusRequests().map((r) => r.inFlight);
    expect(inFlight).toHaveLength(16);
    expect(Math.max(...inFlight)).toBe(2);
  });

  it('rejects with AbortError when the signal fires, and polls no more', async () => {
    api.setJobOptions({ jobPollsToComplete: 1_000 });
    const ids = [await post(), await post()];
    const controller = new AbortController();
    const pending = pollJobs(mock.client(), 'DEMO', ids, {
      interval: 1,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.done === 0 && statusRequests().length >= 4) controller.abort();
      },
    });
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    const sent = statusRequests().length;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(statusRequests()).toHaveLength(sent);
    await expect(
      pollJobs(mock.client(), 'DEMO', ids, { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
    expect(statusRequests()).toHaveLength(sent);
  });

  it('rejects with the error a throwing onProgress raised, and polls no more', async () => {
    api.setJobOptions({ jobPollsToComplete: 1_000 });
    const ids = [await post(), await post()];
    const error = await pollJobs(mock.client(), 'DEMO', ids, {
      interval: 1,
      onProgress: () => {
        throw new TypeError('callback broke');
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('callback broke');
    const sent = statusRequests().length;
    expect(sent).toBeLessThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(statusRequests()).toHaveLength(sent);
  });

  it('resolves at once with an empty summary for no batch ids', async () => {
    const summary = await pollJobs(mock.client(), 'DEMO', []);
    expect(summary).toMatchObject({ succeeded: [], failed: [], unfinished: [], total: 0 });
    expect(statusRequests()).toHaveLength(0);
  });

  it.each([
    ['a negative interval', ['X'], { interval: -1 }],
    ['a negative timeout', ['X'], { timeout: -5 }],
    ['a fractional concurrency', ['X'], { concurrency: 1.5 }],
    ['a zero concurrency', ['X'], { concurrency: 0 }],
    ['a zero maxMissingState', ['X'], { maxMissingState: 0 }],
    ['an empty batch id', ['X', ''], {}],
    ['a batch id that climbs the path', ['..'], {}],
    ['a batch id that is not a string', [42], {}],
    ['a non-function onProgress', ['X'], { onProgress: 'log' }],
  ])('refuses %s before any request', async (_what, ids, options) => {
    await expect(
      pollJobs(mock.client(), 'DEMO', ids as string[], options as Record<string, unknown>),
    ).rejects.toBeInstanceOf(ConfigurationError);
    expect(api.requests).toHaveLength(0);
  });

  it('refuses a bad study key before any request', async () => {
    await expect(pollJobs(mock.client(), '', ['X'])).rejects.toBeInstanceOf(ConfigurationError);
    expect(api.requests).toHaveLength(0);
  });
});
