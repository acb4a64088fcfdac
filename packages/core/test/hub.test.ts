import {
  createHub,
  createMemoryBroker,
  createStream,
  DEFAULT_CLOSE_RETRY,
  type Hub,
  type HubOptions,
  SseError,
  SseRangeError,
  type SseStream,
  SseTypeError,
} from '@ssekit/core';
import { openConnection, resolveConnectOptions } from '@ssekit/core/adapter';
import type { Broker, ControlMessage } from '@ssekit/core/broker';
import { afterEach, describe, expect, it } from 'vitest';
import { gatedReplayBroker, sharedMemoryBrokers } from '../../../test/support/brokers.js';
import { openEventSource, type RawSse, rawSse } from '../../../test/support/clients.js';
import { checkSseError, expectSseError } from '../../../test/support/errors.js';
import { captureLogger } from '../../../test/support/logger.js';
import { stalledClient } from '../../../test/support/stalled.js';
import { closed, type StreamServer, serveHub, serveStreams } from '../../../test/support/stream-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { waitFor } from '../../../test/support/wait.js';

const quiet = captureLogger();
let hub: Hub | undefined;
let server: StreamServer | undefined;

afterEach(async () => {
  await hub?.close();
  await server?.close();
  hub = undefined;
  server = undefined;
  quiet.clear();
});

// Registered after the hook above, so it runs before it: clients close before the hub and the server.
const teardown = closeAfterEach();

/** A hub served like the adapters serve it; see `serveHub` for the URL conventions. */
async function start(options: HubOptions = {}, streamOptions: Parameters<typeof serveHub>[1] = {}) {
  hub = createHub({ logger: quiet, ...options });
  server = await serveHub(hub, streamOptions);
  return { hub, server };
}

/** Opens a raw client (eventsource-parser, exact bytes) on `query` and waits until the hub registered it. */
async function client(query = '', headers: Record<string, string> = {}): Promise<RawSse> {
  const before = hub!.size;
  const raw = await rawSse(`${server!.url}/${query}`, headers);
  teardown.track(raw);
  if (raw.status === 200) await waitFor(() => hub!.size > before || raw.ended, 'the hub to register the client');
  return raw;
}

function data(raw: RawSse): string[] {
  return raw.events.map((event) => event.data);
}

/** The counter of a memory-broker id (`<prefix>-<n>`), to compare ids by order. */
function counter(id: string | undefined): number {
  return Number(id?.slice(id.lastIndexOf('-') + 1));
}

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

describe('close()', () => {
  it('gives every stream a retry hint within retry…retry+jitter and ends it with reason shutdown', async () => {
    await start();
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => client(`?client=c${i}`)));
    const reasons: string[] = [];
    hub!.on('disconnect', (_stream, reason) => reasons.push(reason));
    await hub!.close({ retry: 2000, jitter: 500 });
    for (const raw of all) {
      await raw.waitForEnd();
      expect(raw.retries).toHaveLength(1);
      expect(raw.retries[0]).toBeGreaterThanOrEqual(2000);
      expect(raw.retries[0]).toBeLessThanOrEqual(2500);
    }
    expect(reasons).toEqual(Array(6).fill('shutdown'));
    expect(hub!.stats().closed.shutdown).toBe(6);
    expect(hub!.size).toBe(0);
    expect(hub!.closed).toBe(true);
  });

  it('without options sends the default retry hint', async () => {
    await start();
    const raw = await client();
    await hub!.close();
    await raw.waitForEnd();
    expect(raw.text).toBe(`retry: ${DEFAULT_CLOSE_RETRY}\n\n`);
  });

  it('is idempotent, and a closed hub refuses events with SSE_HUB_CLOSED', async () => {
    await start();
    const first = hub!.close();
    expect(hub!.close()).toBe(first);
    await first;
    expectSseError(() => hub!.broadcast('late'), {
      base: Error,
      type: SseError,
      code: 'SSE_HUB_CLOSED',
      message: 'This hub is closed: it no longer accepts events. Create a new hub.',
    });
  });

  it('ends a stream attached after close with reason shutdown', async () => {
    hub = createHub({ logger: quiet });
    await hub.close();
    server = await serveStreams((req, res) => {
      const stream = createStream(req, res, { heartbeat: false });
      void hub!.attach(stream);
      return stream;
    });
    const raw = await rawSse(server.url);
    await raw.waitForEnd();
    expect(server.streams[0]!.closeReason).toBe('shutdown');
  });
});

