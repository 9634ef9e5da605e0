/** Helpers for the storage tests that run the conformance cases outside vitest's own process. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { CaseReport } from './fixtures/run-cases.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Bundles a fixture (TypeScript, with its src/ imports) into one ESM file; returns its path. */
export async function bundle(
  fixture: string,
  outfile: string,
  platform: 'node' | 'neutral' | 'browser',
): Promise<string> {
  const out = `${ROOT}.tmp/storage-tests/${outfile}`;
  await build({
    entryPoints: [`${ROOT}tests/unit/storage/fixtures/${fixture}`],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform,
    target: 'es2022',
    logLevel: 'error',
    // Worker and browser bundles must not pull in drivers they do not use.
    external: ['better-sqlite3', 'node:*', 'bun:*'],
    mainFields: platform === 'node' ? ['module', 'main'] : ['browser', 'module', 'main'],
  });
  return out;
}

/** Runs a command that prints a JSON CaseReport line; resolves to that report (and the raw output). */
export function runReport(
  command: string,
  args: string[],
  timeoutMs = 180_000,
): Promise<CaseReport & { output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout
          .split('\n')
          .reverse()
          .find((l) => l.startsWith('{'));
        if (!line) {
          reject(
            new Error(`${command} printed no report (${error?.message ?? 'exit 0'})\n${stdout}\n${stderr}`),
          );
          return;
        }
        resolve({ ...(JSON.parse(line) as CaseReport), output: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** A readable summary of failures, for assertion messages. */
export function describeFailures(report: CaseReport): string {
  return report.failures.map((f) => `[${f.adapter}] ${f.name}\n${f.message}`).join('\n\n');
}
