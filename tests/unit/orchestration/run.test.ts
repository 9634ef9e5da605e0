/**
 * runPerStudy's scheduling, with fake tasks: order, the concurrency bound, which errors are
 * retried, timeouts, the run's response to 429 and aborts. Nothing asserts a duration: tasks are
 * held and released by hand, and the Retry-After tests run on fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  ConfigurationError,
  ConnectionError,
  isTimeoutError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnauthorizedError,
} from '../../../src/core/errors.js';
import {
  isRetryableError,
  type RetryEvent,
  retryAfterOf,
  runPerStudy,
  type StudyResult,
} from '../../../src/plugins/orchestration/index.js';
import { deferred, liveCounter, settle, untilAborted } from './support.js';

const keys = (n: number) => Array.from({ length: n }, (_, i) => `S${i + 1}`);
const rateLimited = (retryAfterMs?: number) =>
  Object.assign(new RateLimitError(429, {}), retryAfterMs === undefined ? {} : { retryAfterMs });

// Generous: these wait for promises and 0 ms timers, which a loaded machine may run late.
const WAIT = { timeout: 10_000, interval: 10 };

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('runPerStudy: results', () => {
  it('resolves one result per study in the order given, whatever order they finish in', async () => {
    const gates = new Map(keys(5).map((k) => [k, deferred<string>()]));
    const heard: string[] = [];
    const run = runPerStudy((studyKey) => gates.get(studyKey)!.promise, {
      studies: keys(5),
      concurrency: 5,
      onResult: (r) => heard.push(r.studyKey),
    });
    await settle();
    for (const key of [...keys(5)].reverse()) {
      gates.get(key)!.resolve(`done ${key}`);
      await settle(1);
    }
    const results = await run;
    expect(results.map((r) => [r.studyKey, r.status, r.value, r.attempts])).toEqual(
      keys(5).map((k) => [k, 'fulfilled', `done ${k}`, 1]),
    );
    expect(heard).toEqual(['S5', 'S4', 'S3', 'S2', 'S1']);
    for (const r of results) expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('never runs more tasks than concurrency, and uses all of it', async () => {
    const counter = liveCounter();
    const results = await runPerStudy(
      (studyKey) => counter.run(() => settle((Number(studyKey.slice(1)) * 7) % 13)),
      { studies: keys(12), concurrency: 3 },
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(counter.max).toBe(3);
    expect(counter.atStart).toHaveLength(12);
  });

  it('hands each attempt a signal and its 1-based attempt number; a sync task works too', async () => {
    const seen: Array<[string, number, boolean]> = [];
    const results = await runPerStudy(
      (studyKey, { signal, attempt }) => {
        seen.push([studyKey, attempt, signal instanceof AbortSignal && !signal.aborted]);
        if (attempt === 1) throw new ServerError(503, {});
        return studyKey.toLowerCase();
      },
      { studies: ['A'], backoffFactor: 0 },
    );
    expect(seen).toEqual([
      ['A', 1, true],
      ['A', 2, true],
    ]);
    expect(results).toEqual([
      { studyKey: 'A', status: 'fulfilled', value: 'a', attempts: 2, durationMs: expect.any(Number) },
    ]);
  });

  it('leaves out `exclude`d studies and resolves [] for no study', async () => {
    const ran: string[] = [];
    const results = await runPerStudy((k) => ran.push(k), { studies: ['A', 'B', 'C'], exclude: ['B'] });
    expect(results.map((r) => r.studyKey)).toEqual(['A', 'C']);
    expect(ran).toEqual(['A', 'C']);
    expect(await runPerStudy(() => 1, { studies: [] })).toEqual([]);
  });

  it('goes on when onResult or onRetry throws', async () => {
    const results = await runPerStudy(
      (_k, { attempt }) => {
        if (attempt === 1) throw new ConnectionError('reset');
        return attempt;
      },
      {
        studies: ['A', 'B'],
        backoffFactor: 0,
        onResult: () => {
          throw new Error('a broken log line');
        },
        onRetry: () => {
          throw new Error('another');
        },
      },
    );
    expect(results.map((r) => [r.status, r.value])).toEqual([
      ['fulfilled', 2],
      ['fulfilled', 2],
    ]);
  });
});

describe('runPerStudy: retries', () => {
  it('retries 429, 5xx, network errors and timeouts up to `retries`, and nothing else', async () => {
    const failures: Record<string, () => unknown> = {
      rate: () => rateLimited(),
      server: () => new ServerError(503, {}),
      network: () => new ConnectionError('ECONNRESET'),
      timeout: () => new TimeoutError('slow'),
      auth: () => new UnauthorizedError(401, {}),
      missing: () => new NotFoundError(404, {}),
      config: () => new ConfigurationError('bad'),
      notImplemented: () => new ServerError(501, {}),
      plain: () => new Error('a bug in the task'),
      thrownString: () => 'not even an Error',
    };
    const attempts: Record<string, number[]> = {};
    const retries: RetryEvent[] = [];
    const results = await runPerStudy(
      (studyKey, { attempt }) => {
        attempts[studyKey] = [...(attempts[studyKey] ?? []), attempt];
        throw failures[studyKey]!();
      },
      {
        studies: Object.keys(failures),
        retries: 2,
        backoffFactor: 0,
        concurrency: 4,
        onRetry: (e) => retries.push(e),
      },
    );
    const byKey = Object.fromEntries(results.map((r) => [r.studyKey, r]));
    for (const key of ['rate', 'server', 'network', 'timeout']) {
      expect(byKey[key], key).toMatchObject({ status: 'failed', attempts: 3 });
      expect(attempts[key], key).toEqual([1, 2, 3]);
    }
    for (const key of ['auth', 'missing', 'config', 'notImplemented', 'plain', 'thrownString']) {
      expect(byKey[key], key).toMatchObject({ status: 'failed', attempts: 1 });
    }
    expect(byKey.auth?.error).toBeInstanceOf(UnauthorizedError);
    expect(byKey.thrownString?.error).toBe('not even an Error');
    // Two waits for each of the four retryable studies, none for the others.
    expect(retries.map((e) => e.studyKey).sort()).toEqual([
      'network',
      'network',
      'rate',
      'rate',
      'server',
      'server',
      'timeout',
      'timeout',
    ]);
  });

  it('succeeds on a later attempt, and retries: 0 means one attempt', async () => {
    let calls = 0;
    const flaky = (_k: string, { attempt }: { attempt: number }) => {
      calls++;
      if (attempt < 3) throw new ServerError(502, {});
      return 'ok';
    };
    const [fulfilled] = await runPerStudy(flaky, { studies: ['A'], retries: 2, backoffFactor: 0 });
    expect(fulfilled).toMatchObject({ status: 'fulfilled', value: 'ok', attempts: 3 });
    calls = 0;
    const [failed] = await runPerStudy(flaky, { studies: ['A'], retries: 0, backoffFactor: 0 });
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failed?.error).toBeInstanceOf(ServerError);
    expect(calls).toBe(1);
  });

  it('takes a caller policy for what is retryable', async () => {
    const results = await runPerStudy(
      (studyKey, { attempt }) => {
        if (attempt === 1) throw studyKey === 'A' ? new Error('again') : new ServerError(503, {});
        return attempt;
      },
      {
        studies: ['A', 'B'],
        backoffFactor: 0,
        retryable: (error) => (error as Error).message === 'again',
      },
    );
    expect(results.map((r) => [r.studyKey, r.status, r.attempts])).toEqual([
      ['A', 'fulfilled', 2],
      ['B', 'failed', 1],
    ]);
    expect(isRetryableError(new ServerError(500, {}))).toBe(true);
    expect(isRetryableError(new ServerError(505, {}))).toBe(false);
    expect(isRetryableError(new AbortError('stop'))).toBe(false);
  });

  it('waits a full-jitter backoff between attempts: random, up to backoffFactor * 2^(n-1)', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const delays: number[] = [];
      await runPerStudy(
        () => {
          throw new ConnectionError('down');
        },
        { studies: ['A'], retries: 3, backoffFactor: 4, onRetry: (e) => delays.push(e.delayMs) },
      );
      expect(delays).toEqual([2, 4, 8]);
    } finally {
      random.mockRestore();
    }
  });
});

describe('runPerStudy: timeout', () => {
  it('aborts the attempt signal when the timeout passes; the attempt fails with TimeoutError and is retried', async () => {
    const signals: AbortSignal[] = [];
    const [result] = await runPerStudy(
      (_k, { signal, attempt }) => {
        signals.push(signal);
        return attempt === 1 ? untilAborted(signal) : 'second time lucky';
      },
      { studies: ['A'], timeout: 30, backoffFactor: 0 },
    );
    expect(result).toMatchObject({ status: 'fulfilled', value: 'second time lucky', attempts: 2 });
    expect(signals[0]?.aborted).toBe(true);
    expect(isTimeoutError(signals[0]?.reason)).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
  });

  it('fails with TimeoutError (the task error as its cause) when every attempt times out', async () => {
    const [result] = await runPerStudy((_k, { signal }) => untilAborted(signal), {
      studies: ['A'],
      timeout: 20,
      retries: 1,
      backoffFactor: 0,
    });
    expect(result).toMatchObject({ status: 'failed', attempts: 2 });
    expect(result?.error).toBeInstanceOf(TimeoutError);
    expect(String(result?.error)).toContain('Study A');
    expect(isTimeoutError((result?.error as Error | undefined)?.cause)).toBe(true);
  });

  it('starts the next attempt only after the timed-out one has settled', async () => {
    const trace: string[] = [];
    await runPerStudy(
      async (_k, { signal, attempt }) => {
        trace.push(`${attempt} start`);
        if (attempt > 1) return;
        await untilAborted(signal).catch(() => trace.push('1 aborted'));
        // Still cleaning up after the abort, for a while.
        await settle(40);
        trace.push('1 end');
        throw new Error('cleaned up');
      },
      { studies: ['A'], timeout: 20, backoffFactor: 0 },
    );
    expect(trace).toEqual(['1 start', '1 aborted', '1 end', '2 start']);
  });
});

describe('runPerStudy: 429', () => {
  it('halves the concurrency after a 429 and gives it back one place per round of successes', async () => {
    const counter = liveCounter();
    const gates = new Map(keys(8).map((k) => [k, deferred()]));
    const retries: RetryEvent[] = [];
    const run = runPerStudy(
      (studyKey, { attempt }) =>
        counter.run(async () => {
          if (studyKey === 'S1' && attempt === 1) {
            await settle(1);
            throw rateLimited();
          }
          await gates.get(studyKey)!.promise;
        }),
      { studies: keys(8), concurrency: 4, backoffFactor: 0, onRetry: (e) => retries.push(e) },
    );
    await vi.waitFor(() => expect(retries).toHaveLength(1), WAIT);
    expect(retries[0]?.concurrency).toBe(2);
    await settle();
    // S1 is waiting to retry, S2..S4 run: 3 running, more than the new width of 2.
    expect(counter.atStart).toHaveLength(4);
    gates.get('S2')!.resolve();
    await settle();
    // 2 running = the width: S1's retry still waits.
    expect(counter.atStart).toHaveLength(4);
    gates.get('S3')!.resolve();
    // A round of 2 successes: the width is 3, so S1 again and S5 start.
    await vi.waitFor(() => expect(counter.atStart).toHaveLength(6), WAIT);
    expect(counter.live).toBe(3);
    await settle();
    expect(counter.atStart).toHaveLength(6);
    for (const gate of gates.values()) gate.resolve();
    const results = await run;
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results[0]?.attempts).toBe(2);
    // Never back to 4 while the first starts of the 429's round ran.
    expect(Math.max(...counter.atStart.slice(4, 6))).toBeLessThanOrEqual(3);
  });

  it('counts a burst of 429s as one drop, not a halving per answer', async () => {
    const retries: RetryEvent[] = [];
    const start = deferred();
    const run = runPerStudy(
      async (_k, { attempt }) => {
        await start.promise;
        if (attempt === 1) throw rateLimited();
      },
      { studies: keys(8), concurrency: 8, backoffFactor: 0, onRetry: (e) => retries.push(e) },
    );
    await settle();
    // All eight were sent at the width of 8; their 429s answer that one width.
    start.resolve();
    const results = await run;
    expect(retries.map((e) => e.concurrency)).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    expect(results.every((r) => r.status === 'fulfilled' && r.attempts === 2)).toBe(true);
  });

  it('holds every start for the Retry-After, and the refused study waits it out', async () => {
    vi.useFakeTimers();
    const starts: Array<[string, number, number]> = [];
    const gateB = deferred();
    const t0 = Date.now();
    const run = runPerStudy(
      async (studyKey, { attempt }) => {
        starts.push([studyKey, attempt, Date.now() - t0]);
        if (studyKey === 'A' && attempt === 1) throw rateLimited(30_000);
        if (studyKey === 'B') await gateB.promise;
      },
      { studies: ['A', 'B', 'C', 'D'], concurrency: 2, backoffFactor: 0 },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    gateB.resolve();
    await vi.advanceTimersByTimeAsync(19_000);
    // B finished at 10 s and freed its place, but nothing may start before 30 s.
    expect(starts).toEqual([
      ['A', 1, 0],
      ['B', 1, 0],
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.runAllTimersAsync();
    const results = await run;
    expect(starts.slice(2).map(([k, a]) => `${k}${a}`)).toEqual(['A2', 'C1', 'D1']);
    for (const [, , at] of starts.slice(2)) expect(at).toBeGreaterThanOrEqual(30_000);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  });

  it('cuts a Retry-After to maxRetryAfter, and reads it from a header or seconds too', async () => {
    vi.useFakeTimers();
    const retries: RetryEvent[] = [];
    const run = runPerStudy(
      (_k, { attempt }) => {
        if (attempt === 1) throw rateLimited(600_000);
      },
      { studies: ['A'], maxRetryAfter: 5_000, onRetry: (e) => retries.push(e) },
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await run).toMatchObject([{ status: 'fulfilled', attempts: 2 }]);
    expect(retries[0]?.delayMs).toBe(5_000);
    expect(retryAfterOf({ headers: new Headers({ 'retry-after': '7' }) })).toBe(7_000);
    expect(retryAfterOf({ response: { headers: new Headers({ 'Retry-After': '1.5' }) } })).toBe(1_500);
    expect(retryAfterOf({ retryAfter: 2 })).toBe(2_000);
    expect(retryAfterOf(new RateLimitError(429, {}))).toBeUndefined();
    expect(retryAfterOf({ retryAfter: 'soon' })).toBeUndefined();
  });
});

describe('runPerStudy: abort', () => {
  it('stops on the outer signal: running tasks aborted, waiting and unstarted ones cancelled', async () => {
    // S1's backoff is long (30 s, the cap), whatever the jitter would have drawn.
    vi.spyOn(Math, 'random').mockReturnValue(0.9);
    const controller = new AbortController();
    const started: string[] = [];
    const signals = new Map<string, AbortSignal>();
    const heard: StudyResult[] = [];
    const run = runPerStudy(
      (studyKey, { signal, attempt }) => {
        started.push(`${studyKey}${attempt}`);
        signals.set(studyKey, signal);
        // S1 fails at once and waits a long backoff; the others run until aborted.
        if (studyKey === 'S1') throw new ServerError(503, {});
        return untilAborted(signal);
      },
      {
        studies: keys(5),
        concurrency: 2,
        backoffFactor: 3_600_000,
        signal: controller.signal,
        onResult: (r) => heard.push(r),
      },
    );
    await vi.waitFor(() => expect(started).toEqual(['S11', 'S21', 'S31']), WAIT);
    controller.abort(new Error('the scheduler is shutting down'));
    const results = await run;
    expect(started).toEqual(['S11', 'S21', 'S31']);
    expect(signals.get('S2')?.aborted).toBe(true);
    expect(signals.get('S3')?.aborted).toBe(true);
    expect(results.map((r) => [r.studyKey, r.status, r.attempts])).toEqual([
      ['S1', 'cancelled', 1],
      ['S2', 'cancelled', 1],
      ['S3', 'cancelled', 1],
      ['S4', 'cancelled', 0],
      ['S5', 'cancelled', 0],
    ]);
    expect(results[3]?.durationMs).toBe(0);
    expect(results[3]?.error).toBeInstanceOf(AbortError);
    expect(heard).toHaveLength(5);
  });

  it('keeps the value of a task that finished despite the abort', async () => {
    const controller = new AbortController();
    const run = runPerStudy(
      async (_k, { signal }) => {
        await untilAborted(signal).catch(() => undefined);
        return 'finished anyway';
      },
      { studies: ['A'], signal: controller.signal },
    );
    await settle();
    controller.abort();
    expect(await run).toMatchObject([{ status: 'fulfilled', value: 'finished anyway' }]);
  });

  it('runs nothing when the signal has already fired', async () => {
    const task = vi.fn();
    const results = await runPerStudy(task, { studies: ['A', 'B'], signal: AbortSignal.abort() });
    expect(task).not.toHaveBeenCalled();
    expect(results.map((r) => [r.status, r.attempts])).toEqual([
      ['cancelled', 0],
      ['cancelled', 0],
    ]);
  });
});

describe('runPerStudy: options', () => {
  it.each([
    ['no task', [undefined, { studies: ['A'] }]],
    ['neither studies nor client', [() => 1, {}]],
    ['a client without studies.list', [() => 1, { client: {} }]],
    ['studies as one string', [() => 1, { studies: 'A' }]],
    ['an empty study key', [() => 1, { studies: ['A', ''] }]],
    ['a study twice', [() => 1, { studies: ['A', 'B', 'A'] }]],
    ['exclude as one string', [() => 1, { studies: ['A'], exclude: 'A' }]],
    ['concurrency 0', [() => 1, { studies: ['A'], concurrency: 0 }]],
    ['concurrency 1.5', [() => 1, { studies: ['A'], concurrency: 1.5 }]],
    ['retries -1', [() => 1, { studies: ['A'], retries: -1 }]],
    ['timeout 0', [() => 1, { studies: ['A'], timeout: 0 }]],
    ['backoffFactor NaN', [() => 1, { studies: ['A'], backoffFactor: Number.NaN }]],
    ['a signal that is not one', [() => 1, { studies: ['A'], signal: 'stop' }]],
    ['onResult not a function', [() => 1, { studies: ['A'], onResult: 'log' }]],
  ])('refuses %s with ConfigurationError before starting anything', async (_name, args) => {
    const [task, options] = args as [unknown, unknown];
    const spy = vi.fn(task as () => unknown);
    const run = runPerStudy((typeof task === 'function' ? spy : task) as never, options as never);
    await expect(run).rejects.toBeInstanceOf(ConfigurationError);
    expect(spy).not.toHaveBeenCalled();
  });
});
