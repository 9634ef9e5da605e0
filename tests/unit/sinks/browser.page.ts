/**
 * The page script of tests/unit/sinks/browser.test.ts, bundled with esbuild and run in Chromium:
 * it exports a fake study through the file sinks to the origin private file system, to streams
 * and to memory, and hands the files back to the test as base64. `exportFake` is also what the test
 * runs in Node (to a nodeDirectory), so both sides export exactly the same batches.
 */
import { downloadBlob, fileSystemDirectory, streamDirectory } from '../../../src/plugins/sinks/browser.js';
import { csvSink } from '../../../src/plugins/sinks/csv.js';
import { memoryDirectory, type OutputDirectory } from '../../../src/plugins/sinks/directory.js';
import { type ExportSummary, exportRows } from '../../../src/plugins/sinks/export.js';
import { ndjsonSink } from '../../../src/plugins/sinks/json.js';
import { parquetSink } from '../../../src/plugins/sinks/parquet.js';
import type { ExportSink } from '../../../src/plugins/sinks/types.js';
import { mapRecords, planTables } from '../../../src/plugins/workflows/index.js';
import { createFakeStudy } from '../../../src/testing/index.js';
import { sdkRecords, structureOf } from '../../support/fake-structure.js';

export type Format = 'csv' | 'ndjson' | 'parquet';

/** How a test export runs: its format, and where it stops if it is to be interrupted. */
export interface ExportPlan {
  format: Format;
  /** Throw (abort the export) once this many batches were written by this run. */
  abortAfter?: number;
  /** Once this many batches were written, every write waits forever: the test closes the tab then. */
  hangAfter?: number;
  /** Only these forms (tables). */
  forms?: string[];
}

const study = createFakeStudy({ studyKey: 'WEB', records: 1200, subjects: 40, sites: 3, seed: 21 });
const structure = structureOf(study);
const allTables = planTables(structure);

/** The sink of a format writing to a directory (Parquet as Hive parts, a few per form). */
export function sinkFor(format: Format, directory: OutputDirectory): ExportSink {
  if (format === 'csv') return csvSink({ directory });
  if (format === 'ndjson') return ndjsonSink({ directory });
  return parquetSink({ directory, layout: 'hive', rowsPerFile: 150, rowGroupSize: 60 });
}

/** Exports the fake study to a directory, in batches of 40 rows, checkpointing every 2 batches. */
export async function exportFake(
  directory: OutputDirectory,
  plan: ExportPlan,
  onBatch?: (batches: number) => void,
): Promise<ExportSummary> {
  const tables = plan.forms ? allTables.filter((t) => plan.forms?.includes(t.name)) : allTables;
  const names = new Set(tables.map((t) => t.name));
  const controller = new AbortController();
  async function* batches() {
    for await (const batch of mapRecords(sdkRecords([...study.records]), structure, { batchSize: 40 })) {
      if (names.has(batch.table.name)) yield batch;
    }
  }
  return exportRows(batches(), sinkFor(plan.format, directory), {
    studyKey: study.studyKey,
    tables,
    checkpointEvery: 2,
    signal: controller.signal,
    onProgress: (p) => {
      onBatch?.(p.batches);
      if (plan.abortAfter !== undefined && p.batches >= plan.abortAfter) controller.abort();
    },
  });
}

/** The table names of the study, in order. */
export const tableNames = () => allTables.map((t) => t.name);

const base64 = (bytes: Uint8Array) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

type Handle = FileSystemDirectoryHandle & {
  entries(): AsyncIterable<[string, FileSystemDirectoryHandle | FileSystemFileHandle]>;
};

/** Every file under a folder of the origin private file system, by path, as base64. */
async function readFolder(folder: FileSystemDirectoryHandle, prefix = ''): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const [name, entry] of (folder as Handle).entries()) {
    if (entry.kind === 'directory') Object.assign(files, await readFolder(entry, `${prefix}${name}/`));
    else files[`${prefix}${name}`] = base64(new Uint8Array(await (await entry.getFile()).arrayBuffer()));
  }
  return files;
}

const folder = async (name: string) =>
  (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });

