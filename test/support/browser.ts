import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { requirePart } from './requirements.js';

/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser tests can run here (throws under CI=true when Chromium is missing). */
export function chromiumRequirement(): { skip: boolean } {
  return requirePart('Chromium', existsSync(CHROMIUM_PATH), 'install it with `apt-get install chromium` (Debian).');
}

/** Launches headless Chromium with the flags this sandbox needs (Playwright gives it a fresh temporary profile). */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}
