import { createHub } from '@ssekit/core';
import { createRedisBroker, type RedisBroker, type RedisSentinelConnection } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { openEventSource } from '../support/clients.js';
import { recordingLogger } from '../support/logger.js';
import { type Instance, redisCommand, redisRequirement, startInstance, uniqueKey } from '../support/redis.js';
import { type RedisSentinelServers, redisSentinelForSuite, SENTINEL_MASTER } from '../support/redis-sentinel.js';
import { type StreamLogHarness, streamLogContract } from '../support/stream-log-contract.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep, waitFor } from '../support/wait.js';

const requirement = redisRequirement();

function connection(servers: RedisSentinelServers): { sentinel: RedisSentinelConnection } {
  return { sentinel: { name: SENTINEL_MASTER, sentinelRootNodes: servers.sentinelUrls.map((url) => ({ url })) } };
}

/** Brokers on one broker key, through the sentinels. */
function sentinelHarness(servers: RedisSentinelServers): StreamLogHarness {
  const prefix = uniqueKey('streams');
  const logger = recordingLogger();
  const opened: RedisBroker[] = [];
  return {
    // Leases of a second: a round trip through a connection the sentinels handed out can take a few hundred ms on a
    // loaded machine, and a 300 ms producer lease would lapse between two renewals.
    lease: 1000,
    tombstone: 300,
    async open() {
      const broker = createRedisBroker(connection(servers), {
        key: prefix,
        logger,
        streamTombstone: 300,
        streamReaderLease: 1000,
        streamProducerLease: 1000,
      });
      opened.push(broker);
      return broker.streams;
    },
    async leftovers(key) {
      const master = await servers.master();
      const base = `${prefix}:rs:{${key}}`;
      let left = 0;
      for (const suffix of ['l', 'm', 't', 'r'])
        left += Number(await redisCommand(master, ['EXISTS', `${base}:${suffix}`]));
      return left;
    },
    async close() {
      for (const broker of opened.splice(0)) await broker.close();
    },
  };
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
    const accepted: string[] = [];
    let refused = 0;
    let i = 0;
    const publishing = (async () => {
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        const data = `e${i++}`;
        try {
          await a.hub.broadcast(data);
          accepted.push(data);
        } catch {
          refused++;
        }
        await sleep(20);
      }
    })();
    await waitFor(() => accepted.length >= 5, 'a few broadcasts before the kill', 10_000);
    await sentinel().kill(old);
    await publishing;
    await sentinel().waitForFailover(old, 30_000);
    // The broker reconnects with backoff: a broadcast refused meanwhile is counted, as any refusal.
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await a.hub.broadcast('after');
        break;
      } catch (error) {
        refused++;
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
    await waitFor(() => client.events.some((e) => e.data === 'after'), 'delivery after the failover', 20_000);
    const received = new Set(client.events.map((e) => e.data));
    const missing = accepted.filter((d) => !received.has(d));
    const reset = client.events.some((e) => e.type === 'ssekit-reset');
    // Every accepted broadcast arrived, or the client was told with the reset event.
    expect(missing.length === 0 || reset).toBe(true);
    expect(a.hub.stats().failed).toBe(refused);
  });
});
