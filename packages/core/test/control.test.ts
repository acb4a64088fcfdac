import { createHub, createMemoryBroker, type Hub, SseError, SseRangeError, SseTypeError } from '@ssekit/core';
import type { Broker, ControlMessage } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { sharedMemoryBrokers } from '../../../test/support/brokers.js';
import { type RawSse, rawSse } from '../../../test/support/clients.js';
import { checkSseError, expectSseError } from '../../../test/support/errors.js';
import { client, counter, hub, quiet, start, teardown } from '../../../test/support/hub-harness.js';
import { type StreamServer, serveHub } from '../../../test/support/stream-server.js';
import { waitFor } from '../../../test/support/wait.js';

describe('disconnect across instances', () => {
  // A second instance: its own hub and server, on a broker shared with the first (see `sharedMemoryBrokers`).
  let other: { hub: Hub; server: StreamServer } | undefined;

  async function twoInstances() {
    const [brokerA, brokerB] = sharedMemoryBrokers(2) as [Broker, Broker];
    const a = await start({ broker: brokerA });
    const otherHub = createHub({ broker: brokerB, logger: quiet });
    const otherServer = await serveHub(otherHub);
    other = { hub: otherHub, server: otherServer };
    teardown.defer(async () => {
      await otherHub.close();
      await otherServer.close();
      other = undefined;
    });
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
    // @ts-expect-error a negative retry is a type error; this checks the run-time guard too
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
