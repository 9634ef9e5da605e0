/**
 * `imednet/plugins/sinks/browser`: where the file sinks (CSV, NDJSON, JSON, Parquet) write in a web
 * page, with no server. Three ways out:
 *
 * - `fileSystemDirectory(handle)`: a folder through the File System Access API, either one the user
 *   picks (`showDirectoryPicker()`, which needs a click) or the origin's private file system
 *   (`navigator.storage.getDirectory()`). Resumable: a user who reloads the tab exports again into
 *   the same folder and the export goes on after its last recorded batch.
 * - `streamDirectory(open)`: each file goes to a `WritableStream` the page gives, such as the
 *   `FileSystemWritableFileStream` of a `showSaveFilePicker()` file, or a stream to a download.
 *   Not resumable: a stream cannot be cut back.
 * - `memoryDirectory()` (from `imednet/plugins/sinks`) and its `blob(name)`, handed to the user
 *   with `downloadBlob(blob, fileName)`.
 *
 * Nothing here reads a browser global when the module loads, and it names no Node builtin, so the
 * entry loads in every runtime.
 */
import { checkFileName, type OutputDirectory, type OutputFile } from './directory.js';
import { ExportConfigurationError } from './errors.js';

/** `FileSystemFileHandle.move()`, which the DOM typings do not list yet (Chromium has it). */
type MovableHandle = FileSystemFileHandle & {
  move?: (parent: FileSystemDirectoryHandle, name: string) => Promise<void>;
};

const isDomError = (error: unknown, ...names: string[]) =>
  typeof error === 'object' && error !== null && names.includes((error as { name?: unknown }).name as string);

/** `Uint8Array` as the DOM typings take it (they refuse a view that might be on a SharedArrayBuffer). */
const bufferSource = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/**
 * A directory of the File System Access API as an output directory for the file sinks: a folder
 * from `showDirectoryPicker({ mode: 'readwrite' })` or the origin private file system
 * (`navigator.storage.getDirectory()`). Nested names (`study=S/form=AE/part-0.parquet`, the Parquet
 * Hive layout) are subfolders.
 *
 * How it maps the contract: a file is written through `createWritable()`, whose writes Chromium
 * keeps in a swap file and puts in place, atomically, only when the stream closes; so `sync()`
 * closes the stream (what was written is then in the file and survives a reload or a crashed tab)
 * and the next write opens a new one that keeps the data. Reopening copies the file into a new swap
 * file, so a checkpoint costs time in proportion to the file's size: raise `checkpointEvery` for
 * very large files. A small text file (the manifest) is replaced by one `createWritable()` closed
 * once, atomic for the same reason. A rename is `FileSystemFileHandle.move()`, or a copy and a
 * removal where the browser has no `move()`. The API says nothing about the disk cache: durable
 * here means durable against a reload or a crashed tab, not necessarily against a power cut.
 * @example
 * const out = fileSystemDirectory(await navigator.storage.getDirectory());
 * const sink = csvSink({ directory: out });
 */
