/**
 * Debian's Chromium for the browser tests, driven by playwright-core (browsers cannot be downloaded
 * here). One place for where it lives, the flags it needs headless as root in a container, its
 * install on CI, and a persistent profile that serves a bundled page from a made-up origin.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Route } from 'playwright-core';

/** The Chromium binary: $CHROMIUM_PATH, or Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags Chromium needs to run headless as root in a container without a GPU or network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Installs Debian's chromium when it is missing and we are root (as on CI); otherwise says what to do. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  const apt = ['-o', 'DPkg::Lock::Timeout=600', '-qq'];
  execFileSync('apt-get', [...apt, 'update'], { stdio: 'inherit' });
  execFileSync('apt-get', [...apt, 'install', '-y', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * A page's script: `entry` bundled by esbuild for the browser as one ES module (es2022), held in
 * memory. `external` leaves imports out (e.g. `node:*` reached only by Node code paths), `alias`
 * points packages elsewhere (e.g. `imednet` at src/).
 */
export async function bundlePage(
  entry: string,
  options: { external?: string[]; alias?: Record<string, string> } = {},
): Promise<Buffer> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
    ...options,
  });
  return Buffer.from(result.outputFiles[0]!.contents);
}

/** Answers a request the page makes beyond `/` and `/page.js`; return false to answer 404. */
export type ExtraRoute = (route: Route, pathname: string) => Promise<boolean>;

/** A browser profile whose every request is answered by the test. */
export interface PageHost {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Chromium on a fresh profile. `/` is a page that loads `/page.js` (the given script) as a
 * module; `extra` answers anything else; the rest is 404, so nothing reaches the network.
 */
export async function hostPage(script: Buffer | string, extra?: ExtraRoute): Promise<PageHost> {
  ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'imednet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  await context.route('**/*', async (route) => {
    const { pathname } = new URL(route.request().url());
    if (pathname === '/') {
      await route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><script type="module" src="/page.js"></script>',
      });
    } else if (pathname === '/page.js') {
      await route.fulfill({ contentType: 'text/javascript', body: script });
    } else if (!(extra && (await extra(route, pathname)))) {
      await route.fulfill({ status: 404 });
    }
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
