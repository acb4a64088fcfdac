import { SseError } from '@ssekit/core';
import { endEntry, type LogAppend, type LogEntry, type StreamEnd } from '@ssekit/core/broker';

// How a resumable stream lives in Redis: its key names, and the text of one log entry in its list and in the pub/sub
// message that announces it.

/** The Redis names of one resumable stream. */
export interface StreamKeys {
  /** HASH: generation, owner, bounds, counts, how it ended. Exists exactly while the stream does. */
  readonly meta: string;
  /** LIST: the entries, oldest first; entry `seq` is at index `seq - 1`. */
  readonly log: string;
  /** STRING: outlives the stream by `streamTombstone` ms, so that an expired key reads as `expired`. */
  readonly tomb: string;
  /** ZSET: instances with a reader of this stream, scored by when their lease ends (Redis' clock, ms). */
  readonly readers: string;
  /** Pub/sub channel of new entries. */
  readonly channel: string;
}

/**
 * Every name of one stream shares the hash tag `{<key>}`, so that a script touching several of them stays within
 * one Redis Cluster slot. The tag is the first `{…}` of a name, so a broker `key` with braces of its own puts every
 * stream on that one slot instead.
 */
export function streamKeys(prefix: string, key: string): StreamKeys {
  const base = `${prefix}:rs:{${key}}`;
  return {
    meta: `${base}:m`,
    log: `${base}:l`,
    tomb: `${base}:t`,
    readers: `${base}:r`,
    channel: `${base}:c`,
  };
}

/** The channel every instance hears cancels on: `<instance id> <stream key>`. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:rs:cancel`;
}

/**
 * The text of one entry in the list: a JSON array `[data]`, `[data, event]` or `[data, event|null, end]`, a few
 * bytes over the data itself. The `seq` is not stored: it is the position in the list.
 */
export function encodeEntry(entry: LogAppend & { readonly end?: StreamEnd | undefined }): string {
  if (entry.end !== undefined) return JSON.stringify([entry.data, entry.event ?? null, entry.end]);
  return JSON.stringify(entry.event === undefined ? [entry.data] : [entry.data, entry.event]);
}

/** Reads back what {@link encodeEntry} wrote; throws when Redis holds something else under the stream's key. */
export function decodeEntry(seq: number, text: unknown): LogEntry {
  let parsed: unknown;
  try {
    parsed = typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && typeof parsed[0] === 'string') {
    const [data, event, end] = parsed as [string, unknown, unknown];
    const eventOk = event === undefined || event === null || typeof event === 'string';
    const endOk = end === undefined || (end !== null && typeof end === 'object');
    if (eventOk && endOk) {
      const out: { seq: number; data: string; event?: string; end?: StreamEnd } = { seq, data };
      if (typeof event === 'string') out.event = event;
      if (end !== undefined) out.end = end as StreamEnd;
      return out;
    }
  }
  throw new SseError(
    'SSE_BROKER_UNAVAILABLE',
    `Redis holds a malformed resumable-stream entry (seq ${seq}); something other than ssekit wrote under the broker's key prefix.`,
    { statusCode: 503 },
  );
}

/** A terminal error entry for `reason`, as the log appends it on a cancel or a bound, and as followers get on a loss. */
export function terminalEntry(reason: 'cancelled' | 'too-large' | 'lost'): LogAppend & { end: StreamEnd } {
  return endEntry({ type: 'error', reason });
}
