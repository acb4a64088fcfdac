import { connect, type SseEvent } from '@ssekit/client';
import { describe, expect, it } from 'vitest';
import { express5Adapter } from '../../packages/express/test/conformance-app.js';
import { appTracker, byQuery } from '../adapters/harness.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

// @ssekit/client against a real ssekit route (Express 5, the hub's history): typed events as the hub sends them, and
// a resume with Last-Event-ID after a network drop, with the missed event and no duplicate.

const teardown = closeAfterEach();
const apps = appTracker(teardown);

type Feed = { tick: { n: number }; note: string };

describe('@ssekit/client with an ssekit Express route', () => {
  it('receives typed events and resumes after a network drop from the hub history, without a gap or duplicate', async () => {
    const app = await apps.start(express5Adapter, { routes: [{ path: '/events', sse: { clientId: byQuery } }] });
    const events: SseEvent<Feed>[] = [];
    let opens = 0;
    const client = teardown.track(
      connect<Feed>(`${app.url}/events?id=alice`, {
        retry: { initialDelay: 10 },
        onOpen: () => opens++,
        onEvent: (event) => events.push(event),
      }),
    );
    await waitFor(() => app.hub.has('alice'), 'the client to be registered');
    const ids = [
      await app.hub.send('alice', { n: 1 }, { event: 'tick' }),
      await app.hub.send('alice', JSON.stringify('hello'), { event: 'note' }),
    ];
    await waitFor(() => events.length === 2, 'two events');
    app.sockets.destroyAll();
    await waitFor(() => !app.hub.has('alice'), 'the drop to reach the hub');
    ids.push(await app.hub.send('alice', { n: 2 }, { event: 'tick' }));
    await waitFor(() => opens === 2 && app.hub.has('alice'), 'the client to be back');
    ids.push(await app.hub.send('alice', { n: 3 }, { event: 'tick' }));
    await waitFor(() => events.length === 4, 'four events');
    expect(events).toEqual([
      { event: 'tick', data: { n: 1 }, id: ids[0] },
      { event: 'note', data: 'hello', id: ids[1] },
      { event: 'tick', data: { n: 2 }, id: ids[2] },
      { event: 'tick', data: { n: 3 }, id: ids[3] },
    ]);
    expect(client.lastEventId).toBe(ids[3]);
    expect(app.hub.stats().replayed).toBe(1);
  });
});
