/**
 * The vitest reporter `npm test` uses: one plain line per test file, the full error of every failed
 * test, the console output of tests, and a counts file for the closing line (scripts/test-summary.ts).
 *
 * Why not vitest's default reporter: CI reads the closing lines of the output to count the tests, and
 * a log full of check-mark lines and a "Tests 467 passed (467)" summary in no known runner's form led
 * it to judge that no test ran. This reporter prints words, not marks, and leaves the summary to
 * scripts/test-summary.ts.
 *
 * Counting: each test case counts once (passed, failed or skipped); a file that failed with no failed
 * test in it (it did not load, or a hook threw) counts as one failure; so does each unhandled error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

/** What scripts/test-summary.ts reads. */
export interface VitestCounts {
  files: number;
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Where the counts go (relative to the working folder; $IMEDNET_VITEST_COUNTS overrides it for the
 * reporter's own test). scripts/test.sh removes it before a run so a stale file is never counted.
 */
export const COUNTS_FILE = process.env.IMEDNET_VITEST_COUNTS ?? '.tmp/vitest-counts.json';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
// Colour codes (vitest colours its diffs) have no place in a plain log.
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
const indent = (text: string, pad: string) =>
  plain(text)
    .trimEnd()
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
// Stack frames inside vitest and vite say nothing about the failure.
const ownFrames = (stack: string) =>
  stack
    .split('\n')
    .filter((line) => !/^\s+at .*(node_modules[\\/]|<anonymous>)/.test(line))
    .join('\n');

function testsOf(module: TestModule): TestCase[] {
  return [...module.children.allTests()];
}

export default class PlainReporter implements Reporter {
  readonly #out = (line: string) => process.stdout.write(`${line}\n`);

  onUserConsoleLog(log: {
    content: string;
    origin?: string;
    type: 'stdout' | 'stderr';
    taskId?: string;
  }): void {
    this.#out(`${log.type} from a test:`);
    this.#out(indent(log.content, '  | '));
  }

  onTestModuleEnd(module: TestModule): void {
    const tests = testsOf(module);
    const failed = tests.filter((t) => t.result().state === 'failed');
    const skipped = tests.filter((t) => t.result().state === 'skipped');
    const verdict = module.ok() ? 'PASS' : 'FAIL';
    const counts = [`${tests.length} tests`];
    if (failed.length) counts.push(`${failed.length} failed`);
    if (skipped.length) counts.push(`${skipped.length} skipped`);
    this.#out(
      `${verdict} ${module.relativeModuleId} (${counts.join(', ')}, ${seconds(module.diagnostic().duration)})`,
    );
    for (const test of failed) {
      this.#out(`  failed: ${test.fullName}`);
      for (const error of test.result().errors ?? []) {
        this.#out(indent(ownFrames(error.stack ?? error.message), '    '));
        if (error.diff) this.#out(indent(error.diff, '    '));
      }
    }
    for (const test of skipped) this.#out(`  skipped: ${test.fullName}`);
    if (!module.ok() && failed.length === 0) {
      for (const error of module.errors()) this.#out(indent(ownFrames(error.stack ?? error.message), '    '));
    }
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandled: ReadonlyArray<{ message: string; stack?: string }>,
  ): void {
    const counts: VitestCounts = { files: modules.length, passed: 0, failed: 0, skipped: 0 };
    for (const module of modules) {
      const tests = testsOf(module);
      let failedHere = 0;
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') failedHere++;
        else counts.skipped++;
      }
      // A file that failed on its own (did not load, a hook threw) is one failure.
      counts.failed += failedHere > 0 ? failedHere : module.ok() ? 0 : 1;
    }
    if (modules.length === 0) {
      // A run that found no test file ran nothing: that is not a pass.
      counts.failed++;
      this.#out('no test file was found (counted as a failure)');
    }
    for (const error of unhandled) {
      counts.failed++;
      this.#out('unhandled error (counted as a failure):');
      this.#out(indent(ownFrames(error.stack ?? error.message), '    '));
    }
    this.#out(
      `vitest: ${counts.files} files; ${counts.passed} tests passed, ${counts.failed} failed, ${counts.skipped} skipped`,
    );
    mkdirSync(dirname(COUNTS_FILE), { recursive: true });
    writeFileSync(COUNTS_FILE, `${JSON.stringify(counts)}\n`);
  }
}
