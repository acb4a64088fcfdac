import { createHub } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { openEventSource, type RecordingEventSource } from '../support/clients.js';
import { recordingLogger } from '../support/logger.js';
import {
  type Cluster,
  killClients,
  redisCommand,
  redisForSuite,
  restartableRedisRequirement,
  startCluster,
  startFlakyLink,
  startInstance,
  uniqueKey,
} from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep, waitFor } from '../support/wait.js';

const requirement = restartableRedisRequirement();

/** Rejects when `promise` takes longer than `ms`: a liveness bound (a hang), far above what the step needs. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(requirement.skip)('Redis broker: Redis failures', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  async function connect(url: string, query = ''): Promise<RecordingEventSource> {
    const client = openEventSource(`${url}/events?${query}`, { eventTypes: ['ssekit-reset'] });
    teardown.track(client);
    await client.waitForOpen();
    return client;
  }

  function connected(c: Cluster): boolean {
    return c.instances.every((_, i) => c.broker(i).connected);
  }

  it('publishing while Redis is down rejects with SSE_BROKER_UNAVAILABLE, and works again after', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a']));
    const hub = cluster.instances[0]?.hub;
    await redis.kill();
    try {
      await waitFor(() => !cluster.broker(0).connected, 'the broker to notice', 10_000);
      await expect(hub?.broadcast('lost?')).rejects.toMatchObject({
        code: 'SSE_BROKER_UNAVAILABLE',
        statusCode: 503,
        // Not reachable (nothing sent), or not confirmed (sent on a socket that was dying): never a silent loss.
        message: expect.stringMatching(/Redis (is not reachable|did not confirm)/),
      });
    } finally {
      await redis.restart();
    }
    await waitFor(() => connected(cluster), 'the broker to reconnect', 15_000);
    await expect(hub?.broadcast('back')).resolves.toMatch(/^\d+-\d+$/);
  });

  it('Redis killed and restarted mid-stream: connections stay open, and delivery resumes after a reset', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b']));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const onA = await connect(a.url, 'client=alice');
    const onB = await connect(b.url);
    await a.hub.broadcast('before');
    await onA.waitForEvents(1);
    await onB.waitForEvents(1);

    await redis.kill();
    try {
      await waitFor(() => !connected(cluster), 'the brokers to notice', 10_000);
      await expect(b.hub.broadcast('during')).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
      await expect(a.hub.send('alice', 'during')).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
    } finally {
      await redis.restart();
    }
    await waitFor(() => connected(cluster), 'both brokers to reconnect', 15_000);
    await b.hub.broadcast('after');
    await a.hub.send('alice', 'for alice');
    await onA.waitForEvents(4, 10_000);
    await onB.waitForEvents(3, 10_000);

    // Redis ran without persistence: the history is gone, so every client is told once, then gets what follows.
    const seen = (client: RecordingEventSource) => client.events.map((e) => `${e.type}:${e.data}`);
    expect(seen(onA)).toEqual([
      'message:before',
      'ssekit-reset:{"reason":"expired"}',
      'message:after',
      'message:for alice',
    ]);
    expect(seen(onB)).toEqual(['message:before', 'ssekit-reset:{"reason":"expired"}', 'message:after']);
    for (const client of [onA, onB]) {
      expect(client.opens).toBe(1);
      expect(client.errors).toEqual([]);
    }
    expect(a.hub.stats().closed.error).toBe(0);
    await cluster.logger.waitFor('reader connection');
    expect(cluster.logger.lines.some((line) => line.message.includes('is back after'))).toBe(true);
  });

  it('an instance whose reader is cut off catches up from the stream: every event once, in order, no reset', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b']));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const onA = await connect(a.url);
    const onB = await connect(b.url);
    const expected: string[] = [];
    for (let round = 0; round < 3; round++) {
      // Only the blocking readers are cut; the publishing connections stay up, so events keep being stored.
      await waitFor(() => connected(cluster), 'the readers to be back', 10_000);
      expect(await killClients(redis.url, 'ssekit-reader')).toBeGreaterThanOrEqual(2);
      for (let i = 0; i < 10; i++) {
        const data = `r${round}-${i}`;
        await a.hub.broadcast(data);
        expected.push(data);
      }
    }
    await onA.waitForEvents(expected.length, 15_000);
    await onB.waitForEvents(expected.length, 15_000);
    await b.hub.broadcast('end');
    await onA.waitForEvents(expected.length + 1);
    await onB.waitForEvents(expected.length + 1);

    for (const client of [onA, onB]) {
      expect(client.events.map((e) => e.data)).toEqual([...expected, 'end']);
      expect(client.opens).toBe(1);
    }
    expect(cluster.logger.lines.some((line) => line.message.includes('missed events'))).toBe(false);
    expect(cluster.logger.lines.some((line) => /reader connection .* is down/.test(line.message))).toBe(true);
  });

  it('history lost under running instances (the stream deleted): each client gets one reset, then the events', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b']));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const onA = await connect(a.url);
    const onB = await connect(b.url);
    await a.hub.broadcast('kept');
    await onA.waitForEvents(1);
    await onB.waitForEvents(1);

    // No disconnection: the readers find out from the next entry, whose predecessor is not what they delivered.
    await redisCommand(redis.url, ['DEL', cluster.key]);
    await b.hub.broadcast('new history');
    await b.hub.broadcast('goes on');
    await onA.waitForEvents(4);
    await onB.waitForEvents(4);

    for (const client of [onA, onB]) {
      expect(client.events.map((e) => `${e.type}:${e.data}`)).toEqual([
        'message:kept',
        'ssekit-reset:{"reason":"expired"}',
        'message:new history',
        'message:goes on',
      ]);
    }
    await cluster.logger.waitFor('missed events');
  });

  it('a connection that goes silent without closing is replaced, and nothing is lost', async () => {
    const link = await startFlakyLink(redis.url);
    const logger = recordingLogger();
    const key = uniqueKey('silent');
    const options = { key, logger, blockTimeout: 200, commandTimeout: 300 };
    const broker = createRedisBroker({ url: link.url }, options);
    const hub = createHub({ broker, logger });
    const instance = await startInstance('silent', hub);
    // A second instance on a healthy link keeps publishing while the first is cut off.
    const healthy = createHub({ broker: createRedisBroker({ url: redis.url }, options), logger });
    try {
      await hub.ready();
      await healthy.ready();
      const client = await connect(instance.url);
      await healthy.broadcast('before');
      await client.waitForEvents(1);

      link.freeze();
      await expect(within(hub.broadcast('into the void'), 10_000, 'a publish on a silent link')).rejects.toMatchObject({
        code: 'SSE_BROKER_UNAVAILABLE',
      });
      await healthy.broadcast('while silent');
      await logger.waitFor('did not answer the reader connection');
      // Stay silent a while longer, so that reconnect attempts hit the silent link too and must give up on their own.
      await sleep(800);
      link.thaw();
      await waitFor(() => broker.connected, 'the broker to reconnect', 15_000);
      await healthy.broadcast('after');
      await client.waitForEvents(3, 10_000);

      // 'into the void' may or may not have reached Redis: its sender was told it was not confirmed.
      const data = client.events.map((e) => e.data).filter((d) => d !== 'into the void');
      expect(data).toEqual(['before', 'while silent', 'after']);
      expect(client.opens).toBe(1);
    } finally {
      await instance.close();
      await healthy.close();
      await link.close();
    }
  });

  it('a hub started while Redis is down starts working when Redis comes up', async () => {
    await redis.kill();
    const logger = recordingLogger();
    const broker = createRedisBroker({ url: redis.url }, { key: uniqueKey('late'), logger });
    const hub = createHub({ broker, logger });
    const instance = await startInstance('late', hub);
    try {
      await hub.ready();
      await logger.waitFor('failed to start');
      await expect(hub.broadcast('too early')).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
      await redis.restart();
      await waitFor(() => broker.connected, 'the broker to connect', 15_000);
      const client = await connect(instance.url);
      await hub.broadcast('hello');
      await client.waitForEvents(1);
      expect(client.events.map((e) => e.data)).toEqual(['hello']);
    } finally {
      if (!broker.connected) await redis.restart().catch(() => undefined);
      await instance.close();
    }
  });

  it('close() returns at once, while the reader is blocked and while Redis is down', async () => {
    // A read that blocks for a minute: a close that waited for it would hang far beyond the bound below.
    const logger = recordingLogger();
    const blocked = createHub({
      broker: createRedisBroker({ url: redis.url }, { key: uniqueKey('close'), blockTimeout: 60_000, logger }),
      logger,
    });
    await blocked.ready();
    await sleep(20);
    await within(blocked.close(), 3000, 'close() during a blocking read');

    const broker = createRedisBroker(
      { url: redis.url },
      { key: uniqueKey('close-down'), blockTimeout: 60_000, logger },
    );
    const orphaned = createHub({ broker, logger });
    await orphaned.ready();
    await redis.kill();
    try {
      await waitFor(() => !broker.connected, 'the broker to notice', 10_000);
      await within(orphaned.close(), 3000, 'close() while Redis is down');
    } finally {
      await redis.restart();
    }
  });

  it('closed brokers leave no timer, socket or listener behind', async () => {
    const count = () => {
      const resources = process.getActiveResourcesInfo();
      return resources.filter((r) => r === 'Timeout' || r === 'TCPSocketWrap').length;
    };
    const before = count();
    const logger = recordingLogger();
    for (let i = 0; i < 3; i++) {
      const hub = createHub({
        broker: createRedisBroker({ url: redis.url }, { key: uniqueKey('leak'), logger }),
        logger,
      });
      await hub.ready();
      await hub.broadcast(i);
      await hub.close();
    }
    await waitFor(() => count() <= before, `active timers and sockets back to ${before} (now ${count()})`, 10_000);
  });
});
