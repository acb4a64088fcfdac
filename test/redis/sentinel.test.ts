import { createHub } from '@ssekit/core';
import { createRedisBroker, type RedisSentinelConnection } from '@ssekit/redis';
import { describe, it } from 'vitest';
import { openEventSource } from '../support/clients.js';
import { broadcastThroughFailover } from '../support/failover.js';
import { recordingLogger } from '../support/logger.js';
import { type Instance, redisRequirement, startInstance, uniqueKey } from '../support/redis.js';
import { type RedisSentinelServers, redisSentinelForSuite, SENTINEL_MASTER } from '../support/redis-sentinel.js';
import { brokerStreamsHarness } from '../support/redis-stream-log.js';
import { type StreamLogHarness, streamLogContract } from '../support/stream-log-contract.js';
import { closeAfterEach } from '../support/teardown.js';

const requirement = redisRequirement();

function connection(servers: RedisSentinelServers): { sentinel: RedisSentinelConnection } {
  return { sentinel: { name: SENTINEL_MASTER, sentinelRootNodes: servers.sentinelUrls.map((url) => ({ url })) } };
}

/** Brokers on one broker key, through the sentinels. */
function sentinelHarness(servers: RedisSentinelServers): StreamLogHarness {
  // Leases of a second: a round trip through a connection the sentinels handed out can take a few hundred ms on a
  // loaded machine, and a 300 ms producer lease would lapse between two renewals.
  return brokerStreamsHarness(connection(servers), { lease: 1000, tombstone: 300 }, () => servers.master());
}

describe.skipIf(requirement.skip)('Redis broker through Redis Sentinel (a master, a replica, 3 sentinels)', () => {
  const sentinel = redisSentinelForSuite();
  const teardown = closeAfterEach();

  // `kill: false`: a lapsed lease is Redis' own expiry, covered against one server in stream-log.test.ts.
  streamLogContract('Redis Sentinel', async () => sentinelHarness(sentinel()), { kill: false });

  async function instances(key: string, names: string[]): Promise<Instance[]> {
    const logger = recordingLogger();
    const started: Instance[] = [];
    for (const name of names) {
      const broker = createRedisBroker(connection(sentinel()), {
        key,
        logger,
        commandTimeout: 2000,
        blockTimeout: 1000,
      });
      const hub = createHub({ broker, logger });
      await hub.ready();
      started.push(teardown.track(await startInstance(name, hub)));
    }
    return started;
  }

  // Last: it leaves the master without a replica.
  it('the master killed during broadcasts: the brokers follow the new master, nothing crashes, nothing is lost silently', {
    timeout: 90_000,
  }, async () => {
    const [a, b] = (await instances(uniqueKey('sentinel'), ['a', 'b'])) as [Instance, Instance];
    const client = teardown.track(openEventSource(`${b.url}/events`, { eventTypes: ['ssekit-reset'] }));
    await client.waitForOpen();
    const old = await sentinel().master();
    await broadcastThroughFailover(a.hub, client, {
      kill: () => sentinel().kill(old),
      recovered: async () => {
        await sentinel().waitForFailover(old, 30_000);
      },
    });
  });
});
