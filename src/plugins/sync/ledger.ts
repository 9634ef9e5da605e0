/**
 * The state ledger: one entry per study and stream, stored through the storage adapter next to the
 * data it describes. A run writes its entry in the same atomic write as the data it stored, so the
 * watermark (`lastTimestamp`) can never be ahead of what is in the store; a failed run records its
 * error and leaves the watermark where it was.
 */
import type { StorageAdapter, StorageOperation } from '../../storage/types.js';
import { LEDGER_COLLECTION, ledgerKey } from './keys.js';

/** Status of a stream: never synced, a run in progress (or interrupted), last run good, last run failed. */
export type LedgerStatus = 'new' | 'running' | 'idle' | 'failed';

/** Progress of a first (full) sync of records, kept so that an interrupted one resumes. */
export interface FullSyncProgress {
  /** The newest `dateModified` on the server when the full sync began: its watermark once it ends. */
  highWater: string | null;
  /** Records with ids up to this one are stored; the listing resumes after it. */
  cursor: number;
  /** When the full sync began (ISO time of this machine). */
  startedAt: string;
  /** How many runs have worked on it. */
  attempts: number;
}

/** What the last run of a stream did. */
export interface RunSummary {
  mode: 'full' | 'incremental' | 'refresh' | 'reconcile';
  startedAt: string;
  finishedAt: string;
  fetched: number;
  /** Items written because they were new or changed (`added + changed`). */
  stored: number;
  /** Items new to the cache. */
  added?: number;
  /** Items the cache held in another version. */
  changed?: number;
  deleted: number;
  requests?: number;
}

/** Free-form details of an entry; the keys below are the ones the sync engine uses. */
export interface LedgerMetadata {
  /** Set while a first full sync of records is under way. */
  full?: FullSyncProgress;
  /** The last successful run. */
  lastRun?: RunSummary;
  /** Records (or items) processed over every run. */
  totalProcessed?: number;
  [key: string]: unknown;
}

/** One ledger entry. */
export interface LedgerEntry {
  studyKey: string;
  stream: string;
  /** The watermark: the next incremental run asks for changes at or after this API timestamp. */
  lastTimestamp: string | null;
  /** Items processed by the last run (fetched and applied). */
  recordsProcessed: number;
  status: LedgerStatus;
  /** The last run's error, cleared by the next good run. */
  error: { name: string; message: string; at: string } | null;
  metadata: LedgerMetadata;
  /** When the entry was last written (ISO time of this machine). */
  updatedAt: string;
}

/** A fresh entry for a stream never synced. */
export function emptyEntry(studyKey: string, stream: string): LedgerEntry {
  return {
    studyKey,
    stream,
    lastTimestamp: null,
    recordsProcessed: 0,
    status: 'new',
    error: null,
    metadata: {},
    updatedAt: new Date().toISOString(),
  };
}

/** Reads and writes ledger entries. Writers should put entries into their data writes with {@link Ledger.op}. */
export class Ledger {
  readonly #storage: () => StorageAdapter;

  constructor(storage: () => StorageAdapter) {
    this.#storage = storage;
  }

  /** The entry of a study's stream (a fresh one when it was never synced). */
  async get(studyKey: string, stream: string): Promise<LedgerEntry> {
    const stored = await this.#storage().get<LedgerEntry>(LEDGER_COLLECTION, ledgerKey(studyKey, stream));
    return stored ?? emptyEntry(studyKey, stream);
  }

  /** Every entry, or every entry of one study. */
  async list(studyKey?: string): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    const options = studyKey === undefined ? {} : { prefix: `${encodeURIComponent(studyKey)}/` };
    for await (const batch of this.#storage().scan<LedgerEntry>(LEDGER_COLLECTION, options)) {
      for (const [, entry] of batch) out.push(entry);
    }
    return out;
  }

  /**
   * Changes an entry by hand (for repair tools: move a watermark back, clear an error). Do not call it
   * while a sync of the study runs; the sync's own writes would overwrite it.
   */
  async set(studyKey: string, stream: string, changes: Partial<Omit<LedgerEntry, 'studyKey' | 'stream'>>) {
    const entry = { ...(await this.get(studyKey, stream)), ...changes, updatedAt: new Date().toISOString() };
    await this.#storage().write([this.op(entry)]);
    return entry;
  }

  /** Forgets a stream's entry (or every entry of the study), so the next sync starts from scratch. */
  async reset(studyKey: string, stream?: string): Promise<void> {
    const ops = await this.resetOps(studyKey, stream);
    if (ops.length > 0) await this.#storage().write(ops);
  }

  /** The storage operations of {@link Ledger.reset}, for inclusion in an atomic data write. */
  async resetOps(studyKey: string, stream?: string): Promise<StorageOperation[]> {
    const streams = stream === undefined ? (await this.list(studyKey)).map((e) => e.stream) : [stream];
    return streams.map((s) => ({
      type: 'delete',
      collection: LEDGER_COLLECTION,
      key: ledgerKey(studyKey, s),
    }));
  }

  /** The storage operation that writes `entry`, for inclusion in an atomic data write. */
  op(entry: LedgerEntry): StorageOperation {
    return {
      type: 'put',
      collection: LEDGER_COLLECTION,
      key: ledgerKey(entry.studyKey, entry.stream),
      value: { ...entry, updatedAt: new Date().toISOString() },
    };
  }
}
