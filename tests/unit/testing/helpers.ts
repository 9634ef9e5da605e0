import {
  createMockApi,
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockApi,
  type MockApiOptions,
} from '../../../src/testing/index.js';
import { createFakeStudy, type FakeStudy, type FakeStudyOptions } from '../../../src/testing/study.js';

/** Host used for in-process requests; the mock answers on any host. */
export const ORIGIN = 'http://mock.test';
/** The API root under ORIGIN. */
export const ROOT = `${ORIGIN}/api/v1/edc`;
/** Valid credentials for the default mock. */
export const AUTH = { 'x-api-key': DEFAULT_API_KEY, 'x-imn-security-key': DEFAULT_SECURITY_KEY };

/** A decoded answer. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** Sends one request through api.handle() and decodes the JSON body. */
export async function call(api: MockApi, path: string, init: RequestInit = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(AUTH)) if (!headers.has(k)) headers.set(k, v);
  const response = await api.handle(new Request(`${ROOT}${path}`, { ...init, headers }));
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? null : JSON.parse(text) };
}

/** POSTs a records body with valid credentials. */
export function post(api: MockApi, body: unknown, studyKey = 'DEMO', headers: Record<string, string> = {}) {
  return call(api, `/studies/${studyKey}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** A fresh small study and a mock API over it. */
export function setup(
  studyOptions: FakeStudyOptions = {},
  apiOptions: MockApiOptions = {},
): { study: FakeStudy; api: MockApi } {
  const study = createFakeStudy({ records: 300, subjects: 20, ...studyOptions });
  return { study, api: createMockApi(study, apiOptions) };
}

/** Builds a list path with query parameters (values are URL-encoded). */
export function listPath(
  resource: string,
  params: Record<string, string | number | string[]> = {},
  studyKey = 'DEMO',
) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) search.append(k, String(one));
  }
  const q = search.toString();
  return `/studies/${studyKey}/${resource}${q ? `?${q}` : ''}`;
}
