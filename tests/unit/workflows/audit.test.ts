import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { RecordRevision } from '../../../src/endpoints/record-revisions.js';
import { auditTrail } from '../../../src/plugins/workflows/audit.js';
import type { ApiRecordRevision } from '../../../src/testing/index.js';
import { useMockApi } from '../support.js';

const mock = useMockApi({ records: 1500, subjects: 40 });
const { api, study } = mock;

// The fake study's revisions are a lazy list: read them once, in the audit trail's order (oldest
// first, then by id), to hold the workflow to a plain filter.
const chronological = (a: ApiRecordRevision, b: ApiRecordRevision) =>
  a.dateCreated < b.dateCreated
    ? -1
    : a.dateCreated > b.dateCreated
      ? 1
      : a.recordRevisionId - b.recordRevisionId;
const all = [...study.recordRevisions].sort(chronological);
const ids = (items: readonly { recordRevisionId: number }[]) => items.map((r) => r.recordRevisionId);

async function trail(
  options: Parameters<typeof auditTrail>[2],
  clientOptions = {},
): Promise<RecordRevision[]> {
  const out: RecordRevision[] = [];
  for await (const revision of auditTrail(mock.client(clientOptions), 'DEMO', options)) out.push(revision);
  return out;
}

const sent = () =>
  api.requests
    .filter((r) => r.path.endsWith('/recordRevisions'))
    .map((r) => new URLSearchParams(r.search))
    .map((p) => ({ filter: p.get('filter'), sort: p.getAll('sort') }));

describe('auditTrail', () => {
  // Bounds taken from revisions themselves, so that one revision sits exactly on each.
  const from = all[300]!.dateCreated;
  const to = all[700]!.dateCreated;
  const inWindow = (r: ApiRecordRevision) => r.dateCreated >= from && r.dateCreated <= to;

  it('takes in revisions made exactly at from and exactly at to, oldest first', async () => {
    const got = await trail({ from, to, pageSize: 50 }, { concurrency: 2, maxConcurrency: 2 });
    const want = all.filter(inWindow);
    expect(ids(got)).toEqual(ids(want));
    expect(got[0]!.dateCreated).toBe(from);
    expect(got[got.length - 1]!.dateCreated).toBe(to);
    const requests = sent();
    // The API allows dateCreated once per filter: `from` goes to the server, and the sort by time lets
    // the stream stop after `to` instead of reading every later revision.
    expect(requests[0]).toEqual({
      filter: `dateCreated>="${from}"`,
      sort: ['dateCreated,asc', 'recordRevisionId,asc'],
    });
    const pagesFromOn = Math.ceil(all.filter((r) => r.dateCreated >= from).length / 50);
    expect(requests.length).toBeLessThan(pagesFromOn / 2);
  });

  it('sends <= to the server when only to is given', async () => {
    const got = await trail({ to });
    expect(ids(got)).toEqual(ids(all.filter((r) => r.dateCreated <= to)));
    expect(sent()[0]!.filter).toBe(`dateCreated<="${to}"`);
  });

  it('sends >= to the server when only from is given', async () => {
    const got = await trail({ from: new Date(`${from.replace(' ', 'T')}Z`) });
    expect(ids(got)).toEqual(ids(all.filter((r) => r.dateCreated >= from)));
    expect(sent()[0]!.filter).toBe(`dateCreated>="${from}"`);
  });

  it('narrows by user on the server', async () => {
    const user = all[0]!.user!;
    const got = await trail({ user, from, to });
    const want = all.filter((r) => r.user === user && inWindow(r));
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(all.filter(inWindow).length);
    expect(ids(got)).toEqual(ids(want));
    expect(sent()[0]!.filter).toBe(`dateCreated>="${from}";user==${user}`);
  });

  it('narrows by record, subject and form on the server', async () => {
    const recordId = all.find((r) => r.recordRevision === 3)!.recordId;
    expect(ids(await trail({ recordId }))).toEqual(ids(all.filter((r) => r.recordId === recordId)));
    expect(sent()[0]!.filter).toBe(`recordId==${recordId}`);

    const { subjectKey, formKey } = all[0]!;
    api.reset();
    const got = await trail({ subjectKey: subjectKey!, formKey: formKey! });
    const want = all.filter((r) => r.subjectKey === subjectKey && r.formKey === formKey);
    expect(want.length).toBeGreaterThan(0);
    expect(ids(got)).toEqual(ids(want));
    expect(sent()[0]!.filter).toBe(`subjectKey==${subjectKey};formKey==${formKey}`);
  });

  it('reads ISO dates: a day alone as `to` covers that whole day, an offset is honoured', async () => {
    const day = to.slice(0, 10);
    const got = await trail({ from, to: day });
    expect(ids(got)).toEqual(
      ids(all.filter((r) => r.dateCreated >= from && r.dateCreated.slice(0, 10) <= day)),
    );
    expect(got.some((r) => r.dateCreated > to)).toBe(true);

    // 10:00 at +02:00 is 08:00 UTC, as the API writes it.
    api.reset();
    const utc = new Date(`${from.replace(' ', 'T')}Z`);
    const shifted = new Date(utc.getTime() + 2 * 3_600_000).toISOString().slice(0, 19);
    await trail({ from: `${shifted}+02:00`, to });
    expect(sent()[0]!.filter).toBe(`dateCreated>="${from}"`);
  });

  it('refuses from after to, and strings that are not dates, before sending anything', async () => {
    await expect(trail({ from: to, to: from })).rejects.toThrow(ConfigurationError);
    for (const bad of ['yesterday', '2025-13-01', '01/02/2025', '2025-02-30 10:00:00', '']) {
      await expect(trail({ from: bad })).rejects.toThrow(ConfigurationError);
    }
    await expect(trail({ to: new Date('nope') })).rejects.toThrow(ConfigurationError);
    await expect(trail({ recordId: 1.5 })).rejects.toThrow(ConfigurationError);
    expect(api.requests).toHaveLength(0);
  });
});
