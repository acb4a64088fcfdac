import { createHub } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { partitionKeys, partitionOf } from '../../packages/redis/src/partition.js';
import { openEventSource, rawSse } from '../support/clients.js';
import { broadcastThroughFailover } from '../support/failover.js';
import { recordingLogger } from '../support/logger.js';
import { type Instance, redisRequirement, startInstance, uniqueKey } from '../support/redis.js';
import { redisClusterForSuite } from '../support/redis-cluster.js';
import { closeAfterEach } from '../support/teardown.js';

const requirement = redisRequirement();
const K = 6;

describe.skipIf(requirement.skip)('Redis broker on a Redis Cluster (3 masters, 3 replicas)', () => {
  const cluster = redisClusterForSuite();
  const teardown = closeAfterEach();

  async function instances(key: string, names: string[]): Promise<Instance[]> {
    const logger = recordingLogger();
    const started: Instance[] = [];
    for (const name of names) {
      const broker = createRedisBroker(
        { cluster: { rootNodes: cluster().urls.map((url) => ({ url })) } },
        { key, partitions: K, logger, commandTimeout: 2000, blockTimeout: 1000 },
      );
      const hub = createHub({ broker, logger });
      await hub.ready();
      started.push(teardown.track(await startInstance(name, hub)));
    }
    return started;
  }

  it('fan-out and resume across two hubs: no gap, no duplicate', { timeout: 60_000 }, async () => {
    const [a, b] = (await instances(uniqueKey('cluster'), ['a', 'b'])) as [Instance, Instance];
    const query = 'client=alice&topics=t1,t2,t3';
    const first = teardown.track(openEventSource(`${a.url}/events?${query}`));
    await first.waitForOpen();
    const expected: string[] = [];
    for (const tag of ['live', 'missed']) {
      if (tag === 'missed') first.close();
      for (const topic of ['t1', 't2', 't3']) {
        await b.hub.publish(topic, `${tag}-${topic}`);
        expected.push(`${tag}-${topic}`);
      }
      await b.hub.send('alice', `${tag}-alice`);
      await b.hub.broadcast(`${tag}-all`);
      expected.push(`${tag}-alice`, `${tag}-all`);
      if (tag === 'live') await first.waitForEvents(5);
    }
    const resumed = teardown.track(
      await rawSse(`${b.url}/events?${query}`, { 'last-event-id': first.events.at(-1)?.lastEventId as string }),
    );
    await resumed.waitForEvents(5);
    expect([...first.events.map((e) => e.data), ...resumed.events.map((e) => e.data)].sort()).toEqual(
      [...expected].sort(),
    );
    expect(resumed.events.some((e) => e.event === 'ssekit-reset')).toBe(false);
  });

  it('a master killed during broadcasts: its replica takes over, nothing crashes, nothing is lost silently', {
    timeout: 90_000,
  }, async () => {
    const key = uniqueKey('failover');
    const [a, b] = (await instances(key, ['a', 'b'])) as [Instance, Instance];
    const client = teardown.track(openEventSource(`${b.url}/events`, { eventTypes: ['ssekit-reset'] }));
    await client.waitForOpen();
    // The master that holds the broadcast partition.
    const victim = await cluster().masterOf(partitionKeys(key, partitionOf({ type: 'all' }, K), K).stream);
    await broadcastThroughFailover(a.hub, client, {
      kill: () => cluster().kill(victim),
      recovered: async () => {
        await cluster().waitUntilOk(30_000);
      },
    });
  });
});
