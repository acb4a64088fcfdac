import { describe, expect, it } from 'vitest';
import { openEventSource, rawSse } from '../support/clients.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { adapters, appTracker, byQuery, type TestApp } from './harness.js';

// An event larger than `maxBufferedBytes` reaches every client that reads, through each framework (issue 10, bug 1).
// Before, a 5 MB event ended the stream with `slow-consumer` after about 3.9 MB had arrived.

const teardown = closeAfterEach();
const apps = appTracker(teardown);
const limit = 64 * 1024;
const big = 'x'.repeat(5 * 1024 * 1024);

describe.each(adapters)('$name', (adapter) => {
  function startApp(): Promise<TestApp> {
    return apps.start(adapter, {
      routes: [
        {
          path: '/send',
          sse: { maxBufferedBytes: limit, clientId: byQuery },
          handler: (stream) => {
            stream.send(big);
            stream.send('after');
          },
        },
        { path: '/events', sse: { maxBufferedBytes: limit, clientId: byQuery } },
      ],
    });
  }

  it('a 5 MB send() reaches a raw client and an eventsource client, complete', async () => {
    const app = await startApp();
    const raw = teardown.track(await rawSse(`${app.url}/send?id=raw`));
    const es = teardown.track(openEventSource(`${app.url}/send?id=es`));
    await raw.waitForEvents(2, 10_000);
    await es.waitForEvents(2, 10_000);
    expect(raw.events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(es.events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(es.opens).toBe(1);
    expect(app.hub.stats().closed['slow-consumer']).toBe(0);
  });

  it('a 5 MB hub.broadcast reaches a raw client and an eventsource client, complete', async () => {
    const app = await startApp();
    const raw = teardown.track(await rawSse(`${app.url}/events?id=raw`));
    const es = teardown.track(openEventSource(`${app.url}/events?id=es`));
    await es.waitForOpen();
    await waitFor(() => app.hub.size === 2, 'both clients to be registered');
    await app.hub.broadcast(big);
    await app.hub.broadcast('after');
    await raw.waitForEvents(2, 10_000);
    await es.waitForEvents(2, 10_000);
    expect(raw.events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(es.events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(es.opens).toBe(1);
    expect(app.hub.size).toBe(2);
    expect(app.hub.stats().closed['slow-consumer']).toBe(0);
  });
});
