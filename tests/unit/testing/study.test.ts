import { describe, expect, it } from 'vitest';
import { createMockApi, createRandom, VARIABLE_TYPES } from '../../../src/testing/index.js';
import { createFakeStudy, type FakeStudy } from '../../../src/testing/study.js';
import { call, listPath } from './helpers.js';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function snapshot(study: FakeStudy) {
  return JSON.stringify({
    study: study.study,
    sites: study.sites,
    forms: study.forms,
    variables: study.variables,
    intervals: study.intervals,
    subjects: study.subjects,
    users: study.users,
    queries: study.queries,
    codings: study.codings,
    records: [0, 1, 7, study.records.length - 1].map((p) => study.records.at(p)),
    revisions: [0, 3, study.recordRevisions.length - 1].map((p) => study.recordRevisions.at(p)),
    visits: [0, 5].map((p) => study.visits.at(p)),
  });
}

describe('random', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    const r = createRandom(7);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(3, 9);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(9);
    }
    expect(['x', 'y']).toContain(r.pick(['x', 'y']));
    expect(r.chance(0)).toBe(false);
    expect(r.chance(1)).toBe(true);
  });
});

describe('createFakeStudy', () => {
  it('is deterministic per seed', () => {
    expect(snapshot(createFakeStudy({ seed: 9 }))).toBe(snapshot(createFakeStudy({ seed: 9 })));
    expect(snapshot(createFakeStudy({ seed: 9 }))).not.toBe(snapshot(createFakeStudy({ seed: 10 })));
  });

  it('generates item i of a collection the same way whatever was read before', () => {
    const a = createFakeStudy({ seed: 3 });
    const b = createFakeStudy({ seed: 3 });
    for (let p = 0; p < 50; p++) a.records.at(p);
    expect(a.records.at(500)).toEqual(b.records.at(500));
  });

  it('honours the requested sizes', () => {
    const study = createFakeStudy({ sites: 3, subjects: 12, records: 200, queries: 7, codings: 4, users: 5 });
    expect(study.counts).toMatchObject({ sites: 3, subjects: 12, records: 200, queries: 7, users: 5 });
    expect(study.codings.length).toBeLessThanOrEqual(4);
    expect(study.codings.length).toBeGreaterThan(0);
    expect(study.counts.recordRevisions).toBeGreaterThan(200);
    expect(study.counts.visits).toBe(12 * study.intervals.filter((i) => !i.disabled).length);
  });

  it('creates a million-record study quickly and serves its last page quickly', async () => {
    const before = process.memoryUsage().heapUsed;
    let t = performance.now();
    const study = createFakeStudy({ records: 1_000_000, subjects: 2000 });
    expect(performance.now() - t).toBeLessThan(1500);
    expect(study.counts.records).toBe(1_000_000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(80 * 1024 * 1024);

    const api = createMockApi(study);
    t = performance.now();
    const last = await call(api, listPath('records', { size: 500, page: 1999 }));
    expect(performance.now() - t).toBeLessThan(500);
    expect(last.status).toBe(200);
    expect(last.body.data).toHaveLength(500);
    expect(last.body.data[499].recordId).toBe(1_000_000);
    expect(last.body.pagination).toMatchObject({
      totalElements: 1_000_000,
      totalPages: 2000,
      currentPage: 1999,
    });

    t = performance.now();
    const revisions = await call(api, listPath('recordRevisions', { size: 500, page: 4000 }));
    expect(performance.now() - t).toBeLessThan(1500);
    expect(revisions.body.data).toHaveLength(500);
  });

  it('spreads dateModified over time, rising with recordId', () => {
    const study = createFakeStudy({ records: 10_000 });
    const at = (p: number) => study.records.at(p)!.dateModified;
    expect(at(0) < at(5_000)).toBe(true);
    expect(at(5_000) < at(9_999)).toBe(true);
    const tenths = Array.from({ length: 10 }, (_, k) => at(k * 1000 + 500));
    expect([...tenths].sort()).toEqual(tenths);
    for (let p = 0; p < 10_000; p += 97) {
      const r = study.records.at(p)!;
      expect(r.dateCreated).toMatch(TIMESTAMP);
      expect(r.dateModified >= r.dateCreated).toBe(true);
      expect(r.dateModified <= study.now()).toBe(true);
    }
  });

  it('uses every variable type and fills record values by type (string style)', () => {
    const study = createFakeStudy({ records: 2000 });
    const types = new Set(study.variables.map((v) => v.variableType));
    for (const t of VARIABLE_TYPES) expect(types).toContain(t);

    const typeOf = new Map(study.variables.map((v) => [`${v.formKey}.${v.variableName}`, v.variableType]));
    let blanks = 0;
    let absent = 0;
    for (const record of study.records) {
      const vars = study.variables.filter((v) => v.formId === record.formId && !v.disabled);
      for (const v of vars) {
        if (!(v.variableName in record.recordData)) absent++;
      }
      for (const [name, value] of Object.entries(record.recordData)) {
        expect(typeof value).toBe('string');
        if (value === '') {
          blanks++;
          continue;
        }
        const type = typeOf.get(`${record.formKey}.${name}`);
        if (type === 'NUMBER' || type === 'INTEGER') expect(Number.isFinite(Number(value))).toBe(true);
        if (type === 'INTEGER') expect(value).toMatch(/^-?\d+$/);
        if (type === 'DATE') expect(value).toMatch(DATE);
        if (type === 'DATETIME') expect(value).toMatch(TIMESTAMP);
        if (type === 'TIME') expect(value).toMatch(/^\d{2}:\d{2}$/);
        if (type === 'CHECKBOX') expect(['0', '1']).toContain(value);
      }
    }
    expect(blanks).toBeGreaterThan(0);
    expect(absent).toBeGreaterThan(0);
  });

  it('serves typed values when asked', () => {
    const study = createFakeStudy({ records: 500, valueStyle: 'typed' });
    const typeOf = new Map(study.variables.map((v) => [`${v.formKey}.${v.variableName}`, v.variableType]));
    const seen = new Set<string>();
    for (const record of study.records) {
      for (const [name, value] of Object.entries(record.recordData)) {
        if (value === null) continue;
        const type = typeOf.get(`${record.formKey}.${name}`)!;
        seen.add(`${type}:${typeof value}`);
      }
    }
    expect(seen).toContain('NUMBER:number');
    expect(seen).toContain('INTEGER:number');
    expect(seen).toContain('CHECKBOX:boolean');
    expect(seen).toContain('DATE:string');
  });

  it('keeps records consistent with subjects, forms, intervals and visits', () => {
    const study = createFakeStudy({ records: 500 });
    const subjects = new Map(study.subjects.map((s) => [s.subjectId, s]));
    const forms = new Map(study.forms.map((f) => [f.formId, f]));
    const intervals = new Map(study.intervals.map((i) => [i.intervalId, i]));
    const visits = new Map([...study.visits].map((v) => [v.visitId, v]));
    for (const record of study.records) {
      const subject = subjects.get(record.subjectId)!;
      expect(record.subjectKey).toBe(subject.subjectKey);
      expect(record.siteId).toBe(subject.siteId);
      expect(forms.get(record.formId)!.formKey).toBe(record.formKey);
      const interval = intervals.get(record.intervalId)!;
      expect(interval.forms.map((f) => f.formId)).toContain(record.formId);
      const visit = visits.get(record.visitId)!;
      expect(visit.subjectId).toBe(record.subjectId);
      expect(visit.intervalId).toBe(record.intervalId);
    }
    // every subject has a registration record
    const registered = new Set([...study.records].filter((r) => r.formKey === 'REG').map((r) => r.subjectId));
    expect(registered.size).toBe(study.subjects.length);
  });

  it('generates revisions (some deleted), queries with comment histories and users with role date arrays', () => {
    const study = createFakeStudy({ records: 2000 });
    const revisions = [...study.recordRevisions];
    expect(revisions.some((r) => r.deleted)).toBe(true);
    const perRecord = new Map<number, number>();
    for (const r of revisions) perRecord.set(r.recordId, (perRecord.get(r.recordId) ?? 0) + 1);
    expect(Math.max(...perRecord.values())).toBeGreaterThan(1);
    expect(revisions.map((r) => r.recordRevisionId)).toEqual(revisions.map((_, i) => i + 1));

    expect(study.queries.some((q) => q.queryComments.length > 1)).toBe(true);
    expect(study.queries.some((q) => q.queryComments.at(-1)!.closed)).toBe(true);
    for (const q of study.queries) {
      expect(q.queryComments.map((c) => c.sequence)).toEqual(q.queryComments.map((_, i) => i + 1));
      const record = study.getRecord(q.recordId)!;
      expect(q.subjectKey).toBe(record.subjectKey);
    }
    for (const c of study.codings) expect(['AE', 'CM']).toContain(c.formKey);

    for (const user of study.users) {
      expect(user.roles.length).toBeGreaterThan(0);
      for (const role of user.roles) {
        expect(role.dateCreated).toHaveLength(7);
        expect(role.dateModified).toHaveLength(7);
        expect(role.dateCreated.every(Number.isInteger)).toBe(true);
      }
    }
    expect(study.users.some((u) => !u.userActiveInStudy)).toBe(true);
  });

  it('rejects nonsense sizes', () => {
    expect(() => createFakeStudy({ records: -1 })).toThrow(RangeError);
    expect(() => createFakeStudy({ sites: 0, subjects: 3 })).toThrow(RangeError);
    expect(createFakeStudy({ subjects: 0 }).counts.records).toBe(0);
  });
});
