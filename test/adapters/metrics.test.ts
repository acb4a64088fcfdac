import { readFileSync } from 'node:fs';
import { metrics } from '@opentelemetry/api';
import { createHub, createMemoryBroker, type Hub, type HubOptions, SseError } from '@ssekit/core';
import type { Broker } from '@ssekit/core/broker';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventSource, rawSse } from '../support/clients.js';
import { captureLogger } from '../support/logger.js';
import { type MetricsRecorder, recordMetrics } from '../support/metrics.js';
import { stalledClient } from '../support/stalled.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { adapters, type TestRoute } from './harness.js';

const express5Adapter = adapters[0] as (typeof adapters)[number];

const teardown = closeAfterEach();

/** A meter provider with the SDK's in-memory exporter, shut down after the test. */
function recorder(temporality?: 'cumulative' | 'delta'): MetricsRecorder {
  return teardown.track(recordMetrics(temporality));
}

/** A hub recording to `recorded`, closed after the test. */
function hubFor(recorded: MetricsRecorder, options: HubOptions = {}): Hub {
  const hub = createHub({ meterProvider: recorded.provider, logger: captureLogger(), ...options });
  teardown.defer(() => hub.close());
  return hub;
}

/** The routes every app serves here: a parameterised route (each room a topic) and a plain one. */
function routes(heartbeat = 15_000): TestRoute[] {
  const sse = { heartbeat, maxBufferedBytes: 64 * 1024 };
  return [
    { path: '/rooms/:room/events', sse: { ...sse, topics: (req) => [`room:${req.params.room}`] } },
    { path: '/news', sse },
  ];
}

