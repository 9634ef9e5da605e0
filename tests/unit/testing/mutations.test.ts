import { describe, expect, it } from 'vitest';
import { call, listPath, setup } from './helpers.js';

const NOW = '2025-03-01 12:00:00';

async function revisionsOf(api: Parameters<typeof call>[0], recordId: number) {
  const answer = await call(api, listPath('recordRevisions', { filter: `recordId==${recordId}`, size: 500 }));
  return answer.body.data as {
    recordRevision: number;
    dataRevision: number;
    deleted: boolean;
    dateCreated: string;
  }[];
}

describe('study mutations', () => {
  it('updateRecord merges values, stamps the clock and adds a revision', async () => {
    const { study, api } = setup();
    study.setNow(NOW);
    expect(study.now()).toBe(NOW);
    const before = study.getRecord(10)!;
    const revisionsBefore = await revisionsOf(api, 10);
    const firstKey = Object.keys(before.recordData)[0];

    const updated = study.updateRecord(10, { recordData: { extra: 'x' }, recordStatus: 'Record Verified' });
    expect(updated.dateModified).toBe(NOW);
    expect(updated.recordStatus).toBe('Record Verified');
    expect(updated.recordData.extra).toBe('x');
    if (firstKey) expect(updated.recordData[firstKey]).toEqual(before.recordData[firstKey]);

    const listed = await call(api, listPath('records', { filter: 'recordId==10' }));
    expect(listed.body.data[0]).toEqual(updated);
    const changed = await call(api, listPath('records', { filter: `dateModified>="${NOW}"` }));
    expect(changed.body.data.map((r: { recordId: number }) => r.recordId)).toEqual([10]);

    const revisionsAfter = await revisionsOf(api, 10);
    expect(revisionsAfter).toHaveLength(revisionsBefore.length + 1);
    const last = revisionsAfter.at(-1)!;
    expect(last.recordRevision).toBe(revisionsBefore.at(-1)!.recordRevision + 1);
    expect(last.dateCreated).toBe(NOW);
    expect(() => study.updateRecord(999_999, {})).toThrow(RangeError);
  });

  it('addRecord appends a record with revision 1 after every existing id', async () => {
    const { study, api } = setup();
    study.setNow(new Date(Date.UTC(2025, 2, 2)));
    const subject = study.subjects[2]!;
    const record = study.addRecord({
      formKey: 'AE',
      subjectKey: subject.subjectKey,
      recordData: { aeterm: 'Cough' },
    });
    expect(record.recordId).toBe(301);
    expect(record.dateCreated).toBe('2025-03-02 00:00:00');
    expect(record.siteId).toBe(subject.siteId);
    expect(study.counts.records).toBe(301);
    const listed = await call(api, listPath('records', { sort: 'recordId,desc', size: 1 }));
    expect(listed.body.data[0]).toEqual(record);
    const revisions = await revisionsOf(api, 301);
    expect(revisions.map((r) => r.recordRevision)).toEqual([1]);
    expect(() => study.addRecord({ formKey: 'NOPE', subjectKey: subject.subjectKey })).toThrow(RangeError);
    expect(() => study.addRecord({ formKey: 'AE', subjectKey: 'nobody' })).toThrow(RangeError);
  });

  it('soft delete keeps the record flagged deleted, with a deleted revision', async () => {
    const { study, api } = setup();
    study.setNow(NOW);
    expect(study.deleteRecord(20)).toBe(true);
    const listed = await call(api, listPath('records', { filter: 'recordId==20' }));
    expect(listed.body.data[0]).toMatchObject({ recordId: 20, deleted: true, dateModified: NOW });
    expect((await revisionsOf(api, 20)).at(-1)).toMatchObject({ deleted: true, dateCreated: NOW });
    expect(study.counts.records).toBe(300);
  });

  it('hard delete removes the record from listings but keeps a deleted revision', async () => {
    const { study, api } = setup();
    study.setNow(NOW);
    expect(study.deleteRecord(2, { hard: true })).toBe(true);
    expect(study.deleteRecord(2, { hard: true })).toBe(false);
    expect(study.getRecord(2)).toBeUndefined();
    expect(study.counts.records).toBe(299);

    const page = await call(api, listPath('records', { size: 3 }));
    expect(page.body.data.map((r: { recordId: number }) => r.recordId)).toEqual([1, 3, 4]);
    expect(page.body.pagination.totalElements).toBe(299);
    const filtered = await call(api, listPath('records', { filter: 'recordId<=3' }));
    expect(filtered.body.data.map((r: { recordId: number }) => r.recordId)).toEqual([1, 3]);
    expect((await revisionsOf(api, 2)).at(-1)).toMatchObject({ deleted: true, dateCreated: NOW });

    // Hard-deleting an added record, and paging across the gap.
    const added = study.addRecord({ formKey: 'VS', subjectId: 1 });
    study.deleteRecord(5, { hard: true });
    const tail = await call(api, listPath('records', { size: 100, page: 2 }));
    expect(tail.body.data.at(-1).recordId).toBe(added.recordId);
    expect(tail.body.pagination.totalElements).toBe(299);
    study.deleteRecord(added.recordId, { hard: true });
    expect(study.counts.records).toBe(298);
  });

  it('registers subjects with visits', async () => {
    const { study, api } = setup();
    const site = study.sites[1]!;
    const subject = study.registerSubject({ siteName: site.siteName });
    expect(subject.subjectId).toBe(21);
    expect(subject.siteId).toBe(site.siteId);
    const visits = await call(api, listPath('visits', { filter: `subjectId==${subject.subjectId}` }));
    expect(visits.body.data.length).toBeGreaterThan(0);
    expect(() => study.registerSubject({ siteName: 'Nowhere' })).toThrow(RangeError);
  });
});
