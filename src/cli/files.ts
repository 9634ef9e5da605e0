/** The files and folders the CLI reads and writes, with errors that name the path. */
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigurationError } from '../core/errors.js';

/** The output path cannot be made or written: exit code 7 (see EXIT in process.ts). */
export class OutputPathError extends ConfigurationError {
  static override readonly kind: string = 'OutputPathError';
}

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/**
 * Creates `dir` and its missing parents. Node's own `mkdir(…, { recursive: true })` loops for ever
 * where a parent exists but refuses children (such as /proc), so each level is tried once.
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw new OutputPathError(`Cannot use ${dir} as the output folder: it is a file`);
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw cannotCreate(dir, error);
  }
  await makeDir(dirname(dir));
  await mkdir(dir).catch((error: unknown) => {
    if (codeOf(error) !== 'EEXIST') throw cannotCreate(dir, error);
  });
}

const cannotCreate = (dir: string, error: unknown) =>
  new OutputPathError(`Cannot create the folder ${dir} (${codeOf(error) ?? String(error)})`);

/** Opens `file` for writing (created or emptied), with an error that names it. */
export async function openForWriting(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'w');
  } catch (error) {
    throw new OutputPathError(`Cannot write ${file} (${codeOf(error) ?? String(error)})`);
  }
}

/** Fails with `message` (which should name `file` and what to do) when `file` does not exist. */
export async function requireFile(file: string, message: string): Promise<void> {
  if (!(await kindOf(file))?.isFile()) throw new ConfigurationError(message);
}

/** Fails with `message` when `dir` is not an existing folder. */
export async function requireFolder(dir: string, message: string): Promise<void> {
  if (!(await kindOf(dir))?.isDirectory()) throw new ConfigurationError(message);
}

/** What is at `path`, or undefined when nothing is. */
async function kindOf(path: string) {
  return stat(path).catch((error: unknown) => {
    if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return undefined;
    throw error;
  });
}
