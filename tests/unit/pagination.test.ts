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
      ctx.onStatus(200);
      const items = Array.from(
        { length: Math.max(0, Math.min(size, total - page * size)) },
        (_, i) => page * size + i,
      );
      return { items, totalPages: Math.ceil(total / size), totalElements: total };
    } finally {
      inFlight--;
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
    // page 0 + page 1 being read + at most `concurrency` ahead
    expect(afterBreak).toBeLessThanOrEqual(1 + 1 + 3);
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

  it('narrows the pool when the server answers 429 and grows back slowly', async () => {
    let inFlight = 0;
    const widths: number[] = [];
    let rateLimited = 0;
    const fetchPage = async (page: number, ctx: PageRequestContext): Promise<FetchedPage<number>> => {
      inFlight++;
      widths.push(inFlight);
      await new Promise((r) => setTimeout(r, 3));
      // the first few later pages each saw a 429 before succeeding (as a retried request would)
      if (page > 0 && rateLimited < 3) {
        rateLimited++;
        ctx.onStatus(429);
      }
      ctx.onStatus(200);
      inFlight--;
      return { items: [page], totalPages: 60, totalElements: 60 };
    };
    const items = await new Paginator(fetchPage, { concurrency: 8 }).toArray();
    expect(items).toHaveLength(60);
    const early = Math.max(...widths.slice(0, 9));
    const afterLimit = Math.max(...widths.slice(9, 20));
    expect(early).toBe(8);
    expect(afterLimit).toBeLessThan(8);
  });
});
