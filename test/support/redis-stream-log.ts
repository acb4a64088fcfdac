import { createRedisBroker, type RedisBroker, type RedisBrokerOptions, type RedisConnection } from '@ssekit/redis';
import { recordingLogger } from './logger.js';
import { redisCommand, uniqueKey } from './redis.js';
import type { StreamLogHarness } from './stream-log-contract.js';

/**
 * The stream-log contract's harness for Redis brokers on one broker key, each opened on `connection` (a Sentinel
 * group, a cluster). `masterOf(key)` names the server holding a key, to count what a stream left behind: a stream's
 * keys share its hash tag, so they all live where its list does.
 */
export function brokerStreamsHarness(
  connection: RedisConnection,
  options: { lease: number; tombstone: number; partitions?: number },
  masterOf: (key: string) => Promise<string>,
): StreamLogHarness & { prefix: string } {
  const prefix = uniqueKey('streams');
  const logger = recordingLogger();
  const opened: RedisBroker[] = [];
  const brokerOptions: RedisBrokerOptions = {
    key: prefix,
    logger,
    streamTombstone: options.tombstone,
    streamReaderLease: options.lease,
    streamProducerLease: options.lease,
    ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
  };
  return {
    prefix,
    lease: options.lease,
    tombstone: options.tombstone,
    async open() {
      const broker = createRedisBroker(connection, brokerOptions);
      opened.push(broker);
      return broker.streams;
    },
    async leftovers(key) {
      const base = `${prefix}:rs:{${key}}`;
      const master = await masterOf(`${base}:l`);
      let left = 0;
      for (const suffix of ['l', 'm', 't', 'r']) {
        left += Number(await redisCommand(master, ['EXISTS', `${base}:${suffix}`]));
      }
      return left;
    },
    async close() {
      for (const broker of opened.splice(0)) await broker.close();
    },
  };
}
