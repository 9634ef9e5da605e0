import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, LATENCY_SLACK, PROBE_ROUNDS } from '../../src/core/adaptive-limit.js';

/** Feeds `n` successes sent at the current width and epoch, each taking `ms`. */
function succeed(limit: AdaptiveLimit, n: number, ms = 50): void {
  for (let i = 0; i < n; i++) limit.observe({ status: 200, width: limit.limit, epoch: limit.epoch, ms });
}

/** Feeds full rounds of successes until `rounds` rounds have passed. */
function rounds(limit: AdaptiveLimit, count: number, ms = 50): void {
  for (let r = 0; r < count; r++) succeed(limit, limit.limit, ms);
}

describe('AdaptiveLimit', () => {
  it('grows by one per round of `limit` successes while latency holds, up to the maximum', () => {
    const limit = new AdaptiveLimit(8, 12);
    succeed(limit, 7);
    expect(limit.limit).toBe(8);
    succeed(limit, 1);
    expect(limit.limit).toBe(9);
    rounds(limit, 10);
    expect(limit.limit).toBe(12);
  });

  it('does not grow while latency rises (a saturated or CPU-bound server)', () => {
    const limit = new AdaptiveLimit(4, 16);
    rounds(limit, 1, 100);
    expect(limit.limit).toBe(5);
    // Every later round is slower than the best by more than the slack.
    rounds(limit, 5, 100 * LATENCY_SLACK + 1);
    expect(limit.limit).toBe(5);
    rounds(limit, 1, 100);
    expect(limit.limit).toBe(6);
  });

  it('a burst of 429s is one event: one step down to the fewest in flight refused, less one', () => {
    const limit = new AdaptiveLimit(32, 32);
    const epoch = limit.epoch;
    // Requests sent at widths 1..32 in one burst; the server took 12.
    for (let width = 32; width > 12; width--) limit.observe({ status: 429, width, epoch, ms: 1 });
    expect(limit.limit).toBe(12);
    expect(limit.epoch).toBe(epoch + 1);
  });

  it('never drops below 1', () => {
    const limit = new AdaptiveLimit(2, 4);
    limit.observe({ status: 429, width: 1, epoch: limit.epoch, ms: 1 });
    limit.observe({ status: 429, width: 1, epoch: limit.epoch, ms: 1 });
    expect(limit.limit).toBe(1);
  });

  it('tries the width that drew a 429 again only after many rounds, and waits twice as long after each event', () => {
    const limit = new AdaptiveLimit(12, 32);
    rounds(limit, 1);
    expect(limit.limit).toBe(13);
    limit.observe({ status: 429, width: 13, epoch: limit.epoch, ms: 1 });
    expect(limit.limit).toBe(12);
    rounds(limit, PROBE_ROUNDS - 1);
    expect(limit.limit).toBe(12);
    rounds(limit, 1);
    expect(limit.limit).toBe(13);
    limit.observe({ status: 429, width: 13, epoch: limit.epoch, ms: 1 });
    rounds(limit, 2 * PROBE_ROUNDS - 1);
    expect(limit.limit).toBe(12);
    rounds(limit, 1);
    expect(limit.limit).toBe(13);
  });

  it('ignores failures other than 429', () => {
    const limit = new AdaptiveLimit(4, 8);
    for (const status of [0, 500, 503, 404]) limit.observe({ status, width: 4, epoch: 0, ms: 1 });
    expect(limit.limit).toBe(4);
    expect(limit.epoch).toBe(0);
  });

  it('lets the pool run ahead four times its width, at most 32 pages, never less than its width', () => {
    expect(new AdaptiveLimit(1, 1).window).toBe(4);
    expect(new AdaptiveLimit(8, 8).window).toBe(32);
    expect(new AdaptiveLimit(16, 16).window).toBe(32);
    expect(new AdaptiveLimit(40, 40).window).toBe(40);
  });
});
