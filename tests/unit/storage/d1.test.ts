import { readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { describe, expect, it } from 'vitest';
import type { CaseReport } from './fixtures/run-cases.js';
import { bundle, describeFailures } from './support.js';

describe('d1Storage under miniflare (workerd with a D1 binding)', () => {
  it('passes every conformance case, with atomic writes through db.batch()', async () => {
    const script = readFileSync(await bundle('d1-worker.ts', 'd1-worker.mjs', 'neutral'), 'utf8');
    const mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: '2025-01-01',
      d1Databases: ['DB'],
    });
    try {
      const response = await mf.dispatchFetch('http://localhost/');
      const report = (await response.json()) as CaseReport;
      expect(report.failed, describeFailures(report)).toBe(0);
      expect(report.passed).toBeGreaterThanOrEqual(19);
    } finally {
      await mf.dispose();
    }
  }, 120_000);
});
