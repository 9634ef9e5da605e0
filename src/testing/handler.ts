// The mock iMednet API as one function from a web Request to a web Response. It touches nothing
// but web-standard APIs, so msw, a Node server, a Worker or a browser can all host it.

import {
  ApiError,
  type EnvelopeContext,
  errorReply,
  listReply,
  type Reply,
  type Truncation,
  toResponse,
} from './envelope.js';
import { FaultInjector, type FaultOptions, inScope } from './faults.js';
import { type JobOptions, JobStore } from './jobs.js';
import { ListEngine, parseListQuery } from './listing.js';
import { RESOURCES, STUDY_FIELDS } from './resources.js';
import type { FakeStudy } from './study.js';
import { formatTimestamp } from './time.js';
import { planWrites } from './writes.js';

/** The API's base path; the mock answers under it on any host. */
export const BASE_PATH = '/api/v1/edc';
/** API key the mock accepts unless told otherwise. */
export const DEFAULT_API_KEY = 'demo-api-key';
/** Security key the mock accepts unless told otherwise. */
export const DEFAULT_SECURITY_KEY = 'demo-security-key';

/** Options of {@link createMockApi}. */
export interface MockApiOptions extends JobOptions {
  /** Expected `x-api-key` (default {@link DEFAULT_API_KEY}). */
  apiKey?: string;
  /** Expected `x-imn-security-key` (default {@link DEFAULT_SECURITY_KEY}). */
  securityKey?: string;
  /** Faults to inject; change them later with `setFaults`. */
  faults?: FaultOptions;
  /** Answer CORS preflights and add CORS headers, for browser tests. */
  cors?: boolean;
  /** Largest accepted `size` (default 500). */
  maxPageSize?: number;
}

/** One request as the mock saw it. Header values are never kept: they carry credentials. */
export interface RequestLogEntry {
  method: string;
  path: string;
  search: string;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  /** Status answered; 0 for a simulated network error; absent while in flight. */
  status?: number;
  /**
   * Requests the mock was working on when this one arrived, itself included (a request counts from
   * its arrival until its answer is handed over, before the body is sent).
   */
  inFlight: number;
}

/** A mock iMednet API. */
export interface MockApi {
  /** Answers one request. */
  handle(request: Request): Promise<Response>;
  /** Every request received, in order, faulted ones included. */
  readonly requests: RequestLogEntry[];
  /** The studies served, by key. */
  readonly studies: ReadonlyMap<string, FakeStudy>;
  /** Clears the request log and jobs, and re-arms the faults and job options given at creation. */
  reset(): void;
  /** Replaces the injected faults and restarts their counters. */
  setFaults(faults: FaultOptions): void;
  /** Changes job behaviour for later polls. */
  setJobOptions(options: JobOptions): void;
}

const CORS_ALLOW_HEADERS = 'accept, content-type, x-api-key, x-imn-security-key, x-email-notify';
const CORS_EXPOSE_HEADERS = 'retry-after, content-length, content-type';

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The path up to and including the API's base path (the mock answers under it on any prefix). */
function basePathOf(path: string): string {
  const at = path.indexOf(BASE_PATH);
  return at >= 0 ? path.slice(0, at + BASE_PATH.length) : BASE_PATH;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, 'Malformed percent-encoding in path');
  }
}