const page = {
  /** The batches this page's export has written so far (read by the test while it runs). */
  progress: 0,
  tableNames,
  /** Exports to the folder `name` of the origin private file system; an abort answers its error's name. */
  async exportToOpfs(name: string, plan: ExportPlan) {
    try {
      const summary = await exportFake(fileSystemDirectory(await folder(name)), plan, async (n) => {
        page.progress = n;
      });
      return { summary };
    } catch (error) {
      return { error: (error as Error).name };
    }
  },
  /** Starts an export that stops writing after `hangAfter` batches, and returns at once (the test closes the tab). */
  startSlowExport(name: string, plan: ExportPlan) {
    void (async () => {
      const directory = fileSystemDirectory(await folder(name));
      const slow: OutputDirectory = {
        ...directory,
        // Past hangAfter batches a write never ends, so the tab is closed in the middle of the export.
        async open(file, keep) {
          const opened = await directory.open(file, keep);
          return {
            get size() {
              return opened.size;
            },
            async write(bytes) {
              await opened.write(bytes);
              if (page.progress >= (plan.hangAfter ?? Number.POSITIVE_INFINITY)) await new Promise(() => {});
            },
            sync: () => opened.sync(),
            close: () => opened.close(),
          };
        },
      };
      await exportFake(slow, plan, (n) => {
        page.progress = n;
      });
    })();
  },
  readFolder: async (name: string) => readFolder(await folder(name)),
  /** As a browser without FileSystemFileHandle.move() (renames become a copy and a removal). */
  withoutMove() {
    delete (FileSystemFileHandle.prototype as { move?: unknown }).move;
    return typeof (FileSystemFileHandle.prototype as { move?: unknown }).move;
  },
  /** A file of a folder read back through the directory's read(), as base64. */
  async readThrough(name: string, file: string) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of fileSystemDirectory(await folder(name)).read!(file)) chunks.push(chunk);
    return base64(new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer()));
  },
  /**
   * What writeTextAtomic relies on: a createWritable() stream changes the file only when it closes.
   * Answers the file's text while the new text is written, after an abort, and after writeTextAtomic.
   */
  async atomicText(name: string) {
    const directory = fileSystemDirectory(await folder(name));
    await directory.writeTextAtomic('state.json', '{"v":1}');
    const handle = await (await folder(name)).getFileHandle('state.json');
    const stream = await handle.createWritable();
    await stream.write('{"v":2, half written');
    const during = await directory.readText('state.json');
    await stream.abort();
    const afterAbort = await directory.readText('state.json');
    await directory.writeTextAtomic('state.json', '{"v":3}');
    return { during, afterAbort, after: await directory.readText('state.json') };
  },
  /** Exports with a stream per file, collecting each stream's chunks. */
  async exportToStreams(plan: ExportPlan) {
    const chunks = new Map<string, Uint8Array[]>();
    const closed: string[] = [];
    const out = streamDirectory((name) => {
      const list: Uint8Array[] = [];
      chunks.set(name, list);
      return new WritableStream<Uint8Array>({
        write: (chunk) => {
          list.push(chunk);
        },
        close: () => {
          closed.push(name);
        },
      });
    });
    const summary = await exportFake(out, plan);
    const files: Record<string, string> = {};
    for (const [name, list] of chunks)
      files[name] = base64(new Uint8Array(await new Blob(list as BlobPart[]).arrayBuffer()));
    return { summary, files, closed, finished: out.finished() };
  },
  /**
   * One table to one stream: a file of the origin private file system standing for the file a
   * save-file picker gives. `fail` stops the export mid-way; the directory's abort then discards.
   */
  async exportOneTable(table: string, file: string, fail: boolean) {
    const root = await navigator.storage.getDirectory();
    const handle = await root.getFileHandle(file, { create: true });
    const out = streamDirectory(await handle.createWritable());
    let error: string | undefined;
    try {
      await exportFake(out, { format: 'csv', forms: [table], ...(fail ? { abortAfter: 1 } : {}) });
    } catch (caught) {
      error = (caught as Error).name;
      await out.abort(caught);
    }
    const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
    return { error, file: base64(bytes), finished: out.finished() };
  },
  /** One stream given, and an export of every table: refused. */
  async exportAllToOneStream() {
    const chunks: Uint8Array[] = [];
    let aborted = false;
    const out = streamDirectory(
      new WritableStream<Uint8Array>({
        write: (chunk) => {
          chunks.push(chunk);
        },
        abort: () => {
          aborted = true;
        },
      }),
    );
    try {
      await exportFake(out, { format: 'csv' });
      return { error: 'none' };
    } catch (error) {
      await out.abort(error);
      return { error: (error as Error).name, message: (error as Error).message, aborted };
    }
  },
  /** Exports to memory, answers one file's Blob as base64 and its type, and offers it as a download. */
  async exportToBlob(format: Format, name: string, type: string) {
    const out = memoryDirectory();
    await exportFake(out, { format });
    const blob = out.blob(name, type);
    if (!blob) return undefined;
    downloadBlob(blob, name);
    return { type: blob.type, bytes: base64(new Uint8Array(await blob.arrayBuffer())) };
  },
};

Object.assign(globalThis, { page });
