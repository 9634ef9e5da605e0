/**
 * One tree of error classes. Every error the SDK throws is an `ImednetError`.
 *
 * `instanceof` works across duplicate copies of the package (two bundles, a CJS and an ESM copy):
 * each instance carries the names of its class chain under a registry symbol, and each class
 * answers `instanceof` by looking for its own name there. The `is*` guards do the same.
 */

const BRAND = Symbol.for('imednet.error.kinds');

/** Details the API puts under `metadata.error` in an error response. */
export interface ApiErrorDetail {
  /** The API's error code, e.g. `BAD_REQUEST`. */
  code?: string;
  /** The API's message (its `message` or `description`). */
  message?: string;
  /** The request field the error is about, when the API names one. */
  field?: string;
}

/** What every request-bound error knows about the request that failed (URL already redacted). */
export interface RequestInfo {
  method?: string;
  url?: string;
  /** How many times the request was sent before this error was thrown. */
  attempts?: number;
}

function kindsOf(value: unknown): readonly string[] {
  if (typeof value !== 'object' || value === null) return [];
  const kinds = (value as Record<symbol, unknown>)[BRAND];
  return Array.isArray(kinds) ? kinds : [];
}

/** The root of every error thrown by the SDK. */
export class ImednetError extends Error {
  /** The class name used for cross-copy `instanceof` checks. */
  static readonly kind: string = 'ImednetError';
  /** HTTP method of the failing request, if any. */
  readonly method?: string;
  /** Redacted URL of the failing request, if any. */
  readonly url?: string;
  /** How many times the request was sent (1 when it was not retried), if a request was made. */
  readonly attempts?: number;

  constructor(message: string, info: RequestInfo & { cause?: unknown } = {}) {
    // A retried request says so: "... after 4 attempts".
    const retried = info.attempts !== undefined && info.attempts > 1;
    super(
      retried ? `${message} after ${info.attempts} attempts` : message,
      info.cause === undefined ? undefined : { cause: info.cause },
    );
    const chain: string[] = [];
    for (let c = new.target as unknown as { kind?: string } | null; c?.kind; c = Object.getPrototypeOf(c)) {
      if (!chain.includes(c.kind)) chain.push(c.kind);
    }
    Object.defineProperty(this, BRAND, { value: chain, enumerable: false });
    Object.defineProperty(this, 'name', {
      value: chain[0] ?? 'ImednetError',
      enumerable: false,
      writable: true,
    });
    if (info.method !== undefined) this.method = info.method;
    if (info.url !== undefined) this.url = info.url;
    if (info.attempts !== undefined) this.attempts = info.attempts;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return kindsOf(value).includes(this.kind);
  }

  /** A plain, credential-free description: what `JSON.stringify(error)` prints. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (value !== undefined && typeof value !== 'function') out[key] = value;
    }
    return out;
  }
}

/** The client was configured wrongly or a call was given invalid arguments; nothing was sent. */
export class ConfigurationError extends ImednetError {
  static override readonly kind: string = 'ConfigurationError';
}

/** The network failed (DNS, refused or dropped connection) and retries, if allowed, ran out. */
export class ConnectionError extends ImednetError {
  static override readonly kind: string = 'ConnectionError';
  /** The runtime's network error code, when it gives one: `ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`... */
  readonly code?: string;
  constructor(message: string, info: RequestInfo & { cause?: unknown; code?: string } = {}) {
    super(message, info);
    if (info.code !== undefined) this.code = info.code;
  }
}

/** An attempt took longer than the configured `timeout` and retries, if allowed, ran out. */
export class TimeoutError extends ImednetError {
  static override readonly kind: string = 'TimeoutError';
}

/** The caller's `AbortSignal` fired. */
export class AbortError extends ImednetError {
  static override readonly kind: string = 'AbortError';
}

/** One problem found when a response body did not match its schema. */
export interface ValidationIssue {
  /** Dotted path to the offending value, e.g. `data.3.recordId`. */
  path: string;
  /** What was expected there. */
  message: string;
}

/** The server answered 2xx but the body was not what the API promises (bad JSON or wrong shape). */
export class ResponseValidationError extends ImednetError {
  static override readonly kind: string = 'ResponseValidationError';
  /** Where and why the body failed validation. Values themselves are never copied (they may be patient data). */
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[], info: RequestInfo = {}) {
    super(message, info);
    this.issues = issues;
  }
}

/** The API answered with an HTTP error status. Subclasses name the common statuses. */
export class ApiError extends ImednetError {
  static override readonly kind: string = 'ApiError';
  /** HTTP status code. */
  readonly status: number;
  /** `metadata.error.code` from the API, if present. */
  readonly code?: string;
  /** `metadata.error.field` from the API, if present. */
  readonly field?: string;
  /** `metadata.error.message` (or `description`) from the API, if present. */
  readonly apiMessage?: string;

  constructor(status: number, detail: ApiErrorDetail, info: RequestInfo = {}, message?: string) {
    super(message ?? describe(status, detail, info), info);
    this.status = status;
    if (detail.code !== undefined) this.code = detail.code;
    if (detail.field !== undefined) this.field = detail.field;
    if (detail.message !== undefined) this.apiMessage = detail.message;
  }

