import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../src/client.js';
import { isImednetError } from '../../src/core/errors.js';
import { maskFilterValues, redactUrl } from '../../src/core/redact.js';
import { createRecord } from '../../src/endpoints/records.js';
import { BASE_URL, useMockApi } from './support.js';

const API_KEY = 'ak-7f3e9c1d-PLEASE-NEVER-PRINT';
const SECURITY_KEY = 'sk-41b0aa2e-PLEASE-NEVER-PRINT';
const mock = useMockApi({ records: 100 }, { apiKey: API_KEY, securityKey: SECURITY_KEY });
const { api } = mock;

const client = (options: Partial<ConstructorParameters<typeof Imednet>[0]> = {}) =>
  mock.client({ apiKey: API_KEY, securityKey: SECURITY_KEY, retries: 1, ...options });

/** Every way a user might print or ship an error. */
function renderings(error: unknown): string[] {
  return [
    JSON.stringify(error),
    inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    String(error),
    (error as Error).stack ?? '',
    JSON.stringify((error as { cause?: unknown }).cause ?? null),
  ];
}

describe('credentials never leak', () => {
  it('through any error of a failing run, or the logger', async () => {
    const events: unknown[] = [];
    const logger = (e: unknown) => events.push(e);
    const errors: unknown[] = [];
    const capture = async (run: () => Promise<unknown>) => {
      try {
        await run();
        throw new Error('expected a failure');
      } catch (error) {
        expect(isImednetError(error)).toBe(true);
        errors.push(error);
      }
    };
    const studyKey = 'DEMO';
    await capture(() =>
      client({ apiKey: 'ak-wrong-but-also-secret', logger }).sites.list(studyKey).toArray(),
    );
    api.setFaults({ serverError: { times: 99 } });
    await capture(() => client({ logger }).sites.list(studyKey).toArray());
    api.setFaults({ rateLimit: { times: 99, retryAfter: 0 } });
    await capture(() => client({ logger }).sites.list(studyKey).toArray());
    api.setFaults({ networkError: { times: 99 } });
    await capture(() => client({ logger }).sites.list(studyKey).toArray());
    api.setFaults({ truncateBody: { times: 99 } });
    await capture(() => client({ logger }).sites.list(studyKey).toArray());
    api.setFaults({ latencyMs: 200 });
    await capture(() => client({ logger, timeout: 20 }).sites.list(studyKey).toArray());
    api.setFaults({});
    await capture(() => client({ logger }).records.list(studyKey, { filter: 'bogus==1' }).toArray());
    await capture(() => client({ logger }).forms.get(studyKey, 424242));
    await capture(() => client({ logger }).sites.list('NOPE').toArray());
    const aborted = new AbortController();
    aborted.abort();
    await capture(() => client({ logger }).sites.list(studyKey, { signal: aborted.signal }).toArray());
    api.setJobOptions({ jobOutcome: 'failed', jobPollsToComplete: 1 });
    const subjectKey = mock.study.subjects[0]!.subjectKey!;
    const job = await client().records.create(studyKey, [
      createRecord({ formKey: 'AE', subjectKey, data: { AETERM: 'x' } }),
    ]);
    await capture(() => client({ logger }).jobs.wait(studyKey, job.batchId, { interval: 1 }));

    expect(errors).toHaveLength(11);
    for (const error of errors) {
      for (const text of renderings(error)) {
        expect(text).not.toContain(API_KEY);
        expect(text).not.toContain(SECURITY_KEY);
        expect(text).not.toContain('ak-wrong-but-also-secret');
      }
    }
    expect(events.length).toBeGreaterThan(10);
    const log = JSON.stringify(events);
    expect(log).not.toContain(API_KEY);
    expect(log).not.toContain(SECURITY_KEY);
  });

  it('even when the server echoes a key back in its error message', async () => {
    const echo = new Imednet({
      apiKey: API_KEY,
      securityKey: SECURITY_KEY,
      baseUrl: BASE_URL,
      retries: 0,
      fetch: async (input) => {
        const key = new Request(input).headers.get('x-api-key');
        return new Response(
          JSON.stringify({
            metadata: { status: 'ERROR', error: { code: 'BAD', message: `bad key ${key}` } },
          }),
          {
            status: 400,
          },
        );
      },
    });
    const error = await echo.sites
      .list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error.apiMessage).toContain('[REDACTED]');
    for (const text of renderings(error)) expect(text).not.toContain(API_KEY);
  });

  it('masks secret-looking query values in URLs', () => {
    expect(redactUrl('https://h/x?api_key=abc&page=1&token=t0k&Security-Key=s')).toBe(
      'https://h/x?api_key=[REDACTED]&page=1&token=[REDACTED]&Security-Key=[REDACTED]',
    );
    expect(redactUrl('https://h/x')).toBe('https://h/x');
  });
});

describe('patient data stays out of errors and logs', () => {
  const SUBJECT = 'PAT-7731-QX';
  const CLINICAL = 'migraine-aura-QX';
  const listing = (options: Partial<ConstructorParameters<typeof Imednet>[0]>) =>
    client(options).records.list('DEMO', {
      // siteName is not a record attribute: the API answers 400 with the URL in the error
      filter: { subjectKey: SUBJECT, siteName: 'Chicago Hope' } as never,
      recordDataFilter: { AETERM: { contains: CLINICAL } },
    });

  it('masks filter values in error messages and log events, keeping attribute names and operators', async () => {
    const events: Array<{ url: string }> = [];
    const error = await listing({ logger: (e) => events.push(e) })
      .toArray()
      .catch((e) => e);
    expect(error.status).toBe(400);
    expect(events.length).toBeGreaterThan(0);
    for (const text of [...renderings(error), JSON.stringify(events)]) {
      expect(text).not.toContain(SUBJECT);
      expect(text).not.toContain(CLINICAL);
      expect(text).not.toContain('Chicago');
    }
    const shown = decodeURIComponent(error.message);
    expect(shown).toContain('filter=subjectKey==***;siteName==***');
    expect(shown).toContain('recordDataFilter=AETERM=~***');
    expect(decodeURIComponent(events[0]!.url)).toContain('filter=subjectKey==***;siteName==***');
  });

  it('shows them with showFilterValues: true, for local debugging', async () => {
    const events: Array<{ url: string }> = [];
    const error = await listing({ logger: (e) => events.push(e), showFilterValues: true })
      .toArray()
      .catch((e) => e);
    expect(decodeURIComponent(error.message.replace(/\+/g, ' '))).toContain(SUBJECT);
    expect(decodeURIComponent(events[0]!.url)).toContain(CLINICAL);
  });

  it('masks every value of a raw filter string, quoted or bare', () => {
    expect(maskFilterValues('subjectKey=="01-001";deleted==false,age>=40')).toBe(
      'subjectKey==***;deleted==***,age>=***',
    );
    expect(maskFilterValues('a=="x;y\\"z",b=~"open quote;c==1')).toBe('a==***,b=~***');
    expect(redactUrl('https://h/x?page=0&filter=siteId%3D%3D1')).toBe(
      'https://h/x?page=0&filter=siteId%3D%3D***',
    );
    expect(redactUrl('https://h/x?filter=siteId%3D%3D1', { showFilterValues: true })).toBe(
      'https://h/x?filter=siteId%3D%3D1',
    );
  });
});
