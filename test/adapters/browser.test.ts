import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumRequirement, launchChromium, openEventSourcePage, waitForPageState } from '../support/browser.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { appTracker, byQuery, frameworkAdapters, helloAndTickRoute, type TestApp } from './harness.js';

// The browser's own EventSource (headless Chromium) against each framework: what end users actually run.

const chromium = chromiumRequirement();
const teardown = closeAfterEach();
const apps = appTracker(teardown);
let browser: Browser | undefined;
let closeBrowser: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (chromium.skip) return;
  const launched = await launchChromium();
  browser = launched.browser;
  closeBrowser = launched.close;
});

afterAll(async () => {
  await closeBrowser?.();
});

/** Opens a page on the app's origin whose EventSource on `path` records what it receives. */
async function openPage(app: TestApp, path: string, eventTypes: string[] = []): Promise<Page> {
  if (browser === undefined) throw new Error('Chromium is not running');
  return teardown.track(await openEventSourcePage(browser, app.url, path, eventTypes));
}

describe.skipIf(chromium.skip).each(frameworkAdapters)("Chromium's EventSource against $name", (adapter) => {
  it('opens and receives default and named events', async () => {
    const app = await apps.start(adapter, { routes: [helloAndTickRoute] });
    const page = await openPage(app, '/events', ['tick']);
    const seen = await waitForPageState(page, 'two events', (s) => s.received.length >= 2);
    expect(seen.opens).toBe(1);
    expect(seen.readyState).toBe(1);
    expect(seen.received).toEqual([
      { type: 'message', data: 'hello', lastEventId: '' },
      { type: 'tick', data: '{"n":1}', lastEventId: 't1' },
    ]);
  });

  it('reconnects with Last-Event-ID and gets the events it missed, then live ones, once each', async () => {
    const sentIds: (string | undefined)[] = [];
    const app = await apps.start(adapter, {
      routes: [
        {
          path: '/events',
          sse: { clientId: byQuery, retry: 200 },
          handler: (stream) => {
            sentIds.push(stream.lastEventId);
          },
        },
      ],
    });
    const page = await openPage(app, '/events?id=tab');
    await waitForPageState(page, 'the first open', (s) => s.opens === 1);
    await waitFor(() => app.hub.has('tab'), 'the tab to register');
    const ids = [await app.hub.send('tab', 'one')];
    await waitForPageState(page, 'the first event', (s) => s.received.length === 1);
    app.hub.disconnect('tab');
    ids.push(await app.hub.send('tab', 'two'));
    await waitForPageState(page, 'the reconnection', (s) => s.opens === 2);
    await waitFor(() => app.hub.has('tab'), 'the tab to be back');
    ids.push(await app.hub.send('tab', 'three'));
    const seen = await waitForPageState(page, 'three events', (s) => s.received.length >= 3);
    expect(seen.received.map((e) => e.data)).toEqual(['one', 'two', 'three']);
    expect(seen.received.map((e) => e.lastEventId)).toEqual(ids);
    expect(sentIds).toEqual([undefined, ids[0]]);
  });

  it('stops reconnecting for good when the server answers 204', async () => {
    let refusing = false;
    const app = await apps.start(adapter, {
      routes: [{ path: '/events', sse: { clientId: byQuery, retry: 100 }, refuse: () => refusing }],
    });
    const page = await openPage(app, '/events?id=tab');
    await waitForPageState(page, 'the first open', (s) => s.opens === 1);
    await waitFor(() => app.hub.has('tab'), 'the tab to register');
    refusing = true;
    app.hub.disconnect('tab');
    const seen = await waitForPageState(page, 'the EventSource to close', (s) => s.readyState === 2);
    expect(seen.opens).toBe(1);
    expect(seen.errors).toBeGreaterThan(0);
  });
});
