// A real loopback HTTP server around the mock API, for demos, benchmarks and tests that want a
// socket. node:http is imported inside startMockServer so this module loads anywhere.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BASE_PATH, createMockApi, type MockApi, type MockApiOptions } from './handler.js';
import { createFakeStudy, type FakeStudy, type FakeStudyOptions, isFakeStudy } from './study.js';

/** Options of {@link startMockServer}: the mock API's options plus the study and where to listen. */
export interface MockServerOptions extends MockApiOptions {
  /** A study, several studies, or options to generate one (default: `createFakeStudy()`). */
  study?: FakeStudy | readonly FakeStudy[] | FakeStudyOptions;
  /** Interface to listen on (default '127.0.0.1'). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
}

/** A running mock server. */
export interface MockServer {
  /** Host base such as `http://127.0.0.1:12345`; the SDK appends `/api/v1/edc` itself. */
  url: string;
  /** `url` plus `/api/v1/edc`. */
  baseUrl: string;
  /** The mock API behind the server (request log, faults, jobs). */
  api: MockApi;
  /** The first (or only) study served. */
  study: FakeStudy;
  /** Every study served. */
  studies: FakeStudy[];
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    req.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    req.on('end', () => {
      const size = chunks.reduce((n, c) => n + c.byteLength, 0);
      const body = new Uint8Array(size);
      let offset = 0;
      for (const c of chunks) {
        body.set(c, offset);
        offset += c.byteLength;
      }
      resolve(body);
    });
    req.on('error', reject);
  });
}

function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => res.write(chunk, (error) => (error ? reject(error) : resolve())));
}

async function serve(api: MockApi, origin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    } catch {
      // A header value fetch would refuse cannot reach a real API either; leave it out.
    }
  }
  const method = req.method ?? 'GET';
  const init: RequestInit = { method, headers, signal: controller.signal };
  if (method !== 'GET' && method !== 'HEAD') init.body = await readBody(req);
  const response = await api.handle(new Request(`${origin}${req.url ?? '/'}`, init));

  if (response.type === 'error') {
    req.socket.destroy();
    return;
  }
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  res.writeHead(response.status, out);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await write(res, value);
    }
  } catch {
    // The body failed midway (the truncateBody 'stream' fault): drop the connection after what was
    // sent, so the client sees a body shorter than its Content-Length.
    res.destroy();
    return;
  }
  res.end();
}

/** Starts the mock API on a real loopback HTTP server (Node only). */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const { createServer } = await import('node:http');
  const { study: source, host = '127.0.0.1', port = 0, ...apiOptions } = options;
  const studies: FakeStudy[] =
    source === undefined
      ? [createFakeStudy()]
      : isFakeStudy(source)
        ? [source]
        : Array.isArray(source)
          ? [...(source as readonly FakeStudy[])]
          : [createFakeStudy(source as FakeStudyOptions)];
  if (studies.length === 0) throw new RangeError('startMockServer needs at least one study');
  const api = createMockApi(studies, apiOptions);
  let origin = '';
  const server = createServer((req, res) => {
    serve(api, origin, req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  return {
    url: origin,
    baseUrl: `${origin}${BASE_PATH}`,
    api,
    study: studies[0] as FakeStudy,
    studies,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
