// The steps examples/README.md gives a new user, in this repository as it stands (the package is
// not on npm): after the build, `npm install` in an example folder links the repository, and the
// example runs; `npx imednet` works at the root. Each example is copied beside the original
// (examples/.tmp-install-<name>), so its `file:../..` means what it means for the reader.
// Only the folders whose one dependency is imednet are installed (no registry download here).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../src/testing/index.js';
import { bin, ROOT } from '../runtimes/host/paths.js';

const run = promisify(execFile);

/** The examples (folder, command) whose only dependency is `imednet`. */
const LINKED = [
  ['node', [process.execPath, 'index.mjs']],
  ['bun', [bin('bun'), 'index.ts']],
  ['deno', [bin('deno'), 'run', '--allow-net', '--allow-env', 'main.ts']],
] as const;

describe('the examples, from a clone of this repository', () => {
  let server: MockServer;
  const copies: string[] = [];
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/index.js')) || !existsSync(join(ROOT, 'dist/cli/index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test builds before the unit tests)');
    }
    server = await startMockServer({ study: { records: 120, subjects: 12 } });
  });
  afterAll(async () => {
    await server?.close();
    for (const dir of copies) await rm(dir, { recursive: true, force: true });
  });

  it('depend on this repository, never on an unpublished registry version', async () => {
    for (const name of ['node', 'node-sync', 'node-workflows', 'bun', 'deno', 'cloudflare-worker']) {
      const pkg = JSON.parse(await readFile(join(ROOT, 'examples', name, 'package.json'), 'utf8'));
      expect({ name, imednet: pkg.dependencies?.imednet }).toEqual({ name, imednet: 'file:../..' });
    }
  });

  it.each(LINKED)(
    'examples/%s: npm install links the build, and the example runs',
    async (name, command) => {
      const dir = join(ROOT, 'examples', `.tmp-install-${name}`);
      copies.push(dir);
      await rm(dir, { recursive: true, force: true });
      await cp(join(ROOT, 'examples', name), dir, {
        recursive: true,
        filter: (source) => !/[\\/](node_modules|package-lock\.json)$/.test(source),
      });
      // --offline: a link needs nothing from the registry, and an unpublished version fails at once.
      await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 60_000 });
      const [binary, ...args] = command;
      const { stdout } = await run(binary, [...args, 'DEMO'], {
        cwd: dir,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          IMEDNET_API_KEY: DEFAULT_API_KEY,
          IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
          IMEDNET_BASE_URL: server.url,
          NO_COLOR: '1',
          DENO_NO_UPDATE_CHECK: '1',
        },
      });
      expect(stdout).toMatch(/^DEMO subjects: 12\b|^DEMO records: 120 /m);
      expect(stdout).toContain('a missing subject is a NotFoundError');
    },
    90_000,
  );

  it('npx imednet runs the built command at the root', async () => {
    const { stdout } = await run('npx', ['--offline', 'imednet', '--help'], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(/^Usage:\n {2}imednet demo/m);
  }, 60_000);
});
