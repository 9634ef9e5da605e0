/**
 * Streaming pagination. Page 0 tells `totalPages`; the remaining pages are fetched by a bounded
 * pool that never runs more than `concurrency` pages ahead of the reader (so memory stays bounded
 * however large the study), halves its width when the server answers 429 and widens again slowly.
 * Items are always delivered in page order. Leaving the loop early aborts what is in flight and
 * starts nothing new.
 */
import { AbortError } from './errors.js';

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

/** Context handed to a page fetcher for each page. */
export interface PageRequestContext {
  signal: AbortSignal;
  onStatus: (status: number) => void;
}

/** Fetches one page by number. */
export type PageFetcher<T> = (page: number, context: PageRequestContext) => Promise<FetchedPage<T>>;

/** Options of a {@link Paginator}. */
export interface PaginatorOptions {
  /** Most pages requested at once, and most pages held ahead of the reader. */
  concurrency: number;
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
    const controller = new AbortController();
    const forward = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', forward, { once: true });
    const gate = new AdaptiveLimit(Math.max(1, Math.floor(this.#options.concurrency)));
    const context: PageRequestContext = {
      signal: controller.signal,
      onStatus: (status) => gate.observe(status),
    };

    try {
      const first = await this.#fetchPage(0, context);
      const { totalPages, totalElements } = first;
      yield { items: first.items, page: 0, totalPages, totalElements };

      const pending = new Map<number, Promise<FetchedPage<T>>>();
      let next = 1;
      let reading = 1;
      let inFlight = 0;
      const pump = () => {
        while (
          !controller.signal.aborted &&
          next < totalPages &&
          inFlight < gate.limit &&
          next - reading < gate.max
        ) {
          const pageNo = next++;
          inFlight++;
          const promise = this.#fetchPage(pageNo, context).finally(() => {
            inFlight--;
            pump();
          });
          // The rejection is observed when the reader reaches this page.
          promise.catch(() => undefined);
          pending.set(pageNo, promise);
        }
      };

      for (; reading < totalPages; ) {
        pump();
        const promise = pending.get(reading)!;
        const fetched = await promise;
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
      outer?.removeEventListener('abort', forward);
      // Reached on completion, on error and on an early `break`: nothing further may be sent.
      controller.abort();
    }
  }
}

/**
 * The pool's width: halves on every 429 and grows back by one after a run of successes as long as
 * the current width, so that a rate-limited server sees pressure rise slowly.
 */
class AdaptiveLimit {
  readonly max: number;
  limit: number;
  #successes = 0;

  constructor(max: number) {
    this.max = max;
    this.limit = max;
  }

  observe(status: number): void {
    if (status === 429) {
      this.limit = Math.max(1, Math.floor(this.limit / 2));
      this.#successes = 0;
    } else if (status < 400 && this.limit < this.max) {
      this.#successes++;
      if (this.#successes >= this.limit * 2) {
        this.limit++;
        this.#successes = 0;
      }
    }
  }
}
