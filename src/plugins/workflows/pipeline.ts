/**
 * Chunked pipelines: cut a stream into arrays (`chunk`) and run an async step over a stream with a
 * bounded number of calls in flight, results in source order (`mapChunks`). Both pull lazily, so a
 * whole study never sits in memory.
 */
import { AbortError, ConfigurationError } from '../../core/errors.js';
import { checkPositiveInteger } from '../../core/validate.js';

/** Anything `chunk` and `mapChunks` read from: an array, a generator, a listing. */
export type PipelineSource<T> = Iterable<T> | AsyncIterable<T>;

/** Options of `chunk`. */
export interface ChunkOptions {
  /** Stops the chunking: the next pull throws `AbortError`. */
  signal?: AbortSignal;
}

/** Options of `mapChunks`. */
export interface MapChunksOptions {
  /**
   * Calls of `fn` running at once (default 4); also the most results held ahead of the consumer and
   * the most items pulled ahead of it.
   * @example { concurrency: 8 }
   */
  concurrency?: number;
  /** Stops the pipeline: running calls see their signal aborted and the consumer gets `AbortError`. */
  signal?: AbortSignal;
}

/** The step `mapChunks` applies: the item, its 0-based position in the source, and a signal to honour. */
export type ChunkMapper<T, R> = (item: T, index: number, signal: AbortSignal) => Promise<R> | R;

/** A source iterator with promise-returning `next` and `return`, whether the source was sync or async. */
interface Pull<T> {
  next(): Promise<IteratorResult<T>>;
  return(): Promise<unknown> | undefined;
}

function pullFrom<T>(source: PipelineSource<T>): Pull<T> {
  if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    const it = (source as AsyncIterable<T>)[Symbol.asyncIterator]();
    return { next: () => it.next(), return: () => it.return?.() };
  }
  // A sync source is read without `for await`, which would unwrap items that are promises.
  const it = (source as Iterable<T>)[Symbol.iterator]();
  return {
    next: async () => it.next(),
    return: () => (it.return ? Promise.resolve().then(() => it.return?.()) : undefined),
  };
}

function checkSource(source: unknown): void {
  const s = source as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null | undefined;
  if (
    s === null ||
    s === undefined ||
    (typeof s[Symbol.asyncIterator] !== 'function' && typeof s[Symbol.iterator] !== 'function')
  ) {
    throw new ConfigurationError('source must be an iterable or an async iterable');
  }
}

function checkSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ConfigurationError('signal must be an AbortSignal');
  }
}

const abortedError = (signal: AbortSignal) =>
  new AbortError('The pipeline was aborted', { cause: signal.reason });

