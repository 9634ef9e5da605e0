/** Client configuration: defaults, checks, and base URL normalisation. */
import { ConfigurationError } from './errors.js';
import type { RequestBudget } from './pacer.js';
import type { Logger } from './transport.js';
import { checkNonNegative, checkPageSize, checkPositiveInteger } from './validate.js';

/** The production host. */
export const DEFAULT_BASE_URL = 'https://edc.prod.imednetapi.com';
/** The path the API lives under on its host. */
export const API_PATH = '/api/v1/edc';

/**
 * Options of `new Imednet(...)`. Plugins add their own keys to this interface by declaration merging.
 * @example new Imednet({ apiKey: process.env.IMEDNET_API_KEY!, securityKey: process.env.IMEDNET_SECURITY_KEY! })
 */
export interface ImednetOptions {
  /** The API key (sent as `x-api-key`). */
  apiKey: string;
  /** The security key (sent as `x-imn-security-key`). */
  securityKey: string;
  /**
   * The API host; a trailing `/`, `/api` or `/api/v1/edc` is stripped.
   * @example 'https://edc.prod.imednetapi.com'
   */
  baseUrl?: string;
  /** A fetch implementation; by default `globalThis.fetch`, looked up at each call. */
  fetch?: typeof globalThis.fetch;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Base backoff delay in milliseconds; attempt n waits a random time up to `backoffFactor * 2^(n-1)` (default 500). */
  backoffFactor?: number;
  /** Longest `Retry-After` honoured, in milliseconds; longer ones are cut to this (default 60000). */
  maxRetryAfter?: number;
  /**
   * Per-attempt timeout in milliseconds, from sending the request to the last byte of its body
   * (default 30000). A body that stalls past it is a `TimeoutError`.
   * @example 60_000
   */
  timeout?: number;
  /**
   * Largest response body read, in bytes (default 67108864, 64 MiB); a longer one is refused with
   * a `ResponseValidationError` that names this option.
   * @example 256 * 1024 * 1024
   */
  maxResponseBytes?: number;
  /** Requests a listing has in flight at its start (default 8). */
  concurrency?: number;
  /**
   * The most requests in flight a listing may grow to (default: twice `concurrency`, at most 16,
   * never less than `concurrency`). A listing grows one step per round of successes while the
   * server's latency holds and no 429 comes, and steps down once per burst of 429s, so it settles
   * near what the server can take. The default stays modest because the API is shared by every
   * site of a study and states a limit of 100 requests per minute.
   * @example new Imednet({ apiKey, securityKey, concurrency: 8, maxConcurrency: 32 })
   */
  maxConcurrency?: number;
  /**
   * Limits on the requests this client sends, shared by every listing, get and write, retries
   * included (default: none). Each limit is counted over a sliding window; a request that would
   * exceed one waits (an abort ends the wait with `AbortError`). `client.requestBudget.msUntil(n)`
   * tells a progress display when `n` more requests can have been sent.
   * @example new Imednet({ apiKey, securityKey, requestBudget: { perMinute: 100, perHour: 1000 } })
   */
  requestBudget?: RequestBudget;
  /** Default page size, 1..500 (default 500, the API's maximum). */
  pageSize?: number;
  /** Check response bodies against their schemas (default true). */
  validate?: boolean;
  /**
   * Receives one event per HTTP attempt (method, redacted URL, status, attempt, duration, and
   * `retryInMs` when a retry will follow).
   * @example new Imednet({ apiKey, securityKey, logger: (event) => console.error(JSON.stringify(event)) })
   */
  logger?: Logger;
  /**
   * Show filter values in error messages and log events, for local debugging (default false).
   * By default the values inside `filter` and `recordDataFilter` (subject keys, clinical values) are
   * masked as `***`; attribute names and operators stay visible.
   * @example new Imednet({ apiKey, securityKey, showFilterValues: true }) // never in production logs
   */
  showFilterValues?: boolean;
}

