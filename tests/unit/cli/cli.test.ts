import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../../src/cli/demo.js';
import { profileLines } from '../../../src/cli/profile.js';
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

  it('--format csv: a header of the fields, a row per item, nested values as JSON', async () => {
    const { stdout } = await cli(['records', 'DEMO', '--limit', '50', '--format', 'csv'], env());
    expect(stdout).toMatch(/^[^\n]*\r\n/);
    const rows = parse(stdout, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(50);
    const first = [...server.study.records].slice(0, 50);
    expect(rows.map((r) => Number(r.recordId))).toEqual(first.map((r) => r.recordId));
    expect(JSON.parse(rows[0]!.recordData!)).toEqual(first[0]!.recordData);
  }, 30_000);

  it('--format table, the default on a terminal: a header, a rule, a line per item', async () => {
    const piped = await cli(['subjects', 'DEMO', '--limit', '5', '--format', 'table'], env());
    const lines = piped.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^subjectId\b|\bsubjectKey\b/);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    // On a terminal (a pseudo-terminal from `script`), with no --format.
    const command = [
      process.execPath,
      '--import',
      'tsx',
      'src/cli/index.ts',
      'subjects',
      'DEMO',
      '--limit',
      '3',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
      cwd: join(import.meta.dirname, '../../..'),
      env: { PATH: process.env.PATH, ...env() },
    });
    const screen = stdout.replace(/\r/g, '').trimEnd().split('\n');
    expect(screen[1]).toMatch(/^-+( +-+)+$/);
    expect(screen.slice(2, 5)).toHaveLength(3);
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
  it('streams every record to records.ndjson, then exports the study to Parquet and CSV and says where', async () => {
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
      expect(lines).toContainEqual(expect.stringMatching(/Done: 3,000 records, .* records\/s, 6 requests/));
      // Then the export, to Parquet and CSV: every record once per format, and where the files are.
      expect(result.exports.map((e) => [e.format, e.rows])).toEqual([
        ['parquet', 3000],
        ['csv', 3000],
      ]);
      const csv = await readdir(join(dir, 'csv'));
      let rows = 0;
      for (const name of csv.filter((n) => n.endsWith('.csv'))) {
        rows += (
          parse(await readFile(join(dir, 'csv', name), 'utf8'), { columns: true, bom: true }) as unknown[]
        ).length;
      }
      expect(rows).toBe(3000);
      expect((await readdir(join(dir, 'parquet'))).filter((n) => n.endsWith('.parquet')).length).toBe(
        result.exports[0]!.files,
      );
      // Then the Parquet files profiled in DuckDB-WASM: every record once, by form, as printed.
      const profile = result.profile!;
      const parquetFiles = (await readdir(join(dir, 'parquet'))).filter((n) => n.endsWith('.parquet'));
      expect(profile.forms.map((f) => `${f.form}.parquet`)).toEqual(parquetFiles.sort());
      expect(profile.forms.reduce((n, f) => n + f.records + f.deletedRecords, 0)).toBe(3000);
      const at = lines.findIndex((l) => l.startsWith('\nProfile of '));
      expect(lines[at]).toBe(`\nProfile of ${join(dir, 'parquet')} in DuckDB-WASM (imednet/plugins/duckdb)`);
      expect(lines[at + 1]).toMatch(
        /^ {2}3,000 rows in \d+ files: DuckDB started, loaded and profiled in [\d.]+ s$/,
      );
      expect(lines.slice(at + 2, at + 3 + profile.forms.length + 1)).toEqual(profileLines(profile));
      expect(lines.slice(-3)).toEqual([
        `  ${join(dir, 'records.ndjson')}  (every record as the API gives it, NDJSON)`,
        `  ${join(dir, 'parquet')}/  (${result.exports[0]!.files} Parquet files, one per form, 3,000 rows)`,
        `  ${join(dir, 'csv')}/  (${result.exports[1]!.files} CSV files, one per form, 3,000 rows)`,
      ]);
      // Run again: the demo starts its exports over, and ends with the same files.
      const again = await runDemo({ records: 3000, latencyMs: 1, outDir: dir, print: () => undefined });
      expect(again.exports.map((e) => e.rows)).toEqual([3000, 3000]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
