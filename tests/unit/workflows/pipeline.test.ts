import { describe, expect, it } from 'vitest';
import { AbortError, ConfigurationError } from '../../../src/core/errors.js';
import { chunk, mapChunks } from '../../../src/plugins/workflows/pipeline.js';
import { deferred } from '../support.js';

/** A source that counts how many items were pulled from it and whether it was closed. */
function counted(n: number, options: { throwAt?: number } = {}) {
  const stats = { pulled: 0, closed: false };
  async function* items() {
    try {
      for (let i = 0; i < n; i++) {
        if (i === options.throwAt) throw new Error(`source broke at ${i}`);
        stats.pulled++;
        yield i;
      }
    } finally {
      stats.closed = true;
    }
  }
  return { stats, source: items() };
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('chunk', () => {
  it('cuts a stream into arrays of the given size; only the last may be shorter, none empty', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => i);
    expect(await collect(chunk(ten, 3))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(await collect(chunk(ten.slice(0, 9), 3))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    expect(await collect(chunk([], 3))).toEqual([]);
    expect(await collect(chunk(counted(5).source, 10))).toEqual([[0, 1, 2, 3, 4]]);
    expect(await collect(chunk(new Set(['a', 'b', 'c']), 1))).toEqual([['a'], ['b'], ['c']]);
  });

  it('keeps promises given as items instead of unwrapping them', async () => {
    const p = Promise.resolve(1);
    const chunks = await collect(chunk([p], 1));
    expect(chunks[0]?.[0]).toBe(p);
  });

  it('pulls one chunk at a time, never ahead', async () => {
    const { stats, source } = counted(100);
    const it = chunk(source, 4)[Symbol.asyncIterator]();
    expect(stats.pulled).toBe(0);
    await it.next();
    expect(stats.pulled).toBe(4);
    await it.next();
    expect(stats.pulled).toBe(8);
    await it.return?.();
    expect(stats.closed).toBe(true);
    expect(stats.pulled).toBe(8);
  });

  it('closes the source when the consumer breaks', async () => {
    const { stats, source } = counted(100);
    for await (const batch of chunk(source, 5)) {
      expect(batch).toEqual([0, 1, 2, 3, 4]);
      break;
    }
    expect(stats).toEqual({ pulled: 5, closed: true });
  });

  it('throws AbortError when the signal fires, also while a pull is pending', async () => {
    const controller = new AbortController();
    const { stats, source } = counted(100);
    const it = chunk(source, 2, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([0, 1]);
    controller.abort();
    await expect(it.next()).rejects.toBeInstanceOf(AbortError);
    expect(stats.closed).toBe(true);

    const stuck = new AbortController();
    const never: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => {}) }),
    };
    const pending = collect(chunk(never, 2, { signal: stuck.signal }));
    setTimeout(() => stuck.abort(), 2);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });

  it.each([0, -1, 1.5, Number.NaN, '3', undefined])('refuses size %s at call time', (size) => {
    expect(() => chunk([1, 2], size as number)).toThrow(ConfigurationError);
  });

  it('refuses a source that is not iterable at call time', () => {
    expect(() => chunk(null as unknown as number[], 2)).toThrow(ConfigurationError);
    expect(() => chunk(42 as unknown as number[], 2)).toThrow(ConfigurationError);
  });
});

