// Where the runtime suite reads its sources and writes its scratch files.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
/** tests/runtimes. */
export const SUITE_DIR = `${ROOT}/tests/runtimes`;
/** Fixture templates. */
export const FIXTURES_DIR = `${SUITE_DIR}/fixtures`;
/**
 * Scratch space: packed tarball, installed fixtures. Outside the repository on purpose: Node, Bun,
 * Deno and esbuild look for packages in every parent folder, and a fixture under the repository
 * would quietly find the repository's own node_modules (its devDependencies and peers).
 */
export const WORK_DIR = join(process.env.IMEDNET_RUNTIMES_DIR ?? tmpdir(), 'imednet-runtimes');
/** Downloaded runtimes kept between runs (git-ignored). */
export const CACHE_DIR = `${ROOT}/.cache`;
/** The examples/ folder. */
export const EXAMPLES_DIR = `${ROOT}/examples`;
/** A binary of the project's own devDependencies. */
export const bin = (name: string) => `${ROOT}/node_modules/.bin/${name}`;
