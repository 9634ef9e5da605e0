/**
 * Ending a DuckDB-WASM database releases its worker: a child process that opens databases, closes
 * them every way (await using, mid-query, mid-start, never started), loses one's worker under a
 * running query, and returns from its script exits by itself, promptly, having seen each
 * operation end as it should.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('closing a study database', () => {
  it('ends every operation and lets the process exit by itself', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'lifecycle-child.ts')],
      {
        cwd: process.cwd(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // The child never calls process.exit: only a process with nothing left running gets here.
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(seen).toMatchObject({
      answer: 42,
      usingClosed: true,
      slow: { error: 'StudyDatabaseError' },
      queued: { error: 'StudyDatabaseError' },
      after: { error: 'StudyDatabaseError' },
      closedWhileStarting: { error: 'StudyDatabaseError' },
      neverStarted: { error: 'StudyDatabaseError' },
      workerDied: { error: 'StudyDatabaseError' },
      workerDiedMessage: "DuckDB-WASM's worker stopped",
      workerDiedClosed: true,
    });
    console.log(`duckdb lifecycle: first query after ${seen.startMs} ms (start included)`);
  }, 60_000);
});
