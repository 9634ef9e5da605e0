/**
 * The closing line of `npm test`: one count over everything the suite ran, in the plain
 * "N passed, N failed, N skipped" form that CI reads. Sources:
 *   - vitest's JSON report (written by scripts/test.sh to .tmp/vitest-report.json);
 *   - the runtime suite's results.json (each runtime case, and each package/bundle/size/example check).
 * A source that is missing counts as a failure: a suite that did not report did not pass.
 * Exits 1 when anything failed or a source is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckOutcome } from '../tests/runtimes/host/package-checks.js';
import { ROOT, WORK_DIR } from '../tests/runtimes/host/paths.js';
import type { RuntimeOutcome } from '../tests/runtimes/host/runtimes.js';

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const lines: string[] = [];
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const add = (label: string, t: Tally) => {
  total.passed += t.passed;
  total.failed += t.failed;
  total.skipped += t.skipped;
  lines.push(`   ${label.padEnd(22)} ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
};

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

const vitest = readJson<{
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}>(join(ROOT, '.tmp', 'vitest-report.json'));
if (vitest) {
  add('vitest tests', {
    passed: vitest.numPassedTests,
    // A file that fails to load has no failed test but is a failure all the same.
    failed: vitest.numFailedTests + vitest.numFailedTestSuites,
    skipped: vitest.numPendingTests + vitest.numTodoTests,
  });
} else {
  lines.push('   vitest tests           no report (.tmp/vitest-report.json missing)');
  total.failed++;
}

const runtimes = readJson<{
  outcomes: RuntimeOutcome[];
  checks: { section: string; outcome: CheckOutcome }[];
}>(join(WORK_DIR, 'results.json'));
if (runtimes) {
  const cases: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const o of runtimes.outcomes) {
    if (!o.report || o.error) {
      cases.failed++;
      continue;
    }
    cases.passed += o.report.passed;
    cases.failed += o.report.total - o.report.passed;
  }
  add('runtime cases', cases);
  add('package/bundle checks', {
    passed: runtimes.checks.filter((c) => c.outcome.ok).length,
    failed: runtimes.checks.filter((c) => !c.outcome.ok).length,
    skipped: 0,
  });
} else {
  lines.push(`   runtime suite          no report (${join(WORK_DIR, 'results.json')} missing)`);
  total.failed++;
}

process.stdout.write(`\n== totals\n${lines.join('\n')}\n\n`);
// The last line, alone: what CI reads.
process.stdout.write(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = total.failed > 0 ? 1 : 0;
