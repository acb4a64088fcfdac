import { afterEach, describe, expect, it } from 'vitest';
import { createHub, createStream } from '@ssekit/core';
import { openEventSource, rawSse } from '../../../test/support/clients.js';
import { serve, type Running } from '../../../test/support/server.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
});

describe('smoke', () => {
  it('a hub broadcast reaches an EventSource, and a reconnect resumes', async () => {
    const hub = createHub();
    running = await serve((req, res) => {
      const stream = createStream(req, res, { heartbeat: false }, 'alice');
      void hub.attach(stream);
    });
    const client = openEventSource(`${running.url}/`);
    await client.waitForOpen();
    await hub.broadcast({ n: 1 });
    await hub.send('alice', 'two\nlines', { event: 'message' });
    const events = await client.waitForEvents(2);
    expect(events.map((e) => e.data)).toEqual(['{"n":1}', 'two\nlines']);
    client.close();
    const raw = await rawSse(`${running.url}/`, { 'last-event-id': events[0]!.lastEventId });
    await raw.waitForEvents(1);
    expect(raw.events[0]!.data).toBe('two\nlines');
    raw.close();
    await hub.close();
  });
});
