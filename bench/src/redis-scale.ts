/**
 * `pnpm --filter @ssekit/bench redis-scale`: the figures of the partitioned Redis log (docs/scaling.md), measured
 * with the built packages against redis-server processes this script starts on free ports:
 *
 * 1. publish throughput with 1 master and with a 3-master Redis Cluster (partitioned log, many topics, N publishes
 *    in flight), with the CPU time each redis-server spent per publish (`INFO cpu`);
 * 2. Redis egress per instance: 4 brokers whose connections follow disjoint topic sets, each behind a relay that
 *    counts the bytes Redis sends it, in single-stream mode and in partitioned mode;
 * 3. cross-instance latency: publish on broker A, arrival in broker B's deliver callback (what the hub frames and
 *    writes to B's connections), one event at a time.
 *
 * Each measurement lasts seconds; the whole run is bounded (a watchdog ends it after 170 s).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ssekit/core';
import type { Target } from '@ssekit/core/broker';
import type { RedisBroker, RedisBrokerOptions, RedisConnection } from '@ssekit/redis';
import { startRelay } from './redis-scale/relay.js';
import { type RedisNodes, startRedis } from './redis-scale/servers.js';
import { buildPackages } from './runner/build.js';

/** Partitions of the partitioned log in every measurement. */
const K = 16;
/** The data of every event: 200 characters, a small JSON notification. */
const DATA = JSON.stringify({ kind: 'notification', text: 'x'.repeat(170) });
const INSTANCES = 4;
const TOPICS_PER_INSTANCE = 25;

const watchdog = setTimeout(() => {
  console.error('redis-scale: still running after 170 s; stopped.');
  process.exit(1);
}, 170_000);
watchdog.unref();

let problems = 0;
const logger: Logger = {
  error: (...args) => {
    problems++;
    if (problems <= 5) console.error('[broker]', ...args);
  },
  warn: () => {},
};

// Imported once the packages are built (a static import would resolve before `buildPackages()` ran).
let createRedisBroker: (connection: RedisConnection, options?: RedisBrokerOptions) => RedisBroker;

let keys = 0;
function freshKey(name: string): string {
  return `scale:${name}:${process.pid}:${keys++}`;
}

