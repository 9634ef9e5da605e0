import { defineConfig } from 'tsup';

// One entry per public subpath; the CLI is built separately with a shebang.
const entry = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  'testing/msw': 'src/testing/msw.ts',
  'storage/index': 'src/storage/index.ts',
  'storage/conformance': 'src/storage/conformance.ts',
  'storage/indexeddb': 'src/storage/indexeddb.ts',
  'storage/sqlite/index': 'src/storage/sqlite/index.ts',
  'storage/sqlite/better-sqlite3': 'src/storage/sqlite/better-sqlite3.ts',
  'storage/sqlite/node-sqlite': 'src/storage/sqlite/node-sqlite.ts',
  'storage/sqlite/bun-sqlite': 'src/storage/sqlite/bun-sqlite.ts',
  'storage/sqlite/d1': 'src/storage/sqlite/d1.ts',
  'storage/sqlite/durable-object': 'src/storage/sqlite/durable-object.ts',
  'storage/sqlite/sql-js': 'src/storage/sqlite/sql-js.ts',
  'plugins/sync/index': 'src/plugins/sync/index.ts',
  'plugins/workflows/index': 'src/plugins/workflows/index.ts',
  'plugins/sinks/index': 'src/plugins/sinks/index.ts',
  'plugins/sinks/node': 'src/plugins/sinks/node.ts',
  'plugins/sinks/csv': 'src/plugins/sinks/csv.ts',
  'plugins/sinks/json': 'src/plugins/sinks/json.ts',
  'plugins/sinks/parquet': 'src/plugins/sinks/parquet.ts',
  'plugins/sinks/postgres': 'src/plugins/sinks/postgres.ts',
  'plugins/sinks/xlsx': 'src/plugins/sinks/xlsx.ts',
  'plugins/sinks/s3': 'src/plugins/sinks/s3.ts',
  'plugins/sinks/r2': 'src/plugins/sinks/r2.ts',
  'plugins/sinks/duckdb': 'src/plugins/sinks/duckdb.ts',
  'plugins/sinks/browser': 'src/plugins/sinks/browser.ts',
  'plugins/orchestration/index': 'src/plugins/orchestration/index.ts',
  'plugins/duckdb/index': 'src/plugins/duckdb/index.ts',
};

export default defineConfig([
  {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    splitting: true,
    treeshake: true,
    // Optional storage drivers are loaded at first use from the user's install (or the runtime).
    external: [
      'msw',
      'node:http',
      'node:fs/promises',
      'better-sqlite3',
      'sql.js',
      'idb',
      'node:sqlite',
      'bun:sqlite',
      'hyparquet-writer',
      'hyparquet',
      'postgres',
      'fflate',
      'aws4fetch',
      '@duckdb/node-api',
      // DuckDB-WASM (its worker and .wasm are resolved from the user's install at run time).
      '@duckdb/duckdb-wasm',
      'apache-arrow',
      'node:module',
      'node:worker_threads',
      'node:url',
      'node:path',
    ],
    // Keep `node:` on builtins: Deno and Workers resolve `node:http`, not a bare `http`.
    removeNodeProtocol: false,
  },
  {
    entry: { 'cli/index': 'src/cli/index.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // A `require` for the CommonJS libraries bundled into this ES module (cli-progress requires
    // readline): without it their require of a builtin fails at run time in every runtime.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as imednetCreateRequire } from 'node:module';\nconst require = imednetCreateRequire(import.meta.url);",
    },
    // The command works from `npx imednet` with nothing else installed: the pure-JS libraries of
    // its formats are bundled in (DuckDB, native, stays a package to install: the error says so).
    // hyparquet too: hyparquet-writer imports it, and it is an optional peer of the library.
    noExternal: ['hyparquet-writer', 'hyparquet', 'fflate', 'aws4fetch', 'postgres'],
    removeNodeProtocol: false,
  },
]);
