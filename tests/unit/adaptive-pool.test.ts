/**
 * The page pool against a mock server with a hard cap on requests in flight (429 + Retry-After
 * beyond it). Everything is judged by counts and order, from the mock's own log and in-flight
 * tracking; the one time comparison is a lower bound (nothing may be sent during a pause).
 */
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import type { ImednetOptions } from '../../src/core/config.js';
import { now } from '../../src/core/pacer.js';
import {
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type FaultOptions,
} from '../../src/testing/index.js';

const study = createFakeStudy({ studyKey: 'DEMO', records: 1000 });
const expectedIds = Array.from(study.records.headers(), (h) => h.recordId);

/** A client whose fetch is the mock itself; every send is logged with the client's clock. */
function setup(
  faults: FaultOptions,
  options: Partial<ImednetOptions> = {},
  onEvent: (status: number | undefined, client: Imednet) => void = () => undefined,
) {
  const api = createMockApi(study, { faults });
  const sends: number[] = [];
  const events: Array<{ status?: number; at: number }> = [];
  const client = new Imednet({
    apiKey: DEFAULT_API_KEY,
    securityKey: DEFAULT_SECURITY_KEY,
    baseUrl: 'https://edc.test.example',
    backoffFactor: 1,
    fetch: (input, init) => {
      sends.push(now());
      return api.handle(new Request(input, init));
    },
    logger: (event) => {
      events.push({ ...(event.status ? { status: event.status } : {}), at: now() });
      onEvent(event.status, client);
    },
    ...options,
  });
  const records = api.requests.filter.bind(api.requests);
  const pageOf = (search: string) => Number(new URLSearchParams(search).get('page'));
  return { api, client, sends, events, pageOf, refused: () => records((r) => r.status === 429) };
}

