/**
 * Streaming pagination. Page 0 tells `totalPages`; the remaining pages are fetched by a pool whose
 * width (requests at the server at once) is an {@link AdaptiveLimit}: it starts at `concurrency`,
 * grows toward `maxConcurrency` while latency holds and steps down once per burst of 429s. The pool
 * fetches up to a window of a few times its width ahead of the reader, so one slow page does not
 * idle the others while memory stays bounded however large the study. A request refused with 429
 * waits for a free place in the pool before it is sent again, ahead of any new page. Items are
 * always delivered in page order. Leaving the loop early aborts what is in flight and sends nothing
 * more.
 */
import { AdaptiveLimit } from './adaptive-limit.js';
import { AbortError } from './errors.js';
import { now } from './pacer.js';
import type { AttemptHooks } from './transport.js';

/** One page as delivered to `.pages()`. */
export interface Page<T> {
  /** The page's items, in the API's order. */
  items: T[];
  /** 0-based page number. */
  page: number;
  /** Total pages the API reported on page 0. */
  totalPages: number;
  /** Total items the API reported on page 0. */
  totalElements: number;
}

/** What a page fetcher resolves to (the pagination block already checked). */
export interface FetchedPage<T> {
  items: T[];
  totalPages: number;
  totalElements: number;
}

/**
 * Handed to a page fetcher for each page; pass it on to the transport's request (it is the
 * request's `signal` and {@link AttemptHooks}), which calls the hooks around every attempt.
 */
export interface PageRequestContext extends Required<AttemptHooks> {
  signal: AbortSignal;
}

/** Fetches one page by number. */
export type PageFetcher<T> = (page: number, context: PageRequestContext) => Promise<FetchedPage<T>>;

/** Options of a {@link Paginator}. */
export interface PaginatorOptions {
  /** Requests in flight at the start. */
  concurrency: number;
  /** The most requests in flight the pool may grow to while latency holds (default `concurrency`). */
  maxConcurrency?: number;
  /** Aborts the whole listing. */
  signal?: AbortSignal;
}

/**
 * The result of `list()`: `for await` it item by item, walk `.pages()`, or `.toArray()`.
 * Each iteration starts a fresh listing.
 */
export class Paginator<T> implements AsyncIterable<T> {
  readonly #fetchPage: PageFetcher<T>;
  readonly #options: PaginatorOptions;

  constructor(fetchPage: PageFetcher<T>, options: PaginatorOptions) {
    this.#fetchPage = fetchPage;
    this.#options = options;
  }

  /** Yields every item in order, fetching pages ahead in the background. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    // A plain loop: `yield*` over an array goes through an async-from-sync wrapper for every item.
    for await (const page of this.pages()) {
      for (const item of page.items) yield item;
    }
  }

  /** Collects every item into one array. Use only when the whole listing fits in memory. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.pages()) {
      for (const item of page.items) out.push(item);
    }
    return out;
  }

  /** Yields pages in order. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    const outer = this.#options.signal;
    if (outer?.aborted) throw new AbortError('The listing was aborted');
    const width = Math.max(1, Math.floor(this.#options.concurrency));
    const pool = new PagePool(new AdaptiveLimit(width, this.#options.maxConcurrency ?? width));
    const stop = () => pool.stop(outer?.reason);
    outer?.addEventListener('abort', stop, { once: true });

    try {
      const first = await pool.launch((context) => this.#fetchPage(0, context));
      const { totalPages, totalElements } = first;
      yield { items: first.items, page: 0, totalPages, totalElements };

      const pending = new Map<number, Promise<FetchedPage<T>>>();
      let next = 1;
      let reading = 1;
      pool.pump = () => {
        while (pool.free && next < totalPages && next - reading < pool.window) {
          const pageNo = next++;
          const promise = pool.launch((context) => this.#fetchPage(pageNo, context));
          // The rejection is observed when the reader reaches this page.
          promise.catch(() => undefined);
          pending.set(pageNo, promise);
        }
      };

      for (; reading < totalPages; ) {
        pool.pump();
        const fetched = await pending.get(reading)!;
        pending.delete(reading);
        const page: Page<T> = { items: fetched.items, page: reading, totalPages, totalElements };
        reading++;
        yield page;
      }
    } catch (error) {
      if (outer?.aborted && !(error instanceof AbortError)) {
        throw new AbortError('The listing was aborted', { cause: error });
      }
      throw error;
    } finally {
      outer?.removeEventListener('abort', stop);
      // Reached on completion, on error and on an early `break`: nothing further may be sent.
      pool.stop();
    }
  }
}

/**
 * The places of one listing's pool. A page launched takes a place; its place is given back when
 * its answer's status arrives (before the body is read: the server is done with it) or when the
 * fetch ends. A page refused with 429 asks for a place again before its retry and waits for one,
 * in order; no new page is launched while a refused page has still to come back, unless it was a
 * probe (sent wider than the server ever answered): then the pool goes on at its learnt width.
 */
class PagePool {
  readonly #limit: AdaptiveLimit;
  /** Places taken. */
  #held = 0;
  /** Refused pages that have not yet asked for a place again. */
  #owed = 0;
  /** Pages whose probe was refused and that have not been answered since. */
  #probesOut = 0;
  #waiting: Array<() => void> = [];
  /** One controller per page in flight, so that no signal carries a listener per request. */
  readonly #pages = new Set<AbortController>();
  #stopped = false;
  /** Launches pages while there is room; set by the listing once it knows `totalPages`. */
  pump: () => void = () => undefined;

