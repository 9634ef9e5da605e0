import { describe, expect, it } from 'vitest';
import { ConfigurationError, NotFoundError } from '../../../src/core/errors.js';
import type { Query } from '../../../src/endpoints/queries.js';
import {
  openQueries,
  type QueryState,
  type QueryStatus,
  queryAgeDays,
  queryCounts,
  queryState,
  siteQueries,
  subjectQueries,
} from '../../../src/plugins/workflows/queries.js';
import type { ApiQuery, ApiSite } from '../../../src/testing/index.js';
import { useMockApi } from '../support.js';

const mock = useMockApi({ records: 2000, subjects: 50 });
const { api, study } = mock;

// The live API does not promise the order of a query's comments; serve every thread newest first,
// and add two queries with no comment, so that every state goes through the mock. The fake study
// has no mutation API for queries, so its own list is changed here, before any request is made.
const served = study.queries as ApiQuery[];
const reversed = served.filter((q) => (q.queryComments?.length ?? 0) >= 2);
for (const q of reversed) q.queryComments!.reverse();
const lastId = Math.max(...served.map((q) => q.annotationId));
served.push(
  { ...served[0]!, annotationId: lastId + 1, queryComments: [] },
  // The live API may send null where the fake study's type says an array.
  { ...served[1]!, annotationId: lastId + 2, queryComments: null } as unknown as ApiQuery,
);

// And a site nobody is enrolled at yet, to tell an empty site from an unknown one.
const emptySite = { ...study.sites[0]!, siteId: 990, siteName: 'Empty Research Site' };
(study.sites as ApiSite[]).push(emptySite);

const NOW = new Date('2025-03-01T12:00:00Z');
const DAY = 86_400_000;
const instant = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

/** The plain computation every workflow is held to: the latest comment is the highest sequence. */
function expected(q: ApiQuery): { id: number; state: QueryState; ageDays: number } {
  const thread = [...(q.queryComments ?? [])].sort((a, b) => a.sequence! - b.sequence!);
  const latest = thread[thread.length - 1];
  const state: QueryState = !latest
    ? 'no-comments'
    : latest.closed
      ? 'closed'
      : latest.annotationStatus === 'Query Answered'
        ? 'answered'
        : 'open';
  const end = state === 'closed' ? instant(latest!.date!) : NOW.getTime();
  return { id: q.annotationId, state, ageDays: Math.floor((end - instant(q.dateCreated)) / DAY) };
}

const seen = (items: QueryStatus[]) =>
  items.map((s) => ({ id: s.query.annotationId, state: s.state, ageDays: s.ageDays }));

