/**
 * How many studies a run works on at once. A 429 halves it (at least 1), once per burst: every
 * 429 to an attempt started before the drop belongs to the burst that caused it. Each round of
 * successes (as many as the current width) gives one place back, up to the configured width.
 *
 * Not the core's AdaptiveLimit: that one sizes a page pool by latency, which says nothing here,
 * where one study's task may take seconds and the next an hour.
 */
export class RunLimit {
  /** Tasks the run may have going now. */
  limit: number;
  /** The configured width: the most it recovers to. */
  readonly max: number;
  /** Counts drops; an attempt remembers the epoch it started in. */
  epoch = 0;
  #successes = 0;

  constructor(max: number) {
    this.max = max;
    this.limit = max;
  }

  /** An attempt started in `epoch` was answered 429. Returns whether the width dropped. */
  rateLimited(epoch: number): boolean {
    if (epoch !== this.epoch) return false;
    this.limit = Math.max(1, Math.floor(this.limit / 2));
    this.epoch++;
    this.#successes = 0;
    return true;
  }

  /** An attempt succeeded. */
  succeeded(): void {
    if (this.limit >= this.max) return;
    if (++this.#successes < this.limit) return;
    this.limit++;
    this.#successes = 0;
  }
}