  /**
   * Builds the subclass that matches `status`; `note` is added to the message (e.g. why the API's
   * detail is missing).
   */
  static from(status: number, detail: ApiErrorDetail, info: RequestInfo = {}, note?: string): ApiError {
    const Class = STATUS_CLASSES[status] ?? (status >= 500 ? ServerError : ApiError);
    if (note === undefined) return new Class(status, detail, info);
    return new Class(status, detail, info, `${describe(status, detail, info)} ${note}`);
  }
}

/** 400: the API rejected the request as malformed. */
export class BadRequestError extends ApiError {
  static override readonly kind: string = 'BadRequestError';
}
/** 401: the API key or security key is missing, wrong or expired. */
export class UnauthorizedError extends ApiError {
  static override readonly kind: string = 'UnauthorizedError';
}
/** 403: the keys are valid but may not see this resource. */
export class ForbiddenError extends ApiError {
  static override readonly kind: string = 'ForbiddenError';
}
/** 404: the resource does not exist, or `get()` found no item with that id. */
export class NotFoundError extends ApiError {
  static override readonly kind: string = 'NotFoundError';
}
/** 409: the request conflicts with the current state. */
export class ConflictError extends ApiError {
  static override readonly kind: string = 'ConflictError';
}
/** 429: rate limited, and retries ran out. */
export class RateLimitError extends ApiError {
  static override readonly kind: string = 'RateLimitError';
  /**
   * How long the server asked to be left alone (its `Retry-After`, in ms), when it said: a caller
   * that schedules more work (a scheduler, `runPerStudy`) waits at least this long.
   */
  retryAfterMs?: number;
}
/** 5xx: the server failed, and retries (if the method allowed them) ran out. */
export class ServerError extends ApiError {
  static override readonly kind: string = 'ServerError';
}

/** A record-creation job ended `failed` or `cancelled`. */
export class JobFailedError extends ImednetError {
  static override readonly kind: string = 'JobFailedError';
  /** The job's batch id. */
  readonly batchId: string;
  /** The terminal state the job reported, as the API spelled it. */
  readonly state: string;
  constructor(batchId: string, state: string) {
    super(`Job ${batchId} ended in state "${state}"`);
    this.batchId = batchId;
    this.state = state;
  }
}

/** Waiting for a job took longer than the allowed time, or the job never reported a state. */
export class JobTimeoutError extends ImednetError {
  static override readonly kind: string = 'JobTimeoutError';
  /** The job's batch id. */
  readonly batchId: string;
  /** The last state seen (undefined when the job never reported one). */
  readonly lastState?: string;
  constructor(batchId: string, message: string, lastState?: string) {
    super(message);
    this.batchId = batchId;
    if (lastState !== undefined) this.lastState = lastState;
  }
}

const STATUS_CLASSES: Record<number, typeof ApiError> = {
  400: BadRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  429: RateLimitError,
};

function describe(status: number, detail: ApiErrorDetail, info: RequestInfo): string {
  const where = info.method && info.url ? ` (${info.method} ${info.url})` : '';
  const what = detail.message ? `: ${detail.message}` : '';
  const field = detail.field ? ` [field ${detail.field}]` : '';
  return `iMednet API answered ${status}${what}${field}${where}`;
}

function guard<T>(kind: string): (value: unknown) => value is T {
  return (value: unknown): value is T => kindsOf(value).includes(kind);
}

/** True for any error thrown by the SDK, from any copy of the package. */
export const isImednetError = guard<ImednetError>('ImednetError');
/** True for any HTTP error status from the API. */
export const isApiError = guard<ApiError>('ApiError');
/** True for a 400. */
export const isBadRequestError = guard<BadRequestError>('BadRequestError');
/** True for a 401. */
export const isUnauthorizedError = guard<UnauthorizedError>('UnauthorizedError');
/** True for a 403. */
export const isForbiddenError = guard<ForbiddenError>('ForbiddenError');
/** True for a 404 or an empty `get()`. */
export const isNotFoundError = guard<NotFoundError>('NotFoundError');
/** True for a 409. */
export const isConflictError = guard<ConflictError>('ConflictError');
/** True for a 429 after retries. */
export const isRateLimitError = guard<RateLimitError>('RateLimitError');
/** True for a 5xx after retries. */
export const isServerError = guard<ServerError>('ServerError');
/** True for a network failure. */
export const isConnectionError = guard<ConnectionError>('ConnectionError');
/** True for a per-attempt timeout. */
export const isTimeoutError = guard<TimeoutError>('TimeoutError');
/** True when the caller aborted. */
export const isAbortError = guard<AbortError>('AbortError');
/** True for a body that failed its schema. */
export const isResponseValidationError = guard<ResponseValidationError>('ResponseValidationError');
/** True for bad configuration or arguments. */
export const isConfigurationError = guard<ConfigurationError>('ConfigurationError');
/** True for a job that ended failed or cancelled. */
export const isJobFailedError = guard<JobFailedError>('JobFailedError');
/** True for a job wait that timed out. */
export const isJobTimeoutError = guard<JobTimeoutError>('JobTimeoutError');
