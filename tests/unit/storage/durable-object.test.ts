import { readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { durableObjectStorage } from '../../../src/storage/sqlite/durable-object.js';
import type { CaseReport } from './fixtures/run-cases.js';
import { bundle, describeFailures } from './support.js';

describe('durableObjectStorage under miniflare (workerd, a SQLite-backed Durable Object)', () => {
  it('passes every conformance case, with atomic writes through transactionSync()', async () => {
    const script = readFileSync(
      await bundle('durable-object-worker.ts', 'durable-object-worker.mjs', 'neutral'),
      'utf8',
    );
    const mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: '2025-01-01',
      durableObjects: {
        CONFORMANCE: { className: 'ConformanceObject', useSQLite: true },
        KEY_VALUE: { className: 'KeyValueObject' },
      },
    });
    try {
      const report = (await (await mf.dispatchFetch('http://localhost/')).json()) as CaseReport;
      expect(report.failed, describeFailures(report)).toBe(0);
      expect(report.passed).toBeGreaterThanOrEqual(19 + 3);

      // A key-value-backed class has no SQL: the first call says what to declare instead.
      const kv = (await (await mf.dispatchFetch('http://localhost/key-value')).json()) as {
        name?: string;
        message?: string;
      };
      expect(kv.name, kv.message).toBe('ConfigurationError');
      expect(kv.message).toMatch(/new_sqlite_classes/);
    } finally {
      await mf.dispose();
    }
  }, 120_000);
});

describe('durableObjectStorage', () => {
  it('can be created from any object, and fails at first use when it is no SQLite-backed storage', async () => {
    const storage = durableObjectStorage({ transactionSync: (fn) => fn() });
    const error = await storage.count('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/SQLite-backed Durable Object/);
    expect((error as Error).message).toMatch(/d1Storage/);
  });
});
