/**
 * The one HTTP layer. ky sends each attempt (and runs the plugins' ky hooks); this file owns the
 * single retry loop around it, a deadline per attempt that covers the headers and the whole body,
 * bounded body reads, one log event per attempt and the translation of every failure into the
 * SDK's error tree. Nothing above this layer retries. Every attempt, retries included, first passes
 * the client's {@link Pacer}: a 429's `Retry-After` pauses all of the client's new requests once
 * (requests in flight finish; the refused ones retry after it), and an optional request budget
 * paces them.
 */
import ky, { type Hooks, isHTTPError, type KyInstance, type Options as KyOptions } from 'ky';
import { BodyTooLarge, readBody } from './body.js';
import {
  AbortError,
  ApiError,
  type ApiErrorDetail,
  ConnectionError,
  ImednetError,
  RateLimitError,
  type RequestInfo,
  ResponseValidationError,
  TimeoutError,
} from './errors.js';
import { networkCause } from './network.js';
import { now, Pacer } from './pacer.js';
import type { RequestHooks } from './plugins.js';
import { redactUrl, scrubSecrets } from './redact.js';
import { IDEMPOTENT_METHODS, isRetryableStatus, retryAfterMs, retryDelay } from './retry.js';
import { sleep } from './sleep.js';

/** One structured event per HTTP attempt, given to the `logger` option. Holds no credential. */
export interface RequestEvent {
  /** HTTP method. */
  method: string;
  /**
   * The URL with secret-looking query values masked, and filter values masked unless the client
   * has `showFilterValues: true`. Credentials are headers and never appear.
   */
  url: string;
  /** HTTP status, absent when the attempt failed before a response. */
  status?: number;
  /** 0 for the first attempt, 1 for the first retry, and so on: the attempt that was sent. */
  attempt: number;
  /** Milliseconds from sending to the end of the body (or the failure). */
  durationMs: number;
  /** Error class name when the attempt failed other than by its status (no answer, a bad body). */
  error?: string;
  /**
   * Present when this attempt failed and will be retried: the wait, in milliseconds, before the
   * next attempt is sent (a 429's `Retry-After`, or the backoff).
   * @example
   * new Imednet({ apiKey, securityKey, logger: (e) => {
   *   if (e.retryInMs !== undefined && e.retryInMs >= 5000) console.error(`waiting ${Math.round(e.retryInMs / 1000)} s`);
   * } });
   */
  retryInMs?: number;
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
  /** Largest response body read, in bytes. */
  maxResponseBytes: number;
  /** Keep filter values in logged and thrown URLs. */
  showFilterValues?: boolean;
  logger?: Logger;
  hooks?: RequestHooks;
  /** The client's pacing (Retry-After pause, request budget); a fresh one without a budget if absent. */
  pacer?: Pacer;
}

/**
 * What a caller (the page pool) is told around every attempt of one request: `admit` before it
 * (the attempt waits for its promise, which the caller rejects on its own abort), then `onStatus`
 * once, as the attempt's headers arrive, or with 0 when it ended without an answer. Every admitted
 * attempt gets exactly one `onStatus`, so a place taken in `admit` is always given back.
 */
export interface AttemptHooks {
  /** Resolves when the attempt may be sent; undefined means at once. */
  admit?: () => Promise<void> | undefined;
  /** The attempt's status, or 0 when it ended without an answer. */
  onStatus?: (status: number) => void;
  /**
   * Whether the attempt was a probe: sent at a width of the pool above any that the server has
   * answered without a 429. A 429 to a probe tells the pool where the server's limit is, and the
   * pool steps back; only the refused request waits out its `Retry-After`, not the whole client.
   */
  probing?: () => boolean;
}

