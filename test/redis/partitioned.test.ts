import { describe, expect, it } from 'vitest';
import { decodeCursor } from '../../packages/redis/src/cursor.js';
import { partitionKeys, partitionOf } from '../../packages/redis/src/partition.js';
import { openEventSource, rawSse } from '../support/clients.js';
import { redisCommand, redisForSuite, redisRequirement, startCluster, startFlakyLink } from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const requirement = redisRequirement();
const K = 8;

/** Topics that land in `n` different partitions of a log of K (the broadcast partition aside). */
function topicsInPartitions(n: number, avoid: readonly number[] = []): string[] {
  const taken = new Set(avoid);
  const topics: string[] = [];
  for (let i = 0; topics.length < n; i++) {
    const p = partitionOf({ type: 'topic', topic: `t${i}` }, K);
    if (taken.has(p)) continue;
    taken.add(p);
    topics.push(`t${i}`);
  }
  return topics;
}

describe.skipIf(requirement.skip)('Redis broker: the partitioned log', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  it('an event is stored in the one partition its target hashes to; broadcasts in their own', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { partitions: K }));
    const hub = cluster.instances[0]?.hub;
    const [topic] = topicsInPartitions(1);
    await hub?.publish(topic as string, 'x');
    await hub?.broadcast('y');
    const p = partitionOf({ type: 'topic', topic: topic as string }, K);
    expect(await redisCommand(redis.url, ['XLEN', partitionKeys(cluster.key, p, K).stream])).toBe(1);
    expect(await redisCommand(redis.url, ['XLEN', partitionKeys(cluster.key, K, K).stream])).toBe(1);
    expect(await redisCommand(redis.url, ['EXISTS', cluster.key])).toBe(0);
  });

  it('an instance reads only the partitions of its connections, plus broadcasts, and lets go after they leave', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { partitions: K, readerLinger: 50 }));
    const [topic] = topicsInPartitions(1);
    const p = partitionOf({ type: 'topic', topic: topic as string }, K);
    expect(cluster.broker(0).readingPartitions()).toEqual([K]);
    const client = teardown.track(openEventSource(`${cluster.instances[0]?.url}/events?topics=${topic}`));
    await client.waitForOpen();
    await waitFor(() => cluster.broker(0).readingPartitions().includes(p), 'the partition of the topic to be read');
    expect(cluster.broker(0).readingPartitions()).toEqual([p, K]);
    client.close();
    await waitFor(() => cluster.broker(0).readingPartitions().length === 1, 'the reader to stop after its linger');
    expect(cluster.broker(0).readingPartitions()).toEqual([K]);
  });

  it('instances with disjoint topics read disjoint partitions, and each client gets only its own events', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], { partitions: K }));
    const [t1, t2] = topicsInPartitions(2);
    const onA = teardown.track(openEventSource(`${cluster.instances[0]?.url}/events?topics=${t1}`));
    const onB = teardown.track(openEventSource(`${cluster.instances[1]?.url}/events?topics=${t2}`));
    await onA.waitForOpen();
    await onB.waitForOpen();
    for (let i = 0; i < 5; i++) {
      await cluster.instances[1]?.hub.publish(t1 as string, `1-${i}`);
      await cluster.instances[0]?.hub.publish(t2 as string, `2-${i}`);
    }
    await cluster.instances[0]?.hub.broadcast('end');
    await onA.waitForEvents(6);
    await onB.waitForEvents(6);
    // Each topic's events in order; the broadcast comes through its own partition, in no order with them.
    const data = (client: typeof onA) => client.events.map((e) => e.data);
    expect(data(onA).filter((d) => d !== 'end')).toEqual(['1-0', '1-1', '1-2', '1-3', '1-4']);
    expect(data(onB).filter((d) => d !== 'end')).toEqual(['2-0', '2-1', '2-2', '2-3', '2-4']);
    expect([data(onA).filter((d) => d === 'end'), data(onB).filter((d) => d === 'end')]).toEqual([['end'], ['end']]);
    const pa = cluster.broker(0).readingPartitions();
    const pb = cluster.broker(1).readingPartitions();
    expect(pa.filter((p) => p !== K && pb.includes(p))).toEqual([]);
  });

  it('a client on several partitions resumes on another instance from one Last-Event-ID: no gap, no duplicate', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a', 'b'], { partitions: K }));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const topics = topicsInPartitions(3);
    const query = `client=alice&topics=${topics.join(',')}`;
    const first = teardown.track(openEventSource(`${a.url}/events?${query}`));
    await first.waitForOpen();
    const expected: string[] = [];
    const mix = async (tag: string) => {
      for (const topic of topics) {
        await b.hub.publish(topic, `${tag}-${topic}`);
        expected.push(`${tag}-${topic}`);
      }
      await b.hub.send('alice', `${tag}-alice`);
      await b.hub.send('bob', `${tag}-bob`);
      await b.hub.broadcast(`${tag}-all`);
      expected.push(`${tag}-alice`, `${tag}-all`);
    };
    await mix('live');
    await first.waitForEvents(expected.length);
    const last = first.events.at(-1)?.lastEventId as string;
    first.close();
    expect(decodeCursor(last, K)?.size).toBeGreaterThanOrEqual(4);
    const seen = first.events.map((e) => e.data);
    await mix('missed');
    const resumed = teardown.track(await rawSse(`${b.url}/events?${query}`, { 'last-event-id': last }));
    await mix('after');
    await resumed.waitForEvents(expected.length - seen.length);
    await b.hub.broadcast('end');
    await resumed.waitForEvents(expected.length - seen.length + 1);
    const resumedData = resumed.events.map((e) => e.data);
    expect([...seen, ...resumedData].sort()).toEqual([...expected, 'end'].sort());
    // Per target, the order of publication.
    for (const target of [...topics, 'alice', 'all']) {
      const of = (list: string[]) => list.filter((d) => d.endsWith(`-${target}`));
      expect(of(resumedData)).toEqual(of(expected).filter((d) => !d.startsWith('live')));
    }
    expect(resumed.events.some((e) => e.event === 'ssekit-reset')).toBe(false);
  });

  it('a position trimmed away in one partition gets the reset event (expired), then live events', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { partitions: K, maxLength: 10 }));
    const instance = cluster.instances[0] as (typeof cluster.instances)[0];
    const [topic] = topicsInPartitions(1);
    const client = teardown.track(openEventSource(`${instance.url}/events?topics=${topic}`));
    await client.waitForOpen();
    await instance.hub.publish(topic as string, 'first');
    await client.waitForEvents(1);
    const cursor = client.events[0]?.lastEventId as string;
    client.close();
    for (let i = 0; i < 250; i++) await instance.hub.publish(topic as string, i);
    const raw = teardown.track(await rawSse(`${instance.url}/events?topics=${topic}`, { 'last-event-id': cursor }));
    await raw.waitForEvents(1);
    expect(raw.events[0]?.event).toBe('ssekit-reset');
    expect(JSON.parse(raw.events[0]?.data ?? '{}')).toEqual({ reason: 'expired', lastEventId: cursor });
    await instance.hub.publish(topic as string, 'next');
    await raw.waitForEvents(2);
    expect(raw.events[1]?.data).toBe('next');
  });

  it('a trimmed position gets the reset event (expired) even while the instance reader has not read past it', async () => {
    const link = await startFlakyLink(redis.url);
    teardown.track({ close: () => link.close() });
    const cluster = teardown.track(await startCluster(link.url, ['a', 'b'], { partitions: K, maxLength: 10 }));
    const [a, b] = cluster.instances as [(typeof cluster.instances)[0], (typeof cluster.instances)[0]];
    const [topic] = topicsInPartitions(1);
    const client = teardown.track(openEventSource(`${a.url}/events?topics=${topic}`));
    await client.waitForOpen();
    await a.hub.publish(topic as string, 'first');
    await client.waitForEvents(1);
    const cursor = client.events[0]?.lastEventId as string;
    client.close();
    // Instance a's readers hear nothing more: its position stays the client's while the partition moves on.
    link.stallReplies('XREAD');
    for (let i = 0; i < 250; i++) await b.hub.publish(topic as string, i);
    const raw = teardown.track(await rawSse(`${a.url}/events?topics=${topic}`, { 'last-event-id': cursor }));
    await raw.waitForEvents(1);
    expect(raw.events[0]?.event).toBe('ssekit-reset');
    expect(JSON.parse(raw.events[0]?.data ?? '{}')).toEqual({ reason: 'expired', lastEventId: cursor });
  });

  it('a loss a partition reader finds resets only the connections that read that partition', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { partitions: K }));
    const instance = cluster.instances[0] as (typeof cluster.instances)[0];
    const [lossy, intact] = topicsInPartitions(2);
    const p = partitionOf({ type: 'topic', topic: lossy as string }, K);
    const events = ['ssekit-reset'];
    const hit = teardown.track(openEventSource(`${instance.url}/events?topics=${lossy}`, { eventTypes: events }));
    const spared = teardown.track(openEventSource(`${instance.url}/events?topics=${intact}`, { eventTypes: events }));
    await hit.waitForOpen();
    await spared.waitForOpen();
    await instance.hub.publish(lossy as string, 'before');
    await hit.waitForEvents(1);
    // The partition is recreated: its next entry starts a new epoch, which its reader reports as a loss.
    await redisCommand(redis.url, ['DEL', partitionKeys(cluster.key, p, K).stream]);
    await instance.hub.publish(lossy as string, 'after');
    await instance.hub.publish(intact as string, 'other');
    await instance.hub.broadcast('end');
    await hit.waitForEvents(4);
    await spared.waitForEvents(2);
    // In order within the topic's partition; the broadcast comes through another, with no order between the two.
    const seen = (client: typeof hit) => client.events.map((e) => `${e.type}:${e.data}`);
    expect(seen(hit).filter((e) => e !== 'message:end')).toEqual([
      'message:before',
      'ssekit-reset:{"reason":"expired"}',
      'message:after',
    ]);
    expect(seen(hit).filter((e) => e === 'message:end')).toHaveLength(1);
    expect(seen(spared).sort()).toEqual(['message:end', 'message:other']);
  });

  it('a cursor that does not cover a partition the connection reads gets the reset event (unknown-id)', async () => {
    const cluster = teardown.track(await startCluster(redis.url, ['a'], { partitions: K }));
    const instance = cluster.instances[0] as (typeof cluster.instances)[0];
    const [t1, t2] = topicsInPartitions(2);
    const client = teardown.track(openEventSource(`${instance.url}/events?topics=${t1}`));
    await client.waitForOpen();
    await instance.hub.publish(t1 as string, 'x');
    await client.waitForEvents(1);
    const raw = teardown.track(
      await rawSse(`${instance.url}/events?topics=${t1},${t2}`, {
        'last-event-id': client.events[0]?.lastEventId as string,
      }),
    );
    await raw.waitForEvents(1);
    expect(JSON.parse(raw.events[0]?.data ?? '{}').reason).toBe('unknown-id');
  });

  it('Last-Event-ID length with 1, 5 and 20 topics (64 partitions) stays far within 1024 characters', async () => {
    const lengths: Record<number, number> = {};
    for (const n of [1, 5, 20]) {
      const cluster = teardown.track(await startCluster(redis.url, ['a'], { partitions: 64 }));
      const instance = cluster.instances[0] as (typeof cluster.instances)[0];
      const topics = Array.from({ length: n }, (_, i) => `topic-${i}`);
      const client = teardown.track(openEventSource(`${instance.url}/events?client=user-1&topics=${topics.join(',')}`));
      await client.waitForOpen();
      for (const topic of topics) await instance.hub.publish(topic, 'x');
      await instance.hub.send('user-1', 'y');
      await client.waitForEvents(n + 1);
      lengths[n] = Math.max(...client.events.map((e) => e.lastEventId.length));
    }
    console.log('Last-Event-ID length by topics (client id + topics + broadcasts):', JSON.stringify(lengths));
    expect(lengths[20]).toBeLessThan(400);
  });
});
