/**
 * imednet/plugins/duckdb in real Chromium (Debian's, through playwright-core): a page bundled from
 * src/ opens a study database on DuckDB-WASM's own files, served by the test from the installed
 * package, loads a fake study's row batches and profiles it; the profile and a SQL answer equal
 * those of the same batches in Node. The page reaches no host but its own origin, and a page that
 * forgot the bundles option is told so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Imednet } from '../../../src/client.js';
import { openStudyDatabase } from '../../../src/plugins/duckdb/index.js';
import { ROOT } from '../../runtimes/host/paths.js';
import { npmInstall } from '../../runtimes/host/prepare.js';
import { killTree, runOk } from '../../runtimes/host/proc.js';
import {
  bundlePage,
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  ensureChromium,
  hostPage,
  type PageHost,
} from '../../support/chromium.js';
import { type ProfileRun, profileFake } from './browser.page.js';

const ORIGIN = 'http://localhost:4177';
/** The installed package's dist/ folder, where DuckDB-WASM's browser files are. */
const DIST = dirname(createRequire(import.meta.url).resolve('@duckdb/duckdb-wasm/dist/duckdb-mvp.wasm'));
const FILES = [
  'duckdb-mvp.wasm',
  'duckdb-browser-mvp.worker.js',
  'duckdb-eh.wasm',
  'duckdb-browser-eh.worker.js',
] as const;
const url = (name: string) => `${ORIGIN}/duckdb/${name}`;
const MVP = { mainModule: url('duckdb-mvp.wasm'), mainWorker: url('duckdb-browser-mvp.worker.js') };
const EH = { mainModule: url('duckdb-eh.wasm'), mainWorker: url('duckdb-browser-eh.worker.js') };

