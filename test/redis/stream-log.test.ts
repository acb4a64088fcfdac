import type { StreamLog } from '@ssekit/core/broker';
import { createRedisBroker, type RedisBroker, type RedisBrokerOptions } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../support/logger.js';
import {
  type FlakyLink,
  keysOf,
  killClients,
  redisCommand,
  redisForSuite,
  redisRequirement,
  restartableRedisRequirement,
  startFlakyLink,
  uniqueKey,
} from '../support/redis.js';
import {
  collect,
  created,
  expectEventually,
  limits,
  type StreamLogHarness,
  streamKey,
  streamLogContract,
} from '../support/stream-log-contract.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep, waitFor } from '../support/wait.js';

const requirement = redisRequirement();
const restartable = restartableRedisRequirement();

const LEASE = 300;
const TOMBSTONE = 300;

/** Brokers on one broker key of `url`, each through its own link so that one can be cut off alone. */
async function redisHarness(url: string, extra: RedisBrokerOptions = {}) {
  const prefix = uniqueKey('streams');
  const logger = recordingLogger();
  const opened: { broker: RedisBroker; link: FlakyLink }[] = [];
  const open = async (): Promise<RedisBroker> => {
    const link = await startFlakyLink(url);
    const broker = createRedisBroker(
      { url: link.url },
      {
        key: prefix,
        logger,
        streamTombstone: TOMBSTONE,
        streamReaderLease: LEASE,
        streamProducerLease: LEASE,
        ...extra,
      },
    );
    opened.push({ broker, link });
    return broker;
  };
  const harness: StreamLogHarness & {
    prefix: string;
    logger: typeof logger;
    broker(): Promise<RedisBroker>;
    link(log: StreamLog): FlakyLink;
  } = {
    prefix,
    logger,
    lease: LEASE,
    tombstone: TOMBSTONE,
    broker: open,
    open: async () => (await open()).streams,
    link(log: StreamLog): FlakyLink {
      const found = opened.find((o) => o.broker.streams === log);
      if (found === undefined) throw new Error('not a log of this harness');
      return found.link;
    },
    async kill(log: StreamLog) {
      const victim = opened.find((o) => o.broker.streams === log);
      if (victim === undefined) throw new Error('not a log of this harness');
      // The instance loses Redis for good (its sockets are cut and no new one gets through), as a crashed or
      // partitioned instance does: nothing it does reaches Redis any more.
      await victim.link.close();
    },
    leftovers: async (key) => (await keysOf(url, `${prefix}:rs:{${key}}*`)).length,
    async close() {
      for (const { broker, link } of opened.splice(0)) {
        await broker.close();
        await link.close();
      }
    },
  };
  return harness;
}

