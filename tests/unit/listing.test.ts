import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BadRequestError,
  ConfigurationError,
  isNotFoundError,
  NotFoundError,
  ResponseValidationError,
} from '../../src/core/errors.js';
import { useMockApi } from './support.js';

const mock = useMockApi({ records: 2400, subjects: 60 });
const { api, study } = mock;
const recordPages = () => api.requests.filter((r) => r.path.endsWith('/records'));

describe('listing', () => {
  it('streams every record in order while fetching pages concurrently', async () => {
    api.setFaults({ latencyMs: 5 });
    const ids: number[] = [];
    for await (const record of mock.client({ concurrency: 6 }).records.list('DEMO', { pageSize: 100 })) {
      ids.push(record.recordId!);
    }
    const expected = Array.from(study.records.headers(), (h) => h.recordId);
    expect(ids).toEqual(expected);
    expect(recordPages()).toHaveLength(24);
    // Pages 1..23 overlap in time: several were in flight before the first of them finished.
    const sent = recordPages()
      .slice(1, 7)
      .map((r) => r.at);
    expect(Math.max(...sent) - Math.min(...sent)).toBeLessThan(5 * 6);
  });

  it('sends page, size, sort and filter as real parameters and never appends studyKey', async () => {
    const client = mock.client();
    const site = study.sites[1]!;
    const subjects = await client.subjects
      .list('DEMO', { filter: { siteId: site.siteId! }, sort: '-subjectId', pageSize: 7 })
      .toArray();
    expect(subjects.length).toBe(study.subjects.filter((s) => s.siteId === site.siteId).length);
    expect(subjects.every((s) => s.siteId === site.siteId)).toBe(true);
    const ids = subjects.map((s) => s.subjectId!);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const first = new URLSearchParams(api.requests[0]!.search);
    expect(first.get('page')).toBe('0');
    expect(first.get('size')).toBe('7');
    expect(first.getAll('sort')).toEqual(['subjectId,desc']);
    expect(first.get('filter')).toBe(`siteId==${site.siteId}`);
    expect(first.get('filter')).not.toContain('studyKey');
  });

  it('quotes filter values with spaces so the server matches them exactly', async () => {
    const site = study.sites.find((s) => s.siteName!.includes(' '))!;
    const found = await mock
      .client()
      .sites.list('DEMO', { filter: { siteName: site.siteName! } })
      .toArray();
    expect(found.map((s) => s.siteId)).toEqual([site.siteId]);
  });

  it('filters on record values with recordDataFilter', async () => {
    const sample = study.records.at(5)!;
    const [name, value] = Object.entries(sample.recordData).find(
      ([, v]) => typeof v === 'string' && /^[A-Za-z]{3,}$/.test(v),
    )!;
    const records = await mock
      .client()
      .records.list('DEMO', {
        filter: { formKey: sample.formKey! },
        recordDataFilter: { [name]: String(value) },
      })
      .toArray();
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.formKey === sample.formKey && r.recordData?.[name] === value)).toBe(true);
  });

  it('collects with toArray and walks pages', async () => {
    const client = mock.client();
    const pages = [];
    for await (const page of client.sites.list('DEMO', { pageSize: 2 }).pages())
      pages.push(page.items.length);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(study.sites.length);
    expect(pages.length).toBe(Math.ceil(study.sites.length / 2));
  });

  it('sends no more requests after an early break', async () => {
    api.setFaults({ latencyMs: 3 });
    let n = 0;
    const client = mock.client({ concurrency: 4, maxConcurrency: 4 });
    for await (const _ of client.records.list('DEMO', { pageSize: 50 })) {
      if (++n === 120) break;
    }
    const atBreak = recordPages().length;
    await new Promise((r) => setTimeout(r, 60));
    expect(recordPages().length).toBe(atBreak);
    // pages 0..2 read, and at most the pool's window (4 × its width) ahead
    expect(atBreak).toBeLessThanOrEqual(3 + 16);
  });

  it('stops on abort with AbortError', async () => {
    api.setFaults({ latencyMs: 3 });
    const controller = new AbortController();
    const run = (async () => {
      let n = 0;
      for await (const _ of mock.client().records.list('DEMO', { pageSize: 50, signal: controller.signal })) {
        if (++n === 60) controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(AbortError);
    const atAbort = recordPages().length;
    await new Promise((r) => setTimeout(r, 40));
    expect(recordPages().length).toBe(atAbort);
  });

  it('raises a clear error for a malformed pagination block', async () => {
    api.setFaults({ malformedPagination: { times: 5 } });
    const error = await mock
      .client()
      .sites.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect(error.message).toMatch(/pagination/);
    api.reset();
    api.setFaults({ malformedPagination: { times: 5, kind: 'missing' } });
    const missing = await mock
      .client()
      .sites.list('DEMO')
      .toArray()
      .catch((e) => e);
    expect(missing).toBeInstanceOf(ResponseValidationError);
    expect(missing.message).toMatch(/pagination/);
  });

  it('rejects page sizes above 500 before any request', async () => {
    expect(() => mock.client().records.list('DEMO', { pageSize: 501 })).toThrow(ConfigurationError);
    expect(api.requests).toHaveLength(0);
  });

  it.each(['', 'A/B', '../X', 'A\nB', 'A\u0000B', '..'])(
    'rejects the study key %j before any request',
    (key) => {
      expect(() => mock.client().records.list(key)).toThrow(ConfigurationError);
      expect(api.requests).toHaveLength(0);
    },
  );

  it('maps API errors with metadata.error details', async () => {
    const error = await mock
      .client()
      .records.list('DEMO', { filter: 'noSuchField==1' })
      .toArray()
      .catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.apiMessage).toBeTruthy();
    expect(error.message).toContain(error.apiMessage);
    const unknownStudy = await mock
      .client()
      .sites.list('NOPE')
      .toArray()
      .catch((e) => e);
    expect(unknownStudy).toBeInstanceOf(NotFoundError);
  });
});

