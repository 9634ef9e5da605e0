import { describe, expect, it } from 'vitest';
import { AbortError, NotFoundError } from '../../../src/core/errors.js';
import { subjectData } from '../../../src/plugins/workflows/subject.js';
import { useMockApi } from '../support.js';

const mock = useMockApi({ records: 1500, subjects: 40 });
const { api, study } = mock;

// A subject that has queries, so that all four parts have something in them.
const subjectKey = study.queries[0]!.subjectKey!;
const paths = () => api.requests.map((r) => r.path.split('/').pop());

describe('subjectData', () => {
  it('bundles the subject with its visits, records and queries from four listings started together', async () => {
    api.setFaults({ latencyMs: 100 });
    const data = await subjectData(mock.client(), 'DEMO', subjectKey);

    expect(data.subject).toEqual(study.subjects.find((s) => s.subjectKey === subjectKey));
    const visits = [...study.visits].filter((v) => v.subjectKey === subjectKey);
    expect(data.visits.map((v) => v.visitId)).toEqual(visits.map((v) => v.visitId));
    const records = [...study.records.headers()].filter((r) => r.subjectKey === subjectKey);
    expect(records.length).toBeGreaterThan(0);
    expect(data.records.map((r) => r.recordId)).toEqual(records.map((r) => r.recordId));
    expect(data.records[0]!.recordData).toEqual(study.getRecord(records[0]!.recordId)!.recordData);
    const queries = study.queries.filter((q) => q.subjectKey === subjectKey);
    expect(queries.length).toBeGreaterThan(0);
    expect(data.queries.map((q) => q.annotationId)).toEqual(queries.map((q) => q.annotationId));

    expect(paths().sort()).toEqual(['queries', 'records', 'subjects', 'visits']);
    for (const request of api.requests) {
      expect(new URLSearchParams(request.search).get('filter')).toBe(`subjectKey==${subjectKey}`);
    }
    // Each listing was sent before any answer came back: the mock saw all four at once.
    expect(Math.max(...api.requests.map((r) => r.inFlight))).toBe(4);
  });

  it('throws NotFoundError for an unknown subject and aborts the three other listings', async () => {
    const held: { path: string; aborted: boolean }[] = [];
    // Holds the three listings until they are aborted, so the test sees whether the workflow stops them.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      const path = new URL(request.url).pathname;
      if (path.endsWith('/subjects')) return globalThis.fetch(request);
      const entry = { path: path.split('/').pop()!, aborted: false };
      held.push(entry);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        request.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          entry.aborted = true;
          resolve();
        });
      });
      if (entry.aborted) throw request.signal.reason ?? new DOMException('aborted', 'AbortError');
      return globalThis.fetch(request);
    };
    await expect(subjectData(mock.client({ fetch }), 'DEMO', 'NO-SUCH-SUBJECT')).rejects.toThrow(
      NotFoundError,
    );
    expect(held.map((h) => h.path).sort()).toEqual(['queries', 'records', 'visits']);
    expect(held.every((h) => h.aborted)).toBe(true);
    expect(paths()).toEqual(['subjects']);
  });

  it('stops at the caller’s abort signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      subjectData(mock.client(), 'DEMO', subjectKey, { signal: controller.signal }),
    ).rejects.toThrow(AbortError);
    expect(api.requests).toHaveLength(0);
  });
});