describe('connection limits', () => {
  it('maxConnections: one more is answered 200 with a retry hint and ended, so EventSource comes back later', async () => {
    await start({ maxConnections: 2 });
    await client();
    await client();
    const refused = await client();
    await refused.waitForEnd();
    expect(refused.status).toBe(200);
    expect(refused.events).toEqual([]);
    expect(refused.retries).toHaveLength(1);
    // 5 s plus up to a fifth of jitter.
    expect(refused.retries[0]).toBeGreaterThanOrEqual(5000);
    expect(refused.retries[0]).toBeLessThan(6000);
    expect(hub!.size).toBe(2);
    expect(hub!.stats().refused).toBe(1);
  });

  it('maxConnectionsPerClient: a client over its tab limit gets the retry answer; others still get in', async () => {
    await start({ maxConnectionsPerClient: 1, limitResponse: { type: 'retry', retry: 100 } });
    await client('?client=alice');
    const second = await client('?client=alice');
    await second.waitForEnd();
    expect(second.retries[0]).toBeGreaterThanOrEqual(100);
    expect(second.retries[0]).toBeLessThan(120);
    const bob = await client('?client=bob');
    expect(bob.ended).toBe(false);
    expect(hub!.size).toBe(2);
  });

  it('with the status answer, one more gets the HTTP status and Retry-After', async () => {
    await start({ maxConnections: 1, limitResponse: { type: 'status', status: 429, retryAfter: 7 } });
    await client();
    const refused = await client();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('7');
    expect(hub!.stats().refused).toBe(1);
  });

  it('the status answer defaults to 503 with Retry-After: 5', async () => {
    await start({ maxConnectionsPerClient: 1, limitResponse: { type: 'status' } });
    await client('?client=a');
    const refused = await client('?client=a');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
  });

  it('the status answer is thrown as an SseError the framework turns into the response', async () => {
    hub = createHub({ logger: quiet, maxConnections: 1, limitResponse: { type: 'status', status: 429 } });
    const route = resolveConnectOptions({ heartbeat: false });
    const errors: unknown[] = [];
    server = await serveStreams((req, res) =>
      openConnection(hub!, route, req, req, res).catch((error: unknown) => {
        errors.push(error);
        throw error;
      }),
    );
    teardown.track(await rawSse(server.url));
    const refused = await rawSse(server.url);
    expect(refused.status).toBe(429);
    checkSseError(errors[0], {
      base: Error,
      type: SseError,
      code: 'SSE_TOO_MANY_CONNECTIONS',
      message: 'Too many SSE connections (max-connections); try again later.',
      statusCode: 429,
    });
    await hub.close();
    const late = await rawSse(server.url);
    expect(late.status).toBe(429);
    checkSseError(errors[1], {
      base: Error,
      type: SseError,
      code: 'SSE_HUB_CLOSED',
      message: 'The server is shutting down; try again shortly.',
      statusCode: 429,
    });
  });

  it('a freed slot is available again', async () => {
    await start({ maxConnections: 1 });
    const first = await client();
    first.close();
    await waitFor(() => hub!.size === 0);
    const second = await client();
    expect(second.ended).toBe(false);
    expect(hub!.size).toBe(1);
  });
});

describe('serialization', () => {
  it('serializes once per call, whatever the number of connections, and every connection gets the same bytes', async () => {
    let calls = 0;
    await start({
      serializer: (value) => {
        calls++;
        return JSON.stringify(value);
      },
    });
    const all = await Promise.all(Array.from({ length: 10 }, () => client('?client=x&topics=t')));
    await hub!.broadcast({ n: 1 });
    await hub!.publish('t', { n: 2 });
    await hub!.send('x', { n: 3 });
    expect(calls).toBe(3);
    for (const raw of all) await raw.waitForEvents(3);
    expect(new Set(all.map((raw) => raw.text)).size).toBe(1);
  });

  it('does not call the serializer for strings', async () => {
    let calls = 0;
    await start({
      serializer: (value) => {
        calls++;
        return JSON.stringify(value);
      },
    });
    await client();
    await hub!.broadcast('text');
    expect(calls).toBe(0);
  });
});

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

