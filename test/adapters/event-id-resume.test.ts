import { MAX_LAST_EVENT_ID_LENGTH } from '@ssekit/core/adapter';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumRequirement, launchChromium, openEventSourcePage, waitForPageState } from '../support/browser.js';
import { openEventSource } from '../support/clients.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { adapters, appTracker, byQuery, frameworkAdapters, type TestApp } from './harness.js';

// Issue 10 bug 3: every id send() accepts must come back intact as Last-Event-ID and resume, in the `eventsource`
// package and in Chromium. These are the edge cases of what it accepts: inner spaces, ':', '%', ',', an id encoded
// with encodeURIComponent (the way the error message tells to send '€-2'), and the longest id.

const teardown = closeAfterEach();
const apps = appTracker(teardown);

const EDGE_IDS = [
  'a b',
  'room:1',
  '100%',
  'a,b',
  encodeURIComponent('€-2'),
  `${'x'.repeat(MAX_LAST_EVENT_ID_LENGTH - 4)}-end`,
];

type Received = { type: string; data: string; lastEventId: string }[];

/** A client seen the same way whether it runs in Node or in Chromium. */
interface Client {
  /** Waits until `count` events arrived (resets included, as type `ssekit-reset`) and returns them all. */
  waitForEvents(count: number): Promise<Received>;
  /** Waits until the EventSource has opened `count` times. */
  waitForOpens(count: number): Promise<void>;
}

async function startApp(adapter: (typeof adapters)[number]) {
  const seen: (string | undefined)[] = [];
  const app = await apps.start(adapter, {
    routes: [
      {
        path: '/events',
        sse: { clientId: byQuery, retry: 100 },
        handler: (stream) => {
          seen.push(stream.lastEventId);
        },
      },
    ],
  });
  return { app, seen };
}

/** For each edge id: an event with that id, a server-side disconnect, an event sent meanwhile, the resume. */
async function resumeThroughEveryEdgeId(app: TestApp, seen: (string | undefined)[], client: Client): Promise<void> {
  await waitFor(() => app.hub.has('tab'), 'the client to register');
  let count = 0;
  for (const [i, id] of EDGE_IDS.entries()) {
    await app.hub.send('tab', `event ${i}`, { id });
    await client.waitForEvents(++count);
    app.hub.disconnect('tab');
    const missed = await app.hub.send('tab', `missed ${i}`);
    await client.waitForOpens(i + 2);
    const received = await client.waitForEvents(++count);
    expect(seen.at(-1)).toBe(id);
    expect(received.slice(-2)).toEqual([
      { type: 'message', data: `event ${i}`, lastEventId: id },
      { type: 'message', data: `missed ${i}`, lastEventId: missed },
    ]);
    await waitFor(() => app.hub.has('tab'), `the client to be back (${i})`);
  }
  expect(app.hub.stats().resets).toBe(0);
  expect(app.hub.stats().replayed).toBe(EDGE_IDS.length);
}

describe.each(adapters)('$name: the eventsource package', (adapter) => {
  it('resumes from every edge-case id send() accepts', async () => {
    const { app, seen } = await startApp(adapter);
    const es = teardown.track(openEventSource(`${app.url}/events?id=tab`, { eventTypes: ['ssekit-reset'] }));
    await es.waitForOpen();
    await resumeThroughEveryEdgeId(app, seen, {
      waitForEvents: (count) => es.waitForEvents(count),
      waitForOpens: (count) => es.waitForOpen(count),
    });
  });

  it('refuses at send() ids that could not come back (non-ASCII, too long), so the client keeps resuming', async () => {
    const { app, seen } = await startApp(adapter);
    const es = teardown.track(openEventSource(`${app.url}/events?id=tab`, { eventTypes: ['ssekit-reset'] }));
    await es.waitForOpen();
    await waitFor(() => app.hub.has('tab'), 'the client to register');
    expect(() => app.hub.send('tab', 'euro', { id: '€-2' })).toThrow(/encodeURIComponent\(id\)/);
    expect(() => app.hub.send('tab', 'long', { id: 'x'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1) })).toThrow(/at most/);
    await app.hub.send('tab', 'kept', { id: 'kept-1' });
    await es.waitForEvents(1);
    app.hub.disconnect('tab');
    await app.hub.send('tab', 'missed');
    await es.waitForOpen(2);
    expect((await es.waitForEvents(2)).map((e) => e.data)).toEqual(['kept', 'missed']);
    expect(seen).toEqual([undefined, 'kept-1']);
  });
});

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
    const { app, seen } = await startApp(adapter);
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
