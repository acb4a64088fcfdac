import type { LogEntry } from '@ssekit/core/broker';
import type { Connection } from './connection.js';
import { decodeEntry, type StreamKeys } from './stream-log-codec.js';
import { READ, runScript, unexpectedReply } from './stream-log-script.js';

/** What {@link readStream} found: a stream's entries after a position, or why there are none. */
export type StreamRead =
  | {
      status: 'ok';
      generation: string;
      owner: string | undefined;
      entries: LogEntry[];
      /** The newest seq (0 for none) and whether the stream has ended, as of the last page. */
      head: number;
      ended: boolean;
    }
  | { status: 'unknown' | 'expired' };

/**
 * Every entry of stream `key` (keys `k`) after `after`, read in pages of `batch`; starts over if the stream is
 * replaced meanwhile.
 */
export async function readStream(
  connection: Connection,
  k: StreamKeys,
  key: string,
  after: number,
  batch: number,
): Promise<StreamRead> {
  let entries: LogEntry[] = [];
  let generation: string | undefined;
  let owner: string | undefined;
  for (;;) {
    const reply = await runScript(
      connection,
      READ,
      [k.meta, k.log, k.tomb],
      [String(after + entries.length), String(batch)],
      `reading stream ${JSON.stringify(key)}`,
    );
    if (!Array.isArray(reply)) throw unexpectedReply('read', reply);
    const status = reply[0];
    if (status === 'unknown' || status === 'expired') return { status };
    const [, g, o, list, length, end] = reply as [unknown, unknown, unknown, unknown, unknown, unknown];
    if (
      status !== 'ok' ||
      typeof g !== 'string' ||
      typeof o !== 'string' ||
      !Array.isArray(list) ||
      typeof length !== 'number' ||
      typeof end !== 'string'
    ) {
      throw unexpectedReply('read', reply);
    }
    if (generation !== undefined && g !== generation) entries = [];
    generation = g;
    owner = o === '-' ? undefined : o.slice(1);
    for (const text of list) entries.push(decodeEntry(after + entries.length + 1, text));
    if (list.length < batch) return { status: 'ok', generation, owner, entries, head: length, ended: end !== '' };
  }
}

/** Generation and entry count of a stream now, for a new follower (sent before any await). */
export async function streamPosition(
  connection: Connection,
  k: StreamKeys,
): Promise<{ generation: string | undefined; count: number }> {
  const reply = await connection.command(['HMGET', k.meta, 'g', 'n']);
  if (!Array.isArray(reply)) throw unexpectedReply('position', reply);
  const [generation, count] = reply as [unknown, unknown];
  return {
    generation: typeof generation === 'string' ? generation : undefined,
    count: typeof count === 'string' ? Number(count) : 0,
  };
}
