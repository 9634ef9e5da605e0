/**
 * Where file sinks write: a directory of named files that can be appended to, cut back to a length
 * (to resume after the last recorded batch), renamed (a finished file takes its final name only
 * when whole) and written atomically (the manifest). `memoryDirectory()` (in memory, for browsers,
 * Workers, tests and a `Blob` download) is here; `nodeDirectory(path)` (the file system, through
 * `node:fs`, in Node, Deno and Bun) is the entry `imednet/plugins/sinks/node`, so that nothing here
 * names a Node builtin.
 */
import { ExportConfigurationError } from './errors.js';
import type { Manifest, ManifestStore } from './types.js';

/** A file open for appending. */
export interface OutputFile {
  /** Appends bytes. */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes what was written durable. */
  sync(): Promise<void>;
  /** Closes it (after a sync). */
  close(): Promise<void>;
  /** Its length in bytes. */
  readonly size: number;
}

/** A directory a file sink writes into. */
export interface OutputDirectory {
  /** Something to name it by in messages (a path, `memory`). */
  readonly label: string;
  /**
   * Opens `name` for appending, after cutting it to `keep` bytes (0: empty, created if missing).
   * A file shorter than `keep` is an error: the output is not what the manifest says.
   */
  open(name: string, keep: number): Promise<OutputFile>;
  /** Renames a file, replacing any file of the new name. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; nothing when it is missing. */
  remove(name: string): Promise<void>;
  /** A small text file's content, or undefined when it is missing. */
  readText(name: string): Promise<string | undefined>;
  /** Writes a small text file atomically (a crash leaves the old content or the new, never a mix). */
  writeTextAtomic(name: string, text: string): Promise<void>;
  /** Whether a file exists. */
  exists(name: string): Promise<boolean>;
  /**
   * A file's bytes, streamed in chunks; rejects when it is missing. Optional: a sink that spills to
   * scratch files and reads them back (the Excel workbook) needs it and says so when it is absent.
   */
  read?(name: string): AsyncIterable<Uint8Array>;
  /**
   * When what a file sink wrote becomes durable. `sync` (the default): `OutputFile.sync()` makes it
   * so. `rename`: only a finished file renamed to its final name is durable (object storage, where
   * an upload becomes an object only when it completes); a sink then reports a file's batches
   * durable when it renames the file, and a rerun after a crash writes unfinished files again.
   */
  readonly durability?: 'sync' | 'rename';
}

// `%` for the percent-escaped values of Hive partition folders.
const SAFE_NAME = /^[A-Za-z0-9._=%-][A-Za-z0-9._=%/-]*$/;

/** Checks a file name: relative, no `..`, no odd characters. */
export function checkFileName(name: string): string {
  if (!SAFE_NAME.test(name) || name.split('/').some((part) => part === '..' || part === '')) {
    throw new ExportConfigurationError(
      `Not a usable file name inside the output directory: ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** A directory held in memory; read its files back with `bytes(name)` or `blob(name)`. */
export interface MemoryDirectory extends OutputDirectory {
  /** The names of its files, sorted. */
  names(): string[];
  /** A file's bytes. */
  bytes(name: string): Uint8Array | undefined;
  /** A file as a `Blob` (for a download link in a browser). */
  blob(name: string, type?: string): Blob | undefined;
}

/**
 * A directory in memory: for browsers (hand a finished file to the user as a `Blob`) and tests.
 * @example
 * const out = memoryDirectory();
 * // ... export to it, then:
 * const url = URL.createObjectURL(out.blob('AE.csv', 'text/csv')!);
 */
export function memoryDirectory(): MemoryDirectory {
  const files = new Map<string, Uint8Array[]>();
  const join = (chunks: Uint8Array[]) => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  };
  return {
    label: 'memory',
    async open(name, keep) {
      checkFileName(name);
      const current = join(files.get(name) ?? []);
      if (current.length < keep) {
        throw new ExportConfigurationError(
          `${name} holds ${current.length} bytes but the export's manifest says ${keep} were written`,
        );
      }
      const chunks = keep > 0 ? [current.slice(0, keep)] : [];
      files.set(name, chunks);
      let size = keep;
      return {
        get size() {
          return size;
        },
        async write(bytes) {
          chunks.push(bytes.slice());
          size += bytes.length;
        },
        sync: async () => undefined,
        close: async () => undefined,
      };
    },
    async rename(from, to) {
      const chunks = files.get(checkFileName(from));
      if (!chunks) throw new Error(`No file ${from}`);
      files.delete(from);
      files.set(checkFileName(to), chunks);
    },
    async remove(name) {
      files.delete(name);
    },
    async readText(name) {
      const chunks = files.get(name);
      return chunks ? new TextDecoder().decode(join(chunks)) : undefined;
    },
    async writeTextAtomic(name, text) {
      files.set(checkFileName(name), [new TextEncoder().encode(text)]);
    },
    async exists(name) {
      return files.has(name);
    },
    async *read(name) {
      const chunks = files.get(name);
      if (!chunks) throw new Error(`No file ${name}`);
      yield* chunks.slice();
    },
    names: () => [...files.keys()].sort(),
    bytes: (name) => {
      const chunks = files.get(name);
      return chunks ? join(chunks) : undefined;
    },
    blob: (name, type) => {
      const chunks = files.get(name);
      return chunks ? new Blob(chunks as BlobPart[], type ? { type } : {}) : undefined;
    },
  };
}

/** A manifest kept as a JSON file in the output directory. */
export function fileManifest(directory: OutputDirectory, name = '.imednet-export.json'): ManifestStore {
  return {
    async load() {
      const text = await directory.readText(name);
      return text === undefined ? undefined : (JSON.parse(text) as Manifest);
    },
    async save(manifest) {
      await directory.writeTextAtomic(name, `${JSON.stringify(manifest, null, 1)}\n`);
    },
    async clear() {
      await directory.remove(name);
    },
  };
}
