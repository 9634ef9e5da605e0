// Debian's Chromium driven by playwright-core (browsers cannot be downloaded here). One browser
// per run, launched on a fresh temporary profile; each page gets its own context.
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';

/** The Chromium binary: $CHROMIUM_PATH, or Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags Chromium needs to run headless as root in a container without a GPU or network. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** A launched browser. */
export interface Browser {
  version: string;
  /** Opens a page in a fresh context; the page's console errors are collected. */
  open(): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }>;
  close(): Promise<void>;
}

/** Launches Chromium. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium)`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
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