describe.each(adapters)('metrics through OpenTelemetry ($name)', (adapter) => {
  const serve = async (hub: Hub, heartbeat?: number) =>
    teardown.track(await adapter.start({ hub, routes: routes(heartbeat) }));

  it('reports open connections by hub and route pattern, and lower once one ends', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'chat' });
    const { url } = await serve(hub);
    const first = teardown.track(await rawSse(`${url}/rooms/a/events`));
    teardown.track(await rawSse(`${url}/rooms/b/events`));
    teardown.track(await rawSse(`${url}/news`));
    await waitFor(() => hub.size === 3);

    let collected = await recorded.collect();
    expect(collected.sum('ssekit.connections', { 'ssekit.hub': 'chat', 'http.route': '/rooms/:room/events' })).toBe(2);
    expect(collected.sum('ssekit.connections', { 'ssekit.hub': 'chat', 'http.route': '/news' })).toBe(1);

    first.close();
    await waitFor(() => hub.size === 2);
    collected = await recorded.collect();
    expect(collected.sum('ssekit.connections', { 'ssekit.hub': 'chat', 'http.route': '/rooms/:room/events' })).toBe(1);
    expect(collected.sum('ssekit.connections.closed', { 'ssekit.hub': 'chat', 'ssekit.close.reason': 'client' })).toBe(
      1,
    );
  });

  it('counts the events delivered and the bytes sent, as the clients received them', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'feed' });
    const { url } = await serve(hub);
    const clients = [await rawSse(`${url}/news`), await rawSse(`${url}/rooms/a/events`)].map(teardown.track);
    await waitFor(() => hub.size === 2);
    for (let n = 0; n < 3; n++) await hub.broadcast({ n });
    await hub.publish('room:a', 'only a');
    await Promise.all([clients[0]?.waitForEvents(3), clients[1]?.waitForEvents(4)]);

    const collected = await recorded.collect();
    expect(collected.sum('ssekit.events.published', { 'ssekit.hub': 'feed' })).toBe(4);
    expect(collected.sum('ssekit.events.delivered', { 'ssekit.hub': 'feed' })).toBe(7);
    const received = clients.reduce((bytes, client) => bytes + Buffer.byteLength(client?.text ?? ''), 0);
    expect(collected.sum('ssekit.bytes.sent', { 'ssekit.hub': 'feed' })).toBe(received);
  });

  it('reports a client that stopped reading as a slow-consumer end', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'slow', history: { size: 4 } });
    const { url } = await serve(hub);
    teardown.track(await stalledClient(`${url}/news`));
    await waitFor(() => hub.size === 1);
    const chunk = 'x'.repeat(256 * 1024);
    // The kernel's loopback buffers take a few MB before Node's own buffer grows past maxBufferedBytes.
    for (let sent = 0; hub.size > 0 && sent < 400; sent++) {
      await hub.broadcast(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => hub.size === 0);

    const collected = await recorded.collect();
    expect(
      collected.sum('ssekit.connections.closed', { 'ssekit.hub': 'slow', 'ssekit.close.reason': 'slow-consumer' }),
    ).toBe(1);
  });

  it('counts a connection refused by maxConnections, by that limit', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'full', maxConnections: 1 });
    const { url } = await serve(hub);
    teardown.track(await rawSse(`${url}/news`));
    await waitFor(() => hub.size === 1);
    const refused = teardown.track(await rawSse(`${url}/news`));
    await refused.waitForEnd();

    const collected = await recorded.collect();
    expect(
      collected.sum('ssekit.connections.refused', { 'ssekit.hub': 'full', 'ssekit.refusal': 'max-connections' }),
    ).toBe(1);
    expect(
      collected.sum('ssekit.connections.refused', {
        'ssekit.hub': 'full',
        'ssekit.refusal': 'max-connections-per-client',
      }),
    ).toBe(0);
  });

  it('counts a replay with the events it replayed, and a reset by its reason', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'resume' });
    const { url } = await serve(hub);
    const first = await hub.broadcast('one');
    await hub.broadcast('two');
    await hub.broadcast('three');
    const resumed = teardown.track(await rawSse(`${url}/news`, { 'last-event-id': first }));
    await resumed.waitForEvents(2);
    const reset = teardown.track(await rawSse(`${url}/news`, { 'last-event-id': 'not-an-id-here' }));
    await reset.waitForEvents(1);

    const collected = await recorded.collect();
    expect(collected.sum('ssekit.replays', { 'ssekit.hub': 'resume', 'ssekit.replay.result': 'replayed' })).toBe(1);
    expect(collected.sum('ssekit.events.replayed', { 'ssekit.hub': 'resume' })).toBe(2);
    expect(collected.sum('ssekit.replays', { 'ssekit.hub': 'resume', 'ssekit.replay.result': 'reset' })).toBe(1);
    expect(collected.sum('ssekit.resets', { 'ssekit.hub': 'resume', 'ssekit.reset.reason': 'unknown-id' })).toBe(1);
  });

  it('counts heartbeats, and records how long the clock ticks take', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'beat' });
    const { url } = await serve(hub, 40);
    const client = teardown.track(await rawSse(`${url}/news`));
    await waitFor(() => client.comments.length >= 2);

    const collected = await recorded.collect();
    expect(collected.sum('ssekit.heartbeats', { 'ssekit.hub': 'beat' })).toBeGreaterThanOrEqual(2);
    expect(collected.histogram('ssekit.clock.tick.duration', {})?.count).toBeGreaterThan(0);
  });
});

