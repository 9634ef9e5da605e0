/**
 * When a client may send its next request. Two things hold requests back, for every listing, get
 * and write of one client alike: a 429's `Retry-After` (one pause for the whole client, however
 * many requests were refused at once) and an optional budget of requests per minute and per hour,
 * counted over sliding windows. Waiting requests wake together when a place opens; the first to run
 * takes it and the others wait again.
 */
import { sleep } from './sleep.js';

/** A monotonic clock in milliseconds; `performance.now()` where the runtime has it. */
export const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Limits on the requests one client sends; each is counted over a sliding window, retries included.
 * @example { perMinute: 100, perHour: 1000 } // the limits the API collection published with the Python SDK states
 */
export interface RequestBudget {
  /** Most requests sent in any 60 seconds. */
  perMinute?: number;
  /** Most requests sent in any 60 minutes. */
  perHour?: number;
}

/**
 * What a progress display needs to give an ETA that honours the budget: the limits, and how long
 * until a number of further requests can all have been sent.
 * @example
 * const client = new Imednet({ apiKey, securityKey, requestBudget: { perMinute: 100, perHour: 1000 } });
 * const remainingPages = 1500;
 * // 64 minutes: 1,000 in the first ten (100 a minute), the other 500 once those are an hour old
 * const etaMs = client.requestBudget.msUntil(remainingPages);
 */
export interface RequestBudgetStatus {
  /** The per-minute limit, or undefined when there is none. */
  readonly perMinute: number | undefined;
  /** The per-hour limit, or undefined when there is none. */
  readonly perHour: number | undefined;
  /**
   * Milliseconds from now until `requests` more requests could all have been sent, counting the
   * budget and any `Retry-After` pause (0 when none of them would wait). A lower bound: it knows
   * nothing of the server's latency.
   */
  msUntil(requests: number): number;
}

/** The clock a {@link Pacer} reads and waits with; tests pass a virtual one. */
export interface PacerClock {
  now(): number;
  /** Resolves after `ms`; rejects with AbortError when `signal` fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** One client's pacing: the `Retry-After` pause and the request budget. */
export class Pacer implements RequestBudgetStatus {
  readonly perMinute: number | undefined;
  readonly perHour: number | undefined;
  readonly #windows: Array<[ms: number, limit: number]> = [];
  readonly #clock: PacerClock;
  /** Send times within the longest window, oldest first; kept only when there is a budget. */
  #sent: number[] = [];
  #pausedUntil = 0;
  /** Requests waiting in take(). */
  #waiting = 0;

  constructor(budget: RequestBudget = {}, clock: PacerClock = { now, sleep }) {
    this.perMinute = budget.perMinute;
    this.perHour = budget.perHour;
    this.#clock = clock;
    if (budget.perMinute) this.#windows.push([60_000, budget.perMinute]);
    if (budget.perHour) this.#windows.push([3_600_000, budget.perHour]);
  }

  /** Holds every request sent from now on for `ms` (a longer pause already set stands). */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + ms);
  }

  /**
   * Waits until one request may be sent and counts it as sent. Returns undefined when it may go at
   * once (the common case costs no promise); rejects with AbortError when `signal` fires first.
   */
  take(signal?: AbortSignal): Promise<void> | undefined {
    if (this.#openAt(this.#sent) > this.#clock.now()) return this.#wait(signal);
    this.#record();
    return undefined;
  }

  msUntil(requests: number): number {
    const start = this.#clock.now();
    // Without a budget only a Retry-After pause holds requests back, however many there are.
    if (this.#windows.length === 0) return Math.max(0, this.#pausedUntil - start);
    // The send times to come, appended to the ones already counted, so that each window sees them.
    const times = [...this.#sent];
    let at = start;
    for (let i = 0; i < requests + this.#waiting; i++) {
      at = this.#openAt(times, at);
      times.push(at);
    }
    return at - start;
  }

  async #wait(signal?: AbortSignal): Promise<void> {
    this.#waiting++;
    try {
      // Every waiter wakes when the next place opens; the first to run takes it, the rest wait again.
      for (let at = this.#openAt(this.#sent); at > this.#clock.now(); at = this.#openAt(this.#sent)) {
        await this.#clock.sleep(at - this.#clock.now(), signal);
      }
    } finally {
      this.#waiting--;
    }
    this.#record();
  }

  /** When the next request may go, given the send times `times` (the recorded ones, or more). */
  #openAt(times: number[], from = this.#clock.now()): number {
    let at = Math.max(from, this.#pausedUntil);
    for (const [ms, limit] of this.#windows) {
      const oldest = times[times.length - limit];
      if (oldest !== undefined) at = Math.max(at, oldest + ms);
    }
    return at;
  }

  #record(): void {
    const longest = this.#windows[this.#windows.length - 1]?.[0];
    if (longest === undefined) return;
    const t = this.#clock.now();
    this.#sent.push(t);
    while (this.#sent[0]! <= t - longest) this.#sent.shift();
  }
}
