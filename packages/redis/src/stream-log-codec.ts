import { SseError, SseRangeError, SseTypeError } from '@ssekit/core';
import type { LogAppend, LogEntry, StreamEnd } from '@ssekit/core/broker';

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

/** Longest stream key accepted, in characters. */
export const MAX_STREAM_KEY_LENGTH = 512;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Validates a stream key: what every method of the Redis stream log takes first. */
export function checkStreamKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_STREAM_KEY_LENGTH || CONTROL.test(key)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      `A resumable stream key must be a non-empty string of at most ${MAX_STREAM_KEY_LENGTH} characters without control characters, got ${typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : typeof key}.`,
    );
  }
  return key;
}

const END_REASONS = new Set(['cancelled', 'abandoned', 'producer-error', 'too-large', 'lost']);

/** Validates an entry to append; returns the name of its end (`done`, an error reason) or '' when it ends nothing. */
export function checkAppend(entry: unknown): string {
  const e = entry as Partial<LogEntry> | null;
  if (e === null || typeof e !== 'object') {
    throw new SseTypeError('SSE_INVALID_FIELD', 'A stream log entry must be an object with a string `data`.');
  }
  if (typeof e.data !== 'string') {
    throw new SseTypeError('SSE_INVALID_DATA', 'A stream log entry needs its `data` serialized to a string.');
  }
  if (e.event !== undefined && (typeof e.event !== 'string' || e.event === '' || /[\r\n]/.test(e.event))) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'A stream log entry `event` must be a non-empty name without newlines.',
    );
  }
  if (e.end === undefined) return '';
  const end = e.end as Partial<StreamEnd> & { reason?: unknown; message?: unknown };
  if (end.type === 'done') return 'done';
  if (end.type === 'error' && typeof end.reason === 'string' && END_REASONS.has(end.reason)) {
    if (end.message !== undefined && typeof end.message !== 'string') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'A stream end `message` must be a string.');
    }
    return end.reason;
  }
  throw new SseTypeError(
    'SSE_INVALID_FIELD',
    "A stream log entry's `end` must be { type: 'done' } or { type: 'error', reason } with a reason of cancelled, abandoned, producer-error, too-large or lost.",
  );
}

/** Validates the bounds given to `create()`. */
export function checkLimits(limits: unknown): { maxEvents: number; maxBytes: number; ttl: number } {
  const l = limits as Record<string, unknown> | null;
  if (l === null || typeof l !== 'object') {
    throw new SseTypeError('SSE_INVALID_OPTION', 'A resumable stream needs its limits: { maxEvents, maxBytes, ttl }.');
  }
  const out: Record<string, number> = {};
  for (const name of ['maxEvents', 'maxBytes', 'ttl'] as const) {
    const value = l[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new SseRangeError(
        'SSE_INVALID_OPTION',
        `Resumable stream limit \`${name}\` must be a positive whole number, got ${String(value)}.`,
      );
    }
    out[name] = value;
  }
  return out as { maxEvents: number; maxBytes: number; ttl: number };
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

// The terminal entries the log writes itself, in the wire format of docs/streaming-responses.md (`ssekit-error`).
const ERROR_EVENT = 'ssekit-error';

/** A terminal error entry for `reason`, as the log appends it on a cancel or a bound, and as followers get on a loss. */
export function terminalEntry(reason: 'cancelled' | 'too-large' | 'lost'): LogAppend & { end: StreamEnd } {
  return { event: ERROR_EVENT, data: JSON.stringify({ reason }), end: { type: 'error', reason } };
}
