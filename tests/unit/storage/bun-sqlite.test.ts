import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { bunSqliteStorage } from '../../../src/storage/sqlite/bun-sqlite.js';
import { describeFailures, ROOT, runReport } from './support.js';

const BUN = `${ROOT}node_modules/.bin/bun`;

describe('bunSqliteStorage', () => {
  it('passes every conformance case under Bun (in memory and in a WAL file)', async () => {
    // The bun devDependency brings the binary; without it this fails rather than skips.
    expect(existsSync(BUN), `${BUN} is missing: run npm ci`).toBe(true);
    const report = await runReport(BUN, ['tests/unit/storage/fixtures/bun-runner.ts']);
    expect(report.failed, describeFailures(report)).toBe(0);
    // Three adapters (bun :memory:, bun file, memory) times the whole suite.
    expect(report.passed).toBeGreaterThanOrEqual(3 * 19);
  }, 120_000);

  it('outside Bun fails at first use, naming the Node alternatives', async () => {
    const storage = bunSqliteStorage({ filename: ':memory:' });
    const error = await storage.count('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/only Bun has.*better-sqlite3.*node-sqlite/s);
  });
});
