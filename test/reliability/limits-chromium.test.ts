import { createHub, type HubOptions } from '@ssekit/core';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumRequirement, launchChromium } from '../support/browser.js';
import { openEventSource, type RecordingEventSource } from '../support/clients.js';
import { serveHub } from '../support/stream-server.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

// The default answer over a connection limit (a 200 with a `retry:` hint and an immediate end), seen from a real
// browser: Chromium's EventSource keeps coming back until a place frees up. limits.test.ts covers the limits with
// the `eventsource` package and raw clients.

const teardown = closeAfterEach();

async function start(options: HubOptions) {
  const hub = createHub(options);
  const server = teardown.track(await serveHub(hub));
  return { hub, server };
}

function eventSource(url: string): RecordingEventSource {
  return teardown.track(openEventSource(url));
}

const chromium = chromiumRequirement();
let browser: Browser | undefined;
let closeBrowser: (() => Promise<void>) | undefined;
afterAll(async () => {
  await closeBrowser?.();
});

describe.skipIf(chromium.skip)("Chromium's own EventSource", () => {
  it('comes back after a refusal with the retry answer, and is admitted once a place is free', async () => {
    const launched = await launchChromium();
    browser = launched.browser;
    closeBrowser = launched.close;
    const { hub, server } = await start({ maxConnections: 1, limitResponse: { type: 'retry', retry: 200 } });
    const holder = eventSource(`${server.url}/`);
    await holder.waitForOpen();
    const held = hub.streams()[0];

    const page = await browser.newPage();
    await page.route(`${server.url}/page`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>ssekit</title>' }),
    );
    await page.goto(`${server.url}/page`);
    await page.evaluate(`(() => {
      const state = { opens: 0, errors: 0, messages: [], es: new EventSource('/events') };
      window.sseState = state;
      state.es.onopen = () => state.opens++;
      state.es.onerror = () => state.errors++;
      state.es.onmessage = (e) => state.messages.push(e.data);
    })()`);
    const read = () =>
      page.evaluate(
        '({ opens: sseState.opens, errors: sseState.errors, readyState: sseState.es.readyState })',
      ) as Promise<{
        opens: number;
        errors: number;
        readyState: number;
      }>;
    const deadline = Date.now() + 10_000;
    let state = await read();
    while (state.errors < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      state = await read();
    }
    // The browser opened the refusal (a 200), saw it end, and keeps reconnecting: never CLOSED (2).
    expect(state.errors).toBeGreaterThanOrEqual(2);
    expect(state.readyState).not.toBe(2);

    holder.close();
    await waitFor(() => hub.streams().some((s) => s !== held), 'the browser to be admitted', 10_000);
    await hub.broadcast('welcome');
    const deadline2 = Date.now() + 10_000;
    let messages: string[] = [];
    while (messages.length === 0 && Date.now() < deadline2) {
      messages = (await page.evaluate('sseState.messages')) as string[];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(messages).toEqual(['welcome']);
    await page.close();
  }, 30_000);
});
