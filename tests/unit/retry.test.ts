import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  RateLimitError,
  ResponseValidationError,
  ServerError,
  TimeoutError,
  UnauthorizedError,
} from '../../src/core/errors.js';
import { registerSubject } from '../../src/endpoints/records.js';
import { API_KEY, BASE_URL, useMockApi } from './support.js';

const mock = useMockApi({ records: 300 });
const { api } = mock;
const sitesPath = '/studies/DEMO/sites';
const count = (method: string, suffix: string) =>
  api.requests.filter((r) => r.method === method && r.path.endsWith(suffix)).length;

const newSubject = () =>
  registerSubject({ formKey: 'REG', siteId: mock.study.sites[0]!.siteId!, data: { BRTHDAT: '1970-01-01' } });

describe('one retry layer', () => {
  it('a 401 costs exactly one request and carries the API message', async () => {
    const client = mock.client({ apiKey: 'wrong-key-value' });
    const error = await client.sites
      .list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.status).toBe(401);
    expect(error.apiMessage).toMatch(/credentials/i);
    expect(api.requests).toHaveLength(1);
  });

  it('a GET that gets 500 is retried `retries` times, then fails with ServerError', async () => {
    api.setFaults({ serverError: { times: Number.POSITIVE_INFINITY, paths: sitesPath } });
    const error = await mock
      .client({ retries: 2 })
      .sites.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error.status).toBe(500);
    expect(count('GET', 'sites')).toBe(3);
  });

  it('a GET recovers when the 5xx clears before retries run out', async () => {
    api.setFaults({ serverError: { times: 2, status: 503, paths: sitesPath } });
    const sites = await mock.client({ retries: 3 }).sites.list('DEMO').toArray();
    expect(sites).toHaveLength(mock.study.sites.length);
    expect(count('GET', 'sites')).toBe(3);
  });

  it('retries: 0 sends a failing GET exactly once', async () => {
    api.setFaults({ serverError: { times: 5, paths: sitesPath } });
    await expect(mock.client({ retries: 0 }).sites.list('DEMO').toArray()).rejects.toBeInstanceOf(
      ServerError,
    );
    expect(count('GET', 'sites')).toBe(1);
  });

  it('a POST that gets 500 is sent exactly once (it may have been applied)', async () => {
    api.setFaults({ serverError: { times: 5, methods: 'POST' } });
    const error = await mock
      .client({ retries: 3 })
      .records.create('DEMO', [newSubject()])
      .catch((e) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(count('POST', 'records')).toBe(1);
  });

  it('a POST that gets 429 is retried and succeeds', async () => {
    api.setFaults({ rateLimit: { times: 2, methods: 'POST', retryAfter: 0 } });
    const job = await mock.client({ retries: 3 }).records.create('DEMO', [newSubject()]);
    expect(job.batchId).toBeTruthy();
    expect(count('POST', 'records')).toBe(3);
  });

  it('a persistent 429 costs retries + 1 requests and ends in RateLimitError', async () => {
    api.setFaults({ rateLimit: { times: Number.POSITIVE_INFINITY, paths: sitesPath } });
    await expect(mock.client({ retries: 2 }).sites.list('DEMO').toArray()).rejects.toBeInstanceOf(
      RateLimitError,
    );
    expect(count('GET', 'sites')).toBe(3);
  });

  it("a RateLimitError carries the server's last Retry-After, for schedulers", async () => {
    api.setFaults({ rateLimit: { times: Number.POSITIVE_INFINITY, paths: sitesPath, retryAfter: 7 } });
    const error = await mock
      .client({ retries: 0 })
      .sites.list('DEMO')
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(7000);
    api.setFaults({ rateLimit: { times: Number.POSITIVE_INFINITY, paths: sitesPath } });
    const silent = await mock
      .client({ retries: 0 })
      .sites.list('DEMO')
      .toArray()
      .catch((e: unknown) => e);
    expect((silent as RateLimitError).retryAfterMs).toBeUndefined();
  });

  it('honours Retry-After in seconds, capped by maxRetryAfter', async () => {
    api.setFaults({ rateLimit: { times: 1, paths: sitesPath, retryAfter: 1 } });
    let started = Date.now();
    await mock.client({ maxRetryAfter: 60_000 }).sites.list('DEMO').toArray();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    api.reset();
    api.setFaults({ rateLimit: { times: 1, paths: sitesPath, retryAfter: 3600 } });
    started = Date.now();
    await mock.client({ maxRetryAfter: 50 }).sites.list('DEMO').toArray();
    expect(Date.now() - started).toBeLessThan(900);
    expect(count('GET', 'sites')).toBe(2);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 1500).toUTCString();
    api.setFaults({ rateLimit: { times: 1, paths: sitesPath, retryAfter: at } });
    const started = Date.now();
    await mock.client({ maxRetryAfter: 60_000 }).sites.list('DEMO').toArray();
    // HTTP dates have 1-second resolution, so the wait is between ~0.5 and 1.5 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(count('GET', 'sites')).toBe(2);
  });

  it('a dropped connection is retried for GET, and POST is not retried', async () => {
    api.setFaults({ networkError: { times: 1, methods: 'GET' } });
    expect(await mock.client().sites.list('DEMO').toArray()).toHaveLength(mock.study.sites.length);
    expect(count('GET', 'sites')).toBe(2);

    api.reset();
    api.setFaults({ networkError: { times: 1, methods: 'POST' } });
    const error = await mock
      .client()
      .records.create('DEMO', [newSubject()])
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(count('POST', 'records')).toBe(1);
  });

  it('a GET whose 200 body is not valid JSON is retried like a dropped connection', async () => {
    api.setFaults({ truncateBody: { times: 1, paths: sitesPath } });
    expect(await mock.client().sites.list('DEMO').toArray()).toHaveLength(mock.study.sites.length);
    expect(count('GET', 'sites')).toBe(2);

    api.reset();
    api.setFaults({ truncateBody: { times: 10, paths: sitesPath } });
    await expect(mock.client({ retries: 1 }).sites.list('DEMO').toArray()).rejects.toBeInstanceOf(
      ResponseValidationError,
    );
    expect(count('GET', 'sites')).toBe(2);
  });

  it('a POST whose 202 body is garbled is not re-sent', async () => {
    api.setFaults({ truncateBody: { times: 5, methods: 'POST' } });
    await expect(mock.client().records.create('DEMO', [newSubject()])).rejects.toBeInstanceOf(
      ResponseValidationError,
    );
    expect(count('POST', 'records')).toBe(1);
  });

  it('times out each attempt and retries idempotent requests', async () => {
    api.setFaults({ latencyMs: 300 });
    const error = await mock
      .client({ timeout: 50, retries: 1 })
      .sites.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(count('GET', 'sites')).toBe(2);
  });

  it('logs one event per attempt with status and attempt number, and no credential', async () => {
    const events: unknown[] = [];
    api.setFaults({ serverError: { times: 1, paths: sitesPath } });
    await mock
      .client({ logger: (e) => events.push(e) })
      .sites.list('DEMO')
      .toArray();
    expect(events).toMatchObject([
      { method: 'GET', status: 500, attempt: 0 },
      { method: 'GET', status: 200, attempt: 1 },
    ]);
    expect(String((events[0] as { url: string }).url)).toMatch(
      new RegExp(`^${BASE_URL}/api/v1/edc/studies/DEMO/sites\\?`),
    );
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });

  it.each([501, 505])('a %i is not retried: the same request gets the same answer', async (status) => {
    api.setFaults({ serverError: { times: 5, status, paths: sitesPath } });
    const error = await mock
      .client({ retries: 3 })
      .sites.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error.status).toBe(status);
    expect(count('GET', 'sites')).toBe(1);
  });

  it('logs the attempt that happened: a POST sent once is attempt 0', async () => {
    const events: Array<Record<string, unknown>> = [];
    api.setFaults({ networkError: { times: 1, methods: 'POST' } });
    const error = await mock
      .client({ retries: 3, logger: (e) => events.push({ ...e }) })
      .records.create('DEMO', [newSubject()])
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(events).toEqual([
      expect.objectContaining({ method: 'POST', attempt: 0, error: 'ConnectionError' }),
    ]);
    expect(events[0]).not.toHaveProperty('retryInMs');
  });

  it('tells the logger how long it waits before the next attempt (retryInMs)', async () => {
    const events: Array<Record<string, unknown>> = [];
    api.setFaults({ rateLimit: { times: 1, paths: sitesPath, retryAfter: 1 } });
    await mock
      .client({ logger: (e) => events.push({ ...e }) })
      .sites.list('DEMO')
      .toArray();
    expect(events).toEqual([
      expect.objectContaining({ status: 429, attempt: 0, retryInMs: 1000 }),
      expect.objectContaining({ status: 200, attempt: 1 }),
    ]);
    expect(events[1]).not.toHaveProperty('retryInMs');
  });

  it('a request that fails after retries says how many attempts it made and keeps the API message', async () => {
    api.setFaults({ rateLimit: { times: Number.POSITIVE_INFINITY, paths: sitesPath, retryAfter: 0 } });
    const error = await mock
      .client({ retries: 2 })
      .sites.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/after 3 attempts$/);
    expect(error.apiMessage).toMatch(/rate limit/i);
  });
});
