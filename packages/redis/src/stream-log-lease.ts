import { checkLeases, checkStreamKeys, type ProducerLease } from '@ssekit/core/broker';
import type { Connection } from './connection.js';
import { encodeEntry, type StreamKeys, terminalEntry } from './stream-log-codec.js';
import { CHECK, RENEW, runScript, unexpectedReply } from './stream-log-script.js';

// The producer leases of the Redis stream log: renewed by the instance that produces a stream, checked by the
// instances that read it (RedisStreamLog's `renew()` and `check()`).

/** Renews the producer lease of each stream: one script per stream, all sent at once (node-redis pipelines them). */
export async function renewLeases(
  connection: Connection,
  keys: (key: string) => StreamKeys,
  streams: readonly ProducerLease[],
): Promise<void> {
  checkLeases(streams);
  await Promise.all(
    streams.map(({ key, generation }) =>
      runScript(
        connection,
        RENEW,
        [keys(key).meta],
        [generation],
        `renewing the producer lease of stream ${JSON.stringify(key)}`,
      ),
    ),
  );
}

/**
 * Checks the producer of each stream, one script per stream, all sent at once: one whose lease lapsed gets its
 * `lost` entry in Redis (which reaches followers everywhere over pub/sub); `gone` is called for a stream no longer
 * in Redis.
 */
export async function checkProducers(
  connection: Connection,
  keys: (key: string) => StreamKeys,
  streams: readonly string[],
  gone: (key: string) => void,
): Promise<void> {
  checkStreamKeys(streams);
  const lost = encodeEntry(terminalEntry('lost'));
  await Promise.all(
    streams.map(async (key) => {
      const k = keys(key);
      const reply = await runScript(
        connection,
        CHECK,
        [k.meta, k.log, k.tomb],
        [lost, k.channel],
        `checking the producer of stream ${JSON.stringify(key)}`,
      );
      if (reply === 'gone') gone(key);
      else if (reply !== 'ended' && reply !== 'live' && reply !== 'lost') throw unexpectedReply('check', reply);
    }),
  );
}
