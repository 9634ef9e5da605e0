import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockServer, startMockServer } from '../../../src/testing/index.js';
import { AUTH } from './helpers.js';

let server: MockServer;

beforeAll(async () => {
  server = await startMockServer({ study: { records: 5000, subjects: 100 }, cors: true });
});
afterAll(() => server.close());

describe('startMockServer', () => {
  it('listens on a random loopback port and serves the API over HTTP', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.baseUrl).toBe(`${server.url}/api/v1/edc`);
    const response = await fetch(`${server.baseUrl}/studies/DEMO/records?size=500&page=9`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = await response.json();
    expect(body.data).toHaveLength(500);
    expect(body.data[499].recordId).toBe(5000);
    expect((await fetch(`${server.baseUrl}/studies`)).status).toBe(401);
  });

  it('accepts POST bodies and runs jobs', async () => {
    const posted = await fetch(`${server.baseUrl}/studies/DEMO/records`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', 'x-email-notify': 'me@example.org' },
      body: JSON.stringify([
        { formKey: 'REG', siteName: server.study.sites[0]!.siteName, data: { regdt: '2025-01-01' } },
      ]),
    });
    expect(posted.status).toBe(202);
    const { batchId } = await posted.json();
    const states = [];
    for (let i = 0; i < 2; i++) {
      const job = await fetch(`${server.baseUrl}/studies/DEMO/jobs/${batchId}`, { headers: AUTH });
      states.push((await job.json()).state);
    }
    expect(states).toEqual(['processing', 'completed']);
    expect(server.study.counts.subjects).toBe(101);
  });

  it('answers CORS preflights', async () => {
    const response = await fetch(`${server.baseUrl}/studies`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.test', 'access-control-request-method': 'GET' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-headers')).toContain('x-imn-security-key');
  });

  it('drops the connection on networkError', async () => {
    server.api.setFaults({ networkError: { times: 1 } });
    await expect(fetch(`${server.baseUrl}/studies`, { headers: AUTH })).rejects.toThrow(TypeError);
    expect((await fetch(`${server.baseUrl}/studies`, { headers: AUTH })).status).toBe(200);
  });

  it('sends half a JSON body on truncateBody', async () => {
    server.api.setFaults({ truncateBody: { times: 1 } });
    const response = await fetch(`${server.baseUrl}/studies/DEMO/sites`, { headers: AUTH });
    expect(response.status).toBe(200);
    await expect(response.json()).rejects.toThrow(SyntaxError);
    expect((await fetch(`${server.baseUrl}/studies/DEMO/sites`, { headers: AUTH })).status).toBe(200);
  });

  it('breaks the body stream midway on truncateBody in stream mode', async () => {
    server.api.setFaults({ truncateBody: { times: 1, mode: 'stream' } });
    const response = await fetch(`${server.baseUrl}/studies/DEMO/records?size=200`, { headers: AUTH });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    const next = await fetch(`${server.baseUrl}/studies/DEMO/records?size=200`, { headers: AUTH });
    expect((await next.json()).data).toHaveLength(200);
  });

  it('answers 429 with Retry-After over HTTP', async () => {
    server.api.setFaults({ rateLimit: { times: 1, retryAfter: 2 } });
    const response = await fetch(`${server.baseUrl}/studies`, { headers: AUTH });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect((await response.json()).metadata.error.code).toBe('TOO_MANY_REQUESTS');
  });

  it('serves several studies and a given FakeStudy', async () => {
    const { createFakeStudy } = await import('../../../src/testing/index.js');
    const a = createFakeStudy({ studyKey: 'A', records: 10, subjects: 2 });
    const b = createFakeStudy({ studyKey: 'B', records: 10, subjects: 2 });
    const multi = await startMockServer({ study: [a, b], apiKey: 'k', securityKey: 's' });
    try {
      const response = await fetch(`${multi.url}/api/v1/edc/studies`, {
        headers: { 'x-api-key': 'k', 'x-imn-security-key': 's' },
      });
      expect((await response.json()).data.map((s: { studyKey: string }) => s.studyKey)).toEqual(['A', 'B']);
      expect(multi.study).toBe(a);
    } finally {
      await multi.close();
    }
  });
});
