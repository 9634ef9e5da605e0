import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseReport } from './fixtures/run-cases.js';
import { bundle, describeFailures, ROOT } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const ORIGIN = 'http://storage.imednet.test';

/** Debian's Chromium, installed on first use when we are root (as on CI); otherwise say what to do. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM} is missing: install Chromium (as root: apt-get install -y chromium) to run this test`,
    );
  }
  const apt = ['-o', 'DPkg::Lock::Timeout=600', '-qq'];
  execFileSync('apt-get', [...apt, 'update'], { stdio: 'inherit' });
  execFileSync('apt-get', [...apt, 'install', '-y', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

describe('storage adapters in real Chromium (IndexedDB, memory, sql.js)', () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    ensureChromium();
    const script = readFileSync(await bundle('browser-page.ts', 'browser-page.js', 'browser'));
    profile = mkdtempSync(join(tmpdir(), 'imednet-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // Every request is answered here: the page's origin is a name that never reaches the network.
    await context.route('**/*', async (route) => {
      const { pathname } = new URL(route.request().url());
      if (pathname === '/') {
        await route.fulfill({
          contentType: 'text/html',
          body: '<!doctype html><script type="module" src="/page.js"></script>',
        });
      } else if (pathname === '/page.js') {
        await route.fulfill({ contentType: 'text/javascript', body: script });
      } else if (pathname.startsWith('/sql.js/')) {
        const file = `${ROOT}node_modules/sql.js/dist/${pathname.slice('/sql.js/'.length)}`;
        if (existsSync(file))
          await route.fulfill({ contentType: 'application/wasm', body: readFileSync(file) });
        else await route.fulfill({ status: 404 });
      } else {
        await route.fulfill({ status: 404 });
      }
    });
  }, 900_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const open = async () => {
    const page = await context.newPage();
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'conformance' in globalThis);
    return page;
  };

  it('passes every conformance case for each adapter', async () => {
    const page = await open();
    const report = (await page.evaluate('conformance()')) as CaseReport;
    expect(report.failed, describeFailures(report)).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(3 * 19);
    await page.close();
  }, 180_000);
});