describe('mapChunks', () => {
  it('yields results in source order when later calls finish first', async () => {
    const gates = Array.from({ length: 6 }, () => deferred());
    const results = collect(
      mapChunks(
        [0, 1, 2, 3, 4, 5],
        async (item) => {
          await gates[item]!.promise;
          return `r${item}`;
        },
        { concurrency: 6 },
      ),
    );
    await tick();
    for (const gate of [...gates].reverse()) {
      gate.resolve();
      await tick();
    }
    expect(await results).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('runs at most `concurrency` calls at once and uses that many', async () => {
    let running = 0;
    let most = 0;
    const out = await collect(
      mapChunks(
        Array.from({ length: 20 }, (_, i) => i),
        async (item) => {
          running++;
          most = Math.max(most, running);
          await tick(item % 3);
          running--;
          return item * 2;
        },
        { concurrency: 3 },
      ),
    );
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(most).toBe(3);
  });

  it('defaults to 4 calls at once', async () => {
    let running = 0;
    let most = 0;
    await collect(
      mapChunks(
        Array.from({ length: 12 }, (_, i) => i),
        async () => {
          running++;
          most = Math.max(most, running);
          await tick(1);
          running--;
        },
      ),
    );
    expect(most).toBe(4);
  });

  it('holds at most `concurrency` items ahead of a slow consumer', async () => {
    const { stats, source } = counted(30);
    let started = 0;
    let consumed = 0;
    let mostAhead = 0;
    for await (const _ of mapChunks(
      source,
      (item) => {
        started++;
        return item;
      },
      { concurrency: 3 },
    )) {
      await tick(1);
      mostAhead = Math.max(mostAhead, stats.pulled - consumed, started - consumed);
      consumed++;
    }
    expect(consumed).toBe(30);
    expect(mostAhead).toBeLessThanOrEqual(3);
    expect(mostAhead).toBeGreaterThan(1);
  });

  it('stops pulling when the consumer breaks, aborts running calls and closes the source', async () => {
    const { stats, source } = counted(1000);
    const signals: AbortSignal[] = [];
    const got: number[] = [];
    for await (const value of mapChunks(
      source,
      async (item, _index, signal) => {
        signals.push(signal);
        if (item >= 2) await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return item;
      },
      { concurrency: 3 },
    )) {
      got.push(value);
      if (got.length === 2) break;
    }
    const calls = signals.length;
    await tick(5);
    expect(got).toEqual([0, 1]);
    expect(stats.pulled).toBeLessThanOrEqual(2 + 3);
    expect(stats.closed).toBe(true);
    expect(signals.length).toBe(calls);
    expect(signals.slice(2).every((s) => s.aborted)).toBe(true);
  });

  it('throws AbortError on abort, passes an aborted signal to running calls and stops pulling', async () => {
    const controller = new AbortController();
    const { stats, source } = counted(1000);
    const signals: AbortSignal[] = [];
    const got: number[] = [];
    const run = async () => {
      for await (const value of mapChunks(
        source,
        async (item, _index, signal) => {
          signals.push(signal);
          // Items from 3 on never finish by themselves: only the abort ends the wait.
          if (item >= 3) await new Promise(() => {});
          return item;
        },
        { concurrency: 2, signal: controller.signal },
      )) {
        got.push(value);
        if (value === 2) setTimeout(() => controller.abort(), 1);
      }
    };
    await expect(run()).rejects.toBeInstanceOf(AbortError);
    const pulledAtAbort = stats.pulled;
    await tick(5);
    expect(got).toEqual([0, 1, 2]);
    expect(signals.slice(3).length).toBeGreaterThan(0);
    expect(signals.slice(3).every((s) => s.aborted)).toBe(true);
    expect(stats.pulled).toBe(pulledAtAbort);
    expect(stats.closed).toBe(true);
  });

  it('throws AbortError at once when the signal has already fired', async () => {
    const { stats, source } = counted(10);
    const iterable = mapChunks(source, (x) => x, { signal: AbortSignal.abort() });
    await expect(collect(iterable)).rejects.toBeInstanceOf(AbortError);
    expect(stats.pulled).toBe(0);
  });

  it('throws a failing call’s error at its position, after the items before it, and starts no new call', async () => {
    const gates = Array.from({ length: 3 }, () => deferred());
    const indexes: number[] = [];
    const signals = new Map<number, AbortSignal>();
    const got: string[] = [];
    const run = async () => {
      for await (const value of mapChunks(
        Array.from({ length: 10 }, (_, i) => i),
        async (item, index, signal) => {
          indexes.push(index);
          signals.set(index, signal);
          if (item === 3) throw new RangeError('item 3 is bad');
          if (item < 3) await gates[item]!.promise;
          return `r${item}`;
        },
        { concurrency: 4 },
      )) {
        got.push(value);
      }
    };
    const done = run().catch((error: unknown) => error);
    await tick();
    // One at a time, so the consumer takes each result and the pipeline could pull and start more.
    for (const gate of gates) {
      gate.resolve();
      await tick();
    }
    const error = await done;
    expect(error).toBeInstanceOf(RangeError);
    expect(got).toEqual(['r0', 'r1', 'r2']);
    // The calls before the failure ran to their end undisturbed; nothing after it started.
    expect(indexes).toEqual([0, 1, 2, 3]);
    expect([0, 1, 2].map((i) => signals.get(i)!.aborted)).toEqual([false, false, false]);
  });

  it('aborts the running calls after a failing one', async () => {
    const signals = new Map<number, AbortSignal>();
    const error = await collect(
      mapChunks(
        [0, 1, 2, 3],
        async (item, _index, signal) => {
          signals.set(item, signal);
          if (item === 1) {
            // Fails once the others have started.
            await tick(2);
            throw new Error('boom');
          }
          if (item > 1) await new Promise((resolve) => signal.addEventListener('abort', resolve));
          return item;
        },
        { concurrency: 4 },
      ),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('boom');
    expect(signals.get(0)!.aborted).toBe(false);
    expect(signals.get(2)!.aborted).toBe(true);
    expect(signals.get(3)!.aborted).toBe(true);
  });

  it('throws a source error at its position, after the items pulled before it', async () => {
    const { source } = counted(10, { throwAt: 3 });
    const got: number[] = [];
    const error = await (async () => {
      for await (const value of mapChunks(source, async (x) => x * 10, { concurrency: 2 })) got.push(value);
    })().catch((e: unknown) => e);
    expect((error as Error).message).toBe('source broke at 3');
    expect(got).toEqual([0, 10, 20]);
  });

  it('maps the chunks of a chunked stream, with plain (non-async) functions too', async () => {
    const { stats, source } = counted(25);
    const sums = await collect(
      mapChunks(chunk(source, 10), (batch, index) => `${index}:${batch.reduce((a, b) => a + b, 0)}`),
    );
    expect(sums).toEqual(['0:45', '1:145', '2:110']);
    expect(stats).toEqual({ pulled: 25, closed: true });
  });

  it.each([0, -2, 1.5, Number.NaN, '4'])('refuses concurrency %s at call time', (concurrency) => {
    expect(() => mapChunks([1], (x) => x, { concurrency: concurrency as number })).toThrow(
      ConfigurationError,
    );
  });

  it('refuses a missing function or source at call time', () => {
    expect(() => mapChunks([1], undefined as unknown as (x: number) => number)).toThrow(ConfigurationError);
    expect(() => mapChunks(undefined as unknown as number[], (x) => x)).toThrow(ConfigurationError);
  });
});
