import { describe, expect, it } from 'vitest';
import { client, hub, quiet, start } from '../../../test/support/hub-harness.js';
import { closed } from '../../../test/support/stream-server.js';
import { waitFor } from '../../../test/support/wait.js';

describe('registry', () => {
  it('size, clientIds(), has(), streams() and topics() describe the open connections', async () => {
    await start();
    await client('?client=alice&topics=news');
    await client('?client=alice');
    await client('?client=bob&topics=sport,news');
    await client();
    expect(hub!.size).toBe(4);
    expect(hub!.clientIds().sort()).toEqual(['alice', 'bob']);
    expect(hub!.has('alice')).toBe(true);
    expect(hub!.has('carol')).toBe(false);
    expect(hub!.streams('alice')).toHaveLength(2);
    expect(hub!.streams('carol')).toEqual([]);
    expect(hub!.streams()).toHaveLength(4);
    expect(hub!.topics().sort()).toEqual(['news', 'sport']);
  });

  it('forgets a connection as soon as it closes', async () => {
    await start();
    const raw = await client('?client=alice&topics=news');
    const stream = hub!.streams('alice')[0]!;
    raw.close();
    await closed(stream);
    expect(hub!.size).toBe(0);
    expect(hub!.has('alice')).toBe(false);
    expect(hub!.clientIds()).toEqual([]);
    expect(hub!.topics()).toEqual([]);
  });

  it('emits connect and disconnect with the reason', async () => {
    await start();
    const seen: string[] = [];
    hub!.on('connect', (stream) => seen.push(`connect ${stream.clientId}`));
    hub!.on('disconnect', (stream, reason) => seen.push(`disconnect ${stream.clientId} ${reason}`));
    const raw = await client('?client=alice');
    await client('?client=bob');
    raw.close();
    await waitFor(() => seen.length === 3);
    hub!.disconnect('bob');
    expect(seen).toEqual(['connect alice', 'connect bob', 'disconnect alice client', 'disconnect bob server']);
  });

  it('a throwing connect or disconnect listener is reported, never thrown into the connection', async () => {
    await start();
    hub!.on('connect', () => {
      throw new Error('listener bug');
    });
    const raw = await client();
    await hub!.broadcast('still works');
    await raw.waitForEvents(1);
    expect(quiet.errors).toHaveLength(1);
  });

  it('disconnect(clientId) ends every tab of that client with reason server and says how many', async () => {
    await start();
    const tab1 = await client('?client=alice');
    const tab2 = await client('?client=alice');
    const bob = await client('?client=bob');
    expect(hub!.disconnect('alice', { retry: 9000 })).toBe(2);
    await Promise.all([tab1.waitForEnd(), tab2.waitForEnd()]);
    expect(tab1.text).toBe('retry: 9000\n\n');
    expect(hub!.stats().closed.server).toBe(2);
    expect(hub!.disconnect('nobody')).toBe(0);
    expect(bob.ended).toBe(false);
  });

  it('stats() counts connections, clients, events, bytes and closes by reason', async () => {
    await start();
    const a = await client('?client=a&topics=t');
    const b = await client('?client=b');
    await hub!.broadcast('12345');
    await hub!.publish('t', 'x');
    await Promise.all([a.waitForEvents(2), b.waitForEvents(1)]);
    b.close();
    await waitFor(() => hub!.size === 1);
    const stats = hub!.stats();
    expect(stats).toMatchObject({ connections: 1, clients: 1, topics: 1, published: 2, delivered: 3 });
    expect(stats.bytesSent).toBe(a.text.length + b.text.length);
    expect(stats.closed).toEqual({ client: 1, server: 0, timeout: 0, 'slow-consumer': 0, error: 0, shutdown: 0 });
  });
});
