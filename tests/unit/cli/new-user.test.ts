// What a new user meets first: help without keys, refused formats, a closed pipe, Ctrl-C, an
// unwritable folder and a mistyped cache file. Each runs the real command in a child process.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../../src/testing/index.js';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = ['--import', 'tsx', 'src/cli/index.ts'];
const run = promisify(execFile);

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end (or `timeout`), resolving to its exit code and output whatever the code. */
async function cli(args: string[], env: Record<string, string>, timeout = 30_000): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      maxBuffer: 64 << 20,
      timeout,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout: string; stderr: string; killed?: boolean };
    if (failed.killed) throw new Error(`imednet ${args.join(' ')} was still running after ${timeout} ms`);
    return {
      stdout: failed.stdout,
      stderr: failed.stderr,
      code: typeof failed.code === 'number' ? failed.code : null,
    };
  }
}

/** Starts the CLI with piped output, collecting what it prints. */
function start(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out.stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const COMMANDS = ['demo', 'studies', 'records', 'jobs', 'sync', 'reconcile', 'ledger'];
const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at |DOMException|node:internal/m);

describe('imednet as a new user meets it', () => {
  let server: MockServer;
  let dir: string;
  const keys = () => ({
    IMEDNET_API_KEY: DEFAULT_API_KEY,
    IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
    IMEDNET_BASE_URL: server.url,
  });
  beforeAll(async () => {
    server = await startMockServer({ study: { records: 3000, subjects: 40 } });
    dir = await mkdtemp(join(tmpdir(), 'imednet-new-user-'));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints help for `help`, `--help` and `<command> --help`, with keys or without', async () => {
    const asks = [['help'], ['--help'], ['-h'], ...COMMANDS.map((c) => [c, '--help'])];
    for (const env of [{}, keys()]) {
      for (const args of asks) {
        const { code, stdout, stderr } = await cli(args, env);
        expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
        expect(stdout).toMatch(/^Usage:\n {2}imednet demo/m);
      }
    }
  }, 120_000);

  it('refuses an output format it does not write, naming the ones it does', async () => {
    for (const format of ['xml', 'NDJSON', 'parquet']) {
      const { code, stdout, stderr } = await cli(['records', 'DEMO', '--format', format], keys());
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim()).toBe(
        `imednet: ConfigurationError: Unknown --format ${format}; formats: table, ndjson, json, csv`,
      );
    }
  }, 60_000);

  it('names a mistake in the command before asking for keys', async () => {
    const cases: [string[], string][] = [
      [['records'], 'records needs a study key: imednet records <studyKey>'],
      [['nosuchcommand'], 'Unknown resource "nosuchcommand"; one of: studies, sites,'],
      [['sync', 'DEMO', '--per-minute', 'lots'], '--per-minute must be a whole number'],
      [['records', 'DEMO', '--format', 'xml'], 'Unknown --format xml'],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await cli(args, {});
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(stderr).toContain(message);
      expect(stderr).not.toContain('IMEDNET_API_KEY');
    }
  }, 60_000);

  it('stops quietly and successfully when the reader of stdout goes away (| head -1)', async () => {
    for (const args of [
      ['records', 'DEMO', '--page-size', '100'],
      ['records', 'DEMO', '--format', 'json'],
      ['demo', '--records', '3000', '--latency', '1', '--out', join(dir, 'piped-demo')],
    ]) {
      const { child, out, exited } = start(args, keys());
      // What `head -1` does after its line; at once, so the command surely has more to write.
      child.stdout?.once('data', () => child.stdout?.destroy());
      expect({ args, code: await exited, stderr: out.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(out.stdout).not.toBe('');
    }
  }, 60_000);

  it('goes on to the end when only the reader of stderr goes away (progress is not the output)', async () => {
    const { child, out, exited } = start(['sync', 'DEMO', '--db', join(dir, 'no-stderr.db')], keys());
    child.stderr?.destroy();
    expect(await exited).toBe(0);
    const summary = JSON.parse(out.stdout);
    expect(summary.streams.records).toMatchObject({ mode: 'full', fetched: server.study.records.length });
  }, 60_000);

  it('fails at once with one line when the demo cannot create its output folder', async () => {
    // Node's recursive mkdir loops for ever under /proc; a file in the way is refused too.
    for (const [folder, reason] of [
      ['/proc/imednet-nope', 'Cannot create the folder /proc/imednet-nope (ENOENT)'],
      ['/etc/hostname/out', 'Cannot create the folder /etc/hostname/out (ENOTDIR)'],
    ] as const) {
      const { code, stdout, stderr } = await cli(['demo', '--records', '100', '--out', folder], {}, 15_000);
      expect(code).toBe(7);
      expect(stdout).toBe('');
      expect(stderr).toBe(`imednet: OutputPathError: ${reason}\n`);
    }
  }, 60_000);

  it('ledger and reconcile never create a cache file: a missing one is an error naming it', async () => {
    const db = join(dir, 'typo.db');
    for (const command of ['ledger', 'reconcile']) {
      const { code, stdout, stderr } = await cli([command, 'DEMO', '--db', db], keys());
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        `imednet: ConfigurationError: No sync cache at ${db}; create it with: imednet sync DEMO --db ${db}\n`,
      );
      expect(existsSync(db)).toBe(false);
    }
  }, 60_000);

  it('sync into a folder that does not exist says so (not that SQLite is missing)', async () => {
    const db = join(dir, 'no-such-folder', 'x.db');
    const { code, stderr } = await cli(['sync', 'DEMO', '--db', db], keys());
    expect(code).toBe(2);
    expect(stderr).toBe(
      `imednet: ConfigurationError: Cannot create ${db}: there is no folder ${join(dir, 'no-such-folder')}\n`,
    );
  }, 60_000);

  it('ledger of a study the cache does not hold says so instead of printing nothing', async () => {
    const db = join(dir, 'cache.db');
    expect((await cli(['sync', 'DEMO', '--db', db, '--streams', 'sites'], keys())).code).toBe(0);
    const { code, stdout, stderr } = await cli(['ledger', 'DEMOO', '--db', db], {});
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`imednet: ConfigurationError: The cache at ${db} holds no sync of study DEMOO\n`);
  }, 60_000);

  it('on a terminal, says that it waits for a long Retry-After and for how long; in a pipe, says nothing', async () => {
    const args = ['records', 'DEMO', '--limit', '1'];
    const notice = 'imednet: the API asks to slow down (429); waiting 3 s before trying again (Ctrl-C stops)';
    server.api.setFaults({ rateLimit: { times: 1, retryAfter: 3 } });
    try {
      // script(1) gives the command a terminal; its stdout and stderr both arrive on script's stdout.
      const command = [process.execPath, ...CLI, ...args].map((a) => `'${a}'`).join(' ');
      const onTerminal = await run('script', ['-qec', command, '/dev/null'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...keys() },
        timeout: 30_000,
      });
      expect(onTerminal.stdout.replaceAll('\r', '')).toContain(`${notice}\n`);
      expect(onTerminal.stdout).toContain('1 records written');
    } finally {
      server.api.setFaults({});
    }
    server.api.setFaults({ rateLimit: { times: 1, retryAfter: 3 } });
    try {
      const piped = await cli(args, keys());
      expect(piped.code).toBe(0);
      expect(piped.stderr).toBe('1 records written\n');
    } finally {
      server.api.setFaults({});
    }
  }, 60_000);

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during a long Retry-After wait stops at once: exit %i, one short line, no stack',
    async (signal, exitCode) => {
      server.api.setFaults({ rateLimit: { times: Infinity, retryAfter: 30 } });
      try {
        const before = server.api.requests.length;
        const { child, out, exited } = start(['records', 'DEMO'], keys());
        await until(() => server.api.requests.length > before, 'the first request');
        const sent = Date.now();
        child.kill(signal);
        expect(await exited).toBe(exitCode);
        expect(Date.now() - sent).toBeLessThan(5000);
        expect(out.stdout).toBe('');
        expect(out.stderr).toBe('imednet: stopped\n');
      } finally {
        server.api.setFaults({});
      }
    },
    60_000,
  );

  it('SIGINT in the middle of a sync stops it with exit 130 and no stack', async () => {
    server.api.setFaults({ latencyMs: 300 });
    try {
      const before = server.api.requests.length;
      const { child, out, exited } = start(['sync', 'DEMO', '--db', join(dir, 'mid.db')], keys());
      await until(() => server.api.requests.length > before, 'the first request');
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(out.stdout).toBe('');
      expect(out.stderr.trim().split('\n').at(-1)).toBe('imednet: stopped');
      noStack(out.stderr);
    } finally {
      server.api.setFaults({});
    }
  }, 60_000);
});
