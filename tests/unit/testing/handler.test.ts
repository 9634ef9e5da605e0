import { describe, expect, it } from 'vitest';
import { createFakeStudy, createMockApi } from '../../../src/testing/index.js';
import { call, listPath, ORIGIN, post, setup } from './helpers.js';

describe('mock API: auth, routing and envelopes', () => {
  it('answers 401 without both keys, under metadata.error, and never echoes them', async () => {
    const { api } = setup({}, { apiKey: 'k1', securityKey: 's1' });
    for (const headers of [
      { 'x-api-key': '', 'x-imn-security-key': '' },
      { 'x-api-key': 'k1', 'x-imn-security-key': 'wrong' },
      { 'x-api-key': 'wrong', 'x-imn-security-key': 's1' },
    ]) {
      const answer = await call(api, '/studies', { headers });
      expect(answer.status).toBe(401);
      expect(answer.body.metadata).toMatchObject({
        status: 'ERROR',
        method: 'GET',
        path: '/api/v1/edc/studies',
      });
      expect(answer.body.metadata.error.code).toBe('UNAUTHORIZED');
      expect(JSON.stringify(answer.body)).not.toMatch(/k1|s1|wrong/);
    }
    const ok = await call(api, '/studies', { headers: { 'x-api-key': 'k1', 'x-imn-security-key': 's1' } });
    expect(ok.status).toBe(200);
  });

  it('lists studies and answers 404 for unknown studies and paths', async () => {
    const api = createMockApi([
      createFakeStudy({ studyKey: 'B', records: 10 }),
      createFakeStudy({ studyKey: 'A' }),
    ]);
    const studies = await call(api, '/studies');
    expect(studies.body.data.map((s: { studyKey: string }) => s.studyKey)).toEqual(['A', 'B']);
    expect(studies.body.metadata).toMatchObject({ status: 'OK', method: 'GET', error: {} });
    expect(studies.body.metadata.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    const missing = await call(api, '/studies/NOPE/sites');
    expect(missing.status).toBe(404);
    expect(missing.body.metadata.error).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call(api, '/studies/A/nothing')).status).toBe(404);
    expect((await call(api, '/studies/A/sites/1')).status).toBe(404);
    const outside = await api.handle(new Request(`${ORIGIN}/elsewhere`));
    expect(outside.status).toBe(404);
    expect((await call(api, '/studies/B/records')).body.pagination.totalElements).toBe(10);
    expect((await call(api, '/studies/A/sites', { method: 'DELETE' })).status).toBe(405);
  });

  it('serves every list path of the spec', async () => {
    const { api } = setup();
    for (const resource of [
      'sites',
      'forms',
      'intervals',
      'visits',
      'subjects',
      'users',
      'variables',
      'codings',
      'queries',
      'recordRevisions',
      'records',
    ]) {
      const answer = await call(api, listPath(resource));
      expect(answer.status, resource).toBe(200);
      expect(answer.body.data.length, resource).toBeGreaterThan(0);
      expect(answer.body.metadata.path).toBe(`/api/v1/edc/studies/DEMO/${resource}`);
    }
  });
});