describe('metrics of publishing', () => {
  it('records how long an asynchronous broker took to accept each event, by target type', async () => {
    const recorded = recorder();
    const memory = createMemoryBroker();
    const remote: Broker = {
      start: (deliver, onControl) => memory.start(deliver, onControl),
      // Answers later, as a broker over the network (Redis) does.
      publish: async (envelope) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return memory.publish(envelope);
      },
      replay: (id, filter) => memory.replay(id, filter),
      close: () => memory.close(),
    };
    const hub = hubFor(recorded, { name: 'pub', broker: remote });
    await hub.send('alice', 'hi');
    await hub.publish('news', 'hi');
    await hub.publish('news', 'again');
    await hub.broadcast('hi');

    const collected = await recorded.collect();
    const histogram = (type: string) =>
      collected.histogram('ssekit.publish.duration', { 'ssekit.hub': 'pub', 'ssekit.target.type': type });
    expect(histogram('client')?.count).toBe(1);
    expect(histogram('topic')?.count).toBe(2);
    expect(histogram('all')?.count).toBe(1);
    expect(histogram('all')?.sum).toBeGreaterThanOrEqual(0.004);
  });

  it('does not time a broker that answers within the call (the in-memory broker)', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'inline' });
    await hub.broadcast('hi');

    const collected = await recorded.collect();
    expect(collected.sum('ssekit.events.published', { 'ssekit.hub': 'inline' })).toBe(1);
    expect(collected.histogram('ssekit.publish.duration', { 'ssekit.hub': 'inline' })).toBeUndefined();
  });

  it('counts a publish the broker refused, with its duration and error type', async () => {
    const recorded = recorder();
    const memory = createMemoryBroker();
    const refusing: Broker = {
      start: (deliver, onControl) => memory.start(deliver, onControl),
      publish: () => Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'The broker is down.')),
      replay: (id, filter) => memory.replay(id, filter),
      close: () => memory.close(),
    };
    const hub = hubFor(recorded, { name: 'down', broker: refusing });
    await expect(hub.broadcast('lost')).rejects.toThrow('The broker is down.');

    const collected = await recorded.collect();
    expect(collected.sum('ssekit.publish.failures', { 'ssekit.hub': 'down' })).toBe(1);
    expect(
      collected.histogram('ssekit.publish.duration', {
        'ssekit.hub': 'down',
        'ssekit.target.type': 'all',
        'error.type': 'SSE_BROKER_UNAVAILABLE',
      })?.count,
    ).toBe(1);
  });
});

describe('the life of a hub’s metrics', () => {
  afterEach(() => metrics.disable());

  it('records through a meter named @ssekit/core, at the version of the package', async () => {
    const recorded = recorder();
    const hub = hubFor(recorded, { name: 'scope' });
    await hub.broadcast('hi');

    const { version } = JSON.parse(readFileSync(new URL('../../packages/core/package.json', import.meta.url), 'utf8'));
    expect((await recorded.collect()).version).toBe(version);
  });

  it('tells apart two hubs recording to one provider, and keeps reporting one when the other closes', async () => {
    const recorded = recorder();
    const orders = hubFor(recorded, { name: 'orders' });
    const chat = hubFor(recorded, { name: 'chat' });
    await orders.broadcast('paid');
    await chat.broadcast('hi');
    await chat.broadcast('there');

    let collected = await recorded.collect();
    expect(collected.sum('ssekit.events.published', { 'ssekit.hub': 'orders' })).toBe(1);
    expect(collected.sum('ssekit.events.published', { 'ssekit.hub': 'chat' })).toBe(2);

    await orders.close();
    await chat.broadcast('again');
    collected = await recorded.collect();
    expect(collected.sum('ssekit.events.published', { 'ssekit.hub': 'chat' })).toBe(3);
  });

  it('stops reporting a hub once it is closed', async () => {
    // Delta temporality shows what the callbacks report at each collection; the JS SDK's cumulative storage would
    // repeat a series' last value after its callback is gone (opentelemetry-js#2997).
    const recorded = recorder('delta');
    const hub = hubFor(recorded, { name: 'gone' });
    await hub.broadcast('hi');
    expect((await recorded.collect()).sum('ssekit.events.published', { 'ssekit.hub': 'gone' })).toBe(1);

    await hub.close();
    expect((await recorded.collect()).pointsWith({ 'ssekit.hub': 'gone' })).toEqual([]);
  });

  it('records nothing with metrics: false, even with an SDK registered globally', async () => {
    const recorded = recorder();
    metrics.setGlobalMeterProvider(recorded.provider);
    const hub = createHub({ name: 'silent', metrics: false });
    teardown.defer(() => hub.close());
    await hub.broadcast('hi');

    expect((await recorded.collect()).pointsWith({ 'ssekit.hub': 'silent' })).toEqual([]);
  });

  it('records to the global meter provider, even one registered after the hub was created', async () => {
    const hub = createHub({ name: 'late' });
    teardown.defer(() => hub.close());
    const recorded = recorder();
    metrics.setGlobalMeterProvider(recorded.provider);
    const { url } = teardown.track(await express5Adapter.start({ hub, routes: routes() }));
    teardown.track(openEventSource(`${url}/news`));
    await waitFor(() => hub.size === 1);

    const collected = await recorded.collect();
    expect(collected.sum('ssekit.connections', { 'ssekit.hub': 'late', 'http.route': '/news' })).toBe(1);
  });
});
