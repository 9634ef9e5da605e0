/**
 * One listing made of several: the requests an `in` filter splits into, merged as they stream into
 * the order one request would have given. Each part is sorted by the server on the same keys, so a
 * k-way merge on those keys keeps the order; ties go to the part asked for first.
 */
import { type Page, Paginator } from '../core/pagination.js';

interface Cursor<T> {
  pages: AsyncGenerator<Page<T>, void, undefined>;
  items: T[];
  at: number;
  done?: boolean;
}

/**
 * Orders two values as the sort keys do: absent and null first, numbers and booleans by value,
 * the rest as text (the API's timestamps order correctly as text).
 */
function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a == null) return -1;
  if (b == null) return 1;
  if (typeof a !== 'string' && typeof b !== 'string') return Number(a) - Number(b);
  return String(a) < String(b) ? -1 : 1;
}

/** Reads the next page of a part; resolves to the total the part reported. */
async function fill<T>(cursor: Cursor<T>): Promise<number> {
  const next = await cursor.pages.next();
  cursor.at = 0;
  cursor.items = next.value?.items ?? [];
  cursor.done = next.done;
  return next.value?.totalElements ?? 0;
}

/** A listing whose pages merge several sorted listings; `for await`, `.pages()` and `.toArray()` work as usual. */
export class MergedListing<T> extends Paginator<T> {
  readonly #parts: readonly Paginator<T>[];
  readonly #keys: string[][];
  readonly #size: number;

  /** `sort` is the rendered sort every part was asked for (`field,asc` or `field,desc`). */
  constructor(parts: readonly Paginator<T>[], sort: readonly string[], size: number) {
    // The base class's page fetcher is never called: pages() below replaces the whole walk; each
    // part carries the caller's signal and stops with AbortError on its own.
    super(() => Promise.reject(new Error('unused')), { concurrency: 1 });
    this.#parts = parts;
    this.#keys = sort.map((key) => key.split(','));
    this.#size = size;
  }

  #before(a: Cursor<T>, b: Cursor<T>): boolean {
    const x = a.items[a.at] as Record<string, unknown>;
    const y = b.items[b.at] as Record<string, unknown>;
    for (const [field = '', direction] of this.#keys) {
      const c = compareValues(x[field], y[field]);
      if (c !== 0) return (direction === 'desc' ? -c : c) < 0;
    }
    return false;
  }

  /** Yields pages of `size` merged items; the totals are the sums of the parts' totals. */
  override async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    const cursors: Cursor<T>[] = this.#parts.map((part) => ({ pages: part.pages(), items: [], at: 0 }));
    try {
      const totals = await Promise.all(cursors.map(fill));
      const totalElements = totals.reduce((sum, n) => sum + n, 0);
      const totalPages = Math.ceil(totalElements / this.#size);
      let page = 0;
      let items: T[] = [];
      for (;;) {
        let best: Cursor<T> | undefined;
        for (const cursor of cursors) {
          while (!cursor.done && cursor.at >= cursor.items.length) await fill(cursor);
          if (!cursor.done && (!best || this.#before(cursor, best))) best = cursor;
        }
        if (best) items.push(best.items[best.at++] as T);
        if (items.length === this.#size || (!best && (items.length > 0 || page === 0))) {
          yield { items, page: page++, totalPages, totalElements };
          items = [];
        }
        if (!best) return;
      }
    } finally {
      // Reached on completion, on error and on an early `break`: every part stops at once.
      for (const cursor of cursors) cursor.pages.return().catch(() => undefined);
    }
  }
}
