import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { nodeSqliteStorage } from '../../../src/storage/sqlite/node-sqlite.js';
import { installedNodeBinary } from '../../runtimes/host/node-versions.js';
import { bundle, describeFailures, runReport } from './support.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const hasNodeSqlite = major > 22 || (major === 22 && minor >= 5);

describe('nodeSqliteStorage in this Node', () => {
  it(
    hasNodeSqlite
      ? `on Node ${process.versions.node} stores and reads back`
      : `on Node ${process.versions.node} fails at first use, naming Node 22.5 and better-sqlite3`,
    async () => {
      const storage = nodeSqliteStorage({ filename: ':memory:' });
      if (hasNodeSqlite) {
        await storage.putMany('a', [['k', { v: 1 }]]);
        expect(await storage.get('a', 'k')).toEqual({ v: 1 });
        await storage.close();
        return;
      }
      const error = await storage.get('a', 'b').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/Node 22\.5/);
      expect((error as Error).message).toMatch(/better-sqlite3/);
      expect((error as Error).message).toContain(`Node ${process.versions.node}`);
    },
  );
});

// Node 22 and 24 come from the npm registry's node-<platform>-<arch> packages into .cache/ (shared
// with the runtime suite, git-ignored). The test command's setup step installs them
// (scripts/setup-node-versions.ts); this test only looks them up.
describe.each(['22', '24'])('nodeSqliteStorage under Node %s', (version) => {
  it('passes every conformance case (in memory and in a WAL file)', async () => {
    const node = installedNodeBinary(version);
    const script = await bundle('node-sqlite-runner.ts', `node-sqlite-runner.mjs`, 'node');
    const report = await runReport(node, ['--no-warnings', script]);
    expect(report.failed, describeFailures(report)).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(2 * 19);
  }, 120_000);
});
