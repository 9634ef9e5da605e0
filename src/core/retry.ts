/**
 * The SDK's one retry policy: which failures are tried again and how long to wait first.
 * Network failures, timeouts and 5xx are retried only for idempotent methods; 429 for every
 * method, because a 429 proves the request was not applied. `Retry-After` replaces the backoff,
 * up to a cap.
 */

/** Methods that may be sent twice without changing the outcome. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);

// Not Implemented and HTTP Version Not Supported: the same request will get the same answer.
const PERMANENT_5XX = new Set([501, 505]);
/** The longest backoff wait, whatever the attempt number. */
export const BACKOFF_LIMIT_MS = 30_000;

/** Whether an answer with this status is worth another attempt. */
export function isRetryableStatus(status: number, idempotent: boolean): boolean {
  if (status === 429) return true;
  return idempotent && status >= 500 && status <= 599 && !PERMANENT_5XX.has(status);
}

/** What the wait before a retry depends on. */
export interface RetryTiming {
  /** Base of the exponential backoff, in ms. */
  backoffFactor: number;
  /** The longest `Retry-After` honoured, in ms. */
  maxRetryAfter: number;
}

/**
 * Milliseconds to wait before retry number `retry` (1 for the first retry): the answer's
 * `Retry-After` (seconds or an HTTP date) up to `maxRetryAfter`, else a full-jitter backoff, a
 * random time up to `backoffFactor * 2^(retry-1)`, at most {@link BACKOFF_LIMIT_MS}.
 */
export function retryDelay(retry: number, timing: RetryTiming, headers?: Headers): number {
  const after = retryAfterMs(headers?.get('retry-after'));
  if (after !== undefined) return Math.min(after, timing.maxRetryAfter);
  return Math.round(Math.min(BACKOFF_LIMIT_MS, Math.random() * timing.backoffFactor * 2 ** (retry - 1)));
}

/** A `Retry-After` value (delay-seconds or an HTTP date) in ms from now; undefined when unreadable. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms)) : undefined;
}
