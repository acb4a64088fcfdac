/**
 * `@ssekit/redis`: many instances, one hub. A broker (the `Broker` of `@ssekit/core`) on a Redis Stream that fans `send`, `publish` and
 * `broadcast` out to every instance, and resumes a client's `Last-Event-ID` on any of them.
 *
 * ```ts
 * import { createHub } from '@ssekit/core';
 * import { createRedisBroker } from '@ssekit/redis';
 *
 * const hub = createHub({ broker: createRedisBroker({ url: 'redis://127.0.0.1:6379' }) });
 * ```
 *
 * @packageDocumentation
 */
export { createRedisBroker, RedisBroker } from './broker.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_BLOCK_TIMEOUT,
  DEFAULT_COMMAND_TIMEOUT,
  DEFAULT_IDEMPOTENCY_WINDOW,
  DEFAULT_KEY,
  DEFAULT_MAX_LENGTH,
  DEFAULT_STREAM_READER_LEASE,
  DEFAULT_STREAM_TOMBSTONE,
  type RedisBrokerOptions,
  type RedisClientTemplate,
  type RedisClusterConnection,
  type RedisConnection,
  type RedisSentinelConnection,
} from './options.js';
export { RedisStreamLog } from './stream-log.js';
