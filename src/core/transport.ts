/**
 * The one HTTP layer: ky underneath, with the SDK's single retry policy, per-attempt timeouts,
 * JSON parsing inside the retry loop, one log event per attempt, and translation of every failure
 * into the SDK's error tree. Nothing above this layer retries.
 */
import ky, {
  type Hooks,
  HTTPError,
  isHTTPError,
  isTimeoutError,
  type KyInstance,
  type Options as KyOptions,
} from 'ky';
import {
  AbortError,
  ApiError,
  type ApiErrorDetail,
  ConnectionError,
  ImednetError,
  ResponseValidationError,
  TimeoutError,
} from './errors.js';
import type { RequestHooks } from './plugins.js';
import { redactUrl, scrubSecrets } from './redact.js';

/** One structured event per HTTP attempt, given to the `logger` option. Holds no credential. */
export interface RequestEvent {
  /** HTTP method. */
  method: string;
  /** The URL with secret-looking query values masked. Credentials are headers and never appear. */
  url: string;
  /** HTTP status, absent when the attempt failed before a response. */
  status?: number;
  /** 0 for the first attempt, 1 for the first retry, and so on. */
  attempt: number;
  /** Milliseconds from sending to the response headers (or the failure). */
  durationMs: number;
  /** Error class name when the attempt failed without a response. */
  error?: string;
}

/** Receives one {@link RequestEvent} per HTTP attempt. */
export type Logger = (event: RequestEvent) => void;

/** Settings of the HTTP layer; the client fills every default. */
export interface TransportSettings {
  apiKey: string;
  securityKey: string;
  /** Full API root, e.g. `https://edc.prod.imednetapi.com/api/v1/edc`. */
  apiRoot: string;
  fetch?: typeof globalThis.fetch;
  retries: number;
  backoffFactor: number;
  maxRetryAfter: number;
  timeout: number;
  logger?: Logger;
  hooks?: RequestHooks;
}

/** One call through the transport. */
export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'PATCH';
  /** Path below the API root, already encoded, starting with `/`. */
  path: string;
  searchParams?: URLSearchParams;
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Told the status of every attempt (the page pool uses it to notice 429s). */
  onStatus?: (status: number) => void;
}

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);
const ALL_METHODS: NonNullable<Exclude<KyOptions['retry'], number>>['methods'] = [
  'get',
  'put',
  'delete',
  'head',
  'options',
  'post',
  'patch',
];
const RETRY_STATUSES = [429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];
const BACKOFF_LIMIT_MS = 30_000;

/** Sends requests to the iMednet API. Created once per client. */
export class Transport {
  readonly #settings: TransportSettings;
  #ky: KyInstance;

