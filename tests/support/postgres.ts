/**
 * A throwaway PostgreSQL server for the sink tests: `initdb` into a temporary folder, then
 * `postgres` on a free local port with trust auth, stopped and its folder removed after the file's
 * tests (pass or fail). PostgreSQL refuses to run as root, so as root both run as the `postgres`
 * user, which Debian's package creates.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Debian's package: apt-get installs it when the binaries are missing and we are root (as on CI). */
const DEBIAN_PACKAGE = 'postgresql-15';

/** Folders that may hold `initdb` and `postgres`: $POSTGRES_BIN, /usr/local/bin, Debian's, then PATH. */
function candidateFolders(): string[] {
  return [
    process.env.POSTGRES_BIN,
    '/usr/local/bin',
    '/usr/lib/postgresql/15/bin',
    ...(process.env.PATH ?? '').split(delimiter),
  ].filter((folder): folder is string => !!folder);
}

/** The folder holding both `initdb` and `postgres`, or undefined. */
function findBinaries(): string | undefined {
  return candidateFolders().find(
    (folder) => existsSync(join(folder, 'initdb')) && existsSync(join(folder, 'postgres')),
  );
}

const isRoot = () => process.getuid?.() === 0;

/** The binaries' folder, installing Debian's package first when they are missing and we are root. */
export function ensurePostgres(): string {
  const found = findBinaries();
  if (found) return found;
  if (process.platform !== 'linux' || !isRoot()) {
    throw new Error(
      `PostgreSQL's initdb and postgres not found: install ${DEBIAN_PACKAGE} (apt-get install ${DEBIAN_PACKAGE}) or set POSTGRES_BIN`,
    );
  }
  const apt = ['-o', 'DPkg::Lock::Timeout=600', '-qq'];
  execFileSync('apt-get', [...apt, 'update'], { stdio: 'inherit' });
  execFileSync('apt-get', [...apt, 'install', '-y', '--no-install-recommends', DEBIAN_PACKAGE], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = findBinaries();
  if (!installed) throw new Error(`${DEBIAN_PACKAGE} installed, but initdb and postgres are still not found`);
  return installed;
}

/** The uid and gid of the `postgres` user when we are root (undefined otherwise: run as ourselves). */
function runAs(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) {
    throw new Error('PostgreSQL refuses to run as root and there is no `postgres` user to run it as');
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A free TCP port on 127.0.0.1 (asked of the OS, then released for the server to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** A running throwaway server. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth: no password). */
  url: string;
  port: number;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Starts a fresh cluster; resolves once it accepts connections. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = ensurePostgres();
  const user = runAs();
  const root = mkdtempSync(join(tmpdir(), 'imednet-pg-'));
  const data = join(root, 'data');
  let child: ChildProcess | undefined;
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    if (user) chownSync(root, user.uid, user.gid);
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions'],
      { ...user, stdio: 'pipe', cwd: root },
    );
    const port = await freePort();
    const args = ['-D', data, '-k', root, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
    args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const started = spawn(join(bin, 'postgres'), args, {
      ...user,
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`postgres did not start in 30 s:\n${log}`)), 30_000);
      const onData = (chunk: Buffer) => {
        // Kept short: only the tail is shown should it fail to start.
        log = (log + chunk.toString()).slice(-4000);
        if (log.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout?.on('data', onData);
      started.stderr?.on('data', onData);
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with code ${code} before accepting connections:\n${log}`));
      });
      started.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    // Keep draining its log so a full pipe never blocks the server.
    started.stdout?.resume();
    started.stderr?.resume();
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      async stop() {
        await stopChild(started);
        remove();
      },
    };
  } catch (error) {
    if (child) await stopChild(child);
    remove();
    throw error;
  }
}

/** Asks postgres for a fast shutdown (SIGINT), then kills it if it lingers. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a server before this file's tests and stops it after them. The getter answers the
 * running server (call it inside a test or hook).
 */
export function usePostgres(): () => TestPostgres {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  }, 30_000);
  return () => {
    if (!server) throw new Error('the test PostgreSQL server is not running');
    return server;
  };
}