describe('several values of one attribute ("in")', () => {
  const FORMS = ['CM', 'AE', 'MH'];
  const filterOf = (search: string) => new URLSearchParams(search).get('filter');

  it('merges one request per value into the order of one plain listing, page by page', async () => {
    const client = mock.client({ concurrency: 4 });
    const sort = ['-dateModified', 'recordId'] as const;
    const whole = await client.records.list('DEMO', { sort: [...sort] }).toArray();
    const expected = whole.filter((r) => FORMS.includes(r.formKey));
    api.reset();
    const pages = [];
    for await (const page of client.records
      .list('DEMO', { filter: { formKey: { in: FORMS }, deleted: false }, sort: [...sort], pageSize: 50 })
      .pages()) {
      pages.push(page);
    }
    const merged = pages.flatMap((p) => p.items);
    expect(merged.map((r) => r.recordId)).toEqual(
      expected.filter((r) => r.deleted === false).map((r) => r.recordId),
    );
    expect(pages.slice(0, -1).every((p) => p.items.length === 50)).toBe(true);
    expect(pages.map((p) => p.page)).toEqual(pages.map((_, i) => i));
    expect(pages[0]!.totalElements).toBe(merged.length);
    // The API sees each attribute once per filter: one plain filter per value.
    const filters = new Set(recordPages().map((r) => filterOf(r.search)));
    expect([...filters].sort()).toEqual(FORMS.map((f) => `formKey==${f};deleted==false`).sort());
  });

  it("runs ListOptions' @example on records", async () => {
    const filter = {
      formKey: { in: ['AE', 'CM'] },
      deleted: false,
      dateModified: { gte: new Date('2024-06-01') },
    };
    const found = await mock.client().records.list('DEMO', { filter }).toArray();
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((r) => ['AE', 'CM'].includes(r.formKey) && r.deleted === false)).toBe(true);
    expect(found.every((r) => r.dateModified >= '2024-06-01 00:00:00')).toBe(true);
  });

  it('orders by id when no sort is given, and splits on two attributes at once', async () => {
    const client = mock.client();
    const sites = study.sites.slice(0, 2).map((s) => s.siteId!);
    const whole = await client.records.list('DEMO').toArray();
    const merged = await client.records
      .list('DEMO', { filter: { siteId: { in: sites }, formKey: { in: FORMS } }, pageSize: 100 })
      .toArray();
    expect(merged.map((r) => r.recordId)).toEqual(
      whole.filter((r) => FORMS.includes(r.formKey) && sites.includes(r.siteId!)).map((r) => r.recordId),
    );
    expect(new Set(recordPages().map((r) => filterOf(r.search))).size).toBe(1 + sites.length * FORMS.length);
  });

  it('streams: an early break stops every part, and an empty list asks nothing', async () => {
    const client = mock.client({ concurrency: 2 });
    for await (const record of client.records.list('DEMO', {
      filter: { formKey: { in: FORMS } },
      pageSize: 10,
    })) {
      expect(FORMS).toContain(record.formKey);
      break;
    }
    const sent = recordPages().length;
    expect(sent).toBeLessThanOrEqual(FORMS.length * 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(recordPages().length).toBe(sent);
    api.reset();
    expect(await client.records.list('DEMO', { filter: { formKey: { in: [] } } }).toArray()).toEqual([]);
    expect(recordPages()).toHaveLength(0);
  });

  it('stops with AbortError when the signal fires mid-listing', async () => {
    api.setFaults({ latencyMs: 20 });
    const controller = new AbortController();
    const listing = mock
      .client()
      .records.list('DEMO', { filter: { formKey: { in: FORMS } }, pageSize: 10, signal: controller.signal });
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const record of listing) {
        seen.push(record);
        if (seen.length === 15) controller.abort();
      }
    })().catch((e) => e);
    expect(error).toBeInstanceOf(AbortError);
  });
});