/** Creates the mock API over one or more fake studies. */
export function createMockApi(
  studies: FakeStudy | readonly FakeStudy[],
  options: MockApiOptions = {},
): MockApi {
  const list = (Array.isArray(studies) ? [...studies] : [studies as FakeStudy]).sort((a, b) =>
    a.studyKey < b.studyKey ? -1 : a.studyKey > b.studyKey ? 1 : 0,
  );
  const byKey = new Map(list.map((s) => [s.studyKey, s]));
  if (byKey.size !== list.length) throw new RangeError('Study keys must be unique');
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const securityKey = options.securityKey ?? DEFAULT_SECURITY_KEY;
  const maxSize = options.maxPageSize ?? 500;
  const faults = new FaultInjector(options.faults);
  const jobs = new JobStore(options);
  const engine = new ListEngine();
  const requests: RequestLogEntry[] = [];
  let inFlight = 0;
  const dataAttributes = new WeakMap<FakeStudy, ReadonlySet<string>>();
  const studyRows = list.map((s) => s.study);

  const variableNames = (study: FakeStudy) => {
    let names = dataAttributes.get(study);
    if (!names) {
      names = new Set(study.variables.map((v) => v.variableName));
      dataAttributes.set(study, names);
    }
    return names;
  };

  async function route(request: Request, url: URL, ctx: EnvelopeContext, rest: string): Promise<Reply> {
    if (
      request.headers.get('x-api-key') !== apiKey ||
      request.headers.get('x-imn-security-key') !== securityKey
    ) {
      throw new ApiError(401, 'Missing or invalid API credentials');
    }
    const segments = rest.split('/').slice(1).map(decodeSegment);
    if (segments[segments.length - 1] === '') segments.pop();
    const [root, studyKey, resource, extra, ...tail] = segments;
    if (root !== 'studies' || tail.length > 0) throw new ApiError(404, `No such path: ${ctx.path}`);
    const method = ctx.method;

    if (studyKey === undefined) {
      if (method !== 'GET') throw new ApiError(405, `${method} is not supported on ${ctx.path}`);
      const query = parseListQuery(url.searchParams, { fields: STUDY_FIELDS, filterable: true, maxSize });
      const page = engine.run({ cacheKey: 'studies', list: studyRows, defaultSort: 'studyKey' }, query);
      return listReply(ctx, query.page, query.size, page.total, page.sort, page.items);
    }

    const study = byKey.get(studyKey);
    if (!study) throw new ApiError(404, `Study '${studyKey}' not found`, 'studyKey');
    ctx.timestamp = study.now();
    if (resource === undefined) throw new ApiError(404, `No such path: ${ctx.path}`);

    if (resource === 'jobs') {
      if (extra === undefined) throw new ApiError(404, `No such path: ${ctx.path}`);
      if (method !== 'GET') throw new ApiError(405, `${method} is not supported on ${ctx.path}`);
      const job = jobs.poll(study, extra);
      if (!job) throw new ApiError(404, `Job '${extra}' not found`, 'batchId');
      return { status: 200, body: job };
    }

    const spec = RESOURCES.get(resource);
    if (!spec || extra !== undefined) throw new ApiError(404, `No such path: ${ctx.path}`);
    if (method === 'POST' && resource === 'records') return createRecords(request, study);
    if (method !== 'GET') throw new ApiError(405, `${method} is not supported on ${ctx.path}`);

    let includeInactive = false;
    if (resource === 'users') {
      const raw = url.searchParams.get('includeInactive');
      if (raw !== null && raw !== 'true' && raw !== 'false') {
        throw new ApiError(400, `Parameter 'includeInactive' must be true or false`, 'includeInactive');
      }
      includeInactive = raw === 'true';
    }
    const query = parseListQuery(url.searchParams, {
      fields: spec.fields,
      filterable: spec.filterable,
      dataAttributes: resource === 'records' ? variableNames(study) : undefined,
      maxSize,
    });
    const { probe, candidates } = spec;
    const page = engine.run(
      {
        cacheKey: `${resource}\u0000${study.studyKey}\u0000${study.version}\u0000${includeInactive}`,
        list: spec.items(study, includeInactive),
        defaultSort: spec.defaultSort,
        probe: probe ? (position) => probe(study, position) : undefined,
        candidates: candidates ? (filter) => candidates(study, filter) : undefined,
      },
      query,
    );
    return listReply(ctx, query.page, query.size, page.total, page.sort, page.items);
  }

  async function createRecords(request: Request, study: FakeStudy): Promise<Reply> {
    const notify = request.headers.get('x-email-notify');
    if (notify !== null && /[\r\n]/.test(notify)) {
      throw new ApiError(400, 'Header x-email-notify must not contain line breaks', 'x-email-notify');
    }
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      throw new ApiError(400, 'Request body is not valid JSON');
    }
    const writes = planWrites(body, study);
    return { status: 202, body: jobs.create(study, writes, body as unknown[]) };
  }

  function corsHeaders(request: Request): Record<string, string> {
    if (!options.cors) return {};
    return {
      'access-control-allow-origin': request.headers.get('origin') ?? '*',
      'access-control-expose-headers': CORS_EXPOSE_HEADERS,
      vary: 'Origin',
    };
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      search: url.search,
      at: Date.now(),
      inFlight: inFlight + 1,
    };
    requests.push(entry);
    const cap = faults.current.maxInFlight;
    if (cap && inFlight >= cap.limit && inScope(cap, method, url.pathname, basePathOf(url.pathname))) {
      // Refused at the door: answered at once and never counted as in flight.
      const ctx = { method, path: url.pathname, timestamp: formatTimestamp(Date.now()) };
      const headers = cap.retryAfter === undefined ? undefined : { 'retry-after': String(cap.retryAfter) };
      const reply = errorReply(ctx, 429, 'Too many requests in flight', undefined, undefined, headers);
      entry.status = reply.status;
      return toResponse(reply, corsHeaders(request), undefined);
    }
    inFlight++;
    try {
      return await respond(request, url, entry);
    } finally {
      inFlight--;
    }
  }

  async function respond(request: Request, url: URL, entry: RequestLogEntry): Promise<Response> {
    const { method } = entry;
    const cors = corsHeaders(request);
    const finish = (reply: Reply, truncation?: Truncation) => {
      entry.status = reply.status;
      return toResponse(reply, cors, truncation);
    };

    if (options.cors && method === 'OPTIONS') {
      return finish({
        status: 204,
        body: null,
        headers: {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': '600',
        },
      });
    }

    await delay(faults.latencyMs, request.signal);
    const at = url.pathname.indexOf(BASE_PATH);
    const basePath = basePathOf(url.pathname);
    const ctx: EnvelopeContext = {
      method,
      path: url.pathname,
      timestamp: list[0]?.now() ?? formatTimestamp(Date.now()),
    };
    const path = url.pathname;

    if (faults.take('networkError', method, path, basePath)) {
      entry.status = 0;
      return Response.error();
    }
    if (faults.take('rateLimit', method, path, basePath)) {
      const retryAfter = faults.current.rateLimit?.retryAfter;
      const headers = retryAfter === undefined ? undefined : { 'retry-after': String(retryAfter) };
      return finish(
        errorReply(ctx, 429, 'Too many requests - rate limit exceeded', undefined, undefined, headers),
      );
    }
    if (faults.take('serverError', method, path, basePath)) {
      const status = faults.current.serverError?.status ?? 500;
      return finish(errorReply(ctx, status, 'An unexpected server error occurred'));
    }

    let reply: Reply;
    try {
      if (at < 0) throw new ApiError(404, `No such path: ${path}`);
      reply = await route(request, url, ctx, path.slice(at + BASE_PATH.length));
    } catch (error) {
      reply =
        error instanceof ApiError
          ? errorReply(ctx, error.status, error.message, error.field, error.code)
          : errorReply(ctx, 500, 'An unexpected server error occurred');
    }

    const ok = reply.status >= 200 && reply.status < 300;
    if (
      ok &&
      reply.body &&
      'pagination' in reply.body &&
      faults.take('malformedPagination', method, path, basePath)
    ) {
      reply.body.pagination =
        faults.current.malformedPagination?.kind === 'missing'
          ? undefined
          : { currentPage: 'zero', size: -1, totalPages: 1.5, totalElements: null, sort: 'recordId' };
    }
    const truncation =
      ok && reply.body && faults.take('truncateBody', method, path, basePath)
        ? (faults.current.truncateBody?.mode ?? 'json')
        : undefined;
    return finish(reply, truncation);
  }

  return {
    handle,
    requests,
    studies: byKey,
    reset() {
      requests.length = 0;
      faults.set(options.faults ?? {});
      jobs.reset(options);
      engine.clear();
    },
    setFaults(next) {
      faults.set(next);
    },
    setJobOptions(next) {
      jobs.configure(next);
    },
  };
}