describe('DuckDB-WASM and the study profiler in real Chromium', () => {
  let host: PageHost;
  /** The same batches profiled in Node: what the page must answer. */
  let reference: ProfileRun;

  beforeAll(async () => {
    // src/testing's mock server (the page uses only the fake study) imports node:http at first use.
    const script = await bundlePage(fileURLToPath(new URL('./browser.page.ts', import.meta.url)), {
      external: ['node:*'],
    });
    const files = new Map(
      await Promise.all(FILES.map(async (name) => [name, await readFile(join(DIST, name))] as const)),
    );
    host = await hostPage(script, async (route, pathname) => {
      const name = pathname.replace(/^\/duckdb\//, '');
      const body = pathname.startsWith('/duckdb/') ? files.get(name as (typeof FILES)[number]) : undefined;
      if (!body) return false;
      const contentType = name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      await route.fulfill({ contentType, body });
      return true;
    });
    const db = openStudyDatabase();
    try {
      reference = await profileFake(db);
    } finally {
      await db.close();
    }
  }, 300_000);

  afterAll(async () => {
    await host?.close();
  });

  /**
   * A fresh page, with every request it and its workers make. Its clock is set to a zone twelve
   * and three-quarter hours from Node's, so that no date may depend on where the user is.
   */
  const open = async (): Promise<{ page: Page; requests: string[] }> => {
    const requests: string[] = [];
    const page = await host.context.newPage();
    page.on('request', (request) => requests.push(request.url()));
    const cdp = await host.context.newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Pacific/Chatham' });
    expect(await page.evaluate(() => new Date(0).getTimezoneOffset())).not.toBe(
      new Date(0).getTimezoneOffset(),
    );
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'page' in globalThis);
    return { page, requests };
  };
  const call = <T>(page: Page, method: string, ...args: unknown[]) =>
    page.evaluate(([m, a]) => (globalThis as any).page[m as string](...(a as unknown[])), [
      method,
      args,
    ] as const) as Promise<T>;
  const elsewhere = (requests: readonly string[]) => requests.filter((r) => new URL(r).origin !== ORIGIN);

  it('the reference is a real study: every form, deleted records, several sites and intervals', () => {
    const profile = reference.profile as {
      forms: { records: number; deletedRecords: number }[];
      fields: { columnType: string }[];
      sites: { siteId: number }[];
      intervals: { intervalId: number | null }[];
    };
    expect(profile.forms.length).toBeGreaterThan(3);
    expect(reference.loaded.rows).toBe(1500);
    expect(profile.forms.reduce((n, f) => n + f.records + f.deletedRecords, 0)).toBe(1500);
    expect(profile.forms.reduce((n, f) => n + f.deletedRecords, 0)).toBeGreaterThan(0);
    expect(new Set(profile.fields.map((f) => f.columnType))).toEqual(
      new Set(['text', 'number', 'integer', 'boolean', 'date', 'datetime', 'time', 'choice']),
    );
    expect(new Set(profile.sites.map((s) => s.siteId)).size).toBe(4);
    expect(new Set(profile.intervals.map((i) => i.intervalId)).size).toBeGreaterThan(2);
  });

  it.each([
    ['both builds given: Chromium takes eh', { mvp: MVP, eh: EH }, 'duckdb-eh.wasm', 'wasm_eh'],
    ['the mvp build alone', { mvp: MVP }, 'duckdb-mvp.wasm', 'wasm_mvp'],
  ] as const)(
    '%s; the profile and a SQL answer equal Node’s for the same batches',
    async (_name, bundles, wasm, platform) => {
      const { page, requests } = await open();
      const got = await call<ProfileRun>(page, 'profile', bundles);
      expect(got.platform).toBe(platform);
      expect(got.version).toBe(reference.version);
      expect(got.loaded).toEqual(reference.loaded);
      expect(got.profile).toEqual(reference.profile);
      expect(got.perSite).toEqual(reference.perSite);
      // Its files came from the page's origin, and nothing went anywhere else.
      expect(requests).toContain(url(wasm));
      expect(elsewhere(requests)).toEqual([]);
      await page.close();
    },
    180_000,
  );

  it('a page that forgot the bundles option is told to give it, and fetches nothing', async () => {
    const { page, requests } = await open();
    const got = await call<{ configuration: boolean; name: string; message: string }>(page, 'withoutBundles');
    expect(got).toEqual({
      configuration: true,
      name: 'ConfigurationError',
      message: expect.stringMatching(/outside Node give the bundles option.*nothing is fetched from a CDN/),
    });
    // Not a worker nor a .wasm file was asked for, from this origin or any other.
    expect(requests.filter((r) => /duckdb|\.wasm/.test(r))).toEqual([]);
    expect(elsewhere(requests)).toEqual([]);
    await page.close();
  }, 60_000);
});

