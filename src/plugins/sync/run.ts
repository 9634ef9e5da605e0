/** One run's counters and progress events, and the small option checks every run shares. */
import { ConfigurationError } from '../../core/errors.js';
import type { RequestBudgetStatus } from '../../core/pacer.js';
import type { Stream } from './keys.js';
import type { RunSummary } from './ledger.js';
import type { ProgressListener, SyncMode, SyncProgressEvent, SyncResult } from './types.js';

/** This machine's time as ISO text, for ledger bookkeeping. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** `value` (or `fallback`) when it is a positive integer; a `ConfigurationError` naming `name` otherwise. */
export function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`${name} must be a positive integer`);
  return n;
}

/** What a run needs to estimate its time left: the client's request budget and page size. */
export interface RunPacing {
  budget: RequestBudgetStatus;
  pageSize: number;
}

/** Counts and reports one run's progress. */
export class Run {
  fetched = 0;
  /** Items new to the cache. */
  added = 0;
  /** Items the cache held in another version. */
  changed = 0;
  deleted = 0;
  readonly startedAt = nowIso();
  readonly #t0 = Date.now();

  constructor(
    readonly studyKey: string,
    readonly stream: Stream,
    public mode: SyncMode,
    private readonly listeners: readonly ProgressListener[],
    private readonly pacing?: RunPacing,
  ) {}

  /** Items written because they were new or changed (a refetched, unchanged item is not counted). */
  get stored(): number {
    return this.added + this.changed;
  }

  /** Counts a write of `added` new and `changed` changed items, and reports it as a `stored` event. */
  store(added: number, changed: number): void {
    if (added + changed === 0) return;
    this.added += added;
    this.changed += changed;
    this.emit('stored', added + changed);
  }

  /**
   * Adds `count` to the counter of `type` and tells every listener (`stored` events come from
   * {@link Run.store}, which counts them).
   */
  emit(type: SyncProgressEvent['type'], count: number, expected?: number): void {
    if (type === 'fetched') this.fetched += count;
    else if (type === 'deleted') this.deleted += count;
    if (this.listeners.length === 0) return;
    const event: SyncProgressEvent = {
      type,
      studyKey: this.studyKey,
      stream: this.stream,
      mode: this.mode,
      count,
      fetched: this.fetched,
      stored: this.stored,
      deleted: this.deleted,
    };
    if (expected !== undefined) {
      event.expected = expected;
      if (type === 'fetched') {
        const eta = this.#eta(expected - this.fetched);
        if (eta !== undefined) event.etaMs = eta;
      }
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not break the sync.
      }
    }
  }

  /**
   * Milliseconds until the `remaining` items are fetched: the pace so far, or when the client's
   * request budget lets the remaining pages be sent, whichever is later (a budget of 1,000 requests
   * an hour makes a 2,000-page study a two-hour run, however fast the first pages came).
   */
  #eta(remaining: number): number | undefined {
    if (remaining <= 0) return 0;
    const byPace = this.fetched > 0 ? ((Date.now() - this.#t0) / this.fetched) * remaining : undefined;
    const byBudget = this.pacing
      ? this.pacing.budget.msUntil(Math.ceil(remaining / this.pacing.pageSize))
      : 0;
    if (byPace === undefined && byBudget === 0) return undefined;
    return Math.round(Math.max(byPace ?? 0, byBudget));
  }

  /** Emits `done` and describes the finished run as a {@link SyncResult}. */
  finish(previousWatermark: string | null, watermark: string | null, resumed = false): SyncResult {
    this.emit('done', 0);
    return {
      studyKey: this.studyKey,
      stream: this.stream,
      mode: this.mode,
      fetched: this.fetched,
      stored: this.stored,
      added: this.added,
      changed: this.changed,
      deleted: this.deleted,
      previousWatermark,
      watermark,
      resumed,
      durationMs: this.durationMs,
    };
  }

  /** The run so far, as the ledger keeps it. */
  summary(): RunSummary {
    return {
      mode: this.mode,
      startedAt: this.startedAt,
      finishedAt: nowIso(),
      fetched: this.fetched,
      stored: this.stored,
      added: this.added,
      changed: this.changed,
      deleted: this.deleted,
    };
  }

  /** Wall time since the run began, in ms. */
  get durationMs(): number {
    return Date.now() - this.#t0;
  }
}

/** Whether two JSON values are the same (as the store would keep them). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(workers);
}