describe('get by id', () => {
  it('fetches one item with a filter on its id field', async () => {
    const client = mock.client();
    const site = study.sites[2]!;
    expect(await client.sites.get('DEMO', site.siteId!)).toMatchObject({
      siteId: site.siteId,
      siteName: site.siteName,
    });
    const record = study.records.at(17)!;
    expect((await client.records.get('DEMO', record.recordId)).recordId).toBe(record.recordId);
    expect((await client.studies.get('DEMO')).studyKey).toBe('DEMO');
    expect(new URLSearchParams(api.requests.at(-1)!.search).get('filter')).toBe('studyKey==DEMO');
  });

  it('gets a subject by key (string) or by id (number)', async () => {
    const client = mock.client();
    const subject = study.subjects[4]!;
    expect((await client.subjects.get('DEMO', subject.subjectKey!)).subjectId).toBe(subject.subjectId);
    expect((await client.subjects.get('DEMO', subject.subjectId!)).subjectKey).toBe(subject.subjectKey);
    expect(new URLSearchParams(api.requests.at(-1)!.search).get('filter')).toBe(
      `subjectId==${subject.subjectId}`,
    );
  });

  it('throws NotFoundError when nothing matches', async () => {
    const error = await mock
      .client()
      .forms.get('DEMO', 987654)
      .catch((e) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(isNotFoundError(error)).toBe(true);
    expect(error.message).toContain('987654');
  });

  it('never names a subject key it could not find', async () => {
    const error = await mock
      .client()
      .subjects.get('DEMO', 'ZZ-404')
      .catch((e) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).not.toContain('ZZ-404');
  });

  it('refuses the wrong item when the server ignores the filter', async () => {
    // The mock behind a fetch that drops the filter: every listing answers from the first item.
    const ignoreFilter: typeof fetch = (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      url.searchParams.delete('filter');
      return fetch(new Request(url, request));
    };
    const client = mock.client({ fetch: ignoreFilter });
    const subject = study.subjects[4]!;
    const attempts = [
      client.sites.get('DEMO', study.sites[2]!.siteId!),
      client.subjects.get('DEMO', subject.subjectKey!),
      client.subjects.get('DEMO', subject.subjectId!),
      client.records.get('DEMO', study.records.at(17)!.recordId),
      client.studies.get('OTHER'),
    ];
    for (const attempt of attempts) {
      const error = await attempt.catch((e) => e);
      expect(error).toBeInstanceOf(ResponseValidationError);
      expect(error.message).toMatch(/another \w+ than the one asked for/);
      expect(error.message).not.toContain(subject.subjectKey!);
    }
  });

  it('finds users by walking the listing, since the API cannot filter users', async () => {
    const client = mock.client();
    const user = study.users.at(-1)!;
    expect((await client.users.get('DEMO', user.userId!)).login).toBe(user.login);
    await expect(client.users.get('DEMO', 'no-such-user')).rejects.toBeInstanceOf(NotFoundError);
    expect(api.requests.every((r) => !new URLSearchParams(r.search).has('filter'))).toBe(true);
  });
});

describe('users', () => {
  it('passes includeInactive and refuses a filter', async () => {
    const client = mock.client();
    const active = await client.users.list('DEMO').toArray();
    const all = await client.users.list('DEMO', { includeInactive: true }).toArray();
    expect(all.length).toBeGreaterThanOrEqual(active.length);
    expect(new URLSearchParams(api.requests.at(-1)!.search).get('includeInactive')).toBe('true');
    expect(() => client.users.list('DEMO', { filter: { login: 'x' } } as never)).toThrow(/no filter/);
  });

  it('keeps role dates as the API sends them: 7-integer arrays', async () => {
    const [user] = await mock
      .client()
      .users.list('DEMO', { pageSize: 1 })
      .pages()
      .next()
      .then((r) => r.value!.items);
    expect(Array.isArray(user!.roles![0]!.dateCreated)).toBe(true);
    expect(user!.roles![0]!.dateCreated).toHaveLength(7);
  });
});