/** FNV-1a of `t:<topic>` mod K: the partition @ssekit/redis puts a topic in (packages/redis/src/partition.ts). */
function partitionOfTopic(topic: string): number {
  const text = `t:${topic}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash >>> 0) % K;
}

/** The broker option of a log layout: 0 partitions is the single stream. */
function layout(partitions: number): RedisBrokerOptions {
  return partitions === 0 ? {} : { partitions };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

// ---------------------------------------------------------------------------------------------------------------

interface Throughput {
  masters: number;
  perSecond: number;
  failed: number;
  /** Redis CPU µs per publish, summed over the masters. */
  redisCpuMicros: number;
  /** The share of the Redis CPU taken by the busiest master. */
  busiestShare: number;
}

async function throughput(nodes: RedisNodes, inFlight: number, seconds: number): Promise<Throughput> {
  const connection: RedisConnection =
    nodes.urls.length === 1
      ? { url: nodes.urls[0] as string }
      : { cluster: { rootNodes: nodes.urls.map((url) => ({ url })) } };
  // The most partitions: 64 hash slots spread over the masters more evenly than 16 do.
  const broker = createRedisBroker(connection, { key: freshKey('tput'), partitions: 64, logger });
  let counting = false;
  let done = 0;
  let failed = 0;
  let stop = false;
  let next = 0;
  const worker = async () => {
    while (!stop) {
      const topic = `topic-${next++ % 1000}`;
      try {
        await broker.publish({ target: { type: 'topic', topic }, data: DATA });
        if (counting) done++;
      } catch {
        if (counting) failed++;
      }
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await sleep(700);
  const cpuBefore = await nodes.cpuSeconds();
  counting = true;
  const started = performance.now();
  await sleep(seconds * 1000);
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = await nodes.cpuSeconds();
  stop = true;
  await Promise.all(workers);
  await broker.close();
  const cpu = cpuAfter.map((after, i) => after - (cpuBefore[i] as number));
  const total = cpu.reduce((a, b) => a + b, 0);
  return {
    masters: nodes.urls.length,
    perSecond: done / elapsed,
    failed,
    redisCpuMicros: (total / done) * 1e6,
    busiestShare: Math.max(...cpu) / total,
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface Egress {
  mode: string;
  /** Bytes Redis sent each instance while the events were published and delivered. */
  perInstance: number[];
  /** Events each instance's broker handed to its hub (before the hub's own filtering). */
  decoded: number[];
  /** Partitions each instance read (partitioned mode). */
  partitions: number[][];
  /** Redis CPU µs per event, publish and every instance's read of it included. */
  redisCpuMicros: number;
}

/** Topics for instance `i`: disjoint across instances; `aligned` puts each instance's topics in its own partitions. */
function topicsOf(i: number, aligned: boolean): string[] {
  const topics: string[] = [];
  for (let n = 0; topics.length < TOPICS_PER_INSTANCE; n++) {
    const topic = `i${i}-topic-${n}`;
    if (!aligned || partitionOfTopic(topic) % INSTANCES === i) topics.push(topic);
  }
  return topics;
}

async function egress(
  nodes: RedisNodes,
  mode: string,
  partitions: number,
  aligned: boolean,
  events: number,
  broadcasts: number,
): Promise<Egress> {
  const url = nodes.urls[0] as string;
  const key = freshKey('egress');
  const relays = await Promise.all(Array.from({ length: INSTANCES }, () => startRelay(url)));
  const topicSets = Array.from({ length: INSTANCES }, (_, i) => topicsOf(i, aligned));
  const decoded = new Array<number>(INSTANCES).fill(0);
  const own = new Array<number>(INSTANCES).fill(0);
  const brokers: RedisBroker[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const broker = createRedisBroker(
      { url: (relays[i] as { url: string }).url },
      { key, logger, ...layout(partitions) },
    );
    const mine = new Set(topicSets[i]);
    await broker.start((envelope) => {
      decoded[i] = (decoded[i] as number) + 1;
      const target = envelope.target;
      if (target.type === 'all' || (target.type === 'topic' && mine.has(target.topic))) own[i] = (own[i] as number) + 1;
    });
    // What the hub does when a topic gets its first local subscriber.
    for (const topic of mine) broker.interest('add', { type: 'topic', topic });
    brokers.push(broker);
  }
  while (!brokers.every((broker) => broker.connected)) await sleep(10);
  for (const relay of relays) relay.reset();
  const [cpuBefore] = await nodes.cpuSeconds();
  const publisher = createRedisBroker({ url }, { key, logger, ...layout(partitions) });
  const all = topicSets.flat();
  const targets: Target[] = [];
  for (let n = 0; n < events; n++) {
    targets.push({ type: 'topic', topic: all[n % all.length] as string });
    if (n % Math.ceil(events / broadcasts) === 0) targets.push({ type: 'all' });
  }
  // Each instance's own events and every broadcast: the count it must reach.
  const expected = topicSets.map(
    (set) => targets.filter((t) => t.type === 'all' || (t.type === 'topic' && set.includes(t.topic))).length,
  );
  let next = 0;
  const publishing = async () => {
    for (let target = targets[next++]; target !== undefined; target = targets[next++]) {
      await publisher.publish({ target, data: DATA });
    }
  };
  await Promise.all(Array.from({ length: 200 }, publishing));
  const deadline = Date.now() + 20_000;
  while (own.some((count, i) => count < (expected[i] as number)) && Date.now() < deadline) await sleep(20);
  if (own.some((count, i) => count < (expected[i] as number))) {
    throw new Error(`egress (${mode}): instances received ${own.join(', ')} of ${expected.join(', ')} events`);
  }
  // Anything Redis still sends after the last delivery (the next blocking read's reply) belongs to the figure.
  await sleep(200);
  const [cpuAfter] = await nodes.cpuSeconds();
  const result: Egress = {
    redisCpuMicros: (((cpuAfter as number) - (cpuBefore as number)) / targets.length) * 1e6,
    mode,
    perInstance: relays.map((relay) => relay.bytesFromRedis),
    decoded: [...decoded],
    partitions: brokers.map((broker) => broker.readingPartitions()),
  };
  await publisher.close();
  await Promise.all(brokers.map((broker) => broker.close()));
  await Promise.all(relays.map((relay) => relay.close()));
  return result;
}

// ---------------------------------------------------------------------------------------------------------------

interface Latency {
  label: string;
  samples: number;
  p50: number;
  p99: number;
}

async function latency(
  label: string,
  connection: RedisConnection,
  partitions: number,
  samples: number,
): Promise<Latency> {
  const key = freshKey('latency');
  let arrived: ((at: number) => void) | undefined;
  const a = createRedisBroker(connection, { key, logger, ...layout(partitions) });
  const b = createRedisBroker(connection, { key, logger, ...layout(partitions) });
  await a.start(() => {});
  await b.start((envelope) => {
    if (envelope.target.type === 'topic') arrived?.(performance.now());
  });
  b.interest('add', { type: 'topic', topic: 'latency' });
  while (!b.connected) await sleep(10);
  const times: number[] = [];
  for (let i = 0; i < samples + 20; i++) {
    const delivered = new Promise<number>((resolve) => {
      arrived = resolve;
    });
    const sentAt = performance.now();
    await a.publish({ target: { type: 'topic', topic: 'latency' }, data: DATA });
    const at = await delivered;
    if (i >= 20) times.push(at - sentAt);
  }
  await Promise.all([a.close(), b.close()]);
  times.sort((x, y) => x - y);
  return { label, samples, p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

// ---------------------------------------------------------------------------------------------------------------

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  buildPackages();
  ({ createRedisBroker } = await import('@ssekit/redis'));
  const startedAt = performance.now();
  console.log(
    `redis-scale: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, Node ${process.version}, K = ${K} partitions, event data ${DATA.length} characters`,
  );
  const single = await startRedis(1);
  const cluster = await startRedis(3);
  console.log(`redis-server ${single.version}: 1 standalone node, and a 3-master cluster (no replicas)`);
  try {
    console.log('\n(a) publish throughput, partitioned log (K=64), 1000 topics, 2000 publishes in flight, 3 s');
    const t1 = await throughput(single, 2000, 3);
    const t3 = await throughput(cluster, 2000, 3);
    for (const t of [t1, t3]) {
      console.log(
        `  ${t.masters} master(s): ${Math.round(t.perSecond)} publishes/s (${t.failed} failed); Redis CPU ${t.redisCpuMicros.toFixed(1)} µs per publish, busiest master ${(t.busiestShare * 100).toFixed(0)}% of it`,
      );
    }
    const ceiling = (t: Throughput) => 1e6 / (t.redisCpuMicros * t.busiestShare);
    console.log(
      `  measured ratio 3 vs 1 master: ${(t3.perSecond / t1.perSecond).toFixed(2)}x; Redis-bound ceiling (one core per master, busiest master saturated): ${Math.round(ceiling(t1))}/s vs ${Math.round(ceiling(t3))}/s = ${(ceiling(t3) / ceiling(t1)).toFixed(2)}x`,
    );

    console.log(
      `\n(b) Redis egress per instance, ${INSTANCES} instances, ${TOPICS_PER_INSTANCE} topics each (disjoint), 8000 events over their topics + 80 broadcasts`,
    );
    const url = single.urls[0] as string;
    const runs = [
      await egress(single, 'single stream', 0, false, 8000, 80),
      await egress(single, `partitioned (K=${K}), topics aligned to partitions`, K, true, 8000, 80),
      await egress(single, `partitioned (K=${K}), topics placed at random`, K, false, 8000, 80),
    ];
    const total = Math.max(...(runs[0] as Egress).perInstance);
    console.log(
      `  all of it (what a single-stream reader gets): ${kb(total)}, ${(total / 8080).toFixed(0)} bytes per event`,
    );
    for (const run of runs) {
      const shares = run.perInstance.map((bytes) => `${kb(bytes)} (${((bytes / total) * 100).toFixed(0)}%)`);
      console.log(
        `  ${run.mode}: ${shares.join(', ')}; events decoded ${run.decoded.join(', ')}; Redis CPU ${run.redisCpuMicros.toFixed(1)} µs per event`,
      );
      if (run.partitions[0]?.length)
        console.log(`    partitions read: ${run.partitions.map((p) => `[${p.join(',')}]`).join(' ')}`);
    }

    console.log('\n(c) cross-instance latency, publish on A to B’s deliver callback, one at a time, 300 events');
    const lat = [
      await latency('1 node, single stream', { url }, 0, 300),
      await latency(`1 node, partitioned (K=${K})`, { url }, K, 300),
      await latency(
        `3-master cluster, partitioned (K=${K})`,
        { cluster: { rootNodes: cluster.urls.map((u) => ({ url: u })) } },
        K,
        300,
      ),
    ];
    for (const l of lat) console.log(`  ${l.label}: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`);
    console.log(
      `\nredis-scale took ${((performance.now() - startedAt) / 1000).toFixed(0)} s; broker errors logged: ${problems}`,
    );
  } finally {
    await Promise.all([single.stop(), cluster.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
