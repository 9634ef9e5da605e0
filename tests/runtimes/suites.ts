// The one place that says which suites run in which runtime. A later suite (a storage adapter, a
// plugin) adds a file under cases/ and one entry here; the host generates each fixture's
// `suites.generated.mjs` from this list, so bundled fixtures only ever see their own suites.

/** Every runtime the suite runs in. */
export const RUNTIMES = [
  'node-esm',
  'node-cjs',
  'deno',
  'bun',
  'workerd',
  'chromium',
  'cdn-chromium',
  'cdn-deno',
] as const;

/** A runtime of the matrix. */
export type RuntimeName = (typeof RUNTIMES)[number];

/** One suite: a module under cases/ whose default export is `{ name, define }`. */
export interface SuiteEntry {
  /** File under tests/runtimes/cases/. */
  file: string;
  /** Runtimes it runs in. Nothing is skipped at run time: a runtime not listed here never sees it. */
  runtimes: readonly RuntimeName[];
  /**
   * Package specifiers the suite loads through `t.load(...)` (e.g. 'imednet/storage/memory'). Each
   * fixture turns them into static imports its loader understands: ESM, require, or a CDN URL.
   */
  imports?: readonly string[];
}

const STORAGE = ['imednet/storage', 'imednet/storage/conformance', 'imednet/plugins/sync'] as const;

/** The registry. */
export const SUITES: readonly SuiteEntry[] = [
  { file: 'core.mjs', runtimes: RUNTIMES },
  // Structure, records by criteria and the record mapper, the same in every runtime.
  { file: 'workflows.mjs', runtimes: RUNTIMES, imports: ['imednet/plugins/workflows'] },
  // The export runner and the text file sinks, into memory, in every runtime.
  {
    file: 'sinks.mjs',
    runtimes: RUNTIMES,
    imports: [
      'imednet/plugins/workflows',
      'imednet/plugins/sinks',
      'imednet/plugins/sinks/csv',
      'imednet/plugins/sinks/json',
    ],
  },
  // Every storage adapter passes the conformance suite in the runtime it is made for, and keeps a
  // sync cache equal to the server.
  {
    file: 'storage-node.mjs',
    runtimes: ['node-esm', 'node-cjs'],
    imports: [...STORAGE, 'imednet/storage/sqlite/better-sqlite3', 'imednet/storage/sqlite/node-sqlite'],
  },
  {
    file: 'storage-deno.mjs',
    runtimes: ['deno'],
    imports: [...STORAGE, 'imednet/storage/sqlite/node-sqlite'],
  },
  { file: 'storage-bun.mjs', runtimes: ['bun'], imports: [...STORAGE, 'imednet/storage/sqlite/bun-sqlite'] },
  { file: 'storage-workerd.mjs', runtimes: ['workerd'], imports: [...STORAGE, 'imednet/storage/sqlite/d1'] },
  {
    file: 'storage-cdn.mjs',
    runtimes: ['cdn-chromium', 'cdn-deno'],
    imports: [...STORAGE, 'imednet/storage/indexeddb'],
  },
  {
    file: 'storage-browser.mjs',
    runtimes: ['chromium'],
    imports: [...STORAGE, 'imednet/storage/indexeddb', 'imednet/storage/sqlite/sql-js'],
  },
];
