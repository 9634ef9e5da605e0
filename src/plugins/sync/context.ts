/**
 * What every sync job needs from the cache that runs it: the client, the plugin options, the store,
 * the ledger, and the few ways of using them that all jobs share (the locked write, listing options,
 * the newest-change probe, the failure record).
 */
import type { Imednet } from '../../client.js';
import { ConfigurationError } from '../../core/errors.js';
import type { Paginator } from '../../core/pagination.js';
import type { StorageAdapter, StorageOperation } from '../../storage/types.js';
import { ID_FIELDS, type Stream } from './keys.js';
import { Ledger } from './ledger.js';
import type { HeldLock } from './lock.js';
import { nowIso, positiveInteger, Run } from './run.js';
import type { ProgressListener, SyncMode, SyncOptions, SyncRunOptions } from './types.js';

/** The watermark of a stream that had nothing at its first sync: every later change is after it. */
export const EPOCH = '1970-01-01 00:00:00';

/** An item of any stream, as the listings return it. */
export type Item = Record<string, unknown>;

/** The client, options, store and ledger of one cache, shared by its sync jobs. */
export class SyncContext {
  /** The state ledger of every study in the store. */
  readonly ledger: Ledger;
  readonly #storage: StorageAdapter | undefined;

  constructor(
    readonly client: Imednet,
    readonly options: SyncOptions,
    storage: StorageAdapter | undefined,
  ) {
    this.#storage = storage;
    this.ledger = new Ledger(() => this.storage);
  }

  /** The storage adapter; a `ConfigurationError` when the plugin was given none. */
  get storage(): StorageAdapter {
    if (!this.#storage) {
      throw new ConfigurationError(
        'The sync plugin has no storage: pass one as sync({ storage }) or new Client({ storage })',
      );
    }
    return this.#storage;
  }

  /** Records per atomic write of a full listing (the `batchSize` option, default 2000). */
  get batchSize(): number {
    return positiveInteger(this.options.batchSize, 2000, 'batchSize');
  }

  /**
   * Starts counting one run of `stream`: its progress goes to the plugin's listener and the run's
   * own, in that order, and its time left is estimated from the client's request budget and page size.
   */
  run(studyKey: string, stream: Stream, mode: SyncMode, options: SyncRunOptions): Run {
    const listeners: ProgressListener[] = [];
    if (this.options.onProgress) listeners.push(this.options.onProgress);
    if (options.onProgress) listeners.push(options.onProgress);
    const pacing = { budget: this.client.requestBudget, pageSize: this.client.context.pageSize };
    return new Run(studyKey, stream, mode, listeners, pacing);
  }

  /** Writes `ops` atomically, as long as this run still holds the writer lock (see {@link HeldLock.write}). */
  async commit(lock: HeldLock, ops: readonly StorageOperation[]): Promise<void> {
    await lock.write(ops);
  }

  /**
   * Runs one stream; on failure records the error in the ledger, keeping the committed state. That
   * write too checks the lock first: a run that lost its lock must not mark the new holder's
   * entry failed.
   */
  async guard<T>(studyKey: string, stream: Stream, lock: HeldLock, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      try {
        const current = await this.ledger.get(studyKey, stream);
        await lock.write([this.ledger.op({ ...current, status: 'failed', error: errorInfo(error) })], true);
      } catch {
        // The lock is gone or the store failed; the original error is what the caller needs.
      }
      throw error;
    }
  }

  /** The listing options every sync listing shares: the run's signal and the plugin's concurrency. */
  listOptions(signal: AbortSignal | undefined): { signal?: AbortSignal; concurrency?: number } {
    const out: { signal?: AbortSignal; concurrency?: number } = {};
    if (signal) out.signal = signal;
    if (this.options.concurrency !== undefined) out.concurrency = this.options.concurrency;
    return out;
  }

  /** The endpoint of a stream, seen as a plain listing of items. */
  endpoint(stream: Stream): { list(studyKey: string, options: object): Paginator<Item> } {
    return this.client[stream] as unknown as { list(studyKey: string, options: object): Paginator<Item> };
  }

  /**
   * The newest `dateModified` of a stream, read with a one-item, newest-first listing before
   * anything else (the next watermark), and how many items the server says the stream has.
   */
  async probe(
    studyKey: string,
    stream: Stream,
    signal: AbortSignal | undefined,
  ): Promise<{ newest: string | null; total: number | undefined }> {
    const paginator = this.endpoint(stream).list(studyKey, {
      ...this.listOptions(signal),
      sort: ['-dateModified', ID_FIELDS[stream]],
      pageSize: 1,
      concurrency: 1,
    });
    for await (const page of paginator.pages()) {
      const first = page.items[0];
      const newest = typeof first?.dateModified === 'string' ? first.dateModified : null;
      return { newest, total: page.totalElements };
    }
    return { newest: null, total: undefined };
  }

  /** The newest `dateModified` of a stream (see {@link SyncContext.probe}): the next watermark. */
  async newest(studyKey: string, stream: Stream, signal: AbortSignal | undefined): Promise<string | null> {
    return (await this.probe(studyKey, stream, signal)).newest;
  }
}

function errorInfo(error: unknown): { name: string; message: string; at: string } {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, at: nowIso() };
}
