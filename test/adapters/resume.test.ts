import { describe, expect, it } from 'vitest';
import { openEventSource, type RecordingEventSource } from '../support/clients.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { adapters, appTracker, byQuery, type TestApp } from './harness.js';

// Last-Event-ID resume through the hub, with the `eventsource` package reconnecting the way browsers do.

const teardown = closeAfterEach();
const apps = appTracker(teardown);

describe.each(adapters)('$name', (adapter) => {
  async function connected(): Promise<{ app: TestApp; client: RecordingEventSource; ids: string[] }> {
    // A short retry makes the client come back quickly; it is sent at connect, so it applies to the first reconnect.
    const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { clientId: byQuery, retry: 100 } }] });
    const client = openEventSource(`${app.url}/events?id=alice`);
    teardown.track(client);
    await client.waitForOpen();
    await waitFor(() => app.hub.has('alice'), 'the client to be registered');
    const ids = [await app.hub.broadcast('one'), await app.hub.send('alice', 'two')];
    await client.waitForEvents(2);
    return { app, client, ids };
  }

  async function expectResumed(app: TestApp, client: RecordingEventSource, ids: string[]): Promise<void> {
    await client.waitForOpen(2);
    await waitFor(() => app.hub.has('alice'), 'the client to be back');
    ids.push(await app.hub.send('alice', 'four'));
    await client.waitForEvents(4);
    expect(client.events.map((e) => e.data)).toEqual(['one', 'two', 'three', 'four']);
    expect(client.events.map((e) => e.lastEventId)).toEqual(ids);
    expect(app.hub.stats().replayed).toBe(1);
  }

  it('resumes after the server closed the stream: the missed event, then live ones, no duplicate', async () => {
    const { app, client, ids } = await connected();
    expect(app.hub.disconnect('alice')).toBe(1);
    // Sent while the client waits to reconnect: only the replay can bring it.
    ids.push(await app.hub.send('alice', 'three'));
    await expectResumed(app, client, ids);
  });

  it('resumes after a network drop: the missed event, then live ones, no duplicate', async () => {
    const { app, client, ids } = await connected();
    app.sockets.destroyAll();
    ids.push(await app.hub.send('alice', 'three'));
    await expectResumed(app, client, ids);
  });
});
