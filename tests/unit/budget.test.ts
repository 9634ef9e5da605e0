/**
 * The request budget and the Retry-After pause (src/core/pacer.ts). Budget windows are checked on
 * a virtual clock, so an hour passes in milliseconds; nothing here asserts on real time.
 */
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { AbortError, ConfigurationError } from '../../src/core/errors.js';
import { Pacer, type PacerClock, type RequestBudget } from '../../src/core/pacer.js';
import { Transport } from '../../src/core/transport.js';
import { RecordsEndpoint, registerSubject } from '../../src/endpoints/records.js';
import { StudyResource } from '../../src/endpoints/resource.js';
import { sitesSpec } from '../../src/endpoints/sites.js';
import {
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
} from '../../src/testing/index.js';

const study = createFakeStudy({ studyKey: 'DEMO', records: 1000 });
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A clock whose time moves only when someone waits on it: an hour of waiting takes no time. */
function virtualClock(): PacerClock & { time: number } {
  const clock = {
    time: 0,
    now: () => clock.time,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const due = clock.time + ms;
        const id = setTimeout(() => {
          clock.time = Math.max(clock.time, due);
          resolve();
        }, 0);
        signal?.addEventListener('abort', () => {
          clearTimeout(id);
          reject(new AbortError('aborted'));
        });
      }),
  };
  return clock;
}

/** Most sends within any window of `ms` starting at a send. */
function busiest(times: readonly number[], ms: number): number {
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + ms).length));
}

/** Endpoints over one transport with the given pacer, the mock answering as fetch. */
function endpoints(pacer: Pacer, clock: PacerClock) {
  const api = createMockApi(study);
  const sent: number[] = [];
  const transport = new Transport({
    apiKey: DEFAULT_API_KEY,
    securityKey: DEFAULT_SECURITY_KEY,
    apiRoot: 'https://edc.test.example/api/v1/edc',
    retries: 3,
    backoffFactor: 1,
    maxRetryAfter: 60_000,
    timeout: 30_000,
    maxResponseBytes: 64 * 1024 * 1024,
    pacer,
    fetch: (input, init) => {
      sent.push(clock.now());
      return api.handle(new Request(input, init));
    },
  });
  const ctx = { transport, pageSize: 50, concurrency: 4, maxConcurrency: 8, validate: true };
  return { api, sent, sites: new StudyResource(ctx, sitesSpec), records: new RecordsEndpoint(ctx) };
}

describe('request budget', () => {
  it('never lets more than perMinute through in any minute, nor perHour in any hour, across listings, gets and writes', async () => {
    const budget: RequestBudget = { perMinute: 10, perHour: 25 };
    const clock = virtualClock();
    const { sent, sites, records, api } = endpoints(new Pacer(budget, clock), clock);
    const site = study.sites[0]!;
    const work = await Promise.all([
      records.list('DEMO', { pageSize: 50 }).toArray(),
      ...Array.from({ length: 8 }, () => sites.get('DEMO', site.siteId!)),
      ...Array.from({ length: 4 }, () =>
        records.create('DEMO', [
          registerSubject({ formKey: 'REG', siteId: site.siteId!, data: { BRTHDAT: '1970-01-01' } }),
        ]),
      ),
    ]);
    expect(work[0]).toHaveLength(study.records.length);
    expect(sent.length).toBe(20 + 8 + 4);
    expect(api.requests).toHaveLength(sent.length);
    expect(busiest(sent, MINUTE)).toBeLessThanOrEqual(10);
    expect(busiest(sent, HOUR)).toBeLessThanOrEqual(25);
    // It paces rather than stalls: 32 requests at 25 an hour end just after the first hour.
    expect(Math.max(...sent)).toBe(HOUR);
  });

  it('counts retries: an attempt refused with 429 used up its place in the budget', async () => {
    const clock = virtualClock();
    const pacer = new Pacer({ perMinute: 3 }, clock);
    const { sent, sites, api } = endpoints(pacer, clock);
    api.setFaults({ rateLimit: { times: 2, retryAfter: 0 } });
    await sites.list('DEMO').toArray();
    expect(api.requests.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(pacer.msUntil(1)).toBe(MINUTE - clock.time);
    expect(sent).toHaveLength(3);
  });

  it('tells a progress display when n more requests can have been sent', () => {
    const clock = virtualClock();
    const pacer = new Pacer({ perMinute: 10, perHour: 25 }, clock);
    expect([pacer.perMinute, pacer.perHour]).toEqual([10, 25]);
    expect(pacer.msUntil(0)).toBe(0);
    expect(pacer.msUntil(10)).toBe(0);
    expect(pacer.msUntil(11)).toBe(MINUTE);
    expect(pacer.msUntil(25)).toBe(2 * MINUTE);
    expect(pacer.msUntil(26)).toBe(HOUR);
    for (let i = 0; i < 10; i++) pacer.take();
    clock.time = 30_000;
    expect(pacer.msUntil(1)).toBe(30_000);
    expect(new Pacer().msUntil(2000)).toBe(0);
  });

  it('N pauses at once are one wait, not N stacked', () => {
    const clock = virtualClock();
    const pacer = new Pacer({}, clock);
    for (let i = 0; i < 20; i++) pacer.pause(200);
    expect(pacer.msUntil(1)).toBe(200);
    expect(pacer.take()).toBeInstanceOf(Promise);
  });

  it('an abort while waiting for the budget ends in AbortError, sends nothing and leaves nothing pending', async () => {
    const api = createMockApi(study);
    const client = new Imednet({
      apiKey: DEFAULT_API_KEY,
      securityKey: DEFAULT_SECURITY_KEY,
      baseUrl: 'https://edc.test.example',
      requestBudget: { perMinute: 2 },
      fetch: (input, init) => api.handle(new Request(input, init)),
    });
    const site = study.sites[0]!;
    await client.sites.get('DEMO', site.siteId!);
    await client.sites.get('DEMO', site.siteId!);
    expect(client.requestBudget.msUntil(1)).toBeGreaterThan(50_000);
    const controller = new AbortController();
    const waiting = client.sites.get('DEMO', site.siteId!, { signal: controller.signal });
    const listing = client.records.list('DEMO', { signal: controller.signal }).toArray();
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await expect(listing).rejects.toBeInstanceOf(AbortError);
    expect(api.requests).toHaveLength(2);
    // The aborted waiters left the queue: the estimate is the budget's alone again.
    expect(client.requestBudget.msUntil(1)).toBeLessThanOrEqual(MINUTE);
  });

  it('is off by default, and its limits are checked', () => {
    const keys = { apiKey: 'a', securityKey: 'b' };
    expect(new Imednet(keys).requestBudget.perMinute).toBeUndefined();
    expect(new Imednet({ ...keys, requestBudget: { perHour: 1000 } }).requestBudget.perHour).toBe(1000);
    for (const requestBudget of [{ perMinute: 0 }, { perHour: 1.5 }, { perMinute: '100' }, 'fast']) {
      expect(() => new Imednet({ ...keys, requestBudget: requestBudget as never })).toThrow(
        ConfigurationError,
      );
    }
    expect(() => new Imednet({ ...keys, requestBudget: { perMinute: 0 } })).toThrow(
      /requestBudget\.perMinute/,
    );
  });
});