describe('examples/browser-profile, as written, in real Chromium', () => {
  let work: string;
  let example: string;
  let server: ChildProcess | undefined;
  let origin: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/plugins/duckdb/index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test builds before the unit tests)');
    }
    // Outside the repository, so that the example finds nothing but what its own install gives it;
    // browser-cdn (whose server and proxy serve.mjs imports) beside it, as in the repository.
    work = await mkdtemp(join(tmpdir(), 'imednet-browser-profile-'));
    const packed = await runOk('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      timeoutMs: 60_000,
    });
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [
      { filename: string },
    ];
    for (const name of ['browser-profile', 'browser-cdn']) {
      await cp(join(ROOT, 'examples', name), join(work, 'examples', name), {
        recursive: true,
        filter: (source) => !/[\\/](node_modules|dist|package-lock\.json)$/.test(source),
      });
    }
    example = join(work, 'examples', 'browser-profile');
    // Its package.json as written, but for imednet: the packed package instead of the repository.
    const pkgPath = join(example, 'package.json');
    const pkg = JSON.parse(await readFile(pkgPath, 'utf8'));
    expect(pkg.dependencies.imednet).toBe('file:../..');
    pkg.dependencies.imednet = `file:${join(work, filename)}`;
    await writeFile(pkgPath, JSON.stringify(pkg, null, 2));
    await npmInstall(example);

    // `npm start` as a reader runs it: the build, then the server, with no keys (the demo study).
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('IMEDNET_')),
    );
    const child = spawn('npm', ['start'], {
      cwd: example,
      env: { ...env, PORT: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    server = child;
    origin = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`npm start did not serve:\n${out}`)), 120_000);
      const read = (chunk: string) => {
        out += chunk;
        const match = /Listening on (\S+)/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.setEncoding('utf8').on('data', read);
      child.stderr.setEncoding('utf8').on('data', read);
      child.on('exit', (code) => reject(new Error(`npm start exited ${code}:\n${out}`)));
    });
    ensureChromium();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (server) killTree(server);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("its build puts DuckDB-WASM's files beside the page script, from the example's own install", async () => {
    expect((await readdir(join(example, 'dist'))).sort()).toEqual([
      'duckdb-browser-eh.worker.js',
      'duckdb-browser-mvp.worker.js',
      'duckdb-eh.wasm',
      'duckdb-mvp.wasm',
      'main.js',
    ]);
    const own = join(example, 'node_modules/@duckdb/duckdb-wasm/dist/duckdb-eh.wasm');
    expect((await readFile(join(example, 'dist/duckdb-eh.wasm'))).equals(await readFile(own))).toBe(true);
  });

  it('shows every form of the demo study with its records and deleted records, and the sparsest fields, fetching from its own origin only', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    // Nothing may leave for another host: such a request is recorded, then refused.
    await context.route('**/*', (route) =>
      new URL(route.request().url()).origin === origin ? route.continue() : route.abort(),
    );
    await page.goto(`${origin}/`);
    await page.waitForFunction(
      () => document.body.dataset.state === 'done' || document.body.dataset.state === 'failed',
      undefined,
      { timeout: 180_000 },
    );
    const status = await page.textContent('#status');
    expect(await page.evaluate(() => document.body.dataset.state), status ?? '').toBe('done');

    // What the page read, read again here through the example's own proxy, counted without DuckDB.
    const client = new Imednet({
      apiKey: 'set-by-proxy',
      securityKey: 'set-by-proxy',
      baseUrl: `${origin}/imednet`,
    });
    const forms = await client.forms.list('DEMO').toArray();
    const counts = new Map(forms.map((f) => [f.formKey, { records: 0, deleted: 0 }]));
    let total = 0;
    for await (const record of client.records.list('DEMO')) {
      const count = counts.get(record.formKey ?? '');
      if (!count) throw new Error(`record ${record.recordId} is of no listed form (${record.formKey})`);
      if (record.deleted) count.deleted++;
      else count.records++;
      total++;
    }
    expect(forms.length).toBeGreaterThan(3);
    expect([...counts.values()].some((c) => c.deleted > 0)).toBe(true);
    expect(status).toMatch(new RegExp(`^DEMO: ${total} records in ${forms.length} forms, loaded in`));

    const cells = (selector: string) =>
      page.$$eval(selector, (rows) => rows.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    const shown = await cells('#forms tr');
    expect(shown.map(([form, name, records, deleted]) => ({ form, name, records, deleted }))).toEqual(
      forms.map((f) => ({
        form: f.formKey,
        name: f.formName,
        records: String(counts.get(f.formKey)!.records),
        deleted: String(counts.get(f.formKey)!.deleted),
      })),
    );
    for (const [, , , , complete] of shown) expect(complete).toMatch(/^(\d{1,3}\.\d%|—)$/);
    const sparse = await cells('#sparse tr');
    expect(sparse.length).toBe(10);
    const rates = sparse.map(([, , , , filled]) => {
      const match = /^(\d+) of (\d+) \((\d{1,3}\.\d)%\)$/.exec(filled ?? '');
      expect(match, filled).not.toBeNull();
      return Number(match![1]) / Number(match![2]);
    });
    expect(rates).toEqual([...rates].sort((a, b) => a - b));

    expect(requests).toContain(`${origin}/dist/duckdb-eh.wasm`);
    expect(requests.filter((r) => new URL(r).origin !== origin)).toEqual([]);
    await context.close();
  }, 240_000);
});