describe('mock API: pagination and sort', () => {
  it('pages with 0-based page and default size 25', async () => {
    const { study, api } = setup();
    const first = await call(api, listPath('records'));
    expect(first.body.pagination).toEqual({
      currentPage: 0,
      size: 25,
      totalPages: 12,
      totalElements: 300,
      sort: [{ property: 'recordId', direction: 'ASC' }],
    });
    expect(first.body.data).toHaveLength(25);
    const last = await call(api, listPath('records', { page: 11 }));
    expect(last.body.data.map((r: { recordId: number }) => r.recordId)).toEqual(
      Array.from({ length: 25 }, (_, i) => 276 + i),
    );
    const beyond = await call(api, listPath('records', { page: 12 }));
    expect(beyond.body.data).toEqual([]);
    const big = await call(api, listPath('subjects', { size: 500 }));
    expect(big.body.data).toHaveLength(study.subjects.length);
  });

  it('rejects bad page and size values', async () => {
    const { api } = setup();
    for (const params of [{ size: 501 }, { size: 0 }, { size: 'ten' }, { page: -1 }, { page: 1.5 }] as Record<
      string,
      string | number
    >[]) {
      const answer = await call(api, listPath('sites', params));
      expect(answer.status, JSON.stringify(params)).toBe(400);
      expect(answer.body.metadata.error.code).toBe('BAD_REQUEST');
    }
    expect((await call(api, listPath('sites', { size: 500 }))).status).toBe(200);
  });

  it('sorts by one or more fields and rejects unknown ones', async () => {
    const { study, api } = setup();
    const bySite = await call(
      api,
      listPath('subjects', { sort: ['siteId,desc', 'subjectId,asc'], size: 500 }),
    );
    expect(bySite.body.pagination.sort).toEqual([
      { property: 'siteId', direction: 'DESC' },
      { property: 'subjectId', direction: 'ASC' },
    ]);
    const expected = [...study.subjects]
      .sort((a, b) => b.siteId - a.siteId || a.subjectId - b.subjectId)
      .map((s) => s.subjectId);
    expect(bySite.body.data.map((s: { subjectId: number }) => s.subjectId)).toEqual(expected);

    const desc = await call(api, listPath('records', { sort: 'recordId,desc', size: 3 }));
    expect(desc.body.data.map((r: { recordId: number }) => r.recordId)).toEqual([300, 299, 298]);

    const byDate = await call(api, listPath('records', { sort: 'dateModified,desc', size: 500 }));
    const dates = byDate.body.data.map((r: { dateModified: string }) => r.dateModified);
    expect([...dates].sort().reverse()).toEqual(dates);

    const unknown = await call(api, listPath('records', { sort: 'recordData,asc' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.metadata.error.field).toBe('recordData');
    expect((await call(api, listPath('records', { sort: 'recordId,sideways' }))).status).toBe(400);
  });

  it('pages consistently through a filtered, sorted list', async () => {
    const { study, api } = setup({ records: 1000 });
    const seen: number[] = [];
    for (let page = 0; ; page++) {
      const answer = await call(
        api,
        listPath('records', { filter: 'formKey==VS', sort: 'dateCreated,desc', size: 40, page }),
      );
      seen.push(...answer.body.data.map((r: { recordId: number }) => r.recordId));
      if (page + 1 >= answer.body.pagination.totalPages) break;
    }
    const expected = [...study.records].filter((r) => r.formKey === 'VS');
    expect(seen.length).toBe(expected.length);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lists users: active only unless includeInactive=true, and no filter', async () => {
    const { study, api } = setup({ users: 12 });
    const active = await call(api, listPath('users'));
    expect(active.body.data.length).toBe(study.users.filter((u) => u.userActiveInStudy).length);
    expect(active.body.pagination.sort).toEqual([{ property: 'login', direction: 'ASC' }]);
    const all = await call(api, listPath('users', { includeInactive: 'true' }));
    expect(all.body.data.length).toBe(12);
    const logins = all.body.data.map((u: { login: string }) => u.login);
    expect([...logins].sort()).toEqual(logins);
    expect((await call(api, listPath('users', { filter: 'login==x' }))).status).toBe(400);
    expect((await call(api, listPath('users', { includeInactive: 'yes' }))).status).toBe(400);
  });
});

describe('mock API: record POST and jobs', () => {
  it('accepts a registration with 202 and completes the job on the second poll', async () => {
    const { study, api } = setup();
    const site = study.sites[0]!;
    const accepted = await post(api, [
      { formKey: 'REG', siteName: site.siteName, data: { regdt: '2025-01-05' } },
    ]);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      jobId: expect.any(String),
      batchId: expect.any(String),
      state: 'created',
    });
    expect(study.counts.subjects).toBe(20);

    const jobPath = `/studies/DEMO/jobs/${accepted.body.batchId}`;
    const first = await call(api, jobPath);
    expect(first.body).toMatchObject({
      batchId: accepted.body.batchId,
      state: 'processing',
    });
    expect(first.body).not.toHaveProperty('dateFinished');
    expect(study.counts.subjects).toBe(20);
    const second = await call(api, jobPath);
    expect(second.body.state).toBe('completed');
    expect(second.body.dateFinished).toBe(study.now());
    expect(study.counts.subjects).toBe(21);
    expect(study.counts.records).toBe(301);
    const record = study.getRecord(301)!;
    expect(record).toMatchObject({ formKey: 'REG', subjectId: 21, recordData: { regdt: '2025-01-05' } });
    expect((await call(api, jobPath)).body.state).toBe('completed');
  });

  it('creates and updates records for existing subjects', async () => {
    const { study, api } = setup({}, { jobPollsToComplete: 1 });
    const subject = study.subjects[0]!;
    const existing = study.findRecord(
      (r) => r.subjectId === subject.subjectId && r.formKey === 'VS' && !r.deleted,
    )!;
    const interval = study.intervals.find((i) => i.intervalId === existing.intervalId)!;
    const accepted = await post(api, [
      { formKey: 'AE', subjectKey: subject.subjectKey, data: { aeterm: 'Nausea' } },
      {
        formKey: 'VS',
        subjectKey: subject.subjectKey,
        intervalName: interval.intervalName,
        data: { pulse: '61' },
      },
      { formKey: 'REG', subjectId: subject.subjectId, recordId: 1, data: { initials: 'XYZ' } },
    ]);
    expect(accepted.status).toBe(202);
    const done = await call(api, `/studies/DEMO/jobs/${accepted.body.batchId}`);
    expect(done.body.state).toBe('completed');
    expect(study.getRecord(301)).toMatchObject({ formKey: 'AE', recordData: { aeterm: 'Nausea' } });
    expect(study.getRecord(existing.recordId)!.recordData.pulse).toBe('61');
    expect(study.getRecord(1)!.recordData.initials).toBe('XYZ');
  });

  it('validates POST bodies with 400 on the first problem', async () => {
    const { study, api } = setup();
    const subjectKey = study.subjects[0]!.subjectKey;
    const siteName = study.sites[0]!.siteName;
    const cases: [unknown, string | undefined][] = [
      [{ formKey: 'AE' }, undefined],
      [[], undefined],
      [[42], 'data'],
      [[{ subjectKey, data: { a: 1 } }], 'formKey'],
      [[{ formKey: 'NOPE', subjectKey, data: { a: 1 } }], 'formKey'],
      [[{ formId: 999, subjectKey, data: { a: 1 } }], 'formId'],
      [[{ formKey: 'AE', subjectKey, data: {} }], 'data'],
      [[{ formKey: 'AE', subjectKey }], 'data'],
      [[{ formKey: 'AE', subjectKey, data: [1] }], 'data'],
      [[{ formKey: 'REG', siteName, subjectKey: '99-999', data: { a: 1 } }], 'subjectKey'],
      [[{ formKey: 'REG', siteName: 'Nowhere', data: { a: 1 } }], 'siteName'],
      [[{ formKey: 'AE', data: { a: 1 } }], 'subjectKey'],
      [[{ formKey: 'AE', subjectKey: 'nobody', data: { a: 1 } }], 'subjectKey'],
      [[{ formKey: 'AE', subjectKey, intervalName: 'Never', data: { a: 1 } }], 'intervalName'],
      [
        [
          { formKey: 'AE', subjectKey, data: { a: 1 } },
          { formKey: 'AE', subjectKey, data: {} },
        ],
        'data',
      ],
    ];
    for (const [body, field] of cases) {
      const answer = await post(api, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.metadata.error.code).toBe('BAD_REQUEST');
      if (field) expect(answer.body.metadata.error.field, JSON.stringify(body)).toBe(field);
    }
    const notJson = await call(api, '/studies/DEMO/records', { method: 'POST', body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(study.counts.records).toBe(300);
  });

  it('rejects an x-email-notify header with a line break', async () => {
    const { study, api } = setup();
    const request = new Request('http://mock.test/api/v1/edc/studies/DEMO/records', {
      method: 'POST',
      body: JSON.stringify([{ formKey: 'AE', subjectKey: study.subjects[0]!.subjectKey, data: { a: 1 } }]),
    });
    // Headers refuses CR/LF, so a raw header object (as a server could build) stands in for it.
    const headers = new Map([
      ['x-api-key', 'demo-api-key'],
      ['x-imn-security-key', 'demo-security-key'],
      ['x-email-notify', 'a@b.c\r\nBcc: x@y.z'],
    ]);
    const forged = new Proxy(request, {
      get(target, prop) {
        if (prop === 'headers') return { get: (name: string) => headers.get(name.toLowerCase()) ?? null };
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const response = await api.handle(forged);
    expect(response.status).toBe(400);
    expect((await response.json()).metadata.error.field).toBe('x-email-notify');
    const fine = await post(
      api,
      [{ formKey: 'AE', subjectKey: study.subjects[0]!.subjectKey, data: { a: 1 } }],
      'DEMO',
      { 'x-email-notify': 'someone@example.org' },
    );
    expect(fine.status).toBe(202);
  });

  it('answers 404 for unknown jobs and jobs of another study', async () => {
    const a = createFakeStudy({ studyKey: 'A', records: 20, subjects: 5 });
    const b = createFakeStudy({ studyKey: 'B', records: 20, subjects: 5 });
    const api = createMockApi([a, b]);
    const accepted = await post(
      api,
      [{ formKey: 'AE', subjectKey: a.subjects[0]!.subjectKey, data: { x: 1 } }],
      'A',
    );
    expect((await call(api, '/studies/A/jobs/nope')).status).toBe(404);
    expect((await call(api, `/studies/B/jobs/${accepted.body.batchId}`)).status).toBe(404);
    expect((await call(api, `/studies/A/jobs/${accepted.body.batchId}`)).status).toBe(200);
  });

  it('can end jobs failed or cancelled, in upper case, or without a state', async () => {
    const body = (key: string) => [{ formKey: 'AE', subjectKey: key, data: { aeterm: 'Cough' } }];
    const { study, api } = setup({}, { jobOutcome: 'failed', jobPollsToComplete: 3, jobStateCase: 'upper' });
    const key = study.subjects[0]!.subjectKey;
    const accepted = await post(api, body(key));
    expect(accepted.body.state).toBe('CREATED');
    const path = `/studies/DEMO/jobs/${accepted.body.batchId}`;
    const states = [];
    for (let i = 0; i < 4; i++) states.push((await call(api, path)).body.state);
    expect(states).toEqual(['PROCESSING', 'PROCESSING', 'FAILED', 'FAILED']);
    expect(study.counts.records).toBe(300);

    api.setJobOptions({
      jobOutcome: (items) => (items.length > 1 ? 'cancelled' : 'completed'),
      jobStateCase: 'lower',
    });
    const two = await post(api, [...body(key), ...body(key)]);
    await call(api, `/studies/DEMO/jobs/${two.body.batchId}`);
    await call(api, `/studies/DEMO/jobs/${two.body.batchId}`);
    expect((await call(api, `/studies/DEMO/jobs/${two.body.batchId}`)).body.state).toBe('cancelled');

    api.setJobOptions({ jobStateMissing: 'absent' });
    const absent = await call(api, `/studies/DEMO/jobs/${(await post(api, body(key))).body.batchId}`);
    expect(absent.status).toBe(200);
    expect('state' in absent.body).toBe(false);
    api.setJobOptions({ jobStateMissing: 'empty' });
    const empty = await call(api, `/studies/DEMO/jobs/${(await post(api, body(key))).body.batchId}`);
    expect(empty.body.state).toBe('');

    api.reset();
    const again = await post(api, body(key));
    expect(again.body.state).toBe('CREATED');
  });
});

describe('mock API: request log and CORS', () => {
  it('logs method, path and query of every request, never header values', async () => {
    const { api } = setup({}, { faults: { networkError: { times: 1 } } });
    await api.handle(new Request('http://mock.test/api/v1/edc/studies?page=1'));
    await call(api, listPath('sites', { size: 2 }));
    await call(api, '/studies', { headers: { 'x-api-key': 'secret-value-123', 'x-imn-security-key': 'x' } });
    expect(api.requests.map((r) => [r.method, r.path, r.search, r.status])).toEqual([
      ['GET', '/api/v1/edc/studies', '?page=1', 0],
      ['GET', '/api/v1/edc/studies/DEMO/sites', '?size=2', 200],
      ['GET', '/api/v1/edc/studies', '', 401],
    ]);
    expect(typeof api.requests[0]!.at).toBe('number');
    expect(JSON.stringify(api.requests)).not.toContain('secret-value-123');
    api.reset();
    expect(api.requests).toEqual([]);
  });

  it('answers CORS preflights and adds CORS headers when enabled', async () => {
    const { api } = setup({}, { cors: true });
    const preflight = await api.handle(
      new Request('http://mock.test/api/v1/edc/studies/DEMO/records', {
        method: 'OPTIONS',
        headers: {
          origin: 'http://app.test',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-api-key, x-imn-security-key, x-email-notify, content-type',
        },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://app.test');
    const allowed = preflight.headers.get('access-control-allow-headers')!;
    for (const h of ['x-api-key', 'x-imn-security-key', 'x-email-notify', 'content-type'])
      expect(allowed).toContain(h);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');

    const answer = await call(api, '/studies', { headers: { origin: 'http://app.test' } });
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://app.test');
    const denied = await call(api, '/studies', {
      headers: { origin: 'http://app.test', 'x-api-key': 'bad' },
    });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('http://app.test');

    const plain = setup().api;
    const noCors = await call(plain, '/studies', { headers: { origin: 'http://app.test' } });
    expect(noCors.headers.get('access-control-allow-origin')).toBeNull();
  });
});
