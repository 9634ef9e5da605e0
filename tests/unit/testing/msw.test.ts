import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeStudy, createMockApi } from '../../../src/testing/index.js';
import { mockApiHandlers } from '../../../src/testing/msw.js';
import { AUTH } from './helpers.js';

const study = createFakeStudy({ records: 100, subjects: 10 });
const api = createMockApi(study);
const server = setupServer(
  ...mockApiHandlers(api),
  ...mockApiHandlers(api, { baseUrl: 'https://edc.example.com/proxy/api/v1/edc' }),
);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

describe('mockApiHandlers', () => {
  it('answers fetch calls on any host under /api/v1/edc', async () => {
    const response = await fetch('https://edc.prod.imednetapi.com/api/v1/edc/studies/DEMO/records?size=5', {
      headers: AUTH,
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.data).toHaveLength(5);
    expect(body.pagination.totalElements).toBe(100);
  });

  it('honours a base URL with a prefix', async () => {
    const response = await fetch('https://edc.example.com/proxy/api/v1/edc/studies', { headers: AUTH });
    expect(response.status).toBe(200);
    expect((await response.json()).data[0].studyKey).toBe('DEMO');
  });

  it('passes POST bodies through and turns network errors into fetch failures', async () => {
    const accepted = await fetch('https://x.test/api/v1/edc/studies/DEMO/records', {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify([
        { formKey: 'AE', subjectKey: study.subjects[0]!.subjectKey, data: { aeterm: 'Cough' } },
      ]),
    });
    expect(accepted.status).toBe(202);

    api.setFaults({ networkError: { times: 1 } });
    await expect(fetch('https://x.test/api/v1/edc/studies', { headers: AUTH })).rejects.toThrow(TypeError);
    expect((await fetch('https://x.test/api/v1/edc/studies', { headers: AUTH })).status).toBe(200);
  });
});
