/**
 * The closing lines of `npm test`: one count over everything the suite ran. Sources:
 *   - the vitest counts written by tests/support/plain-reporter.ts (.tmp/vitest-counts.json);
 *   - the runtime suite's results.json (each runtime case, and each package/bundle/size/example check).
 * A source that is missing counts as a failure: a suite that did not report did not pass.
 *
 * CI reads the closing lines of the output to count the tests. The last line is the plain
 * "tests: N passed, N failed, N skipped"; just before it the same totals stand in the summary form of
 * node's test runner (TAP comments), a closing form CI also knows. Both carry the same true numbers.
 * Exits 1 when anything failed or a source is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CheckOutcome } from '../tests/runtimes/host/package-checks.js';
import { ROOT, WORK_DIR } from '../tests/runtimes/host/paths.js';
import type { RuntimeOutcome } from '../tests/runtimes/host/runtimes.js';
import { COUNTS_FILE, type VitestCounts } from '../tests/support/plain-reporter.js';

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const lines: string[] = [];
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
let groups = 0;
const add = (label: string, t: Tally, groupCount: number) => {
  total.passed += t.passed;
  total.failed += t.failed;
  total.skipped += t.skipped;
  groups += groupCount;
  lines.push(`   ${label.padEnd(22)} ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
};

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

const vitest = readJson<VitestCounts>(resolve(ROOT, COUNTS_FILE));
if (vitest) {
  add('vitest tests', vitest, vitest.files);
} else {
  lines.push(`   vitest tests           no report (${COUNTS_FILE} missing)`);
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
  add('runtime cases', cases, runtimes.outcomes.length);
  add(
    'package/bundle checks',
    {
      passed: runtimes.checks.filter((c) => c.outcome.ok).length,
      failed: runtimes.checks.filter((c) => !c.outcome.ok).length,
      skipped: 0,
    },
    new Set(runtimes.checks.map((c) => c.section)).size,
  );
} else {
  lines.push(`   runtime suite          no report (${join(WORK_DIR, 'results.json')} missing)`);
  total.failed++;
}

const started = Number(process.env.IMEDNET_TEST_STARTED_MS);
const durationMs = Number.isFinite(started) && started > 0 ? Date.now() - started : 0;
const tests = total.passed + total.failed + total.skipped;
process.stdout.write(`\n== totals\n${lines.join('\n')}\n\n`);
process.stdout.write(
  [
    `# tests ${tests}`,
    `# suites ${groups}`,
    `# pass ${total.passed}`,
    `# fail ${total.failed}`,
    '# cancelled 0',
    `# skipped ${total.skipped}`,
    '# todo 0',
    `# duration_ms ${durationMs}`,
    // The last line, alone: the plain form CI reads.
    `tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`,
    '',
  ].join('\n'),
);
process.exitCode = total.failed > 0 ? 1 : 0;