export function fileSystemDirectory(handle: FileSystemDirectoryHandle): OutputDirectory {
  if (typeof handle?.getFileHandle !== 'function' || typeof handle.getDirectoryHandle !== 'function') {
    throw new ExportConfigurationError(
      'fileSystemDirectory: give a FileSystemDirectoryHandle (from showDirectoryPicker() or navigator.storage.getDirectory())',
    );
  }
  const label = handle.name ? handle.name : 'origin private file system';

  /** The folder holding `name` and its last part; undefined when a folder on the way is missing. */
  async function locate(name: string, create: boolean) {
    const parts = checkFileName(name).split('/');
    const base = parts.pop() as string;
    let folder = handle;
    for (const part of parts) {
      try {
        folder = await folder.getDirectoryHandle(part, { create });
      } catch (error) {
        if (!create && isDomError(error, 'NotFoundError', 'TypeMismatchError')) return undefined;
        throw error;
      }
    }
    return { folder, base };
  }

  /** The file's handle, or undefined when it is missing. */
  async function fileHandle(name: string): Promise<FileSystemFileHandle | undefined> {
    const place = await locate(name, false);
    if (!place) return undefined;
    try {
      return await place.folder.getFileHandle(place.base);
    } catch (error) {
      if (isDomError(error, 'NotFoundError', 'TypeMismatchError')) return undefined;
      throw error;
    }
  }

  async function create(name: string): Promise<FileSystemFileHandle> {
    const { folder, base } = (await locate(name, true))!;
    return folder.getFileHandle(base, { create: true });
  }

  const missing = (name: string) => new Error(`No file ${name} in ${label}`);

  return {
    label,
    async open(name, keep) {
      const file = await create(name);
      const length = (await file.getFile()).size;
      if (length < keep) {
        throw new ExportConfigurationError(
          `${name} holds ${length} bytes but the export's manifest says ${keep} were written: the output was changed or truncated; export again with restart: true`,
        );
      }
      if (length !== keep) {
        // Cut it now, so what the folder holds is what open() promised even if the tab dies next.
        const cut = await file.createWritable({ keepExistingData: keep > 0 });
        if (keep > 0) await cut.truncate(keep);
        await cut.close();
      }
      let size = keep;
      let stream: FileSystemWritableFileStream | undefined;
      const writable = async () => {
        if (!stream) {
          stream = await file.createWritable({ keepExistingData: size > 0 });
          // truncate() leaves the position where it was, so the position is always set.
          await stream.seek(size);
        }
        return stream;
      };
      const commit = async () => {
        const open = stream;
        stream = undefined;
        await open?.close();
      };
      return {
        get size() {
          return size;
        },
        async write(bytes) {
          if (bytes.length === 0) return;
          await (await writable()).write(bufferSource(bytes));
          size += bytes.length;
        },
        sync: commit,
        close: commit,
      } satisfies OutputFile;
    },
    async rename(from, to) {
      const source = (await fileHandle(from)) as MovableHandle | undefined;
      if (!source) throw missing(from);
      const { folder, base } = (await locate(to, true))!;
      if (typeof source.move === 'function') {
        // Chromium's move() replaces a file of the new name.
        await source.move(folder, base);
        return;
      }
      const target = await folder.getFileHandle(base, { create: true });
      const stream = await target.createWritable({ keepExistingData: false });
      // pipeTo closes the stream, which puts the copy in place at once.
      await (await source.getFile()).stream().pipeTo(stream);
      await this.remove(from);
    },
    async remove(name) {
      const place = await locate(name, false);
      if (!place) return;
      await place.folder.removeEntry(place.base).catch((error: unknown) => {
        if (!isDomError(error, 'NotFoundError')) throw error;
      });
    },
    async readText(name) {
      const file = await fileHandle(name);
      return file ? (await file.getFile()).text() : undefined;
    },
    async writeTextAtomic(name, text) {
      const file = await create(name);
      const stream = await file.createWritable({ keepExistingData: false });
      try {
        await stream.write(text);
      } catch (error) {
        await stream.abort().catch(() => undefined);
        throw error;
      }
      await stream.close();
    },
    async exists(name) {
      return (await fileHandle(name)) !== undefined;
    },
    async *read(name) {
      const file = await fileHandle(name);
      if (!file) throw missing(name);
      const reader = (await file.getFile()).stream().getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    },
    durability: 'sync',
  };
}

/** Where {@link streamDirectory} sends a file: a stream for its name, or one stream for one file. */
export type StreamTarget =
  | WritableStream<Uint8Array>
  | ((name: string) => WritableStream<Uint8Array> | Promise<WritableStream<Uint8Array>>);

/** An output directory over streams; `abort` discards the files it has not finished. */
export interface StreamDirectory extends OutputDirectory {
  /**
   * Aborts the stream of every file not finished (a save-file picker's file keeps what it held
   * before; a download is cancelled). Call it when an export fails: the sink's own `abort` cannot
   * tell the streams apart from a finished file.
   */
  abort(reason?: unknown): Promise<void>;
  /** The names of the files finished so far, in the order finished. */
  finished(): string[];
}

const PARTIAL = '.partial';

/**
 * An output directory whose files go, each as it is written, to a `WritableStream` the page gives:
 * the `FileSystemWritableFileStream` of a file from `showSaveFilePicker()` (one table to one file
 * the user names), or a stream to a download. Give one stream for an export of one file (one table,
 * with the `forms` option), or a function that answers a stream for each file's name (its final
 * name: `AE.csv`, not the `AE.csv.partial` the sink writes under). A stream is closed only when its
 * file is finished; an export that fails leaves it open, so call the directory's `abort(reason)`
 * to discard it.
 *
 * Not resumable: what went into a stream cannot be cut back, so a rerun of an interrupted export is
 * refused (export again with `restart: true`). The export's manifest is kept in memory.
 * Durability is `rename`: a file counts as written when it is finished.
 * @example
 * // A file handle: here of the origin private file system; in a page, also the one that
 * // showSaveFilePicker({ suggestedName: 'AE.csv' }) answers.
 * const file = await (await navigator.storage.getDirectory()).getFileHandle('AE.csv', { create: true });
 * const out = streamDirectory(await file.createWritable());
 * await exportStudy(client, 'MYSTUDY', csvSink({ directory: out }), { forms: ['AE'] });
 */