describe('adaptive page pool against a server capped at 12 requests in flight', () => {
  it('grows from 8 to the cap and stays there: at most 2 % of requests answered 429 over 200 pages', async () => {
    const { api, client, refused } = setup(
      { latencyMs: 20, maxInFlight: { limit: 12, retryAfter: 0.2 } },
      { concurrency: 8, maxConcurrency: 32 },
    );
    const ids: number[] = [];
    const listing = client.records.list('DEMO', { pageSize: 5 });
    for await (const record of listing) ids.push(record.recordId!);
    expect(ids).toEqual(expectedIds);
    const pages = new Set(api.requests.map((r) => r.search)).size;
    expect(pages).toBe(200);
    expect(refused().length).toBeLessThanOrEqual(0.02 * api.requests.length);
    // It did grow beyond its starting width: the server worked on 12 at once.
    const accepted = api.requests.filter((r) => r.status === 200);
    expect(Math.max(...accepted.map((r) => r.inFlight))).toBe(12);
  });

  it("a probe's 429 holds only the refused page: the pool goes on at its learnt width while it waits", async () => {
    const retryMs = 500;
    // The pool grows only while a round's latency stays within 1.3x of the best, and on a machine
    // busy with other work that may not happen in one listing: up to three listings are made until
    // one probes past the cap. The one that did is judged.
    let run = setup(
      { latencyMs: 40, maxInFlight: { limit: 12, retryAfter: retryMs / 1000 } },
      { concurrency: 8, maxConcurrency: 32 },
    );
    for (let attempt = 1; ; attempt++) {
      const ids: number[] = [];
      for await (const record of run.client.records.list('DEMO', { pageSize: 5 })) ids.push(record.recordId!);
      expect(ids).toEqual(expectedIds);
      if (run.refused().length > 0 || attempt === 3) break;
      run = setup(
        { latencyMs: 40, maxInFlight: { limit: 12, retryAfter: retryMs / 1000 } },
        { concurrency: 8, maxConcurrency: 32 },
      );
    }
    const { api, sends, events, refused, pageOf } = run;
    // The pool grew past 12 once, and that probe was refused.
    expect(refused().length).toBeGreaterThan(0);
    const probe = events.find((e) => e.status === 429)!.at;
    // While the refused page waits out its Retry-After, the others are still being fetched (a
    // pause of the whole client would send nothing here).
    const during = sends.filter((at) => at > probe + 20 && at < probe + retryMs - 20);
    expect(during.length).toBeGreaterThan(12);
    expect(refused().length).toBeLessThanOrEqual(0.02 * api.requests.length);
    // The reader waits at the refused page meanwhile, so the window stretches past its usual 32
    // pages: the pool does not stop at the edge while that one page waits.
    const refusedPage = pageOf(refused()[0]!.search);
    const retried = api.requests.findLastIndex((r) => pageOf(r.search) === refusedPage);
    const aheadBeforeRetry = Math.max(...api.requests.slice(0, retried).map((r) => pageOf(r.search)));
    expect(aheadBeforeRetry - refusedPage).toBeGreaterThan(32);
  });

  it('from above: 32 at once against the cap is one congestion event, after which nothing is refused', async () => {
    const { api, client, refused, pageOf } = setup(
      { latencyMs: 20, maxInFlight: { limit: 12, retryAfter: 0.05 } },
      { concurrency: 32, maxConcurrency: 32 },
    );
    const ids: number[] = [];
    for await (const record of client.records.list('DEMO', { pageSize: 16 })) ids.push(record.recordId!);
    expect(ids).toEqual(expectedIds);
    // Page 0 alone, then 32 pages at once: the 20 beyond the cap are refused.
    expect(refused().length).toBeLessThanOrEqual(20);
    expect(refused().length).toBeGreaterThan(0);
    const seen = new Set<number>();
    const firstRetry = api.requests.findIndex((r) => {
      const page = pageOf(r.search);
      if (seen.has(page)) return true;
      seen.add(page);
      return false;
    });
    const lastRefused = api.requests.findLastIndex((r) => r.status === 429);
    expect(firstRetry).toBeGreaterThan(0);
    // Every refusal came from the first burst: the retries and every later page fit under the cap.
    expect(lastRefused).toBeLessThan(firstRetry);
    // The refused pages went again before any page that had not been sent yet.
    const refusedPages = new Set(refused().map((r) => pageOf(r.search)));
    const after = api.requests.slice(firstRetry, firstRetry + refusedPages.size).map((r) => pageOf(r.search));
    expect(new Set(after)).toEqual(refusedPages);
  });

  it('N simultaneous 429s are one pause for the whole client: nothing is sent while it lasts', async () => {
    const pauseMs = 600;
    let other: Promise<unknown> | undefined;
    // Another request of the same client, asked for 50 ms into the pause, waits too.
    const site = study.sites[0]!;
    const { api, client, sends, events, refused } = setup(
      { latencyMs: 20, maxInFlight: { limit: 12, retryAfter: pauseMs / 1000 } },
      // The listing keeps this capped server full, so the get beside it may be refused on several
      // attempts before the listing ends; enough retries to outlast it.
      { concurrency: 32, maxConcurrency: 32, retries: 8 },
      (status, self) => {
        if (status !== 429 || other) return;
        other = new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
          self.sites.get('DEMO', site.siteId!),
        );
      },
    );
    await client.records.list('DEMO', { pageSize: 16 }).toArray();
    await other;
    expect(refused().length).toBeGreaterThan(1);
    // By the time the logger hears of the first 429 the pause is set. The window checked leaves a
    // margin at each end, for a loaded machine (the process may be off the CPU for a while): a
    // request that passed the gate just before the pause may reach fetch a little after the
    // logger's moment, and the logger may hear of the 429 a little after the pause was set (so
    // the pause ends a little before its moment + pauseMs).
    const paused = events.find((e) => e.status === 429)!.at;
    const during = sends.filter((at) => at > paused + 150 && at < paused + pauseMs - 50);
    expect(during).toEqual([]);
    expect(api.requests.some((r) => r.path.endsWith('/sites'))).toBe(true);
  });
});
