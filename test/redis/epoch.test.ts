import { describe, expect, it } from 'vitest';
import { openEventSource, type RecordingEventSource, rawSse } from '../support/clients.js';
import {
  type Cluster,
  redisCommand,
  redisForSuite,
  restartableRedisRequirement,
  startCluster,
  uniqueKey,
} from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';

// These tests flush the whole database, so they need a redis-server of their own (not REDIS_URL).
const requirement = restartableRedisRequirement();

describe.skipIf(requirement.skip)('Redis broker: a stream emptied or recreated without a reconnect', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  async function connect(url: string): Promise<RecordingEventSource> {
    const client = teardown.track(openEventSource(`${url}/events`, { eventTypes: ['ssekit-reset'] }));
    await client.waitForOpen();
    return client;
  }

  function seen(client: RecordingEventSource): string[] {
    return client.events.map((e) => `${e.type}:${e.data}`);
  }

  /**
   * Moves the stream's position an hour ahead of Redis' clock (as after a clock step, or a restore from a host whose
   * clock was ahead) and publishes one event there (after a first one, `start`, that creates the stream): every
   * reader's position is then that far ahead.
   */
  async function positionAheadOfClock(cluster: Cluster): Promise<{ ms: string; id: string }> {
    const hub = (cluster.instances[0] as Cluster['instances'][0]).hub;
    await hub.broadcast('start');
    const ms = String(Date.now() + 3_600_000);
    await redisCommand(redis.url, ['XSETID', cluster.key, `${ms}-0`]);
    const id = await hub.broadcast('ahead');
    expect(id).toBe(`${ms}-1`);
    return { ms, id };
  }

  it('the stream deleted and the id at the readers position issued again: a reset at once, and no event lost', async () => {
    // A blocking read of a minute: only the new epoch can wake the readers within the bounds below.
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], { blockTimeout: 60_000 }));
    const [a, b] = cluster.instances as [Cluster['instances'][0], Cluster['instances'][0]];
    const onA = await connect(a.url);
    const onB = await connect(b.url);
    const { ms, id: position } = await positionAheadOfClock(cluster);
    await onA.waitForEvents(2);
    await onB.waitForEvents(2);

    // The stream is deleted, and its successor starts just below the readers' position, so that Redis issues that
    // very id again (as it does for a flush within the same millisecond): the next entry names it as predecessor.
    await redisCommand(redis.url, ['DEL', cluster.key]);
    await redisCommand(redis.url, ['XADD', cluster.key, 'MAXLEN', '0', `${ms}-0`, 'x', 'placeholder']);
    expect(await b.hub.broadcast('reissued')).toBe(position);
    await b.hub.broadcast('next');

    for (const client of [onA, onB]) {
      await client.waitForEvents(5, 3000);
      expect(seen(client)).toEqual([
        'message:start',
        'message:ahead',
        'ssekit-reset:{"reason":"expired"}',
        'message:reissued',
        'message:next',
      ]);
    }
    await cluster.logger.waitFor('emptied or recreated');
  });

  it('FLUSHALL with the readers ahead of the new ids: a reset at once, then the new events, no stall', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], { blockTimeout: 60_000 }));
    const [a, b] = cluster.instances as [Cluster['instances'][0], Cluster['instances'][0]];
    const onA = await connect(a.url);
    const onB = await connect(b.url);
    const { id: position } = await positionAheadOfClock(cluster);
    await onA.waitForEvents(2);
    await onB.waitForEvents(2);

    await redisCommand(redis.url, ['FLUSHALL']);
    const first = await b.hub.broadcast('after flush');
    // Ids start again from Redis' clock, an hour below what every reader delivered.
    expect(Number(first.split('-')[0])).toBeLessThan(Number(position.split('-')[0]));
    await a.hub.broadcast('goes on');

    for (const client of [onA, onB]) {
      await client.waitForEvents(5, 3000);
      expect(seen(client)).toEqual([
        'message:start',
        'message:ahead',
        'ssekit-reset:{"reason":"expired"}',
        'message:after flush',
        'message:goes on',
      ]);
      expect(client.opens).toBe(1);
    }
  });

  it("a stream recreated while Redis' clock is behind the old epoch (a clock step) is noticed within blockTimeout", async () => {
    // The first epoch is made to lie far in the future, as if Redis' clock had been ahead when the stream began.
    const key = uniqueKey('clock-step');
    const future = String(BigInt(Date.now()) * 1000n + 3_600_000_000_000n);
    await redisCommand(redis.url, ['XADD', `${key}:epoch`, `${future}-0`, 'g', future]);
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { key, blockTimeout: 300 }));
    const instance = cluster.instances[0] as Cluster['instances'][0];
    const client = await connect(instance.url);
    await positionAheadOfClock(cluster);
    await client.waitForEvents(2);

    // After the flush the new epoch (Redis' time now) is below the old one, and the new ids are below the readers'
    // position: no blocking read can wake on either. The reader's idle check must find the new epoch.
    await redisCommand(redis.url, ['FLUSHALL']);
    await instance.hub.broadcast('after flush');
    await client.waitForEvents(4, 3000);
    expect(seen(client)).toEqual([
      'message:start',
      'message:ahead',
      'ssekit-reset:{"reason":"expired"}',
      'message:after flush',
    ]);
  });

  it('a Last-Event-ID that both the old and the new stream issued gets the reset event, not a wrong replay', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { blockTimeout: 60_000 }));
    const instance = cluster.instances[0] as Cluster['instances'][0];
    const watcher = await connect(instance.url);
    const { ms, id: position } = await positionAheadOfClock(cluster);
    await watcher.waitForEvents(2);

    await redisCommand(redis.url, ['DEL', cluster.key]);
    await redisCommand(redis.url, ['XADD', cluster.key, 'MAXLEN', '0', `${ms}-0`, 'x', 'placeholder']);
    expect(await instance.hub.broadcast('reissued')).toBe(position);
    await instance.hub.broadcast('next');
    await watcher.waitForEvents(5, 3000);

    // A client that was away during the deletion comes back with the id it had from the old stream.
    const raw = teardown.track(await rawSse(`${instance.url}/events`, { 'last-event-id': position }));
    await raw.waitForEvents(1);
    expect(raw.events[0]?.event).toBe('ssekit-reset');
    expect(JSON.parse(raw.events[0]?.data ?? '{}')).toMatchObject({ reason: 'unknown-id' });
  });
});