export function streamDirectory(target: StreamTarget): StreamDirectory {
  // By shape, not instanceof: a stream from another realm (an iframe) is a stream too.
  const single =
    typeof (target as WritableStream | undefined)?.getWriter === 'function'
      ? (target as WritableStream<Uint8Array>)
      : undefined;
  const opener = typeof target === 'function' ? target : undefined;
  if (!single && !opener) {
    throw new ExportConfigurationError(
      'streamDirectory: give a WritableStream, or a function answering one for a file name',
    );
  }
  const texts = new Map<string, string>();
  /** Files whose stream is open, by the name the sink writes under. */
  const open = new Map<string, { final: string; writer: WritableStreamDefaultWriter<Uint8Array> }>();
  /** Files written and closed by the sink, waiting for their final name to be finished. */
  const closed = new Map<string, { final: string; writer: WritableStreamDefaultWriter<Uint8Array> }>();
  const finished: string[] = [];
  let singleUsed: string | undefined;
  const finalName = (name: string) => (name.endsWith(PARTIAL) ? name.slice(0, -PARTIAL.length) : name);

  return {
    label: single ? 'stream' : 'streams',
    durability: 'rename',
    async open(name, keep) {
      checkFileName(name);
      if (keep > 0) {
        throw new ExportConfigurationError(
          `streamDirectory cannot resume ${name}: what went into a stream cannot be cut back; export again with restart: true`,
        );
      }
      if (open.has(name) || closed.has(name)) {
        throw new ExportConfigurationError(
          `streamDirectory: ${name} is already being written; a stream cannot be cut back to write it again`,
        );
      }
      const final = finalName(name);
      let stream: WritableStream<Uint8Array>;
      if (single) {
        if (singleUsed !== undefined) {
          throw new ExportConfigurationError(
            `streamDirectory was given one stream, taken by ${singleUsed}, and the export also writes ${final}: export one table (the forms option) or give a function answering a stream per file`,
          );
        }
        singleUsed = final;
        stream = single;
      } else {
        stream = await opener!(final);
      }
      const writer = stream.getWriter();
      open.set(name, { final, writer });
      let size = 0;
      return {
        get size() {
          return size;
        },
        async write(bytes) {
          // A copy: a writer may reuse its buffer, and a stream may keep the chunks it is given.
          await writer.write(bytes.slice());
          size += bytes.length;
        },
        sync: async () => undefined,
        async close() {
          // Not the stream's close: only a finished file (renamed to its final name) is closed.
          const file = open.get(name);
          if (!file) return;
          open.delete(name);
          closed.set(name, file);
        },
      } satisfies OutputFile;
    },
    async rename(from, to) {
      const file = closed.get(from) ?? open.get(from);
      if (!file && finished.includes(from)) {
        throw new ExportConfigurationError(
          `streamDirectory cannot take back ${from}: it was finished and handed over; export again with restart: true`,
        );
      }
      if (!file) throw new Error(`No file ${from} in the stream directory`);
      if (checkFileName(to) !== file.final) {
        throw new ExportConfigurationError(
          `streamDirectory: ${from} was sent to the stream for ${file.final} and cannot be renamed ${to}`,
        );
      }
      closed.delete(from);
      open.delete(from);
      await file.writer.close();
      finished.push(to);
    },
    async remove(name) {
      texts.delete(name);
      // A file being written is discarded; a finished one is the page's now and stays as it is.
      const file = open.get(name) ?? closed.get(name);
      open.delete(name);
      closed.delete(name);
      await file?.writer.abort(new Error(`${name} was discarded`)).catch(() => undefined);
    },
    async readText(name) {
      return texts.get(name);
    },
    async writeTextAtomic(name, text) {
      // Only small text files (the manifest) come here: they stay in memory.
      texts.set(checkFileName(name), text);
    },
    async exists(name) {
      return texts.has(name) || open.has(name) || closed.has(name) || finished.includes(name);
    },
    async abort(reason) {
      const files = [...open.values(), ...closed.values()];
      open.clear();
      closed.clear();
      await Promise.all(files.map((file) => file.writer.abort(reason).catch(() => undefined)));
    },
    finished: () => [...finished],
  };
}

/**
 * Offers a `Blob` to the user as a download named `fileName`, through a link to an object URL that
 * is clicked and then revoked. In a browser page only (it needs `document`).
 * @example
 * const out = memoryDirectory();
 * await exportStudy(client, 'MYSTUDY', csvSink({ directory: out }), { forms: ['AE'] });
 * downloadBlob(out.blob('AE.csv', 'text/csv')!, 'AE.csv');
 */
export function downloadBlob(blob: Blob, fileName: string): void {
  if (typeof document === 'undefined' || typeof URL.createObjectURL !== 'function') {
    throw new ExportConfigurationError('downloadBlob needs a browser page (document and object URLs)');
  }
  if (!(blob instanceof Blob)) throw new ExportConfigurationError('downloadBlob: give a Blob');
  if (typeof fileName !== 'string' || fileName.length === 0) {
    throw new ExportConfigurationError('downloadBlob: give the name of the file to download');
  }
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  link.style.display = 'none';
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    // The download has taken the URL by the next task; revoking it sooner can cancel it in Safari.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}
