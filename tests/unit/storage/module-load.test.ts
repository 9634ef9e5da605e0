import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

// Every storage subpath, as package.json exports it.
const ENTRIES = [
  'storage/index',
  'storage/conformance',
  'storage/indexeddb',
  'storage/sqlite/index',
  'storage/sqlite/better-sqlite3',
  'storage/sqlite/node-sqlite',
  'storage/sqlite/bun-sqlite',
  'storage/sqlite/d1',
  'storage/sqlite/sql-js',
  'storage/sqlite/durable-object',
];

describe('storage entries are safe to import anywhere', () => {
  it.each(ENTRIES)('%s imports nothing from node:* and reads no global at module load', async (entry) => {
    const result = await build({
      entryPoints: [`${ROOT}src/${entry}.ts`],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      logLevel: 'silent',
      external: ['better-sqlite3', 'sql.js', 'node:*', 'bun:*'],
    });
    const code = result.outputFiles[0]!.text;
    // Drivers may only appear inside a dynamic import(), never as a load-time require.
    expect(code).not.toMatch(/require\(["'](node:|bun:|better-sqlite3|sql\.js)/);
    // A context with the language's built-ins only: no process, indexedDB, setTimeout or fetch.
    const module = { exports: {} as Record<string, unknown> };
    runInNewContext(code, { module, exports: module.exports }, { filename: `${entry}.cjs` });
    expect(Object.keys(module.exports).length).toBeGreaterThan(0);
  });
});
