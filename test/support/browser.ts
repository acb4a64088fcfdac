import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
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

/** What a page's EventSource (see {@link openEventSourcePage}) has seen so far. */
export interface PageState {
  received: { type: string; data: string; lastEventId: string }[];
  opens: number;
  errors: number;
  readyState: number;
}

/**
 * Opens a page on `origin` (served by the test, so the EventSource is same-origin as in production) whose
 * EventSource on `path` records `message` events and the named `eventTypes`. The caller closes the page.
 */
export async function openEventSourcePage(
  browser: Browser,
  origin: string,
  path: string,
  eventTypes: string[] = [],
): Promise<Page> {
  const page = await browser.newPage();
  await page.route(`${origin}/page`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>ssekit</title>' }),
  );
  await page.goto(`${origin}/page`);
  await page.evaluate(`(() => {
    const state = { received: [], opens: 0, errors: 0, es: new EventSource(${JSON.stringify(path)}) };
    window.sseState = state;
    const record = (e) => state.received.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
    state.es.addEventListener('message', record);
    for (const type of ${JSON.stringify(eventTypes)}) state.es.addEventListener(type, record);
    state.es.onopen = () => state.opens++;
    state.es.onerror = () => state.errors++;
  })()`);
  return page;
}

/** The state of the page's EventSource. */
export function pageState(page: Page): Promise<PageState> {
  return page.evaluate(`(() => {
    const s = window.sseState;
    return { received: s.received, opens: s.opens, errors: s.errors, readyState: s.es.readyState };
  })()`) as Promise<PageState>;
}

/** Polls the page's state until `predicate` holds (10 s at most) and returns it. */
export async function waitForPageState(
  page: Page,
  what: string,
  predicate: (s: PageState) => boolean,
): Promise<PageState> {
  let last: PageState | undefined;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    last = await pageState(page);
    if (predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting for ${what}; last state: ${JSON.stringify(last)}`);
}
