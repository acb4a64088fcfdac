import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { chromiumRequirement, launchChromium, openEventSourcePage, waitForPageState } from '../support/browser.js';
import { closeAfterEach } from '../support/teardown.js';
import { resumeThroughEveryEdgeId, startApp } from './edge-ids.js';
import { appTracker, frameworkAdapters } from './harness.js';

// Every id send() accepts comes back intact as Last-Event-ID and resumes in Chromium's own EventSource (edge-ids.ts
// lists the edge cases; event-id-resume.test.ts runs them in the `eventsource` package).

const teardown = closeAfterEach();
const apps = appTracker(teardown);

const chromium = chromiumRequirement();
let browser: Browser | undefined;
let closeBrowser: (() => Promise<void>) | undefined;

describe.skipIf(chromium.skip).each(frameworkAdapters)("$name: Chromium's EventSource", (adapter) => {
  beforeAll(async () => {
    const launched = await launchChromium();
    browser = launched.browser;
    closeBrowser = launched.close;
  });
  afterAll(async () => {
    await closeBrowser?.();
  });

  it('resumes from every edge-case id send() accepts', async () => {
    const { app, seen } = await startApp(apps, adapter);
    const page = teardown.track(
      await openEventSourcePage(browser as Browser, app.url, '/events?id=tab', ['ssekit-reset']),
    );
    await waitForPageState(page, 'the first open', (s) => s.opens === 1);
    await resumeThroughEveryEdgeId(app, seen, {
      waitForEvents: async (count) =>
        (await waitForPageState(page, `${count} events`, (s) => s.received.length >= count)).received,
      waitForOpens: async (count) => {
        await waitForPageState(page, `${count} opens`, (s) => s.opens >= count);
      },
    });
  });
});
