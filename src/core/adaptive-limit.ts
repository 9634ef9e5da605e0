/**
 * The width of a listing's page pool, learnt from the server's answers. It starts at the configured
 * `concurrency` and may grow up to `maxConcurrency`: after each round of `limit` successes it grows
 * by one if the round's median latency stayed within {@link LATENCY_SLACK} of the best round seen (a
 * saturated or CPU-bound server answers slower as it is asked more, and then the width stays).
 *
 * A 429 is a congestion event: the width drops once, to one less than the number of requests that
 * were in flight when the refused request was sent (at least 1). Every 429 to a request sent before
 * that drop belongs to the same event: it may lower the width to its own count less one, but never
 * counts as a new event, so a burst of refusals is one step down, not a halving per answer. The
 * width that drew the 429 is tried again only after {@link PROBE_ROUNDS} rounds without one, and
 * each later event doubles that wait, so a hard server cap costs a few 429s per listing, not a
 * steady share.
 */

/** How much slower than the best round a round may be for the width to grow. */
export const LATENCY_SLACK = 1.3;
/** Rounds of successes before the width that drew a 429 is tried again (doubled per event, at most 8×). */
export const PROBE_ROUNDS = 16;

/** How one request went, as the pool saw it. */
export interface Answered {
  /** The HTTP status; 0 when no answer came. */
  status: number;
  /** Requests of the pool in flight when it was sent, itself included. */
  width: number;
  /** {@link AdaptiveLimit.epoch} when it was sent. */
  epoch: number;
  /** Milliseconds from sending to the answer's headers. */
  ms: number;
}

/** A pool width that grows while latency holds and steps down once per congestion event. */
export class AdaptiveLimit {
  /** Requests the pool may have in flight now. */
  limit: number;
  /** The most it may grow to. */
  readonly max: number;
  /** Counts congestion events; a request remembers the epoch it was sent in. */
  epoch = 0;
  #round: number[] = [];
  #best = Number.POSITIVE_INFINITY;
  /** The smallest width that drew a 429, tried again only after a wait. */
  #ceiling = Number.POSITIVE_INFINITY;
  /**
   * The widest the pool is known to run at: the starting width, then each width that completed a
   * round without a 429. A request sent wider than this is a probe.
   */
  #established: number;
  #roundsSinceEvent = 0;
  #probeRounds = PROBE_ROUNDS / 2;

  constructor(start: number, max: number) {
    this.limit = start;
    this.#established = start;
    this.max = Math.max(start, max);
  }

  /**
   * Pages the pool may fetch ahead of the reader: four times the width, so that one slow page does
   * not idle the others, but at most 32 pages (memory stays bounded) and never less than the width.
   */
  get window(): number {
    return Math.max(this.limit, Math.min(4 * this.limit, 32));
  }

  /** Learns from one answer. */
  observe({ status, width, epoch, ms }: Answered): void {
    if (status === 429) {
      this.#congested(width, epoch);
      return;
    }
    // Failures say nothing about the width; the retry layer deals with them.
    if (status === 0 || status >= 400) return;
    this.#round.push(ms);
    if (this.#round.length < this.limit) return;
    const sorted = this.#round.sort((a, b) => a - b);
    const typical = sorted[sorted.length >> 1]!;
    this.#round = [];
    this.#roundsSinceEvent++;
    this.#established = Math.max(this.#established, this.limit);
    const holds = typical <= this.#best * LATENCY_SLACK;
    this.#best = Math.min(this.#best, typical);
    if (!holds || this.limit >= this.max) return;
    if (this.limit + 1 >= this.#ceiling) {
      if (this.#roundsSinceEvent < this.#probeRounds) return;
      this.#ceiling = Number.POSITIVE_INFINITY;
    }
    this.limit++;
  }

  /**
   * Whether a request sent at `width` is a probe: wider than the pool's established width (see
   * above). A 429 to a probe marks the server's limit, not a rate, so it need not hold the client.
   */
  probing(width: number): boolean {
    return width > this.#established;
  }

  #congested(width: number, epoch: number): void {
    const cut = Math.max(1, width - 1);
    if (epoch !== this.epoch) {
      // Sent before the last drop: part of the event already answered.
      if (cut < this.limit) this.limit = cut;
      this.#ceiling = Math.min(this.#ceiling, this.limit + 1);
      return;
    }
    this.limit = Math.max(1, Math.min(this.limit - 1, cut));
    this.#established = Math.min(this.#established, this.limit);
    this.#ceiling = this.limit + 1;
    this.epoch++;
    this.#round = [];
    this.#roundsSinceEvent = 0;
    this.#probeRounds = Math.min(this.#probeRounds * 2, PROBE_ROUNDS * 8);
  }
}
