import { describe, expect, it } from 'vitest';
import { AUTH, call, listPath, ROOT, setup } from './helpers.js';

const request = (path: string, init: RequestInit = {}) =>
  new Request(`${ROOT}${path}`, {
    ...init,
    headers: { ...AUTH, ...(init.headers as Record<string, string>) },
  });

describe('fault injection', () => {
  it('rate-limits the next n matching requests with Retry-After', async () => {
    const { api } = setup({}, { faults: { rateLimit: { times: 2, retryAfter: 3 } } });
    const first = await call(api, '/studies');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(first.body.metadata.error.code).toBe('TOO_MANY_REQUESTS');
    expect((await call(api, '/studies')).status).toBe(429);
    expect((await call(api, '/studies')).status).toBe(200);

    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    api.setFaults({ rateLimit: { times: 1, retryAfter: date } });
    expect((await call(api, '/studies')).headers.get('retry-after')).toBe(date);
    api.setFaults({ rateLimit: { times: 1 } });
    const bare = await call(api, '/studies');
    expect(bare.status).toBe(429);
    expect(bare.headers.get('retry-after')).toBeNull();
  });

  it('limits faults by path prefix and method, and can skip the first matches', async () => {
    const { api } = setup(
      {},
      { faults: { rateLimit: { times: 1, paths: ['/studies/DEMO/records'], after: 2 } } },
    );
    expect((await call(api, listPath('sites'))).status).toBe(200);
    expect((await call(api, listPath('records'))).status).toBe(200);
    expect((await call(api, listPath('records', { page: 1 }))).status).toBe(200);
    expect((await call(api, listPath('sites'))).status).toBe(200);
    expect((await call(api, listPath('records', { page: 2 }))).status).toBe(429);
    expect((await call(api, listPath('records', { page: 3 }))).status).toBe(200);

    api.setFaults({ serverError: { times: 5, methods: 'POST', paths: '/api/v1/edc/studies/DEMO/records' } });
    expect((await call(api, listPath('records'))).status).toBe(200);
    const posted = await call(api, '/studies/DEMO/records', { method: 'POST', body: '[]' });
    expect(posted.status).toBe(500);
  });

  it('answers server errors with the error envelope and a chosen status', async () => {
    const { api } = setup({}, { faults: { serverError: { times: 1, status: 503 } } });
    const failed = await call(api, listPath('forms'));
    expect(failed.status).toBe(503);
    expect(failed.body.metadata).toMatchObject({ status: 'ERROR', error: { code: 'SERVICE_UNAVAILABLE' } });
    expect((await call(api, listPath('forms'))).status).toBe(200);
    api.setFaults({ serverError: { times: 1 } });
    const plain = await call(api, listPath('forms'));
    expect(plain.status).toBe(500);
    expect(plain.body.metadata.error.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it('simulates network errors with Response.error()', async () => {
    const { api } = setup({}, { faults: { networkError: { times: 1 } } });
    const response = await api.handle(request('/studies'));
    expect(response.type).toBe('error');
    expect((await api.handle(request('/studies'))).status).toBe(200);
  });

  it('truncates bodies: cut JSON, or a stream that breaks midway', async () => {
    const { api } = setup({}, { faults: { truncateBody: { times: 1 } } });
    const cut = await api.handle(request(listPath('records', { size: 50 })));
    expect(cut.status).toBe(200);
    const text = await cut.text();
    expect(Number(cut.headers.get('content-length'))).toBe(new TextEncoder().encode(text).byteLength);
    expect(() => JSON.parse(text)).toThrow();
    const whole = await api.handle(request(listPath('records', { size: 50 })));
    expect(Math.abs((await whole.text()).length / 2 - text.length)).toBeLessThanOrEqual(1);

    api.setFaults({ truncateBody: { times: 1, mode: 'stream' } });
    const broken = await api.handle(request(listPath('records', { size: 50 })));
    expect(broken.status).toBe(200);
    const reader = broken.body!.getReader();
    const firstChunk = await reader.read();
    expect(firstChunk.value!.byteLength).toBeLessThan(Number(broken.headers.get('content-length')));
    await expect(reader.read()).rejects.toThrow(/terminated/);
  });

  it('breaks pagination blocks of list answers only', async () => {
    const { api } = setup({}, { faults: { malformedPagination: { times: 1 } } });
    expect((await call(api, '/studies/DEMO/jobs/none')).status).toBe(404);
    const bad = await call(api, listPath('sites'));
    expect(bad.status).toBe(200);
    expect(Number.isInteger(bad.body.pagination.totalPages)).toBe(false);
    expect(bad.body.data.length).toBeGreaterThan(0);
    expect((await call(api, listPath('sites'))).body.pagination.totalPages).toBe(1);
    api.setFaults({ malformedPagination: { times: 1, kind: 'missing' } });
    expect((await call(api, listPath('sites'))).body.pagination).toBeUndefined();
  });

  it('adds latency, and counts faulted requests in the log', async () => {
    const { api } = setup({}, { faults: { latencyMs: 60, rateLimit: { times: 1 } } });
    const t = performance.now();
    await call(api, '/studies');
    await call(api, '/studies');
    expect(performance.now() - t).toBeGreaterThanOrEqual(110);
    expect(api.requests.map((r) => r.status)).toEqual([429, 200]);

    const controller = new AbortController();
    api.setFaults({ latencyMs: 10_000 });
    const pending = api.handle(new Request(`${ROOT}/studies`, { headers: AUTH, signal: controller.signal }));
    controller.abort();
    const started = performance.now();
    await pending;
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('re-arms the creation faults on reset()', async () => {
    const { api } = setup({}, { faults: { serverError: { times: 1 } } });
    expect((await call(api, '/studies')).status).toBe(500);
    expect((await call(api, '/studies')).status).toBe(200);
    api.reset();
    expect((await call(api, '/studies')).status).toBe(500);
  });
});