/** Resolves when `signal` fires (never when there is none); `off` removes the listener. */
function whenAborted(signal: AbortSignal | undefined): { promise: Promise<void>; off: () => void } {
  if (!signal) return { promise: new Promise<void>(() => {}), off: () => {} };
  let onAbort = () => {};
  const promise = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, off: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Cuts a stream into arrays of `size` items (the last may be shorter; none is empty), pulling one
 * chunk's worth of items at a time and never more.
 * @example for await (const batch of chunk(client.records.list('MYSTUDY'), 100)) write(batch);
 */
export function chunk<T>(
  source: PipelineSource<T>,
  size: number,
  options: ChunkOptions = {},
): AsyncIterable<T[]> {
  checkPositiveInteger(size, 'size');
  checkSource(source);
  checkSignal(options.signal);
  const signal = options.signal;
  return {
    [Symbol.asyncIterator]: () => chunks(source, size, signal)[Symbol.asyncIterator](),
  };
}

async function* chunks<T>(
  source: PipelineSource<T>,
  size: number,
  signal?: AbortSignal,
): AsyncGenerator<T[]> {
  if (signal?.aborted) throw abortedError(signal);
  const it = pullFrom(source);
  const abort = whenAborted(signal);
  let done = false;
  let pending = false;
  try {
    for (;;) {
      const batch: T[] = [];
      while (batch.length < size) {
        pending = true;
        const pulled = it.next();
        // An abort may win the race; the pull's own failure then has nobody to report to.
        pulled.catch(() => {});
        const next = await Promise.race([pulled, abort.promise]);
        if (signal?.aborted) throw abortedError(signal);
        pending = false;
        if (!next || next.done) {
          done = true;
          break;
        }
        batch.push(next.value);
      }
      if (batch.length > 0) yield batch;
      if (done) return;
      if (signal?.aborted) throw abortedError(signal);
    }
  } finally {
    abort.off();
    if (!done) await closeSource(it, pending);
  }
}

/**
 * Tells the source we stop early. While one of its `next()` calls is still pending, an async
 * generator would queue `return()` behind it, so it is then not awaited (an abort must not hang).
 */
async function closeSource<T>(it: Pull<T>, pending: boolean): Promise<void> {
  const closing = it.return();
  if (!closing) return;
  if (pending) closing.then(undefined, () => {});
  else await closing;
}

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Call<R> {
  index: number;
  controller: AbortController;
  settled?: Settled<R>;
  promise: Promise<void>;
}

/**
 * Applies `fn` to every item of `source` with at most `concurrency` calls at once and yields the
 * results in source order, even when later calls finish first.
 *
 * Memory stays bounded: at most `concurrency` items are pulled ahead of the consumer, running or
 * finished and waiting to be read. When `fn` throws for item k, no new call starts, calls for items
 * after k see their signal aborted, the items before k are still delivered (their calls run to the
 * end), then the error is thrown. An error from the source itself is thrown the same way, at its
 * position. When the consumer stops early (`break`) or `signal` fires, no new call starts, running
 * calls see their signal aborted and the source's `return()` is called; an abort throws `AbortError`.
 * @example
 * const load = async (batch: unknown[], _index: number, signal: AbortSignal) => {
 *   await fetch('https://warehouse.example/load', { method: 'POST', body: JSON.stringify(batch), signal });
 *   return batch.length;
 * };
 * for await (const written of mapChunks(chunk(client.records.list('MYSTUDY'), 100), load, { concurrency: 3 })) {
 *   console.log(`batch written: ${written} rows`);
 * }
 */
export function mapChunks<T, R>(
  source: PipelineSource<T>,
  fn: ChunkMapper<T, R>,
  options: MapChunksOptions = {},
): AsyncIterable<R> {
  checkSource(source);
  if (typeof fn !== 'function') throw new ConfigurationError('fn must be a function');
  const concurrency = checkPositiveInteger(options.concurrency ?? 4, 'concurrency');
  checkSignal(options.signal);
  const signal = options.signal;
  return {
    [Symbol.asyncIterator]: () => mapped(source, fn, concurrency, signal)[Symbol.asyncIterator](),
  };
}

async function* mapped<T, R>(
  source: PipelineSource<T>,
  fn: ChunkMapper<T, R>,
  concurrency: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<R> {
  if (signal?.aborted) throw abortedError(signal);
  const it = pullFrom(source);
  const queue: Call<R>[] = [];
  let sourceDone = false;
  let nextIndex = 0;
  // Source position of the first failed call: nothing after it may start or keep running.
  let failedAt = Number.POSITIVE_INFINITY;
  let pull: { promise: Promise<void>; result?: Settled<IteratorResult<T>> } | undefined;

  const stopAfter = (index: number, reason: unknown) => {
    for (const call of queue) if (call.index > index) call.controller.abort(reason);
  };
  const onAbort = () => stopAfter(-1, abortedError(signal as AbortSignal));
  signal?.addEventListener('abort', onAbort, { once: true });
  const abort = whenAborted(signal);

  const start = (item: T): void => {
    const call: Call<R> = {
      index: nextIndex++,
      controller: new AbortController(),
      promise: Promise.resolve(),
    };
    call.promise = (async () => {
      try {
        call.settled = { ok: true, value: await fn(item, call.index, call.controller.signal) };
      } catch (error) {
        call.settled = { ok: false, error };
        if (call.index < failedAt) {
          failedAt = call.index;
          stopAfter(call.index, new AbortError(`The pipeline stopped: item ${call.index} failed`));
        }
      }
    })();
    queue.push(call);
  };

  const startPull = () => {
    const p: NonNullable<typeof pull> = { promise: Promise.resolve() };
    p.promise = it.next().then(
      (result) => {
        p.result = { ok: true, value: result };
      },
      (error: unknown) => {
        p.result = { ok: false, error };
      },
    );
    pull = p;
  };

  try {
    for (;;) {
      if (signal?.aborted) throw abortedError(signal);
      if (!pull && !sourceDone && failedAt === Number.POSITIVE_INFINITY && queue.length < concurrency) {
        startPull();
      }
      const head = queue[0];
      if (head?.settled) {
        queue.shift();
        if (!head.settled.ok) throw head.settled.error;
        yield head.settled.value;
        continue;
      }
      if (!head && !pull) return;
      const waits: Promise<unknown>[] = [abort.promise];
      if (head) waits.push(head.promise);
      if (pull) waits.push(pull.promise);
      await Promise.race(waits);
      if (pull?.result) {
        const result = pull.result;
        pull = undefined;
        if (!result.ok) {
          // The source failed: its error takes the next position, after the items already pulled.
          sourceDone = true;
          queue.push({
            index: nextIndex++,
            controller: new AbortController(),
            settled: result,
            promise: Promise.resolve(),
          });
        } else if (result.value.done) {
          sourceDone = true;
        } else if (failedAt === Number.POSITIVE_INFINITY && !signal?.aborted) {
          start(result.value.value);
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    abort.off();
    for (const call of queue) call.controller.abort(new AbortError('The pipeline stopped'));
    if (!sourceDone) await closeSource(it, pull !== undefined && pull.result === undefined);
  }
}
