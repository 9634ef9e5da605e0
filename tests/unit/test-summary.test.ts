// The closing lines of `npm test` are what CI counts: the plain reporter and scripts/test-summary.ts
// run here as they do in scripts/test.sh, over fixture tests whose outcomes are known.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, ROOT } from '../runtimes/host/paths.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'imednet-summary-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function exec(file: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm test closing lines', () => {
  const counts = join(scratch, 'counts.json');
  const runtimesDir = join(scratch, 'runtimes');

  it('the reporter counts each failure once: a failed test, and a file that did not load', async () => {
    const result = await exec(
      bin('vitest'),
      [
        'run',
        '--config',
        'tests/support/fixtures/reporter/vitest.config.ts',
        '--reporter',
        `${ROOT}/tests/support/plain-reporter.ts`,
      ],
      { IMEDNET_VITEST_COUNTS: counts },
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(readFileSync(counts, 'utf8'))).toEqual({ files: 2, passed: 2, failed: 2, skipped: 1 });
    expect(result.stdout).toMatch(/^FAIL mixed\.test\.ts \(4 tests, 1 failed, 1 skipped/m);
    expect(result.stdout).toMatch(/^ {2}failed: fails once$/m);
    expect(result.stdout).toContain("expected 'actual' to be 'expected'");
    expect(result.stdout).toMatch(/^FAIL broken\.test\.ts/m);
    expect(result.stdout).toContain('this file fails while loading');
    expect(result.stdout).toContain('seed 12345');
    // No check marks that another runner's output could be taken for.
    expect(result.stdout).not.toMatch(/[✓✔✗✘×]/);
  }, 60_000);

  it('ends with the totals in node test runner form, then the plain line alone', async () => {
    mkdirSync(join(runtimesDir, 'imednet-runtimes'), { recursive: true });
    writeFileSync(
      join(runtimesDir, 'imednet-runtimes', 'results.json'),
      JSON.stringify({
        outcomes: [
          { runtime: 'deno', label: 'deno', ms: 1, report: { passed: 5, total: 6, failed: 1, results: [] } },
          { runtime: 'bun', label: 'bun', ms: 1, error: 'could not start' },
        ],
        checks: [
          { section: 'package', outcome: { name: 'publint', ok: true, detail: '', ms: 1 } },
          { section: 'size', outcome: { name: 'root', ok: false, detail: '', ms: 1 } },
        ],
      }),
    );
    const result = await exec(bin('tsx'), ['scripts/test-summary.ts'], {
      IMEDNET_VITEST_COUNTS: counts,
      IMEDNET_RUNTIMES_DIR: runtimesDir,
    });
    expect(result.code).toBe(1);
    const tail = result.stdout.trimEnd().split('\n').slice(-9);
    // vitest 2+2+1, runtime cases 5 passed + 1 failed + 1 row that could not start, checks 1+1.
    expect(tail).toEqual([
      '# tests 14',
      '# suites 6',
      '# pass 8',
      '# fail 5',
      '# cancelled 0',
      '# skipped 1',
      '# todo 0',
      expect.stringMatching(/^# duration_ms \d+$/),
      'tests: 8 passed, 5 failed, 1 skipped',
    ]);
    expect(result.stderr).toBe('');
  }, 60_000);
});
