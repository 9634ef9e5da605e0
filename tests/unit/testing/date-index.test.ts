import { describe, expect, it } from 'vitest';
import { matchesFilter, parseFilter } from '../../../src/testing/filter.js';
import { dateLowerBound } from '../../../src/testing/listing.js';
import type { FakeStudy } from '../../../src/testing/study.js';
import { call, listPath, setup } from './helpers.js';

// Date-filtered listings (what an incremental sync sends) read only the records and revisions that
// can match. These tests compare every such answer with a plain filter over the whole study.

type Api = ReturnType<typeof setup>['api'];

async function listAll(api: Api, resource: string, params: Record<string, string>): Promise<unknown[]> {
  const items: unknown[] = [];
  for (let page = 0; ; page++) {
    const answer = await call(api, listPath(resource, { ...params, size: 500, page }));
    expect(answer.status).toBe(200);
    items.push(...answer.body.data);
    if (page + 1 >= answer.body.pagination.totalPages) return items;
  }
}

function bruteForce(items: Iterable<object>, filter: string): unknown[] {
  const expression = parseFilter(filter);
  return [...items].filter((item) => matchesFilter(expression, item as Record<string, unknown>));
}

// A study changed every way the mock allows, some changes stamped inside the generated timeline.
function mutatedStudy(): { study: FakeStudy; api: Api } {
  const { study, api } = setup({ records: 4000, subjects: 40 });
  const last = study.records.at(study.records.length - 1)!;
  const middle = study.records.at(2000)!;
  study.setNow(middle.dateCreated);
  study.updateRecord(3, { recordStatus: 'Record Verified' });
  study.deleteRecord(7, { hard: true });
  study.deleteRecord(2500, { hard: true });
  study.setNow('2030-01-01 00:00:00');
  study.updateRecord(11, { recordData: { note: 'changed' } });
  study.updateRecord(3999, { recordStatus: 'Record Locked' });
  study.deleteRecord(12);
  const added = study.addRecord({ formKey: last.formKey, subjectKey: last.subjectKey });
  study.addRecord({ formKey: last.formKey, subjectKey: last.subjectKey });
  study.deleteRecord(added.recordId, { hard: true });
  study.deleteRecord(3000, { hard: true });
  return { study, api };
}

describe('date-filtered listings of the mock', () => {
  it('answer exactly what a full scan would, for records and their revisions', async () => {
    const { study, api } = mutatedStudy();
    const stamps = [
      '2000-01-01 00:00:00',
      study.records.at(0)!.dateCreated,
      study.records.at(1000)!.dateModified,
      study.records.at(1999)!.dateCreated,
      study.records.at(3990)!.dateModified,
      '2029-12-31 23:59:59',
      '2030-01-01 00:00:00',
      '2031-01-01 00:00:00',
    ];
    let compared = 0;
    for (const at of stamps) {
      for (const filter of [
        `dateModified>="${at}"`,
        `dateModified>"${at}"`,
        `dateCreated>="${at}"`,
        `dateModified>="${at}";recordStatus=="Record Verified"`,
        `dateModified>="${at}",recordId==5`,
        `dateModified=="${at}"`,
      ]) {
        const listed = await listAll(api, 'records', { filter });
        expect(listed, filter).toEqual(bruteForce(study.records, filter));
        compared++;
      }
      const revisionFilter = `dateCreated>="${at}"`;
      const revisions = await listAll(api, 'recordRevisions', { filter: revisionFilter });
      expect(revisions, revisionFilter).toEqual(bruteForce(study.recordRevisions, revisionFilter));
      const sorted = await listAll(api, 'records', {
        filter: `dateModified>="${at}"`,
        sort: 'dateModified,desc',
      });
      expect(sorted.length).toBe(bruteForce(study.records, `dateModified>="${at}"`).length);
      compared += 2;
    }
    expect(compared).toBe(stamps.length * 8);
  });

  it('reads only the tail of the study for a recent bound', () => {
    const { study } = mutatedStudy();
    const late = study.records.at(3990)!.dateModified;
    const since = dateLowerBound(parseFilter(`dateModified>="${late}"`), ['dateModified']);
    expect(since).toBeDefined();
    const records = [...study.records.touchedSince(since!)];
    // The tail after the bound (a little more than 14 days of records), plus the changed early ones.
    expect(records.length).toBeLessThan(study.records.length / 10);
    expect(records).toEqual([...records].sort((a, b) => a - b));
    const revisions = [...study.recordRevisions.touchedSince(since!)];
    expect(revisions.length).toBeLessThan(study.recordRevisions.length / 10);
  });

  it('finds no bound when a branch of the filter has none, or the value is not a date', () => {
    expect(dateLowerBound(parseFilter('dateModified>="2024-01-01",recordId==5'), ['dateModified'])).toBe(
      undefined,
    );
    expect(dateLowerBound(parseFilter('dateModified<="2024-01-01"'), ['dateModified'])).toBe(undefined);
    expect(dateLowerBound(parseFilter('dateModified>=yesterday'), ['dateModified'])).toBe(undefined);
    expect(dateLowerBound(parseFilter('dateModified>="2024-03-05 10:00:00"'), ['dateModified'])).toBe(
      Date.UTC(2024, 2, 5),
    );
    expect(
      dateLowerBound(parseFilter('dateCreated>="2024-03-05",dateModified>"2024-01-02 00:00:01"'), [
        'dateCreated',
        'dateModified',
      ]),
    ).toBe(Date.UTC(2024, 0, 2));
  });
});
