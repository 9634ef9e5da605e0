import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPage, type PageHost } from '../../support/chromium.js';
import type { CaseReport } from './fixtures/run-cases.js';
import { bundle, describeFailures, ROOT } from './support.js';

const ORIGIN = 'http://storage.imednet.test';

describe('storage adapters in real Chromium (IndexedDB, memory, sql.js)', () => {
  let host: PageHost;

  beforeAll(async () => {
    const script = readFileSync(await bundle('browser-page.ts', 'browser-page.js', 'browser'));
    // sql.js loads its WebAssembly from the page's origin.
    host = await hostPage(script, async (route, pathname) => {
      if (!pathname.startsWith('/sql.js/')) return false;
      const file = `${ROOT}node_modules/sql.js/dist/${pathname.slice('/sql.js/'.length)}`;
      if (!existsSync(file)) return false;
      await route.fulfill({ contentType: 'application/wasm', body: readFileSync(file) });
      return true;
    });
  }, 900_000);

  afterAll(async () => {
    await host?.close();
  });

  const open = async () => {
    const page = await host.context.newPage();
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