  constructor(limit: AdaptiveLimit) {
    this.#limit = limit;
  }

  /** Aborts every page in flight; nothing is launched after this. */
  stop(reason?: unknown): void {
    this.#stopped = true;
    for (const page of this.#pages) page.abort(reason);
  }

  /** Whether a request may take a place now without passing one already waiting. */
  get #room(): boolean {
    return this.#held < this.#limit.limit && this.#waiting.length === 0;
  }

  /** Whether a new page may be launched now. */
  get free(): boolean {
    return !this.#stopped && this.#room && this.#owed === 0;
  }

  /**
   * Pages that may be fetched ahead of the reader. While a refused probe waits out its
   * `Retry-After`, the reader is likely held at that page, so the window doubles for that while:
   * the pool keeps the server busy instead of stopping at the window's edge (the extra pages are
   * held only for that wait).
   */
  get window(): number {
    return this.#limit.window * (this.#probesOut > 0 ? 2 : 1);
  }

  /** Runs one page's fetch holding a place, with the context that lets its retries wait for one. */
  launch<R>(fetch: (context: PageRequestContext) => Promise<R>): Promise<R> {
    const page = new AbortController();
    this.#pages.add(page);
    let holding = false;
    let owes = false;
    // How the attempt went out: in-flight count with itself, epoch, and when.
    let from = { width: 0, epoch: 0, at: 0 };
    const take = () => {
      holding = true;
      from = { width: ++this.#held, epoch: this.#limit.epoch, at: now() };
    };
    const owe = (value: boolean) => {
      if (owes !== value) this.#owed += value ? 1 : -1;
      owes = value;
    };
    let probeOut = false;
    const refusedProbe = (value: boolean) => {
      if (probeOut !== value) this.#probesOut += value ? 1 : -1;
      probeOut = value;
    };
    const give = () => {
      if (holding) {
        holding = false;
        this.#held--;
        while (this.#waiting.length > 0 && this.#held < this.#limit.limit) this.#waiting.shift()!();
      }
      this.pump();
    };
    take();
    return fetch({
      signal: page.signal,
      admit: () => {
        owe(false);
        if (holding) return undefined;
        if (this.#room) return void take();
        return new Promise<void>((resolve, reject) => {
          const admitted = () => {
            page.signal.removeEventListener('abort', abort);
            take();
            resolve();
          };
          const abort = () => {
            this.#waiting = this.#waiting.filter((w) => w !== admitted);
            reject(new AbortError('The wait was aborted'));
          };
          page.signal.addEventListener('abort', abort, { once: true });
          this.#waiting.push(admitted);
        });
      },
      probing: () => this.#limit.probing(from.width),
      onStatus: (status) => {
        // A refused probe does not hold new pages back: the pool has just learnt its width.
        const probe = this.#limit.probing(from.width);
        this.#limit.observe({ status, width: from.width, epoch: from.epoch, ms: now() - from.at });
        owe(status === 429 && !probe);
        refusedProbe(status === 429 && probe);
        give();
      },
    }).finally(() => {
      this.#pages.delete(page);
      owe(false);
      refusedProbe(false);
      give();
    });
  }
}
