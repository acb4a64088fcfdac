import { createHub, SseTypeError } from '@ssekit/core';
import type { OutgoingEnvelope } from '@ssekit/core/broker';
import { createRedisBroker, type RedisBroker } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../support/clients.js';
import { expectSseError } from '../support/errors.js';
import { recordingLogger } from '../support/logger.js';
import {
  redisCommand,
  redisForSuite,
  redisRequirement,
  startFlakyLink,
  startInstance,
  uniqueKey,
} from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep, waitFor } from '../support/wait.js';

const requirement = redisRequirement();
const ALL = { type: 'all' } as const;

describe.skipIf(requirement.skip)('Redis broker: publishing that can be retried', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  function broker(options: { idempotencyWindow?: number } = {}): RedisBroker {
    const created = createRedisBroker(
      { url: redis.url },
      { key: uniqueKey('publish'), logger: recordingLogger(), ...options },
    );
    teardown.track(created);
    return created;
  }

  async function length(b: RedisBroker): Promise<number> {
    return Number(await redisCommand(redis.url, ['XLEN', b.key]));
  }

  it('a publish repeated with the same idempotency key is stored once and resolves with the first id', async () => {
    const b = broker();
    const event: OutgoingEnvelope = { target: ALL, data: 'order 42 paid', idempotencyKey: 'order-42-paid' };
    const first = await b.publish(event);
    const retried = await b.publish(event);

    expect(retried).toBe(first);
    expect(await length(b)).toBe(1);
  });

  it('publishes with different idempotency keys, or none, are each stored', async () => {
    const b = broker();
    const one = await b.publish({ target: ALL, data: 'x', idempotencyKey: 'k1' });
    const two = await b.publish({ target: ALL, data: 'x', idempotencyKey: 'k2' });
    const three = await b.publish({ target: ALL, data: 'x' });

    expect(new Set([one, two, three]).size).toBe(3);
    expect(await length(b)).toBe(3);
  });

  it('an idempotency key is forgotten after idempotencyWindow', async () => {
    const b = broker({ idempotencyWindow: 50 });
    const first = await b.publish({ target: ALL, data: 'x', idempotencyKey: 'k' });
    await sleep(120);
    const later = await b.publish({ target: ALL, data: 'x', idempotencyKey: 'k' });

    expect(later).not.toBe(first);
    expect(await length(b)).toBe(2);
  });

  it('a malformed idempotency key is refused with SSE_INVALID_FIELD, and nothing is stored', async () => {
    const b = broker();
    for (const idempotencyKey of ['', 'x'.repeat(257), 'lone\uD800', 42 as unknown as string]) {
      await expect(b.publish({ target: ALL, data: 'x', idempotencyKey })).rejects.toMatchObject({
        code: 'SSE_INVALID_FIELD',
        message: expect.stringMatching(/idempotencyKey/),
      });
    }
    expect(await redisCommand(redis.url, ['EXISTS', b.key])).toBe(0);
  });

  it('idempotencyWindow is validated when the broker is created', async () => {
    await createRedisBroker({ url: redis.url }, { idempotencyWindow: 1000 }).close();
    for (const idempotencyWindow of [0, -1, 1.5, Number.NaN]) {
      expect(() => createRedisBroker({ url: redis.url }, { idempotencyWindow })).toThrow(/`idempotencyWindow`/);
    }
  });

  it('the Redis broker declares that it assigns ids, and refuses a caller-given id before storing anything', async () => {
    const b = broker();
    expect(b.assignsIds).toBe(true);
    await expect(b.publish({ target: ALL, data: 'x', id: 'mine' })).rejects.toMatchObject({
      code: 'SSE_INVALID_FIELD',
    });
    expect(await redisCommand(redis.url, ['EXISTS', b.key])).toBe(0);
  });

  it('a publish that times out says so, after how long, and that the event may have been stored; a retry with its key stores it once', async () => {
    const link = await startFlakyLink(redis.url);
    const logger = recordingLogger();
    const key = uniqueKey('timeout');
    const flaky = createRedisBroker({ url: link.url }, { key, logger, commandTimeout: 300 });
    const hub = createHub({ broker: flaky, logger });
    try {
      await hub.ready();
      link.freeze();
      const event: OutgoingEnvelope = { target: ALL, data: 'once', idempotencyKey: 'retry-me' };
      const error = await flaky.publish(event).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(error).toMatchObject({
        code: 'SSE_BROKER_UNAVAILABLE',
        message: expect.stringMatching(/timed out.*within 300 ms \(commandTimeout\).*may or may not have been stored/),
      });
      link.thaw();
      // The frozen attempt never reached Redis here; whether it had or not, the retry stores the event once.
      const direct = createRedisBroker({ url: redis.url }, { key, logger });
      teardown.track(direct);
      const id = await direct.publish(event);
      expect(await direct.publish(event)).toBe(id);
      expect(Number(await redisCommand(redis.url, ['XLEN', key]))).toBe(1);
    } finally {
      await hub.close();
      await link.close();
    }
  });

  it('hub.send/publish/broadcast with a caller-given id throw SSE_INVALID_FIELD at once: nothing published, counted or logged', async () => {
    const logger = recordingLogger();
    const b = createRedisBroker({ url: redis.url }, { key: uniqueKey('hub-id'), logger });
    const hub = createHub({ broker: b, logger });
    teardown.defer(() => hub.close());
    await hub.ready();
    const calls = [
      () => hub.send('alice', 'x', { id: 'mine' }),
      () => hub.publish('news', 'x', { id: 'mine' }),
      () => hub.broadcast('x', { id: 7 }),
    ];
    for (const call of calls) {
      expectSseError(call, {
        base: TypeError,
        type: SseTypeError,
        code: 'SSE_INVALID_FIELD',
        message: /assigns event ids itself.*Put your own id in the data/,
      });
    }
    await sleep(50);
    expect(hub.stats()).toMatchObject({ published: 0, failed: 0 });
    expect(logger.lines).toEqual([]);
    expect(await redisCommand(redis.url, ['EXISTS', b.key])).toBe(0);
  });

  it('hub.publish with an idempotency key, retried after a timed-out attempt that was stored, delivers the event once', async () => {
    const key = uniqueKey('hub-idem');
    const link = await startFlakyLink(redis.url);
    teardown.defer(link.close);
    const logger = recordingLogger();
    // The publishing hub reaches Redis through the link; the subscriber's instance reads Redis directly.
    const flaky = createRedisBroker({ url: link.url }, { key, logger, commandTimeout: 300 });
    const publisher = createHub({ broker: flaky, logger });
    teardown.defer(() => publisher.close());
    const instance = await startInstance(
      'subscriber',
      createHub({ broker: createRedisBroker({ url: redis.url }, { key, logger }), logger }),
    );
    teardown.defer(() => instance.close());
    await publisher.ready();
    await instance.hub.ready();
    const client = teardown.track(await rawSse(`${instance.url}/events?client=c&topics=orders`));
    await waitFor(() => instance.hub.size === 1, 'the subscriber to be registered');

    // The command reaches Redis and runs; only its reply is lost, so the publish times out although it was stored.
    link.freezeReplies();
    const options = { idempotencyKey: 'order-42-paid' };
    await expect(publisher.publish('orders', 'order 42 paid', options)).rejects.toMatchObject({
      code: 'SSE_BROKER_UNAVAILABLE',
      message: expect.stringMatching(/timed out.*may or may not have been stored/),
    });
    await client.waitForEvents(1);
    link.thaw();
    await waitFor(() => flaky.connected, 'the publishing connection to be back', 10_000);

    const id = await publisher.publish('orders', 'order 42 paid', options);
    await publisher.publish('orders', 'next');
    await client.waitForEvents(2);
    expect(client.events.map((event) => [event.data, event.id])).toEqual([
      ['order 42 paid', id],
      ['next', expect.any(String)],
    ]);
    expect(Number(await redisCommand(redis.url, ['XLEN', key]))).toBe(2);
  });
});
