/**
 * What imednet/plugins/duckdb needs installed and given, checked before DuckDB-WASM ever starts:
 * a missing optional package fails at first use naming what to install, and bad or missing bundle
 * files fail at once instead of leaving a worker that never answers. No test here starts DuckDB.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { openStudyDatabase } from '../../../src/plugins/duckdb/index.js';

afterEach(() => {
  vi.doUnmock('@duckdb/duckdb-wasm/dist/duckdb-browser.mjs');
  vi.doUnmock('apache-arrow');
  vi.resetModules();
});

describe('a missing optional package', () => {
  it.each([
    ['@duckdb/duckdb-wasm', '@duckdb/duckdb-wasm/dist/duckdb-browser.mjs'],
    ['apache-arrow', 'apache-arrow'],
  ])(
    '%s: opening loads nothing; the first use fails with ConfigurationError naming it',
    async (name, specifier) => {
      vi.resetModules();
      vi.doMock(specifier, () => {
        throw new Error('Cannot find package');
      });
      const fresh = await import('../../../src/plugins/duckdb/index.js');
      const errors = await import('../../../src/core/errors.js');
      const db = fresh.openStudyDatabase();
      const error = await db.query('SELECT 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.ConfigurationError);
      expect((error as Error).message).toContain(`needs the ${name} package`);
      expect((error as Error).message).toMatch(/npm install @duckdb\/duckdb-wasm apache-arrow/);
      await db.close();
    },
  );
});

describe('bundles', () => {
  const real = { mainModule: 'duckdb-eh.wasm', mainWorker: 'duckdb-node-eh.worker.cjs' };

  it('of the wrong shape are refused when opening', () => {
    for (const bundles of [
      {},
      { mvp: {} },
      { mvp: { mainModule: '', mainWorker: 'w.js' } },
      { mvp: real, eh: 'x' },
    ]) {
      expect(() => openStudyDatabase({ bundles } as never)).toThrow(ConfigurationError);
    }
    expect(() => openStudyDatabase({ startTimeout: 0 })).toThrow(ConfigurationError);
  });

  it('naming files that are not there fail the start at once, naming the file', async () => {
    const db = openStudyDatabase({
      bundles: { mvp: { mainModule: '/nowhere/duckdb-mvp.wasm', mainWorker: '/nowhere/worker.cjs' } },
    });
    const error = await db.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/not found: \/nowhere\//);
    await db.close();
  });

  it('given as http URLs in Node are refused: Node starts workers from files', async () => {
    const db = openStudyDatabase({
      bundles: {
        mvp: { mainModule: 'https://cdn.example/duckdb-mvp.wasm', mainWorker: 'https://cdn.example/w.js' },
      },
    });
    const error = await db.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/file paths or file: URLs/);
    await db.close();
  });
});
