import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../../src/cli/demo.js';
import {
  DEFAULT_API_KEY,
  DEFAULT_SECURITY_KEY,
  type MockServer,
  startMockServer,
} from '../../../src/testing/index.js';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string | undefined>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
    cwd: join(import.meta.dirname, '../../..'),
    env: { PATH: process.env.PATH, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });

describe('imednet CLI', () => {
  let server: MockServer;
  beforeAll(async () => {
    server = await startMockServer({ study: { records: 1200, subjects: 30 } });
  });
  afterAll(() => server.close());
  const env = () => ({
    IMEDNET_API_KEY: DEFAULT_API_KEY,
    IMEDNET_SECURITY_KEY: DEFAULT_SECURITY_KEY,
    IMEDNET_BASE_URL: server.url,
  });

  it('streams a resource as NDJSON, one item per line', async () => {
    const { stdout, stderr } = await cli(
      ['records', 'DEMO', '--page-size', '100', '--filter', 'deleted==false'],
      env(),
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const live = [...server.study.records.headers()].filter((h) => !h.deleted).length;
    expect(live).toBeGreaterThan(1000);
    expect(lines.length).toBe(live);
    expect(lines.every((r) => r.deleted === false)).toBe(true);
    expect(stderr).toContain(`${lines.length} records written`);
  }, 30_000);

  it('lists studies and respects --limit and --format json', async () => {
    const { stdout } = await cli(['subjects', 'DEMO', '--limit', '5', '--format', 'json'], env());
    expect(JSON.parse(stdout)).toHaveLength(5);
    const studies = await cli(['studies'], env());
    expect(JSON.parse(studies.stdout.trim()).studyKey).toBe('DEMO');
  }, 30_000);

  it('names the missing environment variables and exits non-zero, printing no key', async () => {
    const error = await cli(['sites', 'DEMO'], { IMEDNET_SECURITY_KEY: 'sk-should-not-print' }).catch(
      (e) => e,
    );
    expect(error.code).toBe(2);
    expect(error.stderr).toContain('IMEDNET_API_KEY');
    expect(error.stderr).not.toContain('sk-should-not-print');
  }, 30_000);

  it('reports API errors by class and message, without credentials', async () => {
    const error = await cli(['sites', 'NOPE'], env()).catch((e) => e);
    expect(error.code).toBe(4);
    expect(error.stderr).toMatch(/NotFoundError/);
    expect(error.stderr).not.toContain(DEFAULT_SECURITY_KEY);
  }, 30_000);
});

describe('the demo', () => {
  it('streams every record of the fake study to records.ndjson and reports throughput', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imednet-demo-'));
    try {
      const lines: string[] = [];
      const result = await runDemo({ records: 3000, latencyMs: 1, outDir: dir, print: (l) => lines.push(l) });
      const text = await readFile(join(dir, 'records.ndjson'), 'utf8');
      const ids = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).recordId);
      expect(ids).toHaveLength(3000);
      expect(new Set(ids).size).toBe(3000);
      expect(result.records).toBe(3000);
      expect(result.requests).toBe(6);
      expect(lines.join('\n')).toMatch(/Structure \(interval -> forms \[variables\]\)/);
      expect(lines.at(-1)).toMatch(/Done: 3,000 records, .* records\/s, 6 requests/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
