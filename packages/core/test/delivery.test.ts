import { describe, expect, it } from 'vitest';
import { client, counter, data, hub, server, start, teardown } from '../../../test/support/hub-harness.js';
import { stalledClient } from '../../../test/support/stalled.js';
import { waitFor } from '../../../test/support/wait.js';

describe('targets', () => {
  it('send(clientId) reaches every tab of that client, and nobody else', async () => {
    await start();
    const tab1 = await client('?client=alice');
    const tab2 = await client('?client=alice');
    const bob = await client('?client=bob');
    const anonymous = await client();
    await hub!.send('alice', 'for alice');
    await hub!.broadcast('for all');
    await Promise.all([tab1.waitForEvents(2), tab2.waitForEvents(2), bob.waitForEvents(1), anonymous.waitForEvents(1)]);
    expect(data(tab1)).toEqual(['for alice', 'for all']);
    expect(data(tab2)).toEqual(['for alice', 'for all']);
    expect(data(bob)).toEqual(['for all']);
    expect(data(anonymous)).toEqual(['for all']);
  });

  it('publish(topic) reaches the subscribers of that topic only', async () => {
    await start();
    const news = await client('?topics=news');
    const both = await client('?topics=news,sport');
    const sport = await client('?topics=sport');
    await hub!.publish('news', 'headline');
    await hub!.publish('sport', 'score');
    await Promise.all([news.waitForEvents(1), both.waitForEvents(2), sport.waitForEvents(1)]);
    expect(data(news)).toEqual(['headline']);
    expect(data(both)).toEqual(['headline', 'score']);
    expect(data(sport)).toEqual(['score']);
  });

  it('subscribe() and unsubscribe() change what a live connection receives', async () => {
    await start();
    const raw = await client();
    const stream = hub!.streams()[0]!;
    stream.subscribe('late');
    await hub!.publish('late', 'one');
    stream.unsubscribe('late');
    await hub!.publish('late', 'two');
    await hub!.broadcast('end');
    await raw.waitForEvents(2);
    expect(data(raw)).toEqual(['one', 'end']);
    expect(hub!.topics()).toEqual([]);
  });

  it('broadcast reaches every connection', async () => {
    await start();
    const all = await Promise.all([client('?client=a'), client('?topics=t'), client()]);
    await hub!.broadcast({ hello: 'world' }, { event: 'greeting' });
    for (const raw of all) {
      await raw.waitForEvents(1);
      expect(raw.events[0]).toMatchObject({ event: 'greeting', data: '{"hello":"world"}' });
    }
  });

  it('send, publish and broadcast resolve with the event id, in order, and the id is on the wire', async () => {
    await start();
    const raw = await client('?client=c&topics=t');
    const ids = [await hub!.send('c', 1), await hub!.publish('t', 2), await hub!.broadcast(3)];
    expect(counter(ids[1])).toBe(counter(ids[0]) + 1);
    expect(counter(ids[2])).toBe(counter(ids[1]) + 1);
    await raw.waitForEvents(3);
    expect(raw.events.map((e) => e.id)).toEqual(ids);
  });

  it('uses the caller’s id when one is given', async () => {
    await start();
    const raw = await client();
    expect(await hub!.broadcast('x', { id: 'order-17', event: 'e', retry: 500 })).toBe('order-17');
    await raw.waitForEvents(1);
    expect(raw.text).toBe('event: e\nid: order-17\nretry: 500\ndata: x\n\n');
  });

  it('keeps the order of a stream’s own sends and hub events sent in the same tick', async () => {
    await start();
    const raw = await client('?client=z');
    const stream = hub!.streams('z')[0]!;
    stream.send('own 1');
    void hub!.send('z', 'hub 1');
    stream.send('own 2');
    void hub!.broadcast('hub 2');
    stream.send('own 3');
    await raw.waitForEvents(5);
    expect(data(raw)).toEqual(['own 1', 'hub 1', 'own 2', 'hub 2', 'own 3']);
  });

  it('a send to a client with no open connection resolves and is kept for its resume', async () => {
    await start();
    const id = await hub!.send('nobody', 'later');
    expect(typeof id).toBe('string');
    expect(hub!.stats().delivered).toBe(0);
  });
});

describe('delivery order', () => {
  it('an event published from a disconnect listener during a delivery arrives after that delivery', async () => {
    await start({}, { maxBufferedBytes: 64 * 1024 });
    const slow = await stalledClient(`${server!.url}/?client=slow`);
    teardown.defer(() => slow.socket.destroy());
    await waitFor(() => hub!.size === 1);
    const healthy = await client('?client=healthy');
    hub!.on('disconnect', (_stream, reason) => {
      if (reason === 'slow-consumer') void hub!.broadcast('someone left');
    });
    const payload = 'x'.repeat(16 * 1024);
    const slowStream = hub!.streams('slow')[0]!;
    for (let i = 0; i < 5000 && !slowStream.closed; i++) {
      await hub!.broadcast(payload);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(slowStream.closeReason).toBe('slow-consumer');
    const sentinel = await hub!.broadcast('sentinel');
    await waitFor(() => healthy.events.some((e) => e.id === sentinel), 'the sentinel', 10_000);
    const ids = healthy.events.map((e) => counter(e.id));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(healthy.events.filter((e) => e.data === 'someone left')).toHaveLength(1);
    expect(hub!.stats().closed['slow-consumer']).toBe(1);
  });
});
