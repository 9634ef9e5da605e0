/**
 * `imednet/plugins/sinks/node`: the file system as an output directory for the file sinks, through
 * `node:fs` (Node, Deno and Bun). Its own entry, so that the sinks' core names no Node builtin and
 * bundles for browsers and Workers as it is.
 */
import { checkFileName, type OutputDirectory } from './directory.js';
import { ExportConfigurationError } from './errors.js';

type NodeFs = typeof import('node:fs/promises');

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/**
 * Creates `dir` and its missing parents, one level at a time: Node's `mkdir(…, { recursive: true })`
 * never returns under a parent that exists but refuses children (such as /proc).
 */
async function makeDirs(f: NodeFs, dir: string): Promise<void> {
  try {
    await f.mkdir(dir);
    return;
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return;
    const cut = Math.max(dir.lastIndexOf('/'), dir.lastIndexOf('\\'));
    if (codeOf(error) !== 'ENOENT' || cut <= 0) throw error;
    await makeDirs(f, dir.slice(0, cut));
  }
  await f.mkdir(dir).catch((error: unknown) => {
    if (codeOf(error) !== 'EEXIST') throw error;
  });
}

/**
 * The file system directory at `path` (created if missing), through `node:fs` — Node, Deno and
 * Bun. Imports `node:fs` at first use only, so the module loads in a browser too.
 * @example const out = nodeDirectory('./export');
 */
export function nodeDirectory(path: string): OutputDirectory {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ExportConfigurationError('nodeDirectory: give the path of the output directory');
  }
  let fs: Promise<NodeFs> | undefined;
  const load = () => {
    fs ??= (async () => {
      const module = (await import('node:fs/promises')) as NodeFs;
      await makeDirs(module, path.replace(/[\\/]+$/, '') || path).catch((error: unknown) => {
        throw new ExportConfigurationError(`Cannot create the output directory ${path}`, { cause: error });
      });
      return module;
    })();
    return fs;
  };
  const at = (name: string) => `${path.replace(/\/+$/, '')}/${checkFileName(name)}`;
  const parentOf = (file: string) => file.slice(0, file.lastIndexOf('/'));
  return {
    label: path,
    async open(name, keep) {
      const f = await load();
      const file = at(name);
      await makeDirs(f, parentOf(file));
      const handle = await f.open(file, keep === 0 ? 'w' : 'r+');
      const { size: length } = await handle.stat();
      if (length < keep) {
        await handle.close();
        throw new ExportConfigurationError(
          `${name} holds ${length} bytes but the export's manifest says ${keep} were written: the output was changed or truncated; export again with restart: true`,
        );
      }
      await handle.truncate(keep);
      let size = keep;
      return {
        get size() {
          return size;
        },
        async write(bytes) {
          let done = 0;
          while (done < bytes.length) {
            const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, size + done);
            done += bytesWritten;
          }
          size += bytes.length;
        },
        sync: () => handle.sync(),
        async close() {
          await handle.sync();
          await handle.close();
        },
      };
    },
    async rename(from, to) {
      const f = await load();
      await makeDirs(f, parentOf(at(to)));
      await f.rename(at(from), at(to));
    },
    async remove(name) {
      const f = await load();
      await f.rm(at(name), { force: true });
    },
    async readText(name) {
      const f = await load();
      try {
        return await f.readFile(at(name), 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async writeTextAtomic(name, text) {
      const f = await load();
      const file = at(name);
      const temporary = `${file}.tmp-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      const handle = await f.open(temporary, 'w');
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await f.rename(temporary, file);
    },
    async *read(name) {
      const f = await load();
      const handle = await f.open(at(name), 'r');
      try {
        const buffer = new Uint8Array(1 << 20);
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) return;
          yield buffer.slice(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    },
    async exists(name) {
      const f = await load();
      return f
        .stat(at(name))
        .then(() => true)
        .catch(() => false);
    },
  };
}
