import net from 'node:net';
import { createRedisBroker, type RedisBrokerOptions, type RedisConnection } from '@ssekit/redis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/server.js';

// Never contacted: these tests only create brokers.
const url = 'redis://127.0.0.1:1';

function errorOf(run: () => unknown): { name: string; code: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as { name: string; code: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('createRedisBroker() arguments', () => {
  it('needs exactly one of url and client', () => {
    for (const bad of [undefined, null, 'redis://x', {}, { url, client: createClient() }, { host: 'x' }]) {
      const error = errorOf(() => createRedisBroker(bad as unknown as RedisConnection));
      expect(error.code, JSON.stringify(bad)).toBe('SSE_INVALID_OPTION');
    }
  });

  it('says what is wrong with a url', () => {
    expect(errorOf(() => createRedisBroker({ url: 42 } as unknown as RedisConnection)).message).toMatch(
      /must be a string/,
    );
    expect(errorOf(() => createRedisBroker({ url: 'not a url' })).message).toMatch(/not a valid URL/);
    expect(errorOf(() => createRedisBroker({ url: 'http://127.0.0.1:6379' })).message).toMatch(
      /redis:\/\/ or rediss:\/\//,
    );
  });

  it('takes a Sentinel master name and sentinels, and says what is wrong with them', () => {
    const sentinelRootNodes = [{ url: 'redis://127.0.0.1:1' }];
    expect(createRedisBroker({ sentinel: { name: 'mymaster', sentinelRootNodes } }).key).toBe('ssekit:events');
    expect(
      createRedisBroker({ sentinel: { name: 'mymaster', sentinelRootNodes, nodeUrl: 'rediss://u:p@x/2' } }).key,
    ).toBe('ssekit:events');
    const bad: [unknown, RegExp][] = [
      [{ sentinel: { name: 'mymaster', sentinelRootNodes }, url }, /`sentinel` alone/],
      [{ sentinel: { name: 'mymaster', sentinelRootNodes: [] } }, /at least one sentinel/],
      [{ sentinel: { sentinelRootNodes } }, /sentinel\.name/],
      [{ sentinel: { name: '', sentinelRootNodes } }, /sentinel\.name/],
      [{ sentinel: { name: 'm', sentinelRootNodes: [{ url: 'http://x' }] } }, /sentinelRootNodes\[0\]\.url/],
      [{ sentinel: { name: 'm', sentinelRootNodes, nodeUrl: 'x' } }, /sentinel\.nodeUrl/],
      [{ sentinel: { name: 'm', sentinelRootNodes, password: 'x' } }, /Unknown option `sentinel\.password`/],
    ];
    for (const [connection, message] of bad) {
      const error = errorOf(() => createRedisBroker(connection as RedisConnection));
      expect(error.code, JSON.stringify(connection)).toBe('SSE_INVALID_OPTION');
      expect(error.message).toMatch(message);
    }
  });

  it('takes a node-redis client as a template, and refuses other objects', () => {
    expect(createRedisBroker({ client: createClient({ url }) }).key).toBe('ssekit:events');
    const notAClient = errorOf(() => createRedisBroker({ client: { get: () => 1 } } as unknown as RedisConnection));
    expect(notAClient.message).toMatch(/node-redis v5 client/);
  });

  it('rejects unknown options, so a typo does not fall back to a default', () => {
    const error = errorOf(() => createRedisBroker({ url }, { maxlength: 5 } as RedisBrokerOptions));
    expect(error.code).toBe('SSE_INVALID_OPTION');
    expect(error.message).toMatch(/Unknown option `maxlength`.*maxLength/);
  });

  it('checks every option with a typed error', () => {
    const cases: [RedisBrokerOptions, RegExp, string][] = [
      [{ key: '' }, /`key`/, 'SseTypeError'],
      [{ key: 'a\nb' }, /`key`/, 'SseTypeError'],
      [{ maxLength: 0 }, /`maxLength`/, 'SseRangeError'],
      [{ maxLength: 1.5 }, /`maxLength`/, 'SseRangeError'],
      [{ maxAge: -1 }, /`maxAge`/, 'SseRangeError'],
      [{ blockTimeout: 0 }, /`blockTimeout`/, 'SseRangeError'],
      [{ commandTimeout: Number.NaN }, /`commandTimeout`/, 'SseRangeError'],
      [{ batchSize: '10' as unknown as number }, /`batchSize`/, 'SseRangeError'],
      [{ streamTombstone: 0 }, /`streamTombstone`/, 'SseRangeError'],
      [{ streamReaderLease: 299 }, /`streamReaderLease`.*at least 300/, 'SseRangeError'],
      [{ streamReaderLease: 1.5 }, /`streamReaderLease`/, 'SseRangeError'],
      [{ streamProducerLease: 299 }, /`streamProducerLease`.*at least 300/, 'SseRangeError'],
      [{ resetEvent: '' }, /`resetEvent`/, 'SseTypeError'],
      [{ resetEvent: 'a\nb' }, /`event`/, 'SseTypeError'],
      [{ logger: {} as never }, /`logger`/, 'SseTypeError'],
    ];
    for (const [options, message, name] of cases) {
      const error = errorOf(() => createRedisBroker({ url }, options));
      expect(error.code, JSON.stringify(options)).toMatch(/^SSE_INVALID_(OPTION|FIELD)$/);
      expect(error.message).toMatch(message);
      expect(error.name).toBe(name);
    }
  });

  it('accepts the documented options', () => {
    const broker = createRedisBroker(
      { url },
      {
        key: 'app:events',
        maxLength: 50_000,
        maxAge: 3_600_000,
        blockTimeout: 2000,
        commandTimeout: 3000,
        batchSize: 100,
        resetEvent: false,
        logger: console,
      },
    );
    expect(broker.key).toBe('app:events');
  });

  it('opens no connection until a hub starts it or something is published', async () => {
    let connections = 0;
    const server = await listen(
      net.createServer((socket) => {
        connections++;
        socket.destroy();
      }),
    );
    const broker = createRedisBroker({ url: `redis://127.0.0.1:${server.port}` });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connections).toBe(0);
    expect(broker.connected).toBe(false);
    await broker.close();
    await server.close();
  });
});