/** One call through the transport. */
export interface TransportRequest extends AttemptHooks {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'PATCH';
  /** Path below the API root, already encoded, starting with `/`. */
  path: string;
  searchParams?: URLSearchParams;
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

// An error answer is read only for its `metadata.error`; more than this is not an error envelope.
const ERROR_BODY_BYTES = 64 * 1024;

/** What one request needs across its attempts. */
interface Call {
  req: TransportRequest;
  info: { method: string; url: string };
  idempotent: boolean;
  headers: Record<string, string>;
  /** What the next attempt sends: the URL, or the Request a `beforeRetry` hook handed back. */
  input: string | Request;
}

/** How one attempt ended. */
type Outcome =
  | { value: unknown; status: number }
  | { error: ImednetError; retry: boolean; status?: number; headers?: Headers; failed?: boolean };

/** Sends requests to the iMednet API. Created once per client. */
export class Transport {
  readonly #settings: TransportSettings;
  readonly #ky: KyInstance;
  /** When requests may be sent: shared by every request of the client. */
  readonly pacer: Pacer;
  readonly #hooks: Required<{ [K in keyof RequestHooks]: NonNullable<RequestHooks[K]> }> = {
    beforeRequest: [],
    afterResponse: [],
    beforeRetry: [],
    beforeError: [],
  };