/** Options with every default filled. */
export interface ResolvedOptions {
  apiKey: string;
  securityKey: string;
  baseUrl: string;
  apiRoot: string;
  fetch?: typeof globalThis.fetch;
  retries: number;
  backoffFactor: number;
  maxRetryAfter: number;
  timeout: number;
  maxResponseBytes: number;
  concurrency: number;
  maxConcurrency: number;
  requestBudget: RequestBudget;
  pageSize: number;
  validate: boolean;
  showFilterValues: boolean;
  logger?: Logger;
}

/**
 * Normalises a base URL to the bare origin-and-prefix form: trailing `/`, `/api` and
 * `/api/v1/edc` are removed, since users paste all three.
 */
export function normalizeBaseUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new ConfigurationError('baseUrl is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigurationError('baseUrl must be http or https');
  if (url.username || url.password) throw new ConfigurationError('baseUrl must not contain credentials');
  let path = url.pathname.replace(/\/+$/, '');
  for (const suffix of [API_PATH, '/api']) {
    if (path.toLowerCase().endsWith(suffix)) path = path.slice(0, -suffix.length);
  }
  path = path.replace(/\/+$/, '');
  return `${url.origin}${path}`;
}

/** Checks options and fills defaults. Errors name the option, never its value. */
export function resolveOptions(given: ImednetOptions): ResolvedOptions {
  // Anything but an object reads as "no keys given", which the next check names.
  const options = (typeof given === 'object' && given !== null ? given : {}) as ImednetOptions;
  const missing = (['apiKey', 'securityKey'] as const).filter(
    (key) => typeof options[key] !== 'string' || options[key].trim() === '',
  );
  if (missing.length > 0) {
    throw new ConfigurationError(`Missing ${missing.join(' and ')} in the Imednet options`);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function')
    throw new ConfigurationError('fetch must be a function');
  if (options.logger !== undefined && typeof options.logger !== 'function')
    throw new ConfigurationError('logger must be a function');
  const baseUrl = normalizeBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
  const concurrency = checkPositiveInteger(options.concurrency ?? 8, 'concurrency');
  const resolved: ResolvedOptions = {
    apiKey: options.apiKey,
    securityKey: options.securityKey,
    baseUrl,
    apiRoot: baseUrl + API_PATH,
    retries: checkPositiveInteger(options.retries ?? 3, 'retries', 0),
    backoffFactor: checkNonNegative(options.backoffFactor ?? 500, 'backoffFactor'),
    maxRetryAfter: checkNonNegative(options.maxRetryAfter ?? 60_000, 'maxRetryAfter'),
    timeout: checkPositiveInteger(options.timeout ?? 30_000, 'timeout'),
    maxResponseBytes: checkPositiveInteger(options.maxResponseBytes ?? 64 * 1024 * 1024, 'maxResponseBytes'),
    concurrency,
    maxConcurrency: checkPositiveInteger(
      options.maxConcurrency ?? defaultMaxConcurrency(concurrency),
      'maxConcurrency (at least concurrency)',
      concurrency,
    ),
    requestBudget: checkBudget(options.requestBudget),
    pageSize: checkPageSize(options.pageSize ?? 500),
    validate: options.validate ?? true,
    showFilterValues: options.showFilterValues === true,
  };
  if (options.fetch) resolved.fetch = options.fetch;
  if (options.logger) resolved.logger = options.logger;
  return resolved;
}

/** `maxConcurrency` when none is given: twice `concurrency`, at most 16, never less than `concurrency`. */
export function defaultMaxConcurrency(concurrency: number): number {
  return Math.max(concurrency, Math.min(2 * concurrency, 16));
}

function checkBudget(budget: RequestBudget = {}): RequestBudget {
  if (typeof budget !== 'object' || budget === null)
    throw new ConfigurationError('requestBudget must be an object such as { perMinute: 100 }');
  for (const key of ['perMinute', 'perHour'] as const) {
    if (budget[key] !== undefined) checkPositiveInteger(budget[key], `requestBudget.${key}`);
  }
  return budget;
}
