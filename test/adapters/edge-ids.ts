import { MAX_LAST_EVENT_ID_LENGTH } from '@ssekit/core/adapter';
import { expect } from 'vitest';
import { waitFor } from '../support/wait.js';
import { type Adapter, type AppTracker, byQuery, type TestApp } from './harness.js';

// Issue 10 bug 3: every id send() accepts must come back intact as Last-Event-ID and resume, in the `eventsource`
// package (event-id-resume.test.ts) and in Chromium (event-id-resume-chromium.test.ts). These are the edge cases of
// what it accepts: inner spaces, ':', '%', ',', an id encoded with encodeURIComponent (the way the error message
// tells to send '€-2'), and the longest id.

export const EDGE_IDS = [
  'a b',
  'room:1',
  '100%',
  'a,b',
  encodeURIComponent('€-2'),
  `${'x'.repeat(MAX_LAST_EVENT_ID_LENGTH - 4)}-end`,
];

export type Received = { type: string; data: string; lastEventId: string }[];

/** A client seen the same way whether it runs in Node or in Chromium. */
export interface Client {
  /** Waits until `count` events arrived (resets included, as type `ssekit-reset`) and returns them all. */
  waitForEvents(count: number): Promise<Received>;
  /** Waits until the EventSource has opened `count` times. */
  waitForOpens(count: number): Promise<void>;
}

/** An app with `/events?id=<client id>`, recording the `Last-Event-ID` of every connection in `seen`. */
export async function startApp(apps: AppTracker, adapter: Adapter) {
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
export async function resumeThroughEveryEdgeId(
  app: TestApp,
  seen: (string | undefined)[],
  client: Client,
): Promise<void> {
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