async function collect(stream: AsyncIterable<QueryStatus>): Promise<QueryStatus[]> {
  const out: QueryStatus[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

const filters = (path: string) =>
  api.requests.filter((r) => r.path.endsWith(path)).map((r) => new URLSearchParams(r.search).get('filter'));

describe('the generated study', () => {
  it('holds queries in every state, some of them with comments out of sequence order', () => {
    const states = new Set(served.map((q) => expected(q).state));
    // If this fails, the generator's mix of queries changed: pick a size or seed that has them all.
    expect([...states].sort()).toEqual(['answered', 'closed', 'no-comments', 'open']);
    const outOfOrder = reversed.filter((q) => q.queryComments![0]!.sequence! > 1);
    expect(outOfOrder.length).toBeGreaterThan(5);
    // Reversed threads whose first-listed comment would give another state than the latest one.
    const misleading = outOfOrder.filter((q) => {
      const first = q.queryComments![0]!;
      const last = q.queryComments![q.queryComments!.length - 1]!;
      return first.closed !== last.closed || first.annotationStatus !== last.annotationStatus;
    });
    expect(misleading.length).toBeGreaterThan(0);
  });
});

describe('queryState and queryAgeDays', () => {
  const base: Query = {
    studyKey: 'DEMO',
    annotationId: 1,
    dateCreated: '2025-01-01 08:00:00',
    dateModified: '2025-01-03 08:00:00',
  };
  const comment = (sequence: number | null, status: string, closed: boolean, date: string | null) => ({
    sequence,
    annotationStatus: status,
    closed,
    date,
  });

  it('decides by the highest sequence, wherever it sits in the array', () => {
    const thread = [
      comment(2, 'Query Answered', false, '2025-01-02 08:00:00'),
      comment(3, 'Query Closed', true, '2025-01-05 20:00:00'),
      comment(1, 'Query Open', false, '2025-01-01 08:00:00'),
    ];
    expect(queryState({ ...base, queryComments: thread })).toBe('closed');
    expect(queryState({ ...base, queryComments: [thread[2]!, thread[0]!] })).toBe('answered');
    expect(queryState({ ...base, queryComments: [thread[0]!, thread[2]!] })).toBe('answered');
    expect(queryState({ ...base, queryComments: [thread[2]!] })).toBe('open');
    // Closed at the latest comment's date, 4.5 days after creation, whatever `now` is.
    expect(queryAgeDays({ ...base, queryComments: thread }, new Date('2030-01-01T00:00:00Z'))).toBe(4);
  });

  it('reads answered in any case and takes closed only from the flag', () => {
    const q = (c: ReturnType<typeof comment>) => ({ ...base, queryComments: [c] });
    expect(queryState(q(comment(1, 'QUERY ANSWERED', false, null)))).toBe('answered');
    expect(queryState(q(comment(1, 'query answered', false, null)))).toBe('answered');
    expect(queryState(q(comment(1, 'Query Open', false, null)))).toBe('open');
    expect(queryState(q(comment(1, 'Query Answered', true, null)))).toBe('closed');
  });

  it('says no-comments for an absent, null or empty thread', () => {
    expect(queryState(base)).toBe('no-comments');
    expect(queryState({ ...base, queryComments: null })).toBe('no-comments');
    expect(queryState({ ...base, queryComments: [] })).toBe('no-comments');
  });

  it('falls back to the array order only when no comment has a sequence', () => {
    const thread = [comment(null, 'Query Closed', true, null), comment(null, 'Query Answered', false, null)];
    expect(queryState({ ...base, queryComments: thread })).toBe('answered');
  });

  it('counts whole days to now while open, and answers undefined rather than a made-up age', () => {
    const open = { ...base, queryComments: [comment(1, 'Query Open', false, '2025-01-01 08:00:00')] };
    expect(queryAgeDays(open, new Date('2025-01-11T07:59:59Z'))).toBe(9);
    expect(queryAgeDays(open, new Date('2025-01-11T08:00:00Z'))).toBe(10);
    expect(queryAgeDays({ ...open, dateCreated: 'yesterday' }, NOW)).toBeUndefined();
    const closedNoDate = { ...base, queryComments: [comment(1, 'Query Closed', true, null)] };
    expect(queryAgeDays(closedNoDate, NOW)).toBeUndefined();
    const closedBadDate = {
      ...base,
      queryComments: [comment(1, 'Query Closed', true, '2025-02-31 00:00:00')],
    };
    expect(queryAgeDays(closedBadDate, NOW)).toBeUndefined();
  });
});

describe('openQueries', () => {
  it('streams the open and answered queries with their states and ages, the query untouched', async () => {
    const got = await collect(openQueries(mock.client(), 'DEMO', { now: NOW, pageSize: 20 }));
    const want = served.map(expected).filter((e) => e.state === 'open' || e.state === 'answered');
    expect(seen(got)).toEqual(want);
    expect(new Set(want.map((e) => e.state))).toEqual(new Set(['open', 'answered']));
    const first = got[0]!;
    const source = served.find((q) => q.annotationId === first.query.annotationId)!;
    expect(first.query).toEqual(source);
    expect(first.latest).toEqual([...source.queryComments!].sort((a, b) => b.sequence! - a.sequence!)[0]);
    // One pass over the study's queries, no filter of the workflow's own.
    expect(filters('/queries')).toEqual(Array(Math.ceil(served.length / 20)).fill(null));
  });

  it('passes a server-side filter on', async () => {
    const since = '2024-01-01 00:00:00';
    const got = await collect(
      openQueries(mock.client(), 'DEMO', {
        now: NOW,
        filter: { dateCreated: { gte: new Date(`${since}Z`) } },
      }),
    );
    const want = served
      .filter((q) => q.dateCreated >= since)
      .map(expected)
      .filter((e) => e.state === 'open' || e.state === 'answered');
    expect(want.length).toBeGreaterThan(0);
    expect(seen(got)).toEqual(want);
    expect(filters('/queries')).toEqual([`dateCreated>="${since}"`]);
  });

  it('refuses an invalid now before sending anything', async () => {
    await expect(collect(openQueries(mock.client(), 'DEMO', { now: new Date('nope') }))).rejects.toThrow(
      ConfigurationError,
    );
    expect(api.requests).toHaveLength(0);
  });
});

describe('subjectQueries', () => {
  const subjectKey = served[0]!.subjectKey!;

  it('streams one subject’s queries in every state, filtered by the server', async () => {
    const got = await collect(subjectQueries(mock.client(), 'DEMO', subjectKey, { now: NOW }));
    const want = served.filter((q) => q.subjectKey === subjectKey).map(expected);
    expect(want.length).toBeGreaterThan(1);
    expect(seen(got)).toEqual(want);
    expect(filters('/queries')).toEqual([`subjectKey==${subjectKey}`]);
  });

  it('ANDs an object filter to the subject key and refuses one that names the subject again', async () => {
    const type = served.find((q) => q.subjectKey === subjectKey)!.annotationType!;
    const got = await collect(
      subjectQueries(mock.client(), 'DEMO', subjectKey, { now: NOW, filter: { annotationType: type } }),
    );
    expect(seen(got)).toEqual(
      served.filter((q) => q.subjectKey === subjectKey && q.annotationType === type).map(expected),
    );
    expect(filters('/queries')).toEqual([`annotationType==${type};subjectKey==${subjectKey}`]);
    const again = { filter: { subjectKey: 'other' } } as never;
    await expect(collect(subjectQueries(mock.client(), 'DEMO', subjectKey, again))).rejects.toThrow(
      ConfigurationError,
    );
  });
});

describe('siteQueries', () => {
  const site = study.sites.find((s) => study.subjects.filter((x) => x.siteId === s.siteId).length > 3)!;
  const keys = new Set(study.subjects.filter((s) => s.siteId === site.siteId).map((s) => s.subjectKey));
  const want = () => served.filter((q) => keys.has(q.subjectKey!)).map(expected);
  const terms = (filter: string | null) => (filter === null ? 0 : filter.split(/[;,]/).length);

  it('by name: one sites lookup, one subjects listing and one pass over the queries, no long filter', async () => {
    const got = await collect(
      siteQueries(mock.client(), 'DEMO', { siteName: site.siteName! }, { now: NOW, pageSize: 25 }),
    );
    expect(want().length).toBeGreaterThan(1);
    expect(want().length).toBeLessThan(served.length);
    expect(seen(got)).toEqual(want());
    expect(api.requests.every((r) => terms(new URLSearchParams(r.search).get('filter')) <= 2)).toBe(true);
    expect(filters('/sites')).toHaveLength(1);
    expect(filters('/subjects')).toEqual([`siteId==${site.siteId}`]);
    expect(filters('/queries')).toEqual(Array(Math.ceil(served.length / 25)).fill(null));
  });

  it('by id: the subjects listing and the queries, nothing else', async () => {
    const got = await collect(siteQueries(mock.client(), 'DEMO', { siteId: site.siteId! }, { now: NOW }));
    expect(seen(got)).toEqual(want());
    expect(api.requests.map((r) => r.path.split('/').pop())).toEqual(['subjects', 'queries']);
  });

  it('throws NotFoundError for a site that does not exist, by name or by id, and lists no query', async () => {
    await expect(collect(siteQueries(mock.client(), 'DEMO', { siteName: 'No Such Site' }))).rejects.toThrow(
      NotFoundError,
    );
    await expect(collect(siteQueries(mock.client(), 'DEMO', { siteId: 999_999 }))).rejects.toThrow(
      NotFoundError,
    );
    expect(filters('/queries')).toHaveLength(0);
  });

  it('answers nothing for an existing site with no subjects, without listing the queries', async () => {
    expect(await collect(siteQueries(mock.client(), 'DEMO', { siteId: emptySite.siteId }))).toEqual([]);
    expect(api.requests.map((r) => r.path.split('/').pop())).toEqual(['subjects', 'sites']);
    api.reset();
    expect(await collect(siteQueries(mock.client(), 'DEMO', { siteName: emptySite.siteName }))).toEqual([]);
    expect(api.requests.map((r) => r.path.split('/').pop())).toEqual(['sites', 'subjects']);
  });

  it('refuses a site given both by id and by name before sending anything', async () => {
    const both = { siteId: site.siteId!, siteName: site.siteName! } as never;
    await expect(collect(siteQueries(mock.client(), 'DEMO', both))).rejects.toThrow(ConfigurationError);
    expect(api.requests).toHaveLength(0);
  });
});

describe('queryCounts', () => {
  it('counts every state in one streamed pass, adding up to the total', async () => {
    const counts = await queryCounts(mock.client(), 'DEMO', { pageSize: 30 });
    const states = served.map((q) => expected(q).state);
    const n = (s: QueryState) => states.filter((x) => x === s).length;
    expect(counts).toEqual({
      open: n('open'),
      answered: n('answered'),
      closed: n('closed'),
      noComments: n('no-comments'),
      total: served.length,
    });
    expect(counts.open + counts.answered + counts.closed + counts.noComments).toBe(counts.total);
    expect(filters('/queries')).toHaveLength(Math.ceil(served.length / 30));
  });
});
