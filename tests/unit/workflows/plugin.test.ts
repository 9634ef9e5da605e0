import { describe, expect, expectTypeOf, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { NotFoundError } from '../../../src/core/errors.js';
import { sync } from '../../../src/plugins/sync/index.js';
import {
  type JobsSummary,
  type QueryCounts,
  type RowBatch,
  type StudyStructure,
  type SubjectTree,
  Workflows,
  workflows,
} from '../../../src/plugins/workflows/index.js';
import { memoryStorage } from '../../../src/storage/index.js';
import { API_KEY, BASE_URL, SECURITY_KEY, useMockApi } from '../support.js';

const { study, api } = useMockApi({ records: 1500, subjects: 30, sites: 3 });
const Client = Imednet.plugin(workflows());
const client = () => new Client({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });

describe('the workflows plugin', () => {
  it('types client.workflows, alone and beside other plugins', () => {
    const c = client();
    expectTypeOf(c.workflows).toEqualTypeOf<Workflows>();
    expectTypeOf(c.workflows.structure).returns.resolves.toEqualTypeOf<StudyStructure>();
    expectTypeOf(c.workflows.queryCounts).returns.resolves.toEqualTypeOf<QueryCounts>();
    expectTypeOf(c.workflows.pollJobs).returns.resolves.toEqualTypeOf<JobsSummary>();
    expectTypeOf(c.workflows.rows).returns.toEqualTypeOf<AsyncGenerator<RowBatch, void, undefined>>();
    expectTypeOf(c.records).toEqualTypeOf<Imednet['records']>();
    const Both = Imednet.plugin(workflows(), sync({ storage: memoryStorage() }));
    const both = new Both({ apiKey: API_KEY, securityKey: SECURITY_KEY, baseUrl: BASE_URL });
    expectTypeOf(both.workflows).toEqualTypeOf<Workflows>();
    expect(both.workflows).toBeInstanceOf(Workflows);
    expect(typeof both.cache.syncStudy).toBe('function');
  });

  it('each client has its own workflows and its own structure cache', async () => {
    const a = client();
    const b = client();
    expect(a.workflows).not.toBe(b.workflows);
    await a.workflows.structure('DEMO');
    await b.workflows.structure('DEMO');
    expect(api.requests.filter((r) => r.path.endsWith('/forms')).length).toBe(2);
  });
});

describe('client.workflows.subjectTree', () => {
  it('nests a subject’s records under its visits in interval order, as rows, with nothing lost', async () => {
    const subject = study.subjects.find(
      (s) => [...study.records].filter((r) => r.subjectKey === s.subjectKey).length > 10,
    )!;
    const tree: SubjectTree = await client().workflows.subjectTree('DEMO', subject.subjectKey);
    expect(tree.subject.subjectKey).toBe(subject.subjectKey);
    const records = [...study.records].filter((r) => r.subjectKey === subject.subjectKey);
    const placed = [
      ...tree.visits.flatMap((v) => v.forms.flatMap((f) => f.rows)),
      ...tree.outsideVisits.flatMap((f) => f.rows),
    ];
    expect(placed.map((r) => r.recordId).sort((a, b) => Number(a) - Number(b))).toEqual(
      records.map((r) => r.recordId),
    );
    for (const { visit, intervalName, forms } of tree.visits) {
      expect(intervalName).toBe(study.intervals.find((i) => i.intervalId === visit.intervalId)?.intervalName);
      for (const form of forms) {
        for (const row of form.rows) {
          expect(row.visitId).toBe(visit.visitId);
          expect(row.formKey).toBe(form.formKey);
        }
      }
    }
    const order = tree.visits.map(
      (v) => study.intervals.find((i) => i.intervalId === v.visit.intervalId)?.intervalSequence ?? 1e9,
    );
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(tree.queries.every((q) => q.subjectKey === subject.subjectKey)).toBe(true);
    expect(tree.queries.length).toBe(study.queries.filter((q) => q.subjectKey === subject.subjectKey).length);
  });

  it('a subject that does not exist is NotFoundError', async () => {
    await expect(client().workflows.subjectTree('DEMO', 'NO-SUCH-SUBJECT')).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});
