/**
 * The export sink contract. A sink receives the record mapper's row batches, in order, and writes
 * them to one destination (files, a database, object storage). The export runner
 * (`exportRows` / `exportStudy`) drives it: it opens the sink with the tables, hands it every batch
 * with a stable batch id, checkpoints each written batch in the sink's manifest, retries a failed
 * write, and on a rerun after an interruption skips the batches the manifest already holds.
 */
import type { RowBatch, TableSpec } from '../workflows/tables.js';

/**
 * The key of a Parquet file's metadata where the Parquet sink records the file's table: its name
 * and columns as JSON (the record mapper's table spec), so a reader can rebuild the table as loaded
 * from the API (imednet/plugins/duckdb's loadParquet does).
 */
export const TABLE_METADATA_KEY = 'imednet.table';

/** One written batch, as the manifest records it. */
export interface ManifestEntry {
  /** `<table>:<n>`: the table's name and the batch's 0-based position within that table. */
  batchId: string;
  /** The table it belongs to. */
  table: string;
  /** Rows in the batch. */
  rows: number;
  /** SHA-256 (hex) of the batch's canonical bytes (see `canonicalBytes`). */
  sha256: string;
  /**
   * What the sink needs to resume after this batch, as it returned it from `writeBatch` (e.g. the
   * byte length of its file). JSON-serialisable.
   */
  state?: unknown;
}

/** What a destination holds about an export to it. */
export interface Manifest {
  /** Format version of this record. */
  version: 1;
  /** The study exported. */
  studyKey: string;
  /** SHA-256 (hex) of the tables' names and columns: a rerun with other columns is refused. */
  shape: string;
  /** When the export started (ISO 8601). */
  startedAt: string;
  /** When it finished (ISO 8601); absent while unfinished. */
  completedAt?: string;
  /** Every batch written, in the order written. */
  batches: ManifestEntry[];
}

/** Where a sink keeps its manifest: beside the output or in the destination itself. */
export interface ManifestStore {
  /**
   * The manifest of an earlier export of this study to this destination, if any (the runner always
   * names the study; without one, a destination holding one study's export answers that one).
   */
  load(studyKey?: string): Promise<Manifest | undefined>;
  /** Replaces the manifest, atomically: a crash leaves the old one or the new one, never a torn one. */
  save(manifest: Manifest): Promise<void>;
  /** Forgets this study's manifest (a restart). */
  clear(studyKey?: string): Promise<void>;
}

/** What a sink is told when it opens. */
export interface SinkOpenContext {
  studyKey: string;
  /** Every table the export may write, with its columns, before any row. */
  tables: readonly TableSpec[];
  /**
   * The manifest of the interrupted export being resumed (its batches are already in the
   * destination); undefined for a fresh export. A sink that appends cuts its output back to the
   * state of the last batch recorded here, dropping anything written after it.
   */
  resume: Manifest | undefined;
  /** Aborts the export. */
  signal?: AbortSignal;
}

/**
 * An export destination. Batches of one table arrive in order; batches of different tables
 * interleave. A batch `flush` or `close` reports durable must survive a crash; the runner records
 * only those in the manifest, so a rerun writes again exactly the batches that were not.
 */
export interface ExportSink {
  /** A short name for messages and progress, e.g. `csv`, `postgres`. */
  readonly kind: string;
  /** Its manifest, kept with the destination. */
  readonly manifest: ManifestStore;
  /**
   * Checks its settings and prepares the destination (files, tables). Bad settings throw
   * `ExportConfigurationError` here, before anything is written.
   */
  open(context: SinkOpenContext): Promise<void>;
  /**
   * Writes one batch. `canonical` is the batch's canonical bytes (NDJSON of its rows), which a sink
   * may write as they are. Resolves to the sink's resume state after this batch (kept in the
   * manifest entry), or undefined. A write that fails may be tried again with the same batch.
   */
  writeBatch(batch: RowBatch, batchId: string, canonical: Uint8Array): Promise<unknown>;
  /**
   * Makes what it can durable. Resolves to the ids of the batches that became durable since the
   * last call (in the order written), or to undefined when every batch written so far is durable.
   * A sink whose output is only whole when finished (a Parquet file's footer) answers `[]` until
   * then, and the runner records those batches only when `close` reports them.
   */
  flush(): Promise<readonly string[] | undefined>;
  /**
   * Finishes the output (final names, footers, commits) and releases what it holds. Resolves like
   * `flush` for the batches that finishing made durable.
   */
  close(): Promise<readonly string[] | undefined>;
  /** Releases what it holds without finishing the output, after a failure or an abort. */
  abort(reason?: unknown): Promise<void>;
  /** Bytes written to the destination so far (for progress); 0 when the sink cannot tell. */
  readonly bytesWritten?: number;
}
