/**
 * The optional packages this entry runs on, each imported once at first use (never at module load,
 * so the entry loads in any runtime without them); a missing one fails with a ConfigurationError
 * naming what to install.
 */
import { ConfigurationError } from '../../core/errors.js';

/** `@duckdb/duckdb-wasm` as imported. */
export type DuckdbWasm = typeof import('@duckdb/duckdb-wasm');
/** `apache-arrow` as imported. */
export type Arrow = typeof import('apache-arrow');
/** `hyparquet` as imported. */
export type HyParquet = typeof import('hyparquet');

const INSTALL = 'npm install @duckdb/duckdb-wasm apache-arrow';

function once<T>(name: string, load: () => Promise<T>, install = INSTALL): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((cause: unknown) => {
      // A later call may find the package installed meanwhile.
      loading = undefined;
      throw new ConfigurationError(`imednet/plugins/duckdb needs the ${name} package: ${install}`, {
        cause,
      });
    });
    return loading;
  };
}

/**
 * `@duckdb/duckdb-wasm`'s ES module build, loaded at first use, in every runtime: it speaks to any
 * Web Worker, and it imports the ES module `apache-arrow` (ours). Its Node module would not do: it
 * bundles `web-worker`, which fails to load inside a worker thread. The module reads the global
 * `Worker` once as it loads (for a helper never used here); Node has none, so one stands in for
 * that moment only.
 */
export const loadDuckdb = once('@duckdb/duckdb-wasm', async () => {
  const stand = !('Worker' in globalThis);
  if (stand)
    Object.defineProperty(globalThis, 'Worker', { value: undefined, configurable: true, writable: true });
  try {
    return (await import('@duckdb/duckdb-wasm/dist/duckdb-browser.mjs' as string)) as DuckdbWasm;
  } finally {
    if (stand) delete (globalThis as { Worker?: unknown }).Worker;
  }
});

/**
 * `apache-arrow`, loaded at first use. Every Arrow object this entry makes or answers comes from
 * this copy, the one an ES module `import 'apache-arrow'` gets; only IPC bytes cross into DuckDB.
 */
export const loadArrow = once('apache-arrow', () => import('apache-arrow'));

/**
 * `hyparquet`, loaded at first use by `loadParquet` only (DuckDB-WASM cannot read Parquet offline).
 * The `.catch` on the import itself tells bundlers (esbuild, Vite) that a missing package is a
 * failure at run time: a page that never loads Parquet bundles without it installed.
 */
export const loadHyparquet = once(
  'hyparquet',
  () => import('hyparquet').catch((cause: unknown) => Promise.reject(cause)),
  'npm install hyparquet',
);
