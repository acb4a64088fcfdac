import { describe, expect, it } from 'vitest';
import { openEventSource } from '../../../test/support/clients.js';
import { client, data, hub, server, start, teardown } from '../../../test/support/hub-harness.js';
import { waitFor } from '../../../test/support/wait.js';

// An event larger than `maxBufferedBytes` reaches every client that reads (issue 10, bug 1): before, a 5 MB
// broadcast ended each of them with `slow-consumer` after about 3.9 MB, and again on every resume.
const limit = 64 * 1024;
const big = 'x'.repeat(5 * 1024 * 1024);

describe('a broadcast larger than maxBufferedBytes', () => {
  it('reaches a raw client and an eventsource client that read, complete, and both stay connected', async () => {
    await start({}, { maxBufferedBytes: limit });
    const raw = await client('?client=raw');
    const es = teardown.track(openEventSource(`${server!.url}/?client=es`));
    await es.waitForOpen();
    await waitFor(() => hub!.size === 2, 'both clients to be registered');
    await hub!.broadcast(big);
    await hub!.broadcast('after');
    await raw.waitForEvents(2, 10_000);
    await es.waitForEvents(2, 10_000);
    expect(data(raw).map((text) => text.length)).toEqual([big.length, 'after'.length]);
    expect(es.events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(es.opens).toBe(1);
    expect(hub!.size).toBe(2);
    expect(hub!.stats().closed['slow-consumer']).toBe(0);
  });

  it('is replayed complete to a client that resumes with Last-Event-ID', async () => {
    await start({}, { maxBufferedBytes: limit });
    const cursor = await hub!.broadcast('seen');
    await hub!.broadcast(big);
    await hub!.broadcast('after');
    const resumed = await client('?client=alice', { 'last-event-id': cursor });
    await resumed.waitForEvents(2, 10_000);
    expect(data(resumed).map((text) => text.length)).toEqual([big.length, 'after'.length]);
    expect(hub!.size).toBe(1);
    expect(hub!.stats().closed['slow-consumer']).toBe(0);
  });
});
