// One mock API per fixture (the project's loopback mock server) plus a small control server the
// cases call to inject faults and read the request log. Separate mocks keep fixtures that run at
// the same time from seeing each other's faults.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type FakeStudy,
  type FaultOptions,
  type MockServer,
  parseTimestamp,
  startMockServer,
} from '../../../src/testing/index.js';

/** A running mock API and its control server. */
export interface Backend {
  mock: MockServer;
  /** The host to give the SDK as `baseUrl`. */
  baseUrl: string;
  controlUrl: string;
  studyKey: string;
  apiKey: string;
  securityKey: string;
  /** The variables a fixture reads through `readEnv`. */
  env(overrides?: Partial<Record<EnvName, string>>): Record<EnvName, string>;
  close(): Promise<void>;
}

/** Names of the case environment. */
export type EnvName =
  | 'IMEDNET_BASE_URL'
  | 'IMEDNET_API_KEY'
  | 'IMEDNET_SECURITY_KEY'
  | 'IMEDNET_STUDY_KEY'
  | 'IMEDNET_CONTROL_URL';

const STUDY_KEY = 'DEMO';

/** Changes a case asks the mock's study to make (counts of records). */
export interface Mutation {
  update?: number;
  softDelete?: number;
  hardDelete?: number;
  add?: number;
}

/**
 * Applies a mutation a minute after the study's clock, to live records spread over the study (so
 * that changes land on many pages), and says which records it touched.
 */
function mutate(study: FakeStudy, m: Mutation) {
  study.setNow(parseTimestamp(study.now()) + 60_000);
  const live = [...study.records.headers()].filter((h) => h.deleted !== true).map((h) => h.recordId);
  const wanted = (m.update ?? 0) + (m.softDelete ?? 0) + (m.hardDelete ?? 0);
  if (wanted > live.length) throw new Error(`only ${live.length} live records`);
  const step = Math.max(1, Math.floor(live.length / Math.max(1, wanted)));
  const picked = Array.from({ length: wanted }, (_, i) => live[(i * step + 7) % live.length] as number);
  const touched = {
    updated: [] as number[],
    softDeleted: [] as number[],
    hardDeleted: [] as number[],
    added: [] as number[],
  };
  // Changes write text into a text variable of the record's form, as a user's edit would (the
  // workflows suite maps every record, and a value under a name that is no variable stops it).
  const textVariable = (formKey: string) =>
    study.variables.find((v) => v.formKey === formKey && v.variableType === 'TEXT' && !v.deleted)
      ?.variableName;
  for (const id of picked.splice(0, m.update ?? 0)) {
    const name = textVariable(study.getRecord(id)!.formKey);
    study.updateRecord(id, {
      recordStatus: 'Record Verified',
      ...(name ? { recordData: { [name]: `changed ${study.now()}` } } : {}),
    });
    touched.updated.push(id);
  }
  for (const id of picked.splice(0, m.softDelete ?? 0)) {
    study.deleteRecord(id);
    touched.softDeleted.push(id);
  }
  for (const id of picked) {
    study.deleteRecord(id, { hard: true });
    touched.hardDeleted.push(id);
  }
  const template = study.records.at(0);
  for (let i = 0; i < (m.add ?? 0) && template; i++) {
    touched.added.push(
      study.addRecord({
        formKey: template.formKey,
        subjectKey: template.subjectKey,
        recordData: { [textVariable(template.formKey) ?? 'NOTE']: `added ${i}` },
      }).recordId,
    );
  }
  return touched;
}

/** Starts a mock API (optionally answering CORS) and its control server on 127.0.0.1. */
export async function startBackend(options: { cors?: boolean } = {}): Promise<Backend> {
  const mock = await startMockServer({
    study: { studyKey: STUDY_KEY, seed: 7 },
    cors: options.cors ?? false,
  });
  const control = createServer((req, res) => {
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'content-type',
      'content-type': 'application/json',
    };
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    if (req.method === 'GET' && url.pathname === '/requests') {
      const from = Number(url.searchParams.get('from') ?? 0);
      const log = mock.api.requests
        .slice(from)
        .map(({ method, path, search, status }) => ({ method, path, search, status }));
      return void res.writeHead(200, cors).end(JSON.stringify(log));
    }
    const post = (apply: (body: unknown) => unknown) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        try {
          res.writeHead(200, cors).end(JSON.stringify(apply(JSON.parse(body)) ?? {}));
        } catch (error) {
          res.writeHead(400, cors).end(JSON.stringify({ error: String(error) }));
        }
      });
    };
    if (req.method === 'POST' && url.pathname === '/faults') {
      return post((body) => void mock.api.setFaults(body as FaultOptions));
    }
    if (req.method === 'POST' && url.pathname === '/mutate') {
      return post((body) => mutate(mock.study, body as Mutation));
    }
    res.writeHead(404, cors).end('{}');
  });
  await new Promise<void>((ready) => control.listen(0, '127.0.0.1', ready));
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  const backend: Backend = {
    mock,
    baseUrl: mock.url,
    controlUrl,
    studyKey: STUDY_KEY,
    apiKey: DEFAULT_API_KEY,
    securityKey: DEFAULT_SECURITY_KEY,
    env: (overrides = {}) => ({
      IMEDNET_BASE_URL: mock.url,
      IMEDNET_API_KEY: DEFAULT_API_KEY,
      IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
      IMEDNET_STUDY_KEY: STUDY_KEY,
      IMEDNET_CONTROL_URL: controlUrl,
      ...overrides,
    }),
    close: async () => {
      control.closeAllConnections();
      await new Promise<void>((done) => control.close(() => done()));
      await mock.close();
    },
  };
  return backend;
}
