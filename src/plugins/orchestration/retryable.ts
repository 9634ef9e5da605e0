/**
 * Which failures of a study's task are worth another attempt, and how long a 429 asks to wait.
 * The client has already retried each request under its own policy; a task is retried only when
 * trying the whole study again later can help: the server was busy, failing or out of reach.
 */
import { isApiError, isConnectionError, isRateLimitError, isTimeoutError } from '../../core/errors.js';
import { isRetryableStatus, retryAfterMs } from '../../core/retry.js';

/**
 * The default retry policy of `runPerStudy`: true for a 429 (`RateLimitError`), a 5xx
 * (`ServerError`, but not 501 or 505, which answer the same every time), a `ConnectionError` and a
 * `TimeoutError` (the client's, or the task's own `timeout`). False for everything else: bad keys
 * (401, 403), a study that is not there (404), a bad request or configuration, and any error that
 * is not the SDK's.
 * @example
 * // Also retry a sink's failed write (the export resumes where it stopped).
 * const retryable = (error: unknown) => isRetryableError(error) || (error as Error).name === 'ExportBatchError';
 */
export function isRetryableError(error: unknown): boolean {
  if (isApiError(error)) return isRetryableStatus(error.status, true);
  return isConnectionError(error) || isTimeoutError(error);
}

/** Whether the server refused for rate: the SDK's `RateLimitError`, or any API error with status 429. */
export function isRateLimited(error: unknown): boolean {
  return isRateLimitError(error) || (isApiError(error) && error.status === 429);
}

/**
 * The wait, in milliseconds, that a rate-limited error asks for, when it says; undefined when it
 * does not. Read by shape, so a task's own error can carry it: `retryAfterMs` (milliseconds),
 * `retryAfter` (seconds, or a `Retry-After` header value), or a `Retry-After` header on `headers`
 * or `response.headers`.
 * @example retryAfterOf({ retryAfter: '120' }) // 120000
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    retryAfterMs?: unknown;
    retryAfter?: unknown;
    headers?: unknown;
    response?: { headers?: unknown } | null;
  };
  if (typeof e.retryAfterMs === 'number') return e.retryAfterMs >= 0 ? e.retryAfterMs : undefined;
  if (typeof e.retryAfter === 'number') return e.retryAfter >= 0 ? e.retryAfter * 1000 : undefined;
  if (typeof e.retryAfter === 'string') return retryAfterMs(e.retryAfter);
  const own = e.headers;
  const response = e.response?.headers;
  const headers = hasGet(own) ? own : hasGet(response) ? response : undefined;
  const value = headers?.get('retry-after');
  return typeof value === 'string' ? retryAfterMs(value) : undefined;
}

function hasGet(value: unknown): value is { get(name: string): unknown } {
  return typeof (value as { get?: unknown } | null | undefined)?.get === 'function';
}
