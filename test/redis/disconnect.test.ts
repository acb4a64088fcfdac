import { createHub, SseError } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { type RawSse, rawSse } from '../support/clients.js';
import { checkSseError } from '../support/errors.js';
import { recordingLogger } from '../support/logger.js';
import {
  type Cluster,
  LOG_MODES,
  redisCommand,
  redisForSuite,
  redisRequirement,
  startCluster,
  startFlakyLink,
  startInstance,
  uniqueKey,
} from '../support/redis.js';
import { freePort } from '../support/server.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const requirement = redisRequirement();

describe.skipIf(requirement.skip)('Redis broker: disconnect across instances', () => {
  const redis = redisForSuite();
  let cluster: Cluster | undefined;
  const teardown = closeAfterEach();

  async function tab(url: string, clientId: string, headers: Record<string, string> = {}): Promise<RawSse> {
    const raw = await rawSse(`${url}/events?client=${clientId}`, headers);
    teardown.track(raw);
    return raw;
  }

  function instances(): [Cluster['instances'][0], Cluster['instances'][0]] {
    return (cluster as Cluster).instances as [Cluster['instances'][0], Cluster['instances'][0]];
  }

  it.each(LOG_MODES)(
    "$mode: disconnect() on one instance ends the client's tab on another, with reason server and the retry hint",
    async ({ options }) => {
      cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], options));
      const [a, b] = instances();
      const reasons: string[] = [];
      b.hub.on('disconnect', (stream, reason) => reasons.push(`${stream.clientId}: ${reason}`));
      const daveOnA = await tab(a.url, 'dave');
      const daveOnB = await tab(b.url, 'dave');
      const erinOnB = await tab(b.url, 'erin');
      await waitFor(() => a.hub.size === 1 && b.hub.size === 2, 'both instances to register the tabs');

      expect(a.hub.disconnect('dave', { retry: 4000 })).toBe(1);
      await daveOnA.waitForEnd();
      await daveOnB.waitForEnd(10_000);

      expect(daveOnB.text).toBe('retry: 4000\n\n');
      expect(reasons).toEqual(['dave: server']);
      await a.hub.send('erin', 'still here');
      await erinOnB.waitForEvents(1);
      expect(erinOnB.ended).toBe(false);
      expect(a.hub.stats()).toMatchObject({ published: 1, disconnectsSent: 1, disconnectsReceived: 0 });
      expect(b.hub.stats()).toMatchObject({ published: 0, disconnectsSent: 0, disconnectsReceived: 1 });
      expect(b.hub.stats().closed.server).toBe(1);
      expect(cluster.logger.lines).toEqual([]);
    },
  );

  it('a tab that resumes after the disconnect gets the events it missed, and never the disconnect itself', async () => {
    cluster = teardown.track(await startCluster(redis.url, ['a', 'b']));
    const [a, b] = instances();
    const frankOnA = await tab(a.url, 'frank');
    const frankOnB = await tab(b.url, 'frank');
    await waitFor(() => a.hub.size === 1 && b.hub.size === 1, 'both instances to register the tabs');
    const before = await b.hub.send('frank', 'before');
    await Promise.all([frankOnA.waitForEvents(1), frankOnB.waitForEvents(1)]);

    await expect(a.hub.disconnectEverywhere('frank')).resolves.toBe(1);
    await frankOnB.waitForEnd(10_000);
    const after = await b.hub.send('frank', 'after');

    // The disconnect is an entry between the two events (a link of the chain, in the log's epoch), with no data field.
    const entries = (await redisCommand(redis.url, ['XRANGE', cluster.key, before, after])) as [string, string[]][];
    expect(entries.map(([id]) => id).filter((id) => id !== before && id !== after)).toHaveLength(1);
    const fields = (entries[1]?.[1] ?? []).filter((_, i) => i % 2 === 0);
    expect(fields).toEqual(['p', 'g', 'to', 'x', 'o']);

    // The tab of instance a comes back on instance b with its cursor: the id of the last event it received.
    const resumed = await tab(b.url, 'frank', { 'last-event-id': frankOnA.events[0]?.id ?? '' });
    await resumed.waitForEvents(1, 10_000);
    const live = await a.hub.send('frank', 'live');
    await resumed.waitForEvents(2, 10_000);
    expect(resumed.events.map((e) => [e.id, e.event, e.data])).toEqual([
      [after, undefined, 'after'],
      [live, undefined, 'live'],
    ]);
    expect(b.hub.stats()).toMatchObject({ replayed: 1, resets: 0 });
    expect(cluster.logger.lines).toEqual([]);
  });

  it('a reset that points a client at the entry of a disconnect is a cursor it can resume from', async () => {
    cluster = teardown.track(await startCluster(redis.url, ['a', 'b']));
    const [a, b] = instances();
    const ginaOnB = await tab(b.url, 'gina');
    await waitFor(() => b.hub.size === 1, 'instance b to register the tab');
    a.hub.disconnect('gina');
    await ginaOnB.waitForEnd(10_000);

    // Instance b delivered the disconnect last, so it is the newest id b can point a reset at.
    const [[newest]] = (await redisCommand(redis.url, ['XREVRANGE', cluster.key, '+', '-', 'COUNT', '1'])) as [
      [string],
    ];
    const lost = await tab(b.url, 'gina', { 'last-event-id': 'not-from-this-stream' });
    await lost.waitForEvents(1);
    expect(lost.events[0]).toMatchObject({ event: 'ssekit-reset', id: newest });

    const back = await tab(b.url, 'gina', { 'last-event-id': newest });
    await waitFor(() => b.hub.size === 2, 'the resumed tab to be registered');
    const next = await a.hub.send('gina', 'next');
    await back.waitForEvents(1, 10_000);
    expect(back.events.map((e) => [e.id, e.data])).toEqual([[next, 'next']]);
    expect(b.hub.stats().resets).toBe(1);
  });

  it('an instance cut off from Redis ends the tab when it catches up, without a reset', async () => {
    cluster = teardown.track(await startCluster(redis.url, ['a']));
    const [a] = instances();
    const link = await startFlakyLink(redis.url);
    const broker = createRedisBroker(
      { url: link.url },
      { key: cluster.key, logger: cluster.logger, blockTimeout: 200, commandTimeout: 300 },
    );
    const cutOff = await startInstance('cut-off', createHub({ broker, logger: cluster.logger }));
    teardown.track(link);
    teardown.track(cutOff);
    await cutOff.hub.ready();
    const hannahOnB = await tab(cutOff.url, 'hannah');
    const ivanOnB = await tab(cutOff.url, 'ivan');
    await waitFor(() => cutOff.hub.size === 2, 'the cut-off instance to register the tabs');

    link.freeze();
    await a.hub.disconnectEverywhere('hannah', { retry: 2500 });
    await a.hub.send('ivan', 'after the disconnect');
    // Redis has the request; the cut-off instance has not read it.
    expect(hannahOnB.ended).toBe(false);
    link.thaw();

    await hannahOnB.waitForEnd(15_000);
    expect(hannahOnB.text).toBe('retry: 2500\n\n');
    await ivanOnB.waitForEvents(1, 15_000);
    expect(ivanOnB.events.map((e) => e.data)).toEqual(['after the disconnect']);
    expect(cutOff.hub.stats()).toMatchObject({ resets: 0, disconnectsReceived: 1 });
    expect(cluster.logger.lines.filter((line) => line.message.includes('missed events'))).toEqual([]);
  });

  it('while Redis is unreachable, disconnectEverywhere() rejects with SSE_BROKER_UNAVAILABLE; local tabs end anyway', async () => {
    const logger = recordingLogger();
    const broker = createRedisBroker(
      { url: `redis://127.0.0.1:${await freePort()}` },
      {
        key: uniqueKey('down'),
        logger,
      },
    );
    const instance = await startInstance('down', createHub({ broker, logger }));
    teardown.track(instance);
    await instance.hub.ready();
    const jane = await tab(instance.url, 'jane');
    await waitFor(() => instance.hub.size === 1, 'the hub to register the tab');

    const failure = await instance.hub.disconnectEverywhere('jane').catch((error: unknown) => error);
    checkSseError(failure, {
      base: Error,
      type: SseError,
      code: 'SSE_BROKER_UNAVAILABLE',
      message: /^Redis is not reachable/,
      statusCode: 503,
    });
    await jane.waitForEnd();

    // The synchronous form reports the failure through the logger rather than an unhandled rejection.
    const again = await tab(instance.url, 'jane');
    await waitFor(() => instance.hub.size === 1, 'the hub to register the tab');
    expect(instance.hub.disconnect('jane')).toBe(1);
    await again.waitForEnd();
    await logger.waitFor('disconnect("jane") ended 1 connection(s) here but could not reach the other instances');
  });
});
