import { decodeEntries, type StreamEntry } from './codec.js';
import type { Connection } from './connection.js';
import { unavailable } from './errors.js';

/**
 * Up to `count` entries of the stream `key` from `start` to `end` (`XRANGE`), read on `publisher`.
 * @throws SseError `SSE_BROKER_UNAVAILABLE` when Redis cannot be read.
 */
export async function xrange(
  publisher: Connection,
  key: string,
  start: string,
  end: string,
  count: number,
): Promise<StreamEntry[]> {
  let reply: unknown;
  try {
    reply = await publisher.command(['XRANGE', key, start, end, 'COUNT', String(count)]);
  } catch (error) {
    throw unavailable(error, publisher.isReady ? 'sent' : 'offline');
  }
  return decodeEntries(reply);
}
