/**
 * DuckDB-WASM and Arrow stay in imednet/plugins/duckdb: bundling every other `exports` entry from
 * source reaches neither package nor any file of the plugin, and the plugin itself reaches them
 * only through `import()` at first use, so it loads in any runtime without them; Node's builtins it
 * imports by a name bundlers do not follow, so a page bundled for a browser needs no setting.
 * (The runtime suite's bundle check does the same for the packed root entry.)
 */
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../runtimes/host/paths.js';
import { imednetSources } from '../../support/imednet-source.js';

const HEAVY = /^(@duckdb\/duckdb-wasm|apache-arrow)(\/|$)/;

interface Reached {
  path: string;
  kind: esbuild.ImportKind;
  importer: string;
}

/** Every package, builtin and source file an entry's source reaches; packages are not followed. */
async function reach(entry: string): Promise<{ packages: Reached[]; files: string[] }> {
  const packages: Reached[] = [];
  const result = await esbuild.build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'silent',
    plugins: [
      {
        name: 'record-packages',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            packages.push({ path: args.path, kind: args.kind, importer: relative(ROOT, args.importer) });
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return { packages, files: Object.keys(result.metafile.inputs) };
}

/** The source file of each `exports` entry, relative to the repository, by import specifier. */
function entries(): Map<string, string> {
  return new Map([...imednetSources()].map(([name, source]) => [name, relative(ROOT, source)]));
}

describe('where DuckDB-WASM and Arrow are reachable from', async () => {
  const all = entries();

  it('lists the plugin among the exports', () => {
    expect(all.get('imednet/plugins/duckdb')).toBe('src/plugins/duckdb/index.ts');
    expect(all.size).toBeGreaterThan(20);
  });

  it.each([...all].filter(([subpath]) => subpath !== 'imednet/plugins/duckdb'))(
    '%s reaches neither, nor the plugin',
    async (_subpath, source) => {
      const { packages, files } = await reach(source);
      expect(packages.filter((p) => HEAVY.test(p.path))).toEqual([]);
      expect(files.filter((f) => f.includes('plugins/duckdb/'))).toEqual([]);
    },
    30_000,
  );

  it('imednet/plugins/duckdb reaches them only by import() at first use, and no Node builtin at all', async () => {
    const { packages } = await reach('src/plugins/duckdb/index.ts');
    // hyparquet reads Parquet for loadParquet; hyparquet-writer is the Parquet sink's, whose
    // metadata key loadParquet reads: both optional, both loaded at first use.
    const lazy = packages.filter((p) => HEAVY.test(p.path) || /^hyparquet(-writer)?$/.test(p.path));
    expect(lazy.map((p) => p.path)).toEqual(
      expect.arrayContaining(['@duckdb/duckdb-wasm/dist/duckdb-browser.mjs', 'apache-arrow', 'hyparquet']),
    );
    expect(packages.filter((p) => p.path.startsWith('node:'))).toEqual([]);
    expect(lazy.filter((p) => p.kind !== 'dynamic-import')).toEqual([]);
    // Loaded with the entry: the SDK's own source and its dependencies, nothing more.
    const eager = new Set(packages.filter((p) => !lazy.includes(p)).map((p) => p.path));
    expect([...eager].filter((p) => p !== 'ky' && p !== 'valibot')).toEqual([]);
  });

  it('bundles for a browser with the packages installed and no setting at all', async () => {
    const result = await esbuild.build({
      stdin: {
        contents: "export { openStudyDatabase, profileStudy } from './src/plugins/duckdb/index.ts';",
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(result.outputFiles[0]!.text).toContain('AsyncDuckDB');
  }, 60_000);
});
