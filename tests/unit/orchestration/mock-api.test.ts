/**
 * runPerStudy against the mock API over four studies: discovery, an export per study, and the
 * API's own failures (5xx, 429, bad keys, a study that is not there) retried or not as they deserve.
 */
import { describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { NotFoundError, RateLimitError, UnauthorizedError } from '../../../src/core/errors.js';
import { type RetryEvent, runPerStudy, type StudyTask } from '../../../src/plugins/orchestration/index.js';
import { csvSink } from '../../../src/plugins/sinks/csv.js';
import { exportStudy, memoryDirectory } from '../../../src/plugins/sinks/index.js';
import { workflows } from '../../../src/plugins/workflows/index.js';
import { API_KEY, BASE_URL, SECURITY_KEY } from '../support.js';
import { STUDY_KEYS, useStudiesApi } from './support.js';

const { studies, api, client } = useStudiesApi();

/** Counts a study's subjects through the API (one listing). */
const countSubjects =
  (c: Imednet): StudyTask<number> =>
  async (studyKey, { signal }) =>
    (await c.subjects.list(studyKey, { signal }).toArray()).length;

const subjectsOf = (key: string) => studies.find((s) => s.studyKey === key)!.subjects.length;
const subjectListings = (key: string) =>
  api.requests.filter((r) => r.path.endsWith(`/studies/${key}/subjects`)).length;

describe('runPerStudy with the mock API', () => {
  it('discovers the studies through the client, less exclude, and runs the task on each', async () => {
    const c = client();
    const results = await runPerStudy(countSubjects(c), { client: c, exclude: ['CHARLIE'] });
    expect(results.map((r) => [r.studyKey, r.status, r.value, r.attempts])).toEqual(
      STUDY_KEYS.filter((k) => k !== 'CHARLIE').map((k) => [k, 'fulfilled', subjectsOf(k), 1]),
    );
    expect(subjectListings('CHARLIE')).toBe(0);
  });

  it('exports every study to CSV, one folder each, with a result per study', async () => {
    const c = new (Imednet.plugin(workflows()))({
      apiKey: API_KEY,
      securityKey: SECURITY_KEY,
      baseUrl: BASE_URL,
    });
    const folders = new Map<string, ReturnType<typeof memoryDirectory>>();
    const results = await runPerStudy(
      (studyKey, { signal }) => {
        const directory = memoryDirectory();
        folders.set(studyKey, directory);
        return exportStudy(c, studyKey, csvSink({ directory }), { signal });
      },
      { client: c, concurrency: 2 },
    );
    expect(results.map((r) => [r.studyKey, r.status])).toEqual(STUDY_KEYS.map((k) => [k, 'fulfilled']));
    for (const r of results) {
      expect(r.value?.studyKey).toBe(r.studyKey);
      expect(r.value?.rows).toBeGreaterThan(0);
      expect(folders.get(r.studyKey)?.names()).toContain('.imednet-export.json');
    }
  });

  it('retries a study whose listing failed with a 5xx, and only that study', async () => {
    api.setFaults({ serverError: { times: 1, status: 503, paths: '/studies/BRAVO/subjects' } });
    const retried: RetryEvent[] = [];
    const c = client({ retries: 0 });
    const results = await runPerStudy(countSubjects(c), {
      client: c,
      backoffFactor: 0,
      onRetry: (e) => retried.push(e),
    });
    expect(results.map((r) => [r.studyKey, r.status, r.attempts])).toEqual(
      STUDY_KEYS.map((k) => [k, 'fulfilled', k === 'BRAVO' ? 2 : 1]),
    );
    expect(retried.map((e) => e.studyKey)).toEqual(['BRAVO']);
    expect(subjectListings('BRAVO')).toBe(2);
  });

  it('retries a 429 and lowers the concurrency for it', async () => {
    api.setFaults({ rateLimit: { times: 1, paths: '/studies/ALPHA/subjects' } });
    const retried: RetryEvent[] = [];
    const c = client({ retries: 0 });
    const results = await runPerStudy(countSubjects(c), {
      client: c,
      concurrency: 2,
      backoffFactor: 0,
      onRetry: (e) => retried.push(e),
    });
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results[0]?.attempts).toBe(2);
    expect(retried).toHaveLength(1);
    expect(retried[0]?.error).toBeInstanceOf(RateLimitError);
    expect(retried[0]?.concurrency).toBe(1);
  });

  it('does not retry bad keys or a study that is not there', async () => {
    const wrong = client({ apiKey: 'not-the-key' });
    const denied = await runPerStudy(countSubjects(wrong), { studies: ['ALPHA', 'BRAVO'], backoffFactor: 0 });
    expect(denied.map((r) => [r.status, r.attempts])).toEqual([
      ['failed', 1],
      ['failed', 1],
    ]);
    expect(denied[0]?.error).toBeInstanceOf(UnauthorizedError);
    expect(api.requests).toHaveLength(2);

    const c = client();
    const [found, missing] = await runPerStudy(countSubjects(c), { studies: ['DELTA', 'NO_SUCH_STUDY'] });
    expect(found).toMatchObject({ status: 'fulfilled', value: subjectsOf('DELTA') });
    expect(missing).toMatchObject({ studyKey: 'NO_SUCH_STUDY', status: 'failed', attempts: 1 });
    expect(missing?.error).toBeInstanceOf(NotFoundError);
  });

  it('rejects when the studies cannot be discovered, before any task', async () => {
    let ran = 0;
    const wrong = client({ securityKey: 'not-the-key' });
    await expect(runPerStudy(() => ran++, { client: wrong })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(ran).toBe(0);
  });
});
