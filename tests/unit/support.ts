/** Test support: the project's mock API served through msw, and a client pointed at it. */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Imednet } from '../../src/client.js';
import type { ImednetOptions } from '../../src/core/config.js';
import {
  createFakeStudy,
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type FakeStudyOptions,
  type MockApiOptions,
} from '../../src/testing/index.js';
import { mockApiHandlers } from '../../src/testing/msw.js';

export const BASE_URL = 'https://edc.test.example';
export const API_KEY = DEFAULT_API_KEY;
export const SECURITY_KEY = DEFAULT_SECURITY_KEY;

/** Starts msw for this test file with a fresh mock API over a fake study; returns accessors. */
export function useMockApi(studyOptions: FakeStudyOptions = {}, apiOptions: MockApiOptions = {}) {
  const study = createFakeStudy({ studyKey: 'DEMO', records: 1000, ...studyOptions });
  return { study, ...useMockStudies(study, apiOptions) };
}

/** A promise with its resolve and reject in hand. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Starts msw for this test file with a fresh mock API over the studies given; returns accessors. */
export function useMockStudies(
  studies: Parameters<typeof createMockApi>[0],
  apiOptions: MockApiOptions = {},
) {
  const api = createMockApi(studies, apiOptions);
  const server = setupServer(...mockApiHandlers(api));
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => api.reset());
  afterAll(() => server.close());
  const client = (options: Partial<ImednetOptions> = {}) =>
    new Imednet({
      apiKey: API_KEY,
      securityKey: SECURITY_KEY,
      baseUrl: BASE_URL,
      backoffFactor: 1,
      ...options,
    });
  return { api, server, client };
}
