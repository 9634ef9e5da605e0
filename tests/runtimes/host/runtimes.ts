// Runs each runtime fixture against its own mock API and collects the report it prints.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type { RuntimeName } from '../suites.js';
import type { Backend } from './backend.js';
import type { Browser } from './browser.js';
import { guardPlugin, TARGETS } from './bundles.js';
import { bin, EXAMPLES_DIR, ROOT, WORK_DIR } from './paths.js';
import { run, tail } from './proc.js';
import { runWorker } from './workerd.js';

/** The report a fixture hands back (see harness/mini-test.mjs). */
export interface FixtureReport {
  runtime: string;
  version: string;
  passed: number;
  failed: number;
  total: number;
  ms: number;
  results: { name: string; ok: boolean; ms: number; error?: string }[];
}

/** What the host keeps per runtime: the report, or why there is none. */
export interface RuntimeOutcome {
  runtime: RuntimeName;
  /** The matrix row: the runtime, plus the Node version when it is not this machine's. */
  label: string;
  report?: FixtureReport;
  /** Set when the fixture could not start or report. */
  error?: string;
  ms: number;
}

const MARKER = '##imednet-runtime-report##';
const FIXTURE_TIMEOUT_MS = 180_000;

/** Finds the report line in a fixture's stdout. */
export function parseReport(stdout: string): FixtureReport | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  return line ? (JSON.parse(line.slice(MARKER.length)) as FixtureReport) : undefined;
}

/** Runs a command-line fixture (Node, Deno, Bun) and reads its report. */
export async function runProcessFixture(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<FixtureReport> {
  const result = await run(command, args, {
    cwd,
    env: {
      ...process.env,
      ...env,
      NO_COLOR: '1',
      DENO_NO_UPDATE_CHECK: '1',
      DENO_DIR: `${WORK_DIR}/deno-cache`,
    },
    timeoutMs: FIXTURE_TIMEOUT_MS,
  });
  const report = parseReport(result.stdout);
  if (!report) {
    const why = result.timedOut ? 'timed out' : `exited ${result.code ?? result.signal} without a report`;
    throw new Error(`${why}\n${tail(result.stdout, 15)}\n${tail(result.stderr, 15)}`.trim());
  }
  return report;
}

/** The example's page server, whose same-origin proxy the browser fixtures go through. */
interface PageServerModule {
  startServer(options: {
    root: string;
    proxy: (request: Request) => Promise<Response>;
    port?: number;
  }): Promise<{ url: string; close(): Promise<void> }>;
}
interface ProxyModule {
  imednetProxy(options: {
    apiKey: string;
    securityKey: string;
    baseUrl?: string;
  }): (request: Request) => Promise<Response>;
}

/** Serves `root` on a random loopback port with the documented proxy in front of `backend`. */
export async function startPageServer(root: string, backend: Backend) {
  const { startServer } = (await import(
    pathToFileURL(`${EXAMPLES_DIR}/browser-cdn/server.mjs`).href
  )) as PageServerModule;
  const { imednetProxy } = (await import(
    pathToFileURL(`${EXAMPLES_DIR}/browser-cdn/proxy.mjs`).href
  )) as ProxyModule;
  const proxy = imednetProxy({
    apiKey: backend.apiKey,
    securityKey: backend.securityKey,
    baseUrl: backend.baseUrl,
  });
  return startServer({ root, proxy, port: 0 });
}

/** Opens a fixture page that sets `window.__imednetReport` and waits for it. */
export async function runPageFixture(browser: Browser, url: string): Promise<FixtureReport> {
  const { page, errors, close } = await browser.open();
  try {
    await page.goto(url);
    await page.waitForFunction(() => 'window' in globalThis && '__imednetReport' in window, undefined, {
      timeout: 30_000,
    });
    const report = (await page.evaluate(
      () => (window as unknown as { __imednetReport: Promise<unknown> }).__imednetReport,
    )) as FixtureReport;
    return { ...report, version: browser.version };
  } catch (error) {
    throw new Error(`${String(error)}${errors.length ? `\npage errors:\n${errors.join('\n')}` : ''}`);
  } finally {
    await close();
  }
}

/** Query string a browser fixture reads its environment from; the keys are placeholders. */
export function pageQuery(backend: Backend, pageOrigin: string): string {
  return new URLSearchParams(
    backend.env({
      IMEDNET_BASE_URL: `${pageOrigin}/imednet`,
      IMEDNET_API_KEY: 'set-by-proxy',
      IMEDNET_SECURITY_KEY: 'set-by-proxy',
    }),
  ).toString();
}

/** Bundles the Chromium fixture's entry like a web app would, with the Node guard on. */
export async function bundleBrowserFixture(dir: string): Promise<void> {
  await esbuild.build({
    entryPoints: ['main.mjs'],
    absWorkingDir: dir,
    outfile: `${dir}/app.js`,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    ...TARGETS.browser,
    plugins: [guardPlugin()],
    logLevel: 'silent',
  });
}

const WORKERD_VERSION = (
  JSON.parse(readFileSync(`${ROOT}/node_modules/workerd/package.json`, 'utf8')) as { version: string }
).version;

/** Runs the workerd fixture: one request runs the suites and answers with the report. */
export async function runWorkerFixture(dir: string, backend: Backend): Promise<FixtureReport> {
  const { status, body } = await runWorker({
    entry: 'worker.mjs',
    cwd: dir,
    bindings: backend.env(),
    // The storage suite's D1 database.
    d1Databases: ['DB'],
  });
  if (status !== 200) throw new Error(`the Worker answered ${status}: ${body.slice(0, 500)}`);
  const report = JSON.parse(body) as FixtureReport;
  return { ...report, version: `workerd ${WORKERD_VERSION}` };
}

/** Deno flags the fixtures need: loopback network, env, and remote imports from the local CDN only. */
export function denoArgs(script: string, importHost?: string): string[] {
  return [
    'run',
    '--allow-net=127.0.0.1',
    '--allow-env',
    '--allow-read',
    ...(importHost ? [`--allow-import=${importHost}`] : []),
    script,
  ];
}

/** The deno binary from the deno npm package. */
export const DENO = bin('deno');
/** The bun binary from the bun npm package. */
export const BUN = bin('bun');