  constructor(settings: TransportSettings) {
    this.#settings = settings;
    this.pacer = settings.pacer ?? new Pacer();
    this.#ky = ky.create({
      // fetch is looked up at call time so that a polyfill or test double installed later is used
      fetch: (input, init) => (settings.fetch ?? globalThis.fetch)(input, init),
      // One attempt per call: the loop in request() retries, and each attempt's deadline is ours.
      retry: 0,
      timeout: false,
      throwHttpErrors: true,
      headers: { accept: 'application/json' },
    });
    if (settings.hooks) this.addHooks(settings.hooks);
  }

  /** Adds ky hooks (from plugins); they run in the order added, on every attempt. */
  addHooks(hooks: RequestHooks): void {
    for (const key of Object.keys(this.#hooks) as Array<keyof RequestHooks>) {
      const added = hooks[key];
      if (added) (this.#hooks[key] as unknown[]).push(...added);
    }
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
    const info = {
      method: req.method,
      url: redactUrl(url, { showFilterValues: s.showFilterValues === true }),
    };
    const call: Call = {
      req,
      info,
      idempotent: IDEMPOTENT_METHODS.has(req.method),
      headers: { 'x-api-key': s.apiKey, 'x-imn-security-key': s.securityKey, ...req.headers },
      input: url,
    };
    for (let attempt = 0; ; attempt++) {
      const [outcome, wait] = await this.#paced(call, attempt);
      if ('value' in outcome) return outcome.value;
      if (wait === undefined) throw outcome.error;
      try {
        await sleep(wait, req.signal);
      } catch {
        throw aborted(info, attempt + 1);
      }
      call.input = await this.#beforeRetry(call, outcome.error, attempt + 1);
    }
  }

  /**
   * One attempt with its waits: a place from the caller (`admit`), then the client's pacing, then
   * the send. The caller hears the attempt's status exactly once, whatever happens. Resolves to
   * how the attempt ended and, when a retry follows, the wait before it.
   */
  async #paced(call: Call, attempt: number): Promise<[Outcome, number | undefined]> {
    const s = this.#settings;
    const { req, info } = call;
    if (req.signal?.aborted) throw aborted(info, attempt);
    let reported = false;
    const report = (status: number) => {
      if (reported) return;
      reported = true;
      req.onStatus?.(status);
    };
    const admitted = req.admit?.();
    if (admitted) await admitted.catch(() => Promise.reject(aborted(info, attempt)));
    try {
      const paced = this.pacer.take(req.signal);
      if (paced) await paced;
      if (req.signal?.aborted) throw aborted(info, attempt);
      const started = now();
      const outcome = await this.#attempt(call, attempt, attempt >= s.retries, report);
      const wait =
        'error' in outcome && outcome.retry ? retryDelay(attempt + 1, s, outcome.headers) : undefined;
      this.#log(call, attempt, started, outcome, wait);
      return [outcome, wait];
    } catch (error) {
      throw error instanceof AbortError ? aborted(info, attempt) : error;
    } finally {
      report(0);
    }
  }

  /**
   * Sends one attempt and reads its body, all within the deadline. `final` says no retry may
   * follow. Whatever is not read to the end is cancelled before this returns, which closes the
   * connection of an abandoned attempt at once.
   */
  async #attempt(
    call: Call,
    attempt: number,
    final: boolean,
    report: (status: number) => void,
  ): Promise<Outcome> {
    const s = this.#settings;
    const { req, info } = call;
    const errorInfo: RequestInfo = { ...info, attempts: attempt + 1 };
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, s.timeout);
    const forward = () => controller.abort();
    req.signal?.addEventListener('abort', forward, { once: true });
    let finished = false;
    let status: number | undefined;
    // A failure with no usable answer: the caller's abort, the deadline, or the network.
    const failure = (error: unknown, midBody: boolean): Outcome => {
      if (req.signal?.aborted) return { error: aborted(info, attempt + 1), retry: false, failed: true };
      const retry = call.idempotent && !final;
      const out = { retry, failed: true, ...(status === undefined ? {} : { status }) };
      if (timedOut) {
        const what = midBody ? 'The response body did not arrive' : 'No response';
        return {
          ...out,
          error: new TimeoutError(`${what} within ${s.timeout} ms (${info.method} ${info.url})`, errorInfo),
        };
      }
      return { ...out, error: connectionError(error, midBody, errorInfo, s) };
    };

    try {
      let response: Response;
      try {
        const options: KyOptions = {
          method: req.method,
          headers: call.headers,
          signal: controller.signal,
          hooks: this.#hooksFor(attempt),
        };
        if (req.json !== undefined) options.json = req.json;
        response = await this.#ky(call.input, options);
      } catch (error) {
        if (!isHTTPError(error)) {
          if (error instanceof ImednetError) return { error, retry: false, failed: true };
          return failure(error, false);
        }
        response = error.response;
      }
      status = response.status;
      if (status === 429 && !final && response.headers.has('retry-after') && !req.probing?.()) {
        // The server said how long it wants quiet: the whole client holds its new requests, once,
        // from before anyone hears of this answer (the pool would otherwise fill the gap at once).
        // A probe's 429 only marks the pool's limit: the pool steps back and the rest goes on.
        this.pacer.pause(retryDelay(attempt + 1, s, response.headers));
      }
      report(status);

      if (!response.ok) {
        if (!final && isRetryableStatus(status, call.idempotent)) {
          // The body is not read: finally{} cancels it, so the wait holds no connection.
          return {
            error: ApiError.from(status, {}, errorInfo),
            retry: true,
            status,
            headers: response.headers,
          };
        }
        const { detail, note } = await this.#readErrorDetail(response, controller.signal, () => timedOut);
        finished = true;
        if (req.signal?.aborted) return failure(undefined, true);
        const error = ApiError.from(status, detail, errorInfo, note);
        if (error instanceof RateLimitError) {
          const after = retryAfterMs(response.headers.get('retry-after'));
          if (after !== undefined) error.retryAfterMs = after;
        }
        return { error, retry: false, status };
      }

      let text: string;
      try {
        text = await readBody(response, s.maxResponseBytes, controller.signal);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          const message = `The API answered with a body larger than ${error.limit} bytes (maxResponseBytes) (${info.method} ${info.url})`;
          return {
            error: new ResponseValidationError(message, [], errorInfo),
            retry: false,
            status,
            failed: true,
          };
        }
        return failure(error, true);
      }
      finished = true;
      if (text === '') return { value: undefined, status };
      try {
        return { value: JSON.parse(text), status };
      } catch {
        // A truncated or garbled body on a safe method is treated like a dropped connection.
        const message = `The API answered with a body that is not valid JSON (${info.method} ${info.url})`;
        return {
          error: new ResponseValidationError(message, [], errorInfo),
          retry: call.idempotent && !final,
          status,
          failed: true,
        };
      }
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', forward);
      if (!finished) controller.abort();
    }
  }

  /** Reads `metadata.error` from an error answer, within the attempt's deadline; tolerates any body. */
  async #readErrorDetail(
    response: Response,
    signal: AbortSignal,
    timedOut: () => boolean,
  ): Promise<{ detail: ApiErrorDetail; note?: string }> {
    const s = this.#settings;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(response, ERROR_BODY_BYTES, signal));
    } catch {
      // The status is the answer; a body that stalls, overflows or is not JSON only loses the detail.
      return timedOut()
        ? { detail: {}, note: `(its body did not arrive within ${s.timeout} ms)` }
        : { detail: {} };
    }
    const root = isRecord(parsed) ? parsed : {};
    const metadata = isRecord(root.metadata) ? root.metadata : {};
    const error = isRecord(metadata.error) ? metadata.error : {};
    const detail: ApiErrorDetail = {};
    const secrets = [s.apiKey, s.securityKey];
    const code = error.code;
    if (typeof code === 'string' || typeof code === 'number')
      detail.code = scrubSecrets(String(code), secrets);
    const message = error.message ?? error.description;
    if (typeof message === 'string') detail.message = scrubSecrets(message, secrets);
    if (typeof error.field === 'string') detail.field = scrubSecrets(error.field, secrets);
    return { detail };
  }

  /**
   * The plugins' hooks for one attempt. ky counts its own retries, of which there are none here,
   * so on a retry each hook is told the attempt number in `retryCount` as ky would have.
   */
  #hooksFor(attempt: number): Hooks {
    const h = this.#hooks;
    if (attempt === 0) return h as Hooks;
    const state = { retryCount: attempt };
    return {
      beforeRequest: h.beforeRequest.map((hook) => (request, options) => hook(request, options, state)),
      afterResponse: h.afterResponse.map(
        (hook) => (request, options, response) => hook(request, options, response, state),
      ),
      beforeError: h.beforeError.map((hook) => (error) => hook(error, state)),
    } as Hooks;
  }

  /**
   * Runs the plugins' `beforeRetry` hooks, after the wait and before retry number `retry`, as ky
   * does: each gets the request about to be sent; one may return a Request to send instead.
   */
  async #beforeRetry(call: Call, error: ImednetError, retry: number): Promise<string | Request> {
    const hooks = this.#hooks.beforeRetry;
    if (hooks.length === 0) return call.input;
    let request = new Request(call.input, { method: call.req.method, headers: call.headers });
    for (const hook of hooks) {
      const result = await hook({ request, options: { method: call.req.method }, error, retryCount: retry });
      if (result instanceof Request) {
        request = result;
        break;
      }
    }
    return request;
  }

  #log(call: Call, attempt: number, started: number, outcome: Outcome, retryInMs: number | undefined): void {
    const logger = this.#settings.logger;
    if (!logger) return;
    const event: RequestEvent = {
      method: call.info.method,
      url: call.info.url,
      attempt,
      durationMs: Math.round(now() - started),
    };
    if (outcome.status !== undefined) event.status = outcome.status;
    if ('error' in outcome && outcome.failed) event.error = outcome.error.name;
    if (retryInMs !== undefined) event.retryInMs = retryInMs;
    try {
      logger(event);
    } catch {
      // a failing logger must not fail the request
    }
  }
}

function aborted(info: { method: string; url: string }, attempts: number): AbortError {
  return new AbortError('The request was aborted', attempts > 0 ? { ...info, attempts } : info);
}

/** A network failure, named by its cause when the runtime gives one; free of credentials. */
function connectionError(
  error: unknown,
  midBody: boolean,
  info: RequestInfo,
  s: TransportSettings,
): ConnectionError {
  const { code, reason } = networkCause(error);
  const because = reason ? `: ${reason}${code && code !== reason ? ` (${code})` : ''}` : '';
  const message = midBody
    ? `The connection was closed in the middle of the response${because} (${info.method} ${info.url})`
    : `Could not reach the iMednet API${because} (${info.method} ${info.url})`;
  const secrets = [s.apiKey, s.securityKey];
  const cause: Record<string, unknown> = {};
  if (error instanceof Error) {
    cause.name = error.name;
    cause.message = scrubSecrets(error.message, secrets);
  }
  if (code) cause.code = code;
  return new ConnectionError(message, { ...info, cause, ...(code ? { code } : {}) });
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
