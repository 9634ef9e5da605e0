import { describe, expect, it } from 'vitest';
import { ConfigurationError, JobFailedError, JobTimeoutError } from '../../src/core/errors.js';
import { isTerminalJobState } from '../../src/endpoints/jobs.js';
import { createRecord, registerSubject, updateScheduledRecord } from '../../src/endpoints/records.js';
import { useMockApi } from './support.js';

const mock = useMockApi({ records: 200, subjects: 20 });
const { api, study } = mock;
const posts = () => api.requests.filter((r) => r.method === 'POST');

describe('record payload builders', () => {
  it('build the three shapes the API accepts, values under data', () => {
    expect(registerSubject({ formKey: 'REG', siteName: 'Site A', data: { AGE: 40 } })).toEqual({
      formKey: 'REG',
      siteName: 'Site A',
      data: { AGE: 40 },
    });
    expect(
      updateScheduledRecord({
        formId: 7,
        subjectKey: '01-001',
        intervalName: 'Week 2',
        data: { SYSBP: 120 },
      }),
    ).toEqual({
      formId: 7,
      subjectKey: '01-001',
      intervalName: 'Week 2',
      data: { SYSBP: 120 },
    });
    expect(createRecord({ formKey: 'AE', subjectOid: 'OID-9', data: { AETERM: 'Headache' } })).toEqual({
      formKey: 'AE',
      subjectOid: 'OID-9',
      data: { AETERM: 'Headache' },
    });
  });

  it('refuse a registration with a subject key, empty data, or ambiguous references', () => {
    expect(() =>
      registerSubject({ formKey: 'REG', siteName: 'A', subjectKey: 'X', data: { a: 1 } } as never),
    ).toThrow(/must not carry a subject key/);
    expect(() => createRecord({ formKey: 'AE', subjectKey: 'X', data: {} })).toThrow(/data is empty/);
    expect(() =>
      createRecord({ formKey: 'AE', formId: 3, subjectKey: 'X', data: { a: 1 } } as never),
    ).toThrow(/exactly one of formKey, formId/);
    expect(() => updateScheduledRecord({ formKey: 'AE', subjectKey: 'X', data: { a: 1 } } as never)).toThrow(
      /intervalName, intervalId/,
    );
  });
});

describe('records.create', () => {
  const site = () => study.sites[0]!;

  it('posts records, gets a batch id, and jobs.wait sees the job through to completed', async () => {
    const client = mock.client();
    const before = study.counts.subjects;
    const accepted = await client.records.create(
      'DEMO',
      [registerSubject({ formKey: 'REG', siteName: site().siteName!, data: { BRTHDAT: '1980-02-03' } })],
      { emailNotify: 'dm@example.org' },
    );
    expect(accepted.batchId).toBeTruthy();
    const progress: string[] = [];
    const job = await client.jobs.wait('DEMO', accepted.batchId, {
      interval: 5,
      onProgress: (j) => progress.push(String(j.state)),
    });
    expect(job.state?.toLowerCase()).toBe('completed');
    expect(progress.at(-1)).toBe('completed');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(study.counts.subjects).toBe(before + 1);
  });

  it('rejects invalid input before sending anything', async () => {
    const client = mock.client();
    const good = registerSubject({ formKey: 'REG', siteName: site().siteName!, data: { A: 1 } });
    await expect(client.records.create('DEMO', [])).rejects.toBeInstanceOf(ConfigurationError);
    await expect(client.records.create('DEMO', [{ formKey: 'AE', data: {} }])).rejects.toThrow(
      /data is empty/,
    );
    await expect(
      client.records.create('DEMO', [{ formKey: 'REG', siteName: 'A', subjectKey: 'X', data: { a: 1 } }]),
    ).rejects.toThrow(/must not carry a subject key/);
    await expect(
      client.records.create('DEMO', [good], { emailNotify: 'a@b.org\r\nBcc: evil@x.org' }),
    ).rejects.toThrow(/no line breaks/);
    await expect(client.records.create('DEMO/../X', [good])).rejects.toBeInstanceOf(ConfigurationError);
    expect(posts()).toHaveLength(0);
  });
});

describe('jobs.wait', () => {
  const post = async () =>
    (
      await mock.client().records.create('DEMO', [
        createRecord({
          formKey: 'AE',
          subjectKey: study.subjects[0]!.subjectKey!,
          data: { AETERM: 'Cough' },
        }),
      ])
    ).batchId;

  it.each(['failed', 'cancelled'] as const)('throws JobFailedError when the job ends %s', async (outcome) => {
    api.setJobOptions({ jobOutcome: outcome, jobPollsToComplete: 1 });
    const batchId = await post();
    const error = await mock
      .client()
      .jobs.wait('DEMO', batchId, { interval: 1 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error.state.toLowerCase()).toBe(outcome);
    expect(error.batchId).toBe(batchId);
  });

  it('treats upper-case states as terminal', async () => {
    api.setJobOptions({ jobStateCase: 'upper', jobPollsToComplete: 2 });
    const batchId = await post();
    const job = await mock.client().jobs.wait('DEMO', batchId, { interval: 1 });
    expect(job.state).toBe('COMPLETED');
    expect(isTerminalJobState('Cancelled')).toBe(true);
    expect(isTerminalJobState('PROCESSING')).toBe(false);
  });

  it.each(['absent', 'empty'] as const)(
    'reports a job whose state is %s instead of polling until the timeout',
    async (missing) => {
      api.setJobOptions({ jobStateMissing: missing });
      const batchId = await post();
      const started = Date.now();
      const error = await mock
        .client()
        .jobs.wait('DEMO', batchId, { interval: 1, timeout: 60_000 })
        .catch((e) => e);
      expect(error).toBeInstanceOf(JobTimeoutError);
      expect(error.message).toMatch(/no state/);
      expect(Date.now() - started).toBeLessThan(5_000);
    },
  );

  it('gives up with JobTimeoutError after the timeout', async () => {
    api.setJobOptions({ jobPollsToComplete: 10_000 });
    const batchId = await post();
    const error = await mock
      .client()
      .jobs.wait('DEMO', batchId, { interval: 5, timeout: 40 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(JobTimeoutError);
    expect(error.lastState).toBe('processing');
  });

  it('waits for many jobs at once', async () => {
    api.setJobOptions({ jobPollsToComplete: 2 });
    const ids = [await post(), await post(), await post()];
    const results = await mock.client().jobs.waitAll('DEMO', ids, { interval: 1 });
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  });
});