describe.skipIf(requirement.skip)('Redis stream log', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  /** Whether a pub/sub connection of a stream log is connected. */
  async function subscribers(): Promise<boolean> {
    return String(await redisCommand(redis.url, ['CLIENT', 'LIST'])).includes(' name=ssekit-subscriber ');
  }

  streamLogContract('Redis', () => redisHarness(redis.url), { kill: true });

  it("a stream's keys share one hash tag and are exactly the log, its meta and its tombstone (+ readers)", async () => {
    const h = teardown.track(await redisHarness(redis.url));
    const log = await h.open();
    const key = streamKey();
    const created = await log.create(key, 'alice', limits());
    if (!created.ok) throw new Error('not created');
    await log.append(key, created.generation, { data: 'x' });
    log.setReaders(key, true);
    await expectEventually(() => log.hasReaders(key), true);
    await expectEventually(async () => (await keysOf(redis.url, `${h.prefix}:*`)).length, 4);
    const keys = (await keysOf(redis.url, `${h.prefix}:*`)).sort();
    const base = `${h.prefix}:rs:{${key}}`;
    expect(keys).toEqual([`${base}:l`, `${base}:m`, `${base}:r`, `${base}:t`]);
  });

  it('a follower of a stream that is gone before its end gets a terminal lost entry', async () => {
    const h = teardown.track(await redisHarness(redis.url));
    const [producer, reader] = [await h.open(), await h.open()];
    const key = streamKey();
    const generation = await created(producer, key, { ttl: 1000 });
    // As a reader does: follow, then read.
    const followed = await collect(reader, key);
    expect((await reader.read(key, 0)).status).toBe('ok');
    await producer.append(key, generation, { data: 'a' });
    await waitFor(() => followed.entries.length === 1, 'the entry');
    // The producer goes quiet past the ttl; a new stream of the same key then starts.
    await expectEventually(async () => (await producer.read(key, 0)).status, 'expired', 5000);
    const again = await producer.create(key, undefined, limits());
    if (!again.ok) throw new Error('not recreated');
    await producer.append(key, again.generation, { data: 'other stream' });
    await waitFor(() => followed.entries.length === 2, 'the lost entry', 5000);
    followed.stop();
    expect(followed.entries[1]).toMatchObject({
      seq: 2,
      event: 'ssekit-error',
      end: { type: 'error', reason: 'lost' },
    });
  });

  it('read returns a long log whole, read in pages of batchSize', async () => {
    const h = teardown.track(await redisHarness(redis.url, { batchSize: 7 }));
    const log = await h.open();
    const key = streamKey();
    const created = await log.create(key, undefined, limits());
    if (!created.ok) throw new Error('not created');
    for (let i = 1; i <= 30; i++) await log.append(key, created.generation, { data: `e${i}` });
    const all = await log.read(key, 0);
    expect(all.status === 'ok' && all.entries.map((e) => `${e.seq}:${e.data}`)).toEqual(
      Array.from({ length: 30 }, (_, i) => `${i + 1}:e${i + 1}`),
    );
    const tail = await log.read(key, 13);
    expect(tail.status === 'ok' && tail.entries.map((e) => e.seq)).toEqual(
      Array.from({ length: 17 }, (_, i) => i + 14),
    );
  });

  it('a follower whose pub/sub connection is cut gets every entry once, in order, after it reconnects', async () => {
    const h = teardown.track(await redisHarness(redis.url));
    const [producer, reader] = [await h.open(), await h.open()];
    const key = streamKey();
    const created = await producer.create(key, undefined, limits());
    if (!created.ok) throw new Error('not created');
    const { entries: got, stop } = await collect(reader, key);
    teardown.defer(stop);
    await producer.append(key, created.generation, { data: 't1' });
    await waitFor(() => got.length === 1, 'the first entry');
    for (let round = 0; round < 3; round++) {
      // Cut once it is back from the previous cut; entries appended right after are published to nobody.
      await expectEventually(subscribers, true, 10_000);
      expect(await killClients(redis.url, 'ssekit-subscriber')).toBeGreaterThanOrEqual(1);
      for (let i = 0; i < 10; i++) await producer.append(key, created.generation, { data: `r${round}-${i}` });
    }
    await producer.append(key, created.generation, { data: 'end', end: { type: 'done' } });
    await waitFor(() => got.at(-1)?.end !== undefined, 'the last entry', 15_000);
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    expect(h.logger.lines.some((line) => /subscriber connection .* is down/.test(line.message))).toBe(true);
  });

  it('a cancel published while the producer instance was cut off reaches its onCancel once it is back', async () => {
    const h = teardown.track(await redisHarness(redis.url, { commandTimeout: 300 }));
    const [producer, other] = [await h.open(), await h.open()];
    const key = streamKey();
    const cancelled: string[] = [];
    teardown.defer(producer.onCancel((k) => cancelled.push(k)));
    const created = await producer.create(key, undefined, limits());
    if (!created.ok) throw new Error('not created');
    await producer.append(key, created.generation, { data: 'tok' });
    // The producer instance's link goes silent (a partition): the cancel's message never reaches it.
    const link = h.link(producer);
    link.freeze();
    expect(await other.cancel(key)).toBe('cancelled');
    // Long enough for its PING to go unanswered past commandTimeout: its pub/sub connection is replaced.
    await sleep(1000);
    expect(cancelled).toEqual([]);
    link.thaw();
    await waitFor(() => cancelled.includes(key), 'onCancel after the reconnection', 10_000);
    expect(cancelled).toEqual([key]);
  });

  it('unfollowing and closing leave no subscription, connection, timer or listener behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const h = await redisHarness(redis.url);
    const [producer, reader] = [await h.open(), await h.open()];
    const key = streamKey();
    const created = await producer.create(key, undefined, limits());
    if (!created.ok) throw new Error('not created');
    const stops = [reader.follow(key, () => {}), reader.follow(key, () => {}), reader.onCancel(() => {})];
    reader.setReaders(key, true);
    await producer.append(key, created.generation, { data: 'x' });
    const channel = `${h.prefix}:rs:{${key}}:c`;
    await expectEventually(
      async () => ((await redisCommand(redis.url, ['PUBSUB', 'NUMSUB', channel])) as [string, number])[1],
      1,
    );
    for (const stop of stops) stop();
    reader.setReaders(key, false);
    await expectEventually(
      async () => ((await redisCommand(redis.url, ['PUBSUB', 'NUMSUB', channel])) as [string, number])[1],
      0,
    );
    await h.close();
    await expectEventually(
      async () => ((await redisCommand(redis.url, ['PUBSUB', 'CHANNELS', `${h.prefix}*`])) as string[]).length,
      0,
    );
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe.skipIf(restartable.skip)('Redis stream log: Redis restarted', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  it('Redis restarted mid-stream: nothing crashes, the follower gets lost, appends report stopped or unavailable', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    teardown.defer(() => process.off('unhandledRejection', onUnhandled));
    const h = teardown.track(await redisHarness(redis.url));
    const [producer, reader] = [await h.open(), await h.open()];
    const key = streamKey();
    const cancels: string[] = [];
    teardown.defer(producer.onCancel((k) => cancels.push(k)));
    const created = await producer.create(key, 'alice', limits());
    if (!created.ok) throw new Error('not created');
    const { entries: got, stop } = await collect(reader, key);
    teardown.defer(stop);
    reader.setReaders(key, true);
    await producer.append(key, created.generation, { data: 'before' });
    await waitFor(() => got.length === 1, 'the first entry');

    await redis.kill();
    try {
      await expect(producer.append(key, created.generation, { data: 'during' })).rejects.toMatchObject({
        code: 'SSE_BROKER_UNAVAILABLE',
        message: expect.stringMatching(/Redis (is not reachable|did not confirm)/),
      });
      await expect(reader.read(key, 0)).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
      await expect(reader.hasReaders(streamKey())).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
    } finally {
      await redis.restart();
    }
    // Redis came back empty: the stream is gone. Its follower is told (a terminal `lost` entry), never left waiting.
    await waitFor(() => got.length === 2, 'the lost entry', 15_000);
    expect(got[1]).toMatchObject({ seq: 2, event: 'ssekit-error', end: { type: 'error', reason: 'lost' } });
    await expectEventually(
      async () => {
        try {
          return (await producer.append(key, created.generation, { data: 'after' })).ok ? 'ok' : 'stopped';
        } catch {
          return 'unavailable';
        }
      },
      'stopped',
      15_000,
    );
    expect(await reader.read(key, 0)).toEqual({ status: 'unknown' });

    // Everything works again: a new stream, its follower, its cancel, its readers.
    const next = streamKey();
    const again = await producer.create(next, undefined, limits());
    if (!again.ok) throw new Error('not created');
    const followed = await collect(reader, next);
    teardown.defer(followed.stop);
    await producer.append(next, again.generation, { data: 'new' });
    await waitFor(() => followed.entries.length === 1, 'an entry of the new stream', 10_000);
    expect(await reader.cancel(next)).toBe('cancelled');
    await waitFor(() => cancels.includes(next), 'the cancel', 10_000);
    await expectEventually(() => producer.hasReaders(key), true, 5000);
    expect(unhandled).toEqual([]);
  });
});
