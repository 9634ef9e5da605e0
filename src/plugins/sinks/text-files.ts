/**
 * What the text file sinks (CSV, NDJSON, JSON) share: one file per table in an output directory,
 * written as `<name>.partial` and renamed when finished, so a file with its final name is always
 * whole. Each batch is appended; the file's length after it is the batch's resume state, so a rerun
 * cuts a `.partial` file back to its last recorded batch and appends from there.
 *
 * In a directory whose `durability` is `rename` (object storage), a `.partial` file is not durable
 * until it takes its final name: `flush()` then reports nothing, `close()` reports every batch it
 * wrote once every file has its final name, a rerun after a crash writes every unfinished file again
 * from its start, and the tables whose batches were recorded are left as they are.
 */
import type { RowBatch, TableSpec } from '../workflows/tables.js';
import { checkFileName, fileManifest, type OutputDirectory, type OutputFile } from './directory.js';
import { ExportConfigurationError } from './errors.js';
import type { ExportSink, Manifest, ManifestStore, SinkOpenContext } from './types.js';

/** How a text format lays out a file. */
export interface TextFormat {
  /** The sink's kind, e.g. `csv`. */
  kind: string;
  /** The file name extension, e.g. `csv`. */
  extension: string;
  /** What opens a file, before any row. */
  header(table: TableSpec): string;
  /** A batch's rows as text; `first` when no row precedes them in the file. */
  encode(batch: RowBatch, canonical: Uint8Array, first: boolean): string | Uint8Array;
  /** What closes a file, after every row. */
  footer(table: TableSpec): string;
}

/** Options every text file sink takes. */
export interface TextFileSinkOptions {
  /** Where the files go: `nodeDirectory(path)` or `memoryDirectory()`. */
  directory: OutputDirectory;
  /** Where the manifest is kept (default: `.imednet-export.json` in the directory). */
  manifest?: ManifestStore;
}

/** The resume state of a text file after a batch: its length in bytes. */
interface FileState {
  size: number;
}

const encoder = new TextEncoder();

/** A sink writing one text file per table. */
export function textFileSink(format: TextFormat, options: TextFileSinkOptions): ExportSink {
  if (typeof options !== 'object' || options === null || typeof options.directory?.open !== 'function') {
    throw new ExportConfigurationError(
      `${format.kind}Sink: give a directory (nodeDirectory(path) or memoryDirectory())`,
    );
  }
  const { directory } = options;
  const manifest = options.manifest ?? fileManifest(directory);
  const files = new Map<string, { file: OutputFile; table: TableSpec; headerSize: number }>();
  // The length each table's file had before the batch being written: a retry cuts back to it.
  const before = new Map<string, { batchId: string; size: number }>();
  const dirty = new Set<string>();
  let bytesWritten = 0;
  const atRename = directory.durability === 'rename';
  // Rename durability: the batches written, in order, reported when the files are finished; and
  // the tables a resumed export had finished.
  const written: string[] = [];
  const finished = new Set<string>();
  const fileName = (table: TableSpec) => checkFileName(`${table.name}.${format.extension}`);
  const partial = (table: TableSpec) => `${fileName(table)}.partial`;

  const lastSizes = (resume: Manifest | undefined) => {
    const sizes = new Map<string, number>();
    for (const entry of resume?.batches ?? []) {
      const size = (entry.state as FileState | undefined)?.size;
      if (typeof size === 'number') sizes.set(entry.table, size);
    }
    return sizes;
  };

  return {
    kind: format.kind,
    manifest,
    get bytesWritten() {
      return bytesWritten;
    },
    async open(context: SinkOpenContext) {
      const sizes = lastSizes(context.resume);
      written.length = 0;
      finished.clear();
      if (atRename) {
        for (const entry of context.resume?.batches ?? []) finished.add(entry.table);
      }
      for (const table of context.tables) {
        const name = partial(table);
        if (finished.has(table.name)) {
          // Its batches were recorded only once its file had its final name: it is whole.
          if (!(await directory.exists(fileName(table)))) {
            throw new ExportConfigurationError(
              `${fileName(table)} is missing from ${directory.label} though the export's manifest records its rows; export again with restart: true`,
            );
          }
          continue;
        }
        const keep = atRename ? 0 : (sizes.get(table.name) ?? 0);
        // A crash after a file took its final name but before the manifest said so: take it back.
        if (keep > 0 && !(await directory.exists(name)) && (await directory.exists(fileName(table)))) {
          await directory.rename(fileName(table), name);
        }
        const file = await directory.open(name, keep);
        const header = encoder.encode(format.header(table));
        if (keep === 0 && header.length > 0) {
          await file.write(header);
          bytesWritten += header.length;
        }
        files.set(table.name, { file, table, headerSize: header.length });
        dirty.add(table.name);
      }
    },
    async writeBatch(batch, batchId, canonical) {
      const open = files.get(batch.table.name);
      if (finished.has(batch.table.name)) {
        throw new ExportConfigurationError(
          `Batch ${batchId} belongs to ${fileName(batch.table)}, which the resumed export had already finished`,
        );
      }
      if (!open) throw new ExportConfigurationError(`No file was opened for table ${batch.table.name}`);
      const last = before.get(batch.table.name);
      if (last?.batchId === batchId && open.file.size !== last.size) {
        // A failed attempt at this batch left part of it behind: cut back before writing it again.
        await open.file.close().catch(() => undefined);
        open.file = await directory.open(partial(open.table), last.size);
      } else {
        before.set(batch.table.name, { batchId, size: open.file.size });
      }
      const text = format.encode(batch, canonical, open.file.size <= open.headerSize);
      const bytes = typeof text === 'string' ? encoder.encode(text) : text;
      await open.file.write(bytes);
      bytesWritten += bytes.length;
      dirty.add(batch.table.name);
      if (atRename) {
        if (written[written.length - 1] !== batchId) written.push(batchId);
        return undefined;
      }
      return { size: open.file.size } satisfies FileState;
    },
    async flush() {
      for (const name of dirty) await files.get(name)?.file.sync();
      dirty.clear();
      return atRename ? [] : undefined;
    },
    async close() {
      for (const { file, table } of files.values()) {
        const footer = encoder.encode(format.footer(table));
        if (footer.length > 0) {
          await file.write(footer);
          bytesWritten += footer.length;
        }
        await file.close();
        await directory.rename(partial(table), fileName(table));
      }
      files.clear();
      return atRename ? written.splice(0) : undefined;
    },
    async abort() {
      // The `.partial` files stay: a rerun resumes from them, and their name says they are unfinished.
      // Where they are not durable (object storage), a rerun writes them again: drop them.
      for (const { file, table } of files.values()) {
        await file.close().catch(() => undefined);
        if (atRename) await directory.remove(partial(table)).catch(() => undefined);
      }
      files.clear();
    },
  };
}