describe('disconnect across instances', () => {
  // A second instance: its own hub and server, on a broker shared with the first (see `sharedMemoryBrokers`).
  let other: { hub: Hub; server: StreamServer } | undefined;
  afterEach(async () => {
    await other?.hub.close();
    await other?.server.close();
    other = undefined;
  });

  async function twoInstances() {
    const [brokerA, brokerB] = sharedMemoryBrokers(2) as [Broker, Broker];
    const a = await start({ broker: brokerA });
    const otherHub = createHub({ broker: brokerB, logger: quiet });
    other = { hub: otherHub, server: await serveHub(otherHub) };
    return { a: a.hub, b: otherHub };
  }

  async function tabOn(target: { hub: Hub; server: StreamServer }, query: string): Promise<RawSse> {
    const before = target.hub.size;
    const raw = await rawSse(`${target.server.url}/${query}`);
    teardown.track(raw);
    await waitFor(() => target.hub.size > before, 'the hub to register the tab');
    return raw;
  }

  it("disconnect(clientId) ends the client's tabs on the other instances too, each once, with the retry hint", async () => {
    const { a, b } = await twoInstances();
    const tabOnA = await client('?client=alice');
    const tabsOnB = [await tabOn(other!, '?client=alice'), await tabOn(other!, '?client=alice')];
    const bob = await tabOn(other!, '?client=bob');
    const reasons: string[] = [];
    b.on('disconnect', (_stream, reason) => reasons.push(reason));

    expect(a.disconnect('alice', { retry: 7000 })).toBe(1);
    await Promise.all([tabOnA.waitForEnd(), ...tabsOnB.map((tab) => tab.waitForEnd())]);

    for (const tab of [tabOnA, ...tabsOnB]) expect(tab.text).toBe('retry: 7000\n\n');
    expect(reasons).toEqual(['server', 'server']);
    expect(a.stats().closed.server).toBe(1);
    expect(b.stats().closed.server).toBe(2);
    expect(bob.ended).toBe(false);
    expect(b.has('bob')).toBe(true);
  });

  it('an event sent just before the disconnect still reaches the tabs on the other instance, then they end', async () => {
    const { a } = await twoInstances();
    const tab = await tabOn(other!, '?client=alice');
    const id = await a.send('alice', 'bye');
    a.disconnect('alice');
    await tab.waitForEnd();
    expect(tab.events).toEqual([{ id, data: 'bye', event: undefined }]);
  });

  it('is a control message, not an event: not published, not in history, takes no id, never replayed', async () => {
    const { a, b } = await twoInstances();
    const first = await a.send('alice', 'one');
    a.disconnect('alice');
    const second = await a.send('alice', 'two');
    expect(counter(second)).toBe(counter(first) + 1);

    const resumed = await rawSse(`${other!.server.url}/?client=alice`, { 'last-event-id': first });
    teardown.track(resumed);
    await resumed.waitForEvents(1);
    await waitFor(() => b.size === 1);
    await b.broadcast('live');
    await resumed.waitForEvents(2);
    expect(resumed.events.map((event) => event.data)).toEqual(['two', 'live']);
    expect(a.stats()).toMatchObject({ published: 2, disconnectsSent: 1, disconnectsReceived: 0 });
    expect(b.stats()).toMatchObject({ published: 1, replayed: 1, disconnectsSent: 0, disconnectsReceived: 1 });
  });

  it('the disconnecting hub skips its own copy: a tab the client opened meanwhile stays open', async () => {
    // A broker that hands controls back only when the test says so, as a lagging Redis reader would.
    const inner = createMemoryBroker();
    let onControl: ((message: ControlMessage) => void) | undefined;
    const sent: ControlMessage[] = [];
    const broker: Broker = {
      start: (deliver, control) => {
        onControl = control;
        inner.start(deliver);
      },
      publish: (envelope) => inner.publish(envelope),
      replay: (lastEventId, filter) => inner.replay(lastEventId, filter),
      control: (message) => {
        sent.push(message);
      },
      close: () => inner.close(),
    };
    await start({ broker });
    const before = await client('?client=alice');
    expect(hub!.disconnect('alice')).toBe(1);
    await before.waitForEnd();
    const after = await client('?client=alice');

    onControl?.(sent[0] as ControlMessage);
    await hub!.send('alice', 'still here');
    await after.waitForEvents(1);
    expect(after.ended).toBe(false);
    expect(hub!.stats().closed.server).toBe(1);

    // The same request from another instance does end it.
    onControl?.({ ...(sent[0] as ControlMessage), origin: 'another-instance' });
    await after.waitForEnd();
    expect(hub!.stats()).toMatchObject({ disconnectsSent: 1, disconnectsReceived: 1 });
  });

  it('disconnectEverywhere() resolves with the local count once the broker took the request', async () => {
    const { a, b } = await twoInstances();
    const tabOnA = await client('?client=alice');
    const tabOnB = await tabOn(other!, '?client=alice');
    await expect(a.disconnectEverywhere('alice', { retry: 3000 })).resolves.toBe(1);
    await Promise.all([tabOnA.waitForEnd(), tabOnB.waitForEnd()]);
    expect(tabOnB.text).toBe('retry: 3000\n\n');
    expect(b.stats().closed.server).toBe(1);
  });

  it('when the broker cannot take it, the local tabs end all the same: disconnect() logs, disconnectEverywhere() rejects', async () => {
    const inner = createMemoryBroker();
    const down = () => new SseError('SSE_BROKER_UNAVAILABLE', 'Redis is not reachable.', { statusCode: 503 });
    const broker: Broker = {
      start: (deliver) => inner.start(deliver),
      publish: (envelope) => inner.publish(envelope),
      replay: (lastEventId, filter) => inner.replay(lastEventId, filter),
      control: () => Promise.reject(down()),
      close: () => inner.close(),
    };
    await start({ broker });
    const first = await client('?client=alice');
    expect(hub!.disconnect('alice')).toBe(1);
    await first.waitForEnd();
    await waitFor(() => quiet.errors.length === 1, 'the failure to be logged');
    expect(String(quiet.errors[0]?.[0])).toMatch(/^\[ssekit\] disconnect\("alice"\) ended 1 connection\(s\) here but/);

    const second = await client('?client=alice');
    const failure = await hub!.disconnectEverywhere('alice').catch((error: unknown) => error);
    checkSseError(failure, {
      base: Error,
      type: SseError,
      code: 'SSE_BROKER_UNAVAILABLE',
      message: 'Redis is not reachable.',
      statusCode: 503,
    });
    await second.waitForEnd();
    expect(quiet.errors).toHaveLength(1);
  });

  it('with a broker that has no control(), disconnect stays on this instance and disconnectEverywhere() resolves', async () => {
    const inner = createMemoryBroker();
    const broker: Broker = {
      start: (deliver) => inner.start(deliver),
      publish: (envelope) => inner.publish(envelope),
      replay: (lastEventId, filter) => inner.replay(lastEventId, filter),
      close: () => inner.close(),
    };
    await start({ broker });
    const tab = await client('?client=alice');
    await expect(hub!.disconnectEverywhere('alice')).resolves.toBe(1);
    await tab.waitForEnd();
    expect(hub!.stats().disconnectsSent).toBe(0);
    expect(quiet.errors).toEqual([]);
  });

  it('on a closed hub, disconnect() returns 0 quietly and disconnectEverywhere() throws SSE_HUB_CLOSED', async () => {
    await start();
    await hub!.close();
    expect(hub!.disconnect('alice')).toBe(0);
    expectSseError(() => hub!.disconnectEverywhere('alice'), {
      base: Error,
      type: SseError,
      code: 'SSE_HUB_CLOSED',
      message: 'This hub is closed: it no longer sends requests. Create a new hub.',
    });
    expect(hub!.stats().disconnectsSent).toBe(0);
    expect(quiet.errors).toEqual([]);
  });

  it('disconnectEverywhere() rejects a bad client id or retry synchronously, before ending anything', async () => {
    await start();
    const tab = await client('?client=alice');
    expectSseError(() => hub!.disconnectEverywhere('alice', { retry: -5 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry`/,
    });
    expectSseError(() => hub!.disconnectEverywhere('a\nb'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: /client id/i,
    });
    expect(tab.ended).toBe(false);
    expect(hub!.stats().disconnectsSent).toBe(0);
  });
});

describe('broadcast lane', () => {
  it('a broadcast published just before close() in the same tick is written before the stream ends', async () => {
    await start();
    const raw = await client();
    void hub!.broadcast('last words');
    hub!.streams()[0]!.close();
    await raw.waitForEnd();
    expect(data(raw)).toEqual(['last words']);
  });

  it('broadcasts around a disconnect() in one tick: the leaving tab gets the one before, the staying tab both', async () => {
    await start();
    const stays = await client('?client=bob');
    const leaves = await client('?client=alice');
    void hub!.broadcast('one');
    hub!.disconnect('alice');
    void hub!.broadcast('two');
    await stays.waitForEvents(2);
    await leaves.waitForEnd();
    expect(data(stays)).toEqual(['one', 'two']);
    expect(data(leaves)).toEqual(['one']);
  });
});

describe('events the broker refuses', () => {
  /** A broker that refuses every event, like the Redis broker while Redis is unreachable. */
  function refusingBroker(): Broker {
    return {
      start() {},
      publish: () => Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'Redis is unreachable.')),
      replay: () => ({ ok: true, events: [] }),
      close() {},
    };
  }

  it('rejects the promise of a caller who awaits it', async () => {
    hub = createHub({ broker: refusingBroker(), logger: quiet });
    await expect(hub.broadcast('x')).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
  });

  it('never surfaces as an unhandled rejection when nobody awaits, and is counted and logged once', async () => {
    hub = createHub({ broker: refusingBroker(), logger: quiet });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void hub.broadcast('a');
      void hub.send('alice', 'b');
      void hub.publish('news', 'c');
      await waitFor(() => hub!.stats().failed === 3, 'three failures to be counted');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(hub.stats().published).toBe(0);
    expect(quiet.errors).toHaveLength(1);
    expect(String(quiet.errors[0]?.[0])).toMatch(/could not be published/);
  });

  it('counts accepted events as published, refused ones as failed', async () => {
    hub = createHub({ logger: quiet });
    await hub.broadcast('ok');
    expect(hub.stats()).toMatchObject({ published: 1, failed: 0 });
  });
});

describe('rejections', () => {
  const OPTION = { code: 'SSE_INVALID_OPTION' } as const;

  it.each([
    [{ nope: 1 }, Error, SseError, /^Unknown option `nope` for createHub\(\)\./],
    [
      { broker: createMemoryBroker(), history: { size: 1 } },
      Error,
      SseError,
      'Options `broker` and `history` cannot be combined: configure history on the broker you pass.',
    ],
    [
      { broker: { start() {} } },
      TypeError,
      SseTypeError,
      'Option `broker` must implement Broker: `publish()` is missing.',
    ],
    [
      { broker: { start() {}, publish() {}, replay() {}, close() {}, control: 'yes' } },
      TypeError,
      SseTypeError,
      'Option `broker`: `control`, when present, must be a method.',
    ],
    [
      { maxConnections: 0 },
      RangeError,
      SseRangeError,
      'Option `maxConnections` must be a positive whole number, got 0.',
    ],
    [
      { maxConnectionsPerClient: 1.5 },
      RangeError,
      SseRangeError,
      'Option `maxConnectionsPerClient` must be a positive whole number, got 1.5.',
    ],
    [
      { maxConnections: '5' },
      TypeError,
      SseTypeError,
      'Option `maxConnections` must be a positive whole number, got "5".',
    ],
    [{ limitResponse: { type: 'nope' } }, TypeError, SseTypeError, /^Option `limitResponse` must be/],
    [
      { limitResponse: { type: 'status', status: 200 } },
      TypeError,
      SseTypeError,
      'limitResponse.status must be a 4xx or 5xx code, got 200.',
    ],
    [{ serializer: 'json' }, TypeError, SseTypeError, 'Option `serializer` must be a function, got "json".'],
    [{ history: { size: 0 } }, RangeError, SseRangeError, 'History `size` must be a positive whole number, got 0.'],
    [
      { history: { maxAge: -1 } },
      RangeError,
      SseRangeError,
      'History `maxAge` must be a positive whole number of milliseconds, got -1.',
    ],
  ])('createHub(%o) is rejected', (options, base, type, message) => {
    expectSseError(() => createHub(options as HubOptions), {
      ...OPTION,
      base: base as ErrorConstructor,
      type,
      message,
    });
  });

  it('rejects a reset event name with a newline', () => {
    expectSseError(() => createHub({ resetEvent: 'a\nb' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /^Field `event` must not contain CR or LF/,
    });
  });

  it('rejects a malformed client id or topic synchronously, flagged as a 400', async () => {
    await start();
    expectSseError(() => hub!.send('', 'x'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id must not be empty.',
      statusCode: 400,
    });
    expectSseError(() => hub!.send('a\nb', 'x'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id "a\\nb" contains a control character; remove it.',
    });
    expectSseError(() => hub!.publish('t'.repeat(257), 'x'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_TOPIC',
      message: 'The topic is 257 characters long; at most 256 are allowed. Use a shorter id (e.g. a hash).',
    });
    expectSseError(() => hub!.disconnect(5 as never), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id must be a string, got 5.',
    });
  });

  it('rejects bad data and bad options synchronously, and publishes nothing', async () => {
    await start();
    expectSseError(() => hub!.broadcast(undefined), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_DATA',
      message: /^Cannot send `undefined` as data/,
    });
    expectSseError(() => hub!.broadcast({ n: 1n }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_SERIALIZE_FAILED',
      message: /BigInt/,
    });
    expectSseError(() => hub!.broadcast('x', { id: 'a\0' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /^Field `id` must not contain NUL/,
    });
    expectSseError(() => hub!.broadcast('x', { retry: -1 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry` must be a non-negative/,
    });
    expectSseError(() => hub!.broadcast('x', { topic: 't' } as never), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: 'Unknown field `topic` in send options. Allowed: event, id, retry.',
    });
    expect(hub!.stats().published).toBe(0);
  });

  it('rejects close() and disconnect() with a bad retry', async () => {
    await start();
    expectSseError(() => hub!.close({ retry: -1 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry`/,
    });
    expectSseError(() => hub!.disconnect('a', { retry: 0.5 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry`/,
    });
    expect(hub!.closed).toBe(false);
  });

  it('refuses to attach a stream twice, and topics given as a single string', async () => {
    hub = createHub({ logger: quiet });
    let attachError: unknown;
    let stringError: unknown;
    server = await serveStreams(async (req, res) => {
      const stream = createStream(req, res, { heartbeat: false });
      if (req.url === '/twice') {
        await hub!.attach(stream);
        attachError = await hub!.attach(stream).catch((error: unknown) => error);
      } else {
        stringError = await hub!.attach(stream, 'news' as never).catch((error: unknown) => error);
      }
      return stream as SseStream;
    });
    teardown.track(await rawSse(`${server.url}/twice`));
    teardown.track(await rawSse(`${server.url}/string`));
    await waitFor(() => attachError !== undefined && stringError !== undefined);
    checkSseError(attachError, {
      base: Error,
      type: SseError,
      code: 'SSE_ALREADY_ATTACHED',
      message: 'This stream is already registered with a hub.',
    });
    checkSseError(stringError, {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_TOPIC',
      message: 'Topics must be an array of strings, got "news".',
    });
    expect(hub.topics()).toEqual([]);
  });
});
