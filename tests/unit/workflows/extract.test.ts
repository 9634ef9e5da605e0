import { describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { workflows } from '../../../src/plugins/workflows/index.js';
import type { ApiRecord } from '../../../src/testing/types.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

const { study, api } = useMockApi({ records: 3000, subjects: 80, sites: 4 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

const all = (): ApiRecord[] => [...study.records];
const ids = (records: readonly { recordId: number }[]) => records.map((r) => r.recordId);
const filters = () =>
  api.requests
    .filter((r) => r.path.endsWith('/records'))
    .map((r) => new URLSearchParams(r.search).get('filter'));

describe('client.workflows.records (records by criteria)', () => {
  it('with no criteria gives every record, in recordId order', async () => {
    const got = await client().workflows.records('DEMO').toArray();
    expect(ids(got)).toEqual(ids(all()));
  });

  it('site by name, interval by name and form go to the server and match a plain filter over the study', async () => {
    // A site and an interval that do hold some of these forms' records.
    const sample = all().find((r) => r.formKey === 'VS' && r.siteId === study.sites[1]!.siteId)!;
    const site = study.sites[1]!;
    const interval = study.intervals.find((i) => i.intervalId === sample.intervalId)!;
    const extraction = client().workflows.records('DEMO', {
      site: site.siteName,
      interval: interval.intervalName,
      form: ['AE', 'VS', 'LB'],
    });
    const plan = await extraction.plan();
    expect(plan.clientSide).toEqual([]);
    const got = await extraction.toArray();
    const expected = all().filter(
      (r) =>
        r.siteId === site.siteId &&
        r.intervalId === interval.intervalId &&
        ['AE', 'VS', 'LB'].includes(r.formKey),
    );
    expect(got.length).toBeGreaterThan(0);
    expect(ids(got)).toEqual(ids(expected));
    // One request per form (the API has no "in"), each filtering site and interval on the server.
    const sent = filters();
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const f of sent) {
      expect(f).toContain(`siteId==${site.siteId}`);
      expect(f).toContain(`intervalId==${interval.intervalId}`);
    }
  });

  it('subject status and visit dates are matched on the client from one listing each', async () => {
    const enrolled = new Set(
      study.subjects.filter((s) => s.subjectStatus === 'Enrolled').map((s) => s.subjectKey),
    );
    const visits = [...study.visits];
    const dated = visits
      .filter((v) => v.visitDate)
      .map((v) => v.visitDate!)
      .sort();
    const from = dated[Math.floor(dated.length / 4)]!;
    const to = dated[Math.floor((dated.length * 3) / 4)]!;
    const inRange = new Set(
      visits.filter((v) => v.visitDate >= from && v.visitDate <= to).map((v) => v.visitId),
    );

    const extraction = client().workflows.records('DEMO', {
      subjectStatus: 'Enrolled',
      visitDate: { from, to },
    });
    expect((await extraction.plan()).clientSide).toEqual(['subjectStatus', 'visitDate']);
    const got = await extraction.toArray();
    const expected = all().filter(
      (r) =>
        r.subjectKey != null && enrolled.has(r.subjectKey) && r.visitId != null && inRange.has(r.visitId),
    );
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(all().length);
    expect(ids(got)).toEqual(ids(expected));
    const subjectFilters = api.requests
      .filter((r) => r.path.endsWith('/subjects'))
      .map((r) => new URLSearchParams(r.search).get('filter'));
    expect(subjectFilters.every((f) => f === 'subjectStatus==Enrolled')).toBe(true);
  });

  it('a date range sends one bound (the API takes an attribute once) and checks the other here, both inclusive', async () => {
    const modified = all()
      .map((r) => r.dateModified)
      .sort();
    const from = modified[100]!;
    const to = modified[modified.length - 100]!;
    const extraction = client().workflows.records('DEMO', { dateModified: { from, to } });
    const got = await extraction.toArray();
    expect(ids(got)).toEqual(ids(all().filter((r) => r.dateModified >= from && r.dateModified <= to)));
    // The records exactly at either bound are in.
    expect(got.some((r) => r.dateModified === from)).toBe(true);
    expect(got.some((r) => r.dateModified === to)).toBe(true);
    expect(filters().every((f) => f === `dateModified>="${from}"`)).toBe(true);
  });

  it('record status, subject key lists and recordData filters go to the server', async () => {
    const subjects = study.subjects.slice(0, 3).map((s) => s.subjectKey);
    const got = await client()
      .workflows.records('DEMO', {
        subjectKey: subjects,
        form: 'VS',
        recordData: { vsperf: '1' },
        deleted: false,
      })
      .toArray();
    const expected = all().filter(
      (r) =>
        subjects.includes(r.subjectKey!) &&
        r.formKey === 'VS' &&
        r.deleted === false &&
        (r.recordData as { vsperf?: unknown }).vsperf === '1',
    );
    expect(ids(got)).toEqual(ids(expected));
    const dataFilters = api.requests
      .filter((r) => r.path.endsWith('/records'))
      .map((r) => new URLSearchParams(r.search).get('recordDataFilter'));
    expect(dataFilters.every((f) => f === 'vsperf==1')).toBe(true);
  });

  it('lists that would multiply past 16 requests are matched on the client instead', async () => {
    const sites = study.sites.map((s) => s.siteId);
    const forms = study.forms.map((f) => f.formKey);
    const extraction = client().workflows.records('DEMO', { site: sites, form: forms });
    const plan = await extraction.plan();
    expect(plan.clientSide).toEqual(['formKey']);
    const got = await extraction.toArray();
    expect(ids(got)).toEqual(
      ids(all().filter((r) => sites.includes(r.siteId!) && forms.includes(r.formKey))),
    );
    expect(filters().length).toBeLessThanOrEqual(16 * 2);
  });

  it('refuses bad criteria before any request', async () => {
    const wf = client().workflows;
    expect(() => wf.records('DEMO', { dateCreated: { from: 'yesterday' } })).toThrow(ConfigurationError);
    expect(() => wf.records('DEMO', { dateCreated: { from: '2025-02-01', to: '2025-01-01' } })).toThrow(
      /from is after to/,
    );
    expect(() => wf.records('DEMO', { color: 'red' } as never)).toThrow(/unknown criterion "color"/);
    await expect(wf.records('DEMO', { site: 'Nowhere Clinic' }).toArray()).rejects.toThrow(
      /No site named "Nowhere Clinic"/,
    );
    await expect(wf.records('DEMO', { form: [] }).toArray()).rejects.toThrow(/empty list/);
    expect(filters()).toEqual([]);
  });

  it('count() answers from one small request per server listing: exact when the server applies every criterion', async () => {
    const wf = client().workflows;
    const forms = ['AE', 'VS'];
    const exact = await wf.records('DEMO', { form: forms, deleted: false }).count();
    expect(exact).toEqual({
      records: all().filter((r) => forms.includes(r.formKey) && !r.deleted).length,
      exact: true,
    });
    // Two forms are two listings of one record each; nothing else is asked for.
    const sent = api.requests.filter((r) => r.path.endsWith('/records'));
    expect(sent).toHaveLength(2);
    expect(sent.every((r) => new URLSearchParams(r.search).get('size') === '1')).toBe(true);
    // Subject status is matched on the client: the server's count is an upper bound.
    const bound = await wf.records('DEMO', { form: 'AE', subjectStatus: 'Enrolled' }).count();
    const matched = await wf.records('DEMO', { form: 'AE', subjectStatus: 'Enrolled' }).toArray();
    expect(bound.exact).toBe(false);
    expect(bound.records).toBe(all().filter((r) => r.formKey === 'AE').length);
    expect(bound.records).toBeGreaterThan(matched.length);
  });

  it('an early break stops the listing', async () => {
    let seen = 0;
    for await (const _ of client().workflows.records('DEMO', {}, { pageSize: 100, concurrency: 1 })) {
      if (++seen === 10) break;
    }
    // Page 0, and at most the pool's window beyond it.
    expect(filters().length).toBeLessThanOrEqual(1 + 4 * 2);
  });
});
