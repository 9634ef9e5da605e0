/**
 * Where DuckDB-WASM's files come from: the WebAssembly module and the worker script of each build.
 * In Node they are the installed `@duckdb/duckdb-wasm` package's own files; elsewhere the caller
 * gives them (a bundler's asset URLs, or the caller's own server). Nothing is ever fetched from a
 * CDN unless the caller gives a CDN's URLs.
 */
import { ConfigurationError } from '../../core/errors.js';

/**
 * The files of one DuckDB-WASM build.
 * @example { mainModule: '/assets/duckdb-eh.wasm', mainWorker: '/assets/duckdb-browser-eh.worker.js' }
 */
export interface DuckdbBundle {
  /** The `.wasm` module: a URL, or in Node a file path. */
  mainModule: string;
  /** The worker script: a URL, or in Node a file path. */
  mainWorker: string;
}

/**
 * DuckDB-WASM's builds to choose from: `mvp` runs on any WebAssembly engine; `eh` (WebAssembly
 * exception handling) is faster and is taken wherever the engine supports it.
 * @example
 * ({
 *   mvp: { mainModule: '/assets/duckdb-mvp.wasm', mainWorker: '/assets/duckdb-browser-mvp.worker.js' },
 *   eh: { mainModule: '/assets/duckdb-eh.wasm', mainWorker: '/assets/duckdb-browser-eh.worker.js' },
 * })
 */
export interface DuckdbBundles {
  mvp: DuckdbBundle;
  eh?: DuckdbBundle;
}

/** The one runtime check of this entry: Node (and runtimes that answer as Node: Bun, Deno) gets file defaults. */
export function isNodeLike(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * A Node builtin, imported when called. The name reaches `import()` as a plain variable, which
 * bundlers leave alone: a page bundled for a browser carries none of the plugin's Node paths and
 * needs no setting to leave `node:` modules out (they are never called there).
 */
export function nodeBuiltin<T>(specifier: `node:${string}`): Promise<T> {
  const name: string = specifier;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ name) as Promise<T>;
}

/** The base `createRequire` resolves from: this file, under ES modules or CommonJS. */
function moduleBase(): string {
  // `__filename` exists in the CommonJS build only; under ES modules `import.meta.url` does.
  return typeof __filename === 'string' ? __filename : import.meta.url;
}

/** The installed `@duckdb/duckdb-wasm` package's Node builds (Node only: imports node:module at call time). */
export async function installedBundles(): Promise<DuckdbBundles> {
  const { createRequire } = await nodeBuiltin<typeof import('node:module')>('node:module');
  const require = createRequire(moduleBase());
  const file = (name: string) => {
    try {
      return require.resolve(`@duckdb/duckdb-wasm/dist/${name}`);
    } catch (cause) {
      throw new ConfigurationError(
        `imednet/plugins/duckdb cannot find @duckdb/duckdb-wasm/dist/${name}: npm install @duckdb/duckdb-wasm, or give the bundles option`,
        { cause },
      );
    }
  };
  return {
    mvp: { mainModule: file('duckdb-mvp.wasm'), mainWorker: file('duckdb-node-mvp.worker.cjs') },
    eh: { mainModule: file('duckdb-eh.wasm'), mainWorker: file('duckdb-node-eh.worker.cjs') },
  };
}

/** A file of a bundle in Node as an absolute path: a `file:` URL or a path (relative to the working directory). */
export async function nodeFilePath(file: string): Promise<string> {
  const [{ fileURLToPath }, { resolve }] = await Promise.all([
    nodeBuiltin<typeof import('node:url')>('node:url'),
    nodeBuiltin<typeof import('node:path')>('node:path'),
  ]);
  if (file.startsWith('file:')) return fileURLToPath(file);
  // Any other scheme (two letters or more: `C:\\` is a Windows path) is a URL Node cannot read.
  if (/^[a-z][a-z\d+.-]+:/i.test(file)) {
    throw new ConfigurationError(`bundles: in Node give file paths or file: URLs (got ${file})`);
  }
  return resolve(file);
}

/** Checks a caller's bundles before anything starts, so a typo fails here rather than hanging a worker. */
export function checkBundles(bundles: unknown): DuckdbBundles {
  const isBundle = (b: unknown): b is DuckdbBundle =>
    typeof b === 'object' &&
    b !== null &&
    typeof (b as DuckdbBundle).mainModule === 'string' &&
    (b as DuckdbBundle).mainModule.length > 0 &&
    typeof (b as DuckdbBundle).mainWorker === 'string' &&
    (b as DuckdbBundle).mainWorker.length > 0;
  const given = bundles as Partial<DuckdbBundles> | null;
  if (
    typeof given !== 'object' ||
    given === null ||
    !isBundle(given.mvp) ||
    (given.eh !== undefined && !isBundle(given.eh))
  ) {
    throw new ConfigurationError(
      'bundles must be { mvp: { mainModule, mainWorker }, eh?: { mainModule, mainWorker } } with non-empty strings',
    );
  }
  return given as DuckdbBundles;
}