  constructor(settings: TransportSettings) {
    this.#settings = settings;
    this.#ky = ky.create({
      // fetch is looked up at call time so that a polyfill or test double installed later is used
      fetch: (input, init) => (settings.fetch ?? globalThis.fetch)(input, init),
      timeout: settings.timeout,
      throwHttpErrors: true,
      hooks: (settings.hooks ?? {}) as Hooks,
      headers: { accept: 'application/json' },
    });
  }

  /** Adds ky hooks (from plugins); they run before the SDK's own per-request hooks. */
  addHooks(hooks: RequestHooks): void {
    this.#ky = this.#ky.extend({ hooks: hooks as Hooks });
  }

  /** The API root this transport talks to. */
  get apiRoot(): string {
    return this.#settings.apiRoot;
  }

  /** Sends one request (with retries) and resolves to the parsed JSON body. */
  async request(req: TransportRequest): Promise<unknown> {
    const s = this.#settings;
    const query = req.searchParams?.toString();
    const url = `${s.apiRoot}${req.path}${query ? `?${query}` : ''}`;
    const safeUrl = redactUrl(url);
    const idempotent = IDEMPOTENT.has(req.method);
    const info = { method: req.method, url: safeUrl };
    let body: { value: unknown } | undefined;
    let invalidJson = false;
    let attemptStart = 0;
    // The response of the current attempt as fetch returned it. ky hands each afterResponse hook a
    // clone (a tee of the body); once the hook below reads its clone, the other side of the tee is
    // dropped at once, so the body is neither copied chunk by chunk nor held twice while it is read.
    let fetched: Response | undefined;

    const log = (attempt: number, status?: number, error?: unknown) => {
      if (!s.logger) return;
      const event: RequestEvent = {
        method: req.method,
        url: safeUrl,
        attempt,
        durationMs: Math.round(now() - attemptStart),
      };
      if (status !== undefined) event.status = status;
      if (error !== undefined) event.error = errorName(error);
      try {
        s.logger(event);
      } catch {
        // a failing logger must not fail the request
      }
    };

    const hooks: Hooks = {
      beforeRequest: [
        () => {
          attemptStart = now();
        },
      ],
      afterResponse: [
        async (_request, _options, response, state) => {
          const original = fetched;
          fetched = undefined;
          log(state.retryCount, response.status);
          req.onStatus?.(response.status);
          if (!response.ok) return;
          dropBody(original);
          const text = await readText(response, s.timeout);
          if (text === undefined) {
            if (idempotent) return ky.retry();
            throw new TimeoutError(`No response within ${s.timeout} ms (${info.method} ${info.url})`, info);
          }
          try {
            body = { value: text === '' ? undefined : JSON.parse(text) };
            invalidJson = false;
          } catch {
            invalidJson = true;
            // A truncated or garbled body on a safe method is treated like a dropped connection.
            if (idempotent) return ky.retry();
          }
          // Carry on with the clone that was read: ky then drops the original instead of this one.
          return response;
        },
      ],
      beforeRetry: [
        ({ error, retryCount }) => {
          if (isHTTPError(error)) {
            // The failed attempt's body is never read; left open, Node's fetch rejects it with no
            // listener once the listing aborts, which crashes the process on some Node versions.
            // Not awaited: a cancel can wait on the source, and the retry need not.
            dropBody(error.response);
          } else if (!(error instanceof Error && error.name === 'ForceRetryError')) {
            log(retryCount - 1, undefined, error);
          }
        },
      ],
    };
    const options: KyOptions = {
      method: req.method,
      // fetch is still looked up at call time (settings first, then the global)
      fetch: async (input, init) => {
        const response = await (s.fetch ?? globalThis.fetch)(input, init);
        fetched = response;
        return response;
      },
      hooks,
      retry: {
        limit: s.retries,
        methods: ALL_METHODS,
        statusCodes: RETRY_STATUSES,
        afterStatusCodes: RETRY_STATUSES,
        maxRetryAfter: s.maxRetryAfter,
        backoffLimit: BACKOFF_LIMIT_MS,
        delay: (attempt) => s.backoffFactor * 2 ** (attempt - 1),
        jitter: true,
        retryOnTimeout: idempotent,
        shouldRetry: ({ error }) => {
          if (req.signal?.aborted) return false;
          if (idempotent) return undefined;
          // A non-idempotent request may have been applied already; only a 429 proves it was not.
          return isHTTPError(error) && error.response.status === 429 ? undefined : false;
        },
      },
      headers: {
        'x-api-key': s.apiKey,
        'x-imn-security-key': s.securityKey,
        ...req.headers,
      },
    };
    if (req.signal) options.signal = req.signal;
    if (req.json !== undefined) options.json = req.json;

    let response: Response;
    try {
      response = await this.#ky(url, options);
    } catch (error) {
      throw await this.#translate(error, req, info, () => log(s.retries, undefined, error));
    }
    // The hook read the body already; anything left unread is no longer needed.
    if (!response.bodyUsed) dropBody(response);
    if (invalidJson || body === undefined) {
      if (invalidJson) {
        throw notJson(info);
      }
      return undefined;
    }
    return body.value;
  }

  async #translate(
    error: unknown,
    req: TransportRequest,
    info: { method: string; url: string },
    logFailure: () => void,
  ): Promise<ImednetError> {
    if (error instanceof ImednetError) return error;
    if (req.signal?.aborted) return new AbortError('The request was aborted', info);
    if (error instanceof HTTPError || isHTTPError(error)) {
      const response = (error as HTTPError).response;
      const detail = await readErrorDetail(response, this.#settings);
      return ApiError.from(response.status, detail, info);
    }
    if (isTimeoutError(error)) {
      logFailure();
      return new TimeoutError(
        `No response within ${this.#settings.timeout} ms (${info.method} ${info.url})`,
        info,
      );
    }
    if (error instanceof Error && error.name === 'ForceRetryError') {
      return notJson(info);
    }
    logFailure();
    return new ConnectionError(`Could not reach the iMednet API (${info.method} ${info.url})`, {
      ...info,
      cause: safeCause(error, this.#settings),
    });
  }
}

/** The error for a body that is not JSON (after every attempt a safe method was allowed). */
function notJson(info: { method: string; url: string }): ResponseValidationError {
  return new ResponseValidationError(
    `The API answered with a body that is not valid JSON (${info.method} ${info.url})`,
    [],
    info,
  );
}

/** Cancels a body nobody will read; a body already locked or read is left alone. */
function dropBody(response: Response | undefined): void {
  const stream = response?.body;
  if (stream && !stream.locked) stream.cancel().catch(() => undefined);
}

async function readText(response: Response, timeoutMs: number): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([response.text(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads `metadata.error` from an error response; tolerates any body. */
async function readErrorDetail(response: Response, s: TransportSettings): Promise<ApiErrorDetail> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await response.text());
  } catch {
    return {};
  }
  const root = isRecord(parsed) ? parsed : {};
  const metadata = isRecord(root.metadata) ? root.metadata : {};
  const error = isRecord(metadata.error) ? metadata.error : {};
  const detail: ApiErrorDetail = {};
  const secrets = [s.apiKey, s.securityKey];
  const code = error.code;
  if (typeof code === 'string' || typeof code === 'number') detail.code = scrubSecrets(String(code), secrets);
  const message = error.message ?? error.description;
  if (typeof message === 'string') detail.message = scrubSecrets(message, secrets);
  if (typeof error.field === 'string') detail.field = scrubSecrets(error.field, secrets);
  return detail;
}

function safeCause(error: unknown, s: TransportSettings): Record<string, unknown> {
  const secrets = [s.apiKey, s.securityKey];
  if (!(error instanceof Error)) return {};
  const out: Record<string, unknown> = { name: error.name, message: scrubSecrets(error.message, secrets) };
  const inner = (error as { cause?: unknown }).cause;
  if (isRecord(inner) && typeof inner.code === 'string') out.code = inner.code;
  return out;
}

function errorName(error: unknown): string {
  if (isTimeoutError(error)) return 'TimeoutError';
  return error instanceof Error ? error.name : typeof error;
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
