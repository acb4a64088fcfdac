import type { Hub } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { openEventSource, type RecordingEventSource, rawSse } from '../support/clients.js';
import {
  LOG_MODES,
  redisCommand,
  redisForSuite,
  redisRequirement,
  startBalancer,
  startCluster,
} from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';

const requirement = redisRequirement();

describe.skipIf(requirement.skip)('Redis broker: Last-Event-ID resume on any instance', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  function messages(recorder: RecordingEventSource): string[] {
    return recorder.events.filter((e) => e.type === 'message').map((e) => e.data);
  }

  /** The data grouped by whom it was sent to (`live-t` → `t`; `end` is a broadcast), each group in arrival order. */
  function byTarget(data: string[]): Record<string, string[]> {
    const groups: Record<string, string[]> = {};
    for (const d of data) {
      const target = d === 'end' ? 'all' : d.slice(d.lastIndexOf('-') + 1);
      (groups[target] ??= []).push(d);
    }
    return groups;
  }

  /** Publishes one event of each kind; returns the data of those a connection of `alice` on topic `t` receives. */
  async function publishMix(hub: Hub, tag: string): Promise<string[]> {
    await hub.broadcast(`${tag}-all`);
    await hub.send('alice', `${tag}-alice`);
    await hub.send('bob', `${tag}-bob`);
    await hub.publish('t', `${tag}-t`);
    await hub.publish('u', `${tag}-u`);
    return [`${tag}-all`, `${tag}-alice`, `${tag}-t`];
  }

  it.each(LOG_MODES)(
    '$mode: a client resumes on another instance after the first shuts down: no gap, no duplicate',
    async ({ mode, options }) => {
      const cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], options));
      const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
      let route: string | Promise<string> = a.url;
      const balancer = teardown.track(await startBalancer(() => route));
      const client = teardown.track(
        openEventSource(`${balancer.url}/events?client=alice&topics=t`, { eventTypes: ['ssekit-reset'] }),
      );
      await client.waitForOpen();

      const expected = await publishMix(b.hub, 'live');
      await client.waitForEvents(expected.length);

      // Instance a goes away. The client's reconnect waits at the balancer until more events are in the stream, then
      // lands on instance b with the id of the last event it got from a.
      let reroute: (url: string) => void = () => undefined;
      route = new Promise<string>((resolve) => {
        reroute = resolve;
      });
      await a.close(50);
      expected.push(...(await publishMix(b.hub, 'missed')));
      reroute(b.url);
      await client.waitForOpen(2);
      expected.push(...(await publishMix(b.hub, 'after')));
      await client.waitForEvents(expected.length);
      await b.hub.broadcast('end');
      await client.waitForEvents(expected.length + 1);

      if (mode === 'single stream') expect(messages(client)).toEqual([...expected, 'end']);
      // Partitions keep order within each (docs/scaling.md), none between them: broadcasts, alice's and t's apart.
      else expect(byTarget(messages(client))).toEqual(byTarget([...expected, 'end']));
      expect(client.events.some((e) => e.type === 'ssekit-reset')).toBe(false);
      expect(b.hub.stats().replayed).toBe(3);
      expect(balancer.routed.get(b.url)).toBe(1);
    },
  );

  it('replays only what the resuming connection would have received: its client id, its topics, broadcasts', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b']));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const since = await a.hub.broadcast('before');
    const expected = await publishMix(a.hub, 'x');

    const raw = teardown.track(await rawSse(`${b.url}/events?client=alice&topics=t`, { 'last-event-id': since }));
    await raw.waitForEvents(expected.length);
    await a.hub.broadcast('live');
    await raw.waitForEvents(expected.length + 1);

    expect(raw.events.map((e) => e.data)).toEqual([...expected, 'live']);
    expect(raw.events.every((e) => /^\d+-\d+$/.test(e.id ?? ''))).toBe(true);
  });

  it('events published during a long replay arrive once, after the replayed ones, in order', async () => {
    // Small pages, so the replay takes many round trips while instance a keeps publishing.
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], { batchSize: 7 }));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const since = await a.hub.publish('t', 'p0');
    const expected: string[] = [];
    for (let i = 1; i < 100; i++) {
      await a.hub.publish('t', `p${i}`);
      expected.push(`p${i}`);
    }

    const resumed = rawSse(`${b.url}/events?topics=t`, { 'last-event-id': since });
    for (let i = 100; i < 140; i++) {
      await a.hub.publish('t', `p${i}`);
      expected.push(`p${i}`);
    }
    const raw = teardown.track(await resumed);
    await raw.waitForEvents(expected.length, 10_000);
    await a.hub.broadcast('end');
    await raw.waitForEvents(expected.length + 1);

    expect(raw.events.map((e) => e.data)).toEqual([...expected, 'end']);
    expect(b.hub.stats().replayed).toBeGreaterThanOrEqual(99);
  });

  it('a Last-Event-ID trimmed away from history gets the reset event (expired), then live events', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { maxLength: 10 }));
    const hub = (cluster.instances[0] as (typeof cluster.instances)[0]).hub;
    const watcher = teardown.track(openEventSource(`${cluster.instances[0]?.url}/events`));
    await watcher.waitForOpen();
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push(await hub.broadcast(i));
    // `MAXLEN ~` trims whole blocks of 100 entries: the oldest ids are gone, the stream is far shorter.
    expect(Number(await redisCommand(redis.url, ['XLEN', cluster.key]))).toBeLessThan(150);
    await watcher.waitForEvents(250);

    const raw = teardown.track(
      await rawSse(`${cluster.instances[0]?.url}/events`, { 'last-event-id': ids[0] as string }),
    );
    await raw.waitForEvents(1);
    expect(raw.events[0]).toMatchObject({
      event: 'ssekit-reset',
      id: ids[249],
      data: JSON.stringify({ reason: 'expired', lastEventId: ids[0] }),
    });
    await hub.broadcast('next');
    await raw.waitForEvents(2);
    expect(raw.events[1]?.data).toBe('next');
  });

  it('an id this stream never issued gets the reset event (unknown-id)', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a']));
    const instance = cluster.instances[0] as (typeof cluster.instances)[0];
    const head = await instance.hub.broadcast('only');
    const watcher = teardown.track(openEventSource(`${instance.url}/events`));
    await watcher.waitForOpen();
    await instance.hub.broadcast('seen');
    await watcher.waitForEvents(1);

    for (const foreign of ['99999999999999-0', 'a1b2c3-7', '42']) {
      const raw = teardown.track(await rawSse(`${instance.url}/events`, { 'last-event-id': foreign }));
      await raw.waitForEvents(1);
      expect(raw.events[0]?.event).toBe('ssekit-reset');
      expect(JSON.parse(raw.events[0]?.data ?? '{}')).toEqual({ reason: 'unknown-id', lastEventId: foreign });
      expect(raw.events[0]?.id).not.toBe(head);
    }
  });
});
