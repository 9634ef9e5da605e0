import { describe, expect, it } from 'vitest';
import { AbortError, ResponseValidationError } from '../../src/core/errors.js';
import { type FetchedPage, type PageRequestContext, Paginator } from '../../src/core/pagination.js';

/** A fake page source: `total` items split in pages of `size`, with a per-page delay chosen by the test. */
function source(total: number, size: number, delayFor: (page: number) => number = () => 1) {
  const started: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetchPage = async (page: number, ctx: PageRequestContext): Promise<FetchedPage<number>> => {
    started.push(page);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(t);
          reject(new AbortError('aborted'));
        };
        const t = setTimeout(() => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve();
        }, delayFor(page));
        ctx.signal.addEventListener('abort', onAbort);
      });
      // The server is done when the status arrives: the pool may send the next request at once.
      inFlight--;
      ctx.onStatus(200);
      const items = Array.from(
        { length: Math.max(0, Math.min(size, total - page * size)) },
        (_, i) => page * size + i,
      );
      return { items, totalPages: Math.ceil(total / size), totalElements: total };
    } catch (error) {
      inFlight--;
      throw error;
    }
  };
  return {
    fetchPage,
    started,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

describe('Paginator', () => {
  it('delivers every item in order even when later pages arrive first', async () => {
    // Early pages are slow, later ones fast: completion order is scrambled.
    const src = source(1000, 10, (page) => (page % 7) * 3);
    const items = await new Paginator(src.fetchPage, { concurrency: 8 }).toArray();
    expect(items).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('fetches the remaining pages concurrently, never more than the limit at once', async () => {
    const src = source(200, 10, () => 5);
    const seen: number[] = [];
    for await (const item of new Paginator(src.fetchPage, { concurrency: 4 })) seen.push(item);
    expect(seen).toHaveLength(200);
    expect(src.maxInFlight).toBe(4);
    expect(new Set(src.started).size).toBe(20);
  });

  it('walks pages with their numbers and totals', async () => {
    const src = source(25, 10);
    const pages = [];
    for await (const page of new Paginator(src.fetchPage, { concurrency: 2 }).pages()) pages.push(page);
    expect(pages.map((p) => [p.page, p.items.length, p.totalPages, p.totalElements])).toEqual([
      [0, 10, 3, 25],
      [1, 10, 3, 25],
      [2, 5, 3, 25],
    ]);
  });

  it('handles an empty listing with one request', async () => {
    const src = source(0, 10);
    expect(await new Paginator(src.fetchPage, { concurrency: 8 }).toArray()).toEqual([]);
    expect(src.started).toEqual([0]);
  });

  it('stops requesting pages after an early break', async () => {
    const src = source(10_000, 10, () => 2);
    let n = 0;
    for await (const _ of new Paginator(src.fetchPage, { concurrency: 3 })) {
      if (++n === 15) break;
    }
    const afterBreak = src.started.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(src.started.length).toBe(afterBreak);
    // pages 0 and 1 read, page 2 being read, and at most the window (4 × 3) ahead of it
    expect(afterBreak).toBeLessThanOrEqual(2 + 12);
  });

  it('a slow page does not stop the other requests, and the pool stays within its window', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const startedWhileHeld: number[] = [];
    let holding = true;
    const fetchPage = async (page: number, ctx: PageRequestContext): Promise<FetchedPage<number>> => {
      if (holding) startedWhileHeld.push(page);
      // Page 2 answers only once page 20 has been asked for (or after a while, so a pool that
      // stalls behind it fails the assertions below instead of hanging).
      if (page === 20) release();
      if (page === 2) {
        await Promise.race([held, new Promise((r) => setTimeout(r, 500))]);
        holding = false;
      } else await new Promise((r) => setTimeout(r, 1));
      ctx.onStatus(200);
      return { items: [page], totalPages: 100, totalElements: 100 };
    };
    const items = await new Paginator(fetchPage, { concurrency: 8 }).toArray();
    expect(items).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(startedWhileHeld).toContain(20);
    // Memory stays bounded: with page 2 unread, nothing beyond the window of 4 × 8 pages was asked for.
    expect(Math.max(...startedWhileHeld)).toBeLessThanOrEqual(2 + 31);
  });

  it('stops when the signal aborts and throws AbortError', async () => {
    const src = source(10_000, 10, () => 2);
    const controller = new AbortController();
    const run = (async () => {
      let n = 0;
      for await (const _ of new Paginator(src.fetchPage, { concurrency: 3, signal: controller.signal })) {
        if (++n === 25) controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(AbortError);
    const count = src.started.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(src.started.length).toBe(count);
  });

  it('surfaces a failing page at its place in the order', async () => {
    const fetchPage = async (page: number): Promise<FetchedPage<number>> => {
      if (page === 3) throw new ResponseValidationError('bad page', []);
      return { items: [page], totalPages: 6, totalElements: 6 };
    };
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of new Paginator(fetchPage, { concurrency: 4 })) seen.push(item);
      })(),
    ).rejects.toThrow('bad page');
    expect(seen).toEqual([0, 1, 2]);
  });
});
