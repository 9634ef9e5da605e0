// Debian's Chromium driven by playwright-core (browsers cannot be downloaded here). One browser
// per run, launched on a fresh temporary profile; each page gets its own context.
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ensureChromium } from '../../support/chromium.js';

/** A launched browser. */
export interface Browser {
  version: string;
  /** Opens a page in a fresh context; the page's console errors are collected. */
  open(): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }>;
  close(): Promise<void>;
}

/** Launches Chromium. */
export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  return {
    version: `chromium ${browser.version()}`,
    async open() {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
      return { page, errors, close: () => context.close() };
    },
    close: () => browser.close(),
  };
}
