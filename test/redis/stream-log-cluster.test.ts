import { describe, expect, it } from 'vitest';
import { redisRequirement } from '../support/redis.js';
import { type RedisClusterServers, redisClusterForSuite } from '../support/redis-cluster.js';
import { brokerStreamsHarness } from '../support/redis-stream-log.js';
import {
  collect,
  created,
  type StreamLogHarness,
  streamKey,
  streamLogContract,
} from '../support/stream-log-contract.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const requirement = redisRequirement();

const LEASE = 300;
const TOMBSTONE = 300;

/** Brokers on one broker key of the cluster. */
function clusterHarness(cluster: RedisClusterServers): StreamLogHarness & { prefix: string } {
  return brokerStreamsHarness(
    { cluster: { rootNodes: cluster.urls.map((url) => ({ url })) } },
    { lease: LEASE, tombstone: TOMBSTONE, partitions: 3 },
    (key) => cluster.masterOf(key),
  );
}

describe.skipIf(requirement.skip)('Redis stream log on a Redis Cluster (3 masters, 3 replicas)', () => {
  const cluster = redisClusterForSuite();
  // `kill: false`: an instance that dies is a lease that is no longer renewed, which Redis expires alike on one
  // server and on a cluster's master (test/redis/stream-log.test.ts covers it); a cluster client cannot be cut
  // off alone through a proxy, since it connects to the addresses the cluster announces.
  streamLogContract('Redis Cluster', async () => clusterHarness(cluster()), { kill: false });

  const teardown = closeAfterEach();

  // Last: it leaves the cluster with one master fewer.
  it('a follower keeps getting every entry once, in order, when the master its subscriber was on is killed', {
    timeout: 90_000,
  }, async () => {
    const h = teardown.track(clusterHarness(cluster()));
    const [producer, reader] = [await h.open(), await h.open()];
    // The subscriber connection is on the master of the cancel channel's slot; the stream lives on another.
    const victim = await cluster().masterOf(`${h.prefix}:rs:cancel`);
    let key = streamKey();
    while ((await cluster().masterOf(`${h.prefix}:rs:{${key}}:l`)) === victim) key = streamKey();
    const generation = await created(producer, key);
    const followed = await collect(reader, key);
    // While the master is down (until its replica takes over) the cluster refuses every write: appends then fail
    // with the typed error, and the producer goes on.
    let last = 0;
    const append = async () => {
      try {
        const result = await producer.append(key, generation, { data: `e${last + 1}` });
        if (!result.ok) throw new Error(`append answered ${result.reason}`);
        last = result.seq;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SSE_BROKER_UNAVAILABLE') throw error;
      }
    };
    for (let i = 0; i < 5; i++) await append();
    await waitFor(() => followed.entries.length === 5, 'the entries before the kill');
    await cluster().kill(victim);
    for (let i = 0; i < 20; i++) {
      await append();
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster().waitUntilOk(30_000);
    const after = await producer.append(key, generation, { data: 'after' });
    if (!after.ok) throw new Error(`append answered ${after.reason}`);
    last = after.seq;
    await waitFor(() => followed.entries.at(-1)?.seq === last, 'every entry after the failover', 30_000);
    followed.stop();
    expect(followed.entries.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(followed.entries.at(-1)?.data).toBe('after');
  });
});
