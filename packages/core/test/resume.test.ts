import { createMemoryBroker } from '@ssekit/core';
import type { Broker } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { gatedReplayBroker } from '../../../test/support/brokers.js';
import { openEventSource, rawSse } from '../../../test/support/clients.js';
import { client, counter, data, hub, quiet, server, start, teardown } from '../../../test/support/hub-harness.js';
import { waitFor } from '../../../test/support/wait.js';

describe('history replay after Last-Event-ID', () => {
  it('replays exactly the events this client missed (its id, its topics, broadcasts), then live ones', async () => {
    await start();
    const first = await client('?client=alice&topics=news');
    const cursor = await hub!.broadcast('seen');
    await first.waitForEvents(1);
    first.close();
    await waitFor(() => hub!.size === 0);
    await hub!.send('alice', 'to alice');
    await hub!.send('bob', 'to bob');
    await hub!.publish('news', 'news');
    await hub!.publish('sport', 'sport');
    await hub!.broadcast('to all');
    const resumed = await client('?client=alice&topics=news', { 'last-event-id': cursor });
    await hub!.broadcast('live');
    await resumed.waitForEvents(4);
    expect(data(resumed)).toEqual(['to alice', 'news', 'to all', 'live']);
    expect(hub!.stats().replayed).toBe(3);
  });

  it('a real EventSource resumes across a server-side close without loss', async () => {
    await start({}, { retry: 20 });
    const es = openEventSource(`${server!.url}/?client=alice`);
    teardown.track(es);
    await es.waitForOpen();
    await hub!.send('alice', 'one');
    await es.waitForEvents(1);
    hub!.disconnect('alice');
    await hub!.send('alice', 'two');
    await hub!.send('alice', 'three');
    await es.waitForEvents(3);
    expect(es.events.map((e) => e.data)).toEqual(['one', 'two', 'three']);
    expect(es.opens).toBe(2);
  });

  it('replays nothing when the client is up to date', async () => {
    await start();
    const cursor = await hub!.broadcast('latest');
    const raw = await client('', { 'last-event-id': cursor });
    await hub!.broadcast('next');
    await raw.waitForEvents(1);
    expect(data(raw)).toEqual(['next']);
  });

  it.each(['before', 'after'] as const)(
    'no gap and no duplicate when events are published during the replay (history read %s the wait)',
    async (snapshot) => {
      const broker = gatedReplayBroker(snapshot);
      await start({ broker });
      const cursor = await hub!.broadcast('e1');
      await hub!.send('alice', 'e2');
      await hub!.send('bob', 'not for alice');
      await hub!.publish('news', 'e3');
      const resuming = client('?client=alice&topics=news', { 'last-event-id': cursor });
      await broker.replayStarted();
      // Published while the replay is in flight: delivered live (and held), and maybe in the replay too.
      await hub!.broadcast('e4');
      await hub!.send('alice', 'e5');
      await hub!.publish('sport', 'not subscribed');
      broker.open();
      const raw = await resuming;
      await hub!.publish('news', 'e6');
      await hub!.broadcast('sentinel');
      await raw.waitForEvents(5);
      expect(data(raw)).toEqual(['e2', 'e3', 'e4', 'e5', 'e6', 'sentinel']);
      const ids = raw.events.map((e) => counter(e.id));
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    },
  );

  it('a connect listener that sends to a resuming client does not overtake nor duplicate the replay', async () => {
    await start();
    const cursor = await hub!.broadcast('seen');
    await hub!.broadcast('missed 1');
    await hub!.broadcast('missed 2');
    hub!.on('connect', (stream) => {
      if (stream.clientId !== undefined) void hub!.send(stream.clientId, 'welcome');
    });
    const raw = await client('?client=alice', { 'last-event-id': cursor });
    await hub!.broadcast('sentinel');
    await raw.waitForEvents(4);
    expect(data(raw)).toEqual(['missed 1', 'missed 2', 'welcome', 'sentinel']);
  });

  it('a replay larger than maxBufferedBytes reaches a reading client complete and in order', async () => {
    await start({ history: { size: 5000 } }, { maxBufferedBytes: 64 * 1024 });
    const cursor = await hub!.broadcast('start');
    const payload = 'p'.repeat(200);
    for (let i = 0; i < 3000; i++) await hub!.broadcast(`${i} ${payload}`);
    const raw = await client('', { 'last-event-id': cursor });
    await raw.waitForEvents(3000, 10_000);
    expect(raw.events.map((e) => Number(e.data.split(' ')[0]))).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(hub!.streams()[0]!.closed).toBe(false);
  });

  it('an unknown id gets the ssekit-reset event with the cursor moved to the newest id', async () => {
    await start();
    await hub!.broadcast('old');
    const head = await hub!.broadcast('newest');
    const raw = await client('', { 'last-event-id': 'not-an-id-of-ours' });
    await raw.waitForEvents(1);
    expect(raw.text).toBe(
      `event: ssekit-reset\nid: ${head}\ndata: {"reason":"unknown-id","lastEventId":"not-an-id-of-ours"}\n\n`,
    );
    expect(hub!.stats().resets).toBe(1);
    await hub!.broadcast('live');
    await raw.waitForEvents(2);
    expect(data(raw)[1]).toBe('live');
  });

  it('after a reset, an EventSource reconnects from the newest id and does not reset again', async () => {
    await start({}, { retry: 20 });
    await hub!.broadcast('before');
    // The query parameter (as polyfills send it) starts with a stale cursor; the header wins once the client has one.
    const es = openEventSource(`${server!.url}/?client=a&lastEventId=stale-id`, { eventTypes: ['ssekit-reset'] });
    teardown.track(es);
    await es.waitForEvents(1);
    expect(es.events[0]!.type).toBe('ssekit-reset');
    hub!.disconnect('a');
    await hub!.send('a', 'after');
    await es.waitForEvents(2);
    expect(es.events.map((e) => e.type)).toEqual(['ssekit-reset', 'message']);
    expect(hub!.stats().resets).toBe(1);
  });

  it('an id that has left history gets the reset event with reason expired', async () => {
    await start({ history: { size: 2 } });
    const old = await hub!.broadcast('1');
    await hub!.broadcast('2');
    const head = await hub!.broadcast('3');
    const raw = await client('', { 'last-event-id': old });
    await raw.waitForEvents(1);
    expect(raw.events[0]).toEqual({
      event: 'ssekit-reset',
      id: head,
      data: JSON.stringify({ reason: 'expired', lastEventId: old }),
    });
  });

  it('a malformed Last-Event-ID gets the reset event with reason invalid-id and a cleared cursor', async () => {
    await start();
    await hub!.broadcast('x');
    const raw = await client('', { 'last-event-id': 'z'.repeat(2000) });
    await raw.waitForEvents(1);
    expect(raw.text).toBe('event: ssekit-reset\nid: \ndata: {"reason":"invalid-id"}\n\n');
  });

  it('with history: false every resume is a reset (reason unknown-id, cursor cleared)', async () => {
    await start({ history: false });
    const cursor = await hub!.broadcast('x');
    const raw = await client('', { 'last-event-id': cursor });
    await raw.waitForEvents(1);
    expect(raw.text).toBe(`event: ssekit-reset\nid: \ndata: {"reason":"unknown-id","lastEventId":"${cursor}"}\n\n`);
  });

  it('a custom reset event name is used', async () => {
    await start({ resetEvent: 'resync' });
    const raw = await client('', { 'last-event-id': 'unknown' });
    await raw.waitForEvents(1);
    expect(raw.events[0]!.event).toBe('resync');
  });

  it('resetEvent: false sends only the id that moves the cursor (no event is dispatched)', async () => {
    await start({ resetEvent: false });
    const head = await hub!.broadcast('x');
    const raw = await client('', { 'last-event-id': 'unknown' });
    await raw.waitForText('\n\n');
    expect(raw.text).toBe(`id: ${head}\n\n`);
    expect(raw.events).toEqual([]);
  });

  it('a broker that fails to replay ends the stream with reason error, so the client retries with its cursor', async () => {
    const inner = createMemoryBroker();
    const broker: Broker = {
      start: (deliver) => inner.start(deliver),
      publish: (envelope) => inner.publish(envelope),
      replay: () => Promise.reject(new Error('history unavailable')),
      close: () => inner.close(),
    };
    await start({ broker });
    const raw = await rawSse(`${server!.url}/`, { 'last-event-id': 'x-1' });
    await raw.waitForEnd();
    expect(raw.text).toBe('');
    expect(hub!.stats().closed.error).toBe(1);
    expect(quiet.warnings).toHaveLength(1);
  });
});
