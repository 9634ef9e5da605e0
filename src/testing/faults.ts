// Fault injection that tests can count on: each fault fires for exactly `times` matching requests
// (after skipping `after` of them), in a fixed order, so retries and recoveries are reproducible.

/** Which requests a fault applies to; all of them when nothing is given. */
export interface FaultScope {
  /** HTTP methods (any case) the fault applies to. */
  methods?: string | readonly string[];
  /** Path prefixes, either full (`/api/v1/edc/studies/X/records`) or below the base (`/studies/X/records`). */
  paths?: string | readonly string[];
  /** Matching requests to let through before the fault starts firing (default 0). */
  after?: number;
}

/** A fault that fires on the next `times` matching requests (`Infinity` for always). */
export interface CountedFault extends FaultScope {
  times: number;
}

/** Fault injection settings of the mock API. */
export interface FaultOptions {
  /** Delay before every answer, in milliseconds. */
  latencyMs?: number;
  /** 429 Too Many Requests, with `Retry-After` (seconds or an HTTP date) when given. */
  rateLimit?: CountedFault & { retryAfter?: number | string };
  /** A 5xx answer with the error envelope (status defaults to 500). */
  serverError?: CountedFault & { status?: number };
  /** No answer at all: `Response.error()` from handle(), a destroyed socket from the Node server. */
  networkError?: CountedFault;
  /**
   * The answer's body cut in half. 'json' (default) sends a short, well-formed HTTP answer whose JSON
   * is cut; 'stream' announces the full length and then fails the body stream midway.
   */
  truncateBody?: CountedFault & { mode?: 'json' | 'stream' };
  /** A list answer whose pagination block is broken ('invalid' numbers, the default, or 'missing'). */
  malformedPagination?: CountedFault & { kind?: 'invalid' | 'missing' };
  /**
   * A server that works on at most `limit` requests at once: one that arrives beyond it is answered
   * 429 at once (before `latencyMs`), with `Retry-After` when given, and is not counted as in flight.
   * @example { maxInFlight: { limit: 12, retryAfter: 0.2 } }
   */
  maxInFlight?: FaultScope & { limit: number; retryAfter?: number | string };
}

/** Names of the counted faults, in the order they are considered. */
export type FaultName = 'networkError' | 'rateLimit' | 'serverError' | 'truncateBody' | 'malformedPagination';

interface Armed {
  scope: FaultScope;
  remaining: number;
  skip: number;
}

const list = (value: string | readonly string[] | undefined): readonly string[] | undefined =>
  value === undefined ? undefined : typeof value === 'string' ? [value] : value;

/** The mutable fault state of one mock API. */
export class FaultInjector {
  private options: FaultOptions = {};
  private armed = new Map<FaultName, Armed>();

  constructor(options: FaultOptions = {}) {
    this.set(options);
  }

  /** Replaces all faults and restarts their counters. */
  set(options: FaultOptions): void {
    this.options = { ...options };
    this.armed.clear();
    for (const name of [
      'networkError',
      'rateLimit',
      'serverError',
      'truncateBody',
      'malformedPagination',
    ] as const) {
      const fault = options[name];
      if (!fault) continue;
      if (!(fault.times >= 0)) throw new RangeError(`faults.${name}.times must be a non-negative number`);
      this.armed.set(name, { scope: fault, remaining: fault.times, skip: fault.after ?? 0 });
    }
  }

  /** The current settings. */
  get current(): FaultOptions {
    return this.options;
  }

  /** Latency to apply, in milliseconds. */
  get latencyMs(): number {
    return this.options.latencyMs ?? 0;
  }

  /** Whether `name` fires for this request; a firing is counted, a non-firing match is skipped over. */
  take(name: FaultName, method: string, path: string, basePath: string): boolean {
    const fault = this.armed.get(name);
    if (!fault || fault.remaining <= 0 || !inScope(fault.scope, method, path, basePath)) return false;
    if (fault.skip > 0) {
      fault.skip--;
      return false;
    }
    fault.remaining--;
    return true;
  }
}

/** Whether a request falls in a fault's scope. */
export function inScope(scope: FaultScope, method: string, path: string, basePath: string): boolean {
  const methods = list(scope.methods);
  if (methods && !methods.some((m) => m.toUpperCase() === method)) return false;
  const paths = list(scope.paths);
  if (!paths) return true;
  const relative = path.startsWith(basePath) ? path.slice(basePath.length) : path;
  return paths.some((p) => path.startsWith(p) || relative.startsWith(p));
}
