/** Test support for the orchestration tests: the mock API over several fake studies, and fake tasks' tools. */
import { createFakeStudy, type MockApiOptions } from '../../../src/testing/index.js';
import { useMockStudies } from '../support.js';

/** The studies the mock serves, in the API's order (it sorts by key). */
export const STUDY_KEYS = ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA'] as const;

/** Starts msw for this test file with a mock API over four small fake studies. */
export function useStudiesApi(apiOptions: MockApiOptions = {}) {
  // Listed out of order: the API answers in key order whatever the order they were made in.
  const studies = [...STUDY_KEYS]
    .reverse()
    .map((studyKey, i) => createFakeStudy({ studyKey, seed: i + 1, sites: 2, subjects: 3 + i, records: 40 }));
  const { api, client } = useMockStudies(studies, apiOptions);
  return { studies, api, client };
}

export { deferred } from '../support.js';

/** Rejects with the signal's reason when it fires; never settles otherwise. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Counts tasks running at once. */
export function liveCounter() {
  const counter = {
    live: 0,
    max: 0,
    /** `live` as each task started, in order. */
    atStart: [] as number[],
    async run<T>(work: () => Promise<T>): Promise<T> {
      counter.live++;
      counter.max = Math.max(counter.max, counter.live);
      counter.atStart.push(counter.live);
      try {
        return await work();
      } finally {
        counter.live--;
      }
    },
  };
  return counter;
}

/** Waits for timers and promises queued so far to run (a real timer: ordered after earlier ones). */
export const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));
