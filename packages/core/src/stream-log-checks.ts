import { SseRangeError, SseTypeError } from './errors.js';
import { assertStreamKey } from './resumable-protocol.js';
import type { LogEntry, ProducerLease, StreamEnd, StreamLogLimits } from './stream-log-contract.js';

// The input checks every StreamLog makes, shared so that the in-memory log and @ssekit/redis refuse the same things
// with the same errors.

/** Validates a stream key (what every method of a stream log takes first); returns it. */
export function checkStreamKey(key: unknown): string {
  assertStreamKey(key);
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
export function checkLimits(limits: unknown): StreamLogLimits {
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
  return out as unknown as StreamLogLimits;
}

/** Validates the position given to `read()`: a whole number >= 0 (0 reads from the first entry). */
export function checkPosition(after: unknown): number {
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw new SseTypeError('SSE_INVALID_FIELD', `read() takes a position (a whole number >= 0), got ${String(after)}.`);
  }
  return after;
}

/** Validates a listener given to `follow()` or `onCancel()`. */
export function checkListener(listener: unknown, method: 'follow' | 'onCancel'): void {
  if (typeof listener !== 'function') {
    throw new SseTypeError('SSE_INVALID_FIELD', `${method}() takes a listener function.`);
  }
}

/** Validates the leases given to `renew()`: an array of `{ key, generation }`, each generation as `create()` answered. */
export function checkLeases(streams: unknown): readonly ProducerLease[] {
  if (!Array.isArray(streams)) {
    throw new SseTypeError('SSE_INVALID_FIELD', 'renew() takes an array of { key, generation }.');
  }
  for (const item of streams as { key?: unknown; generation?: unknown }[]) {
    checkStreamKey(item?.key);
    if (typeof item.generation !== 'string' || item.generation === '') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'renew() needs the generation create() answered for each stream.');
    }
  }
  return streams as ProducerLease[];
}

/** Validates the stream keys given to `check()`. */
export function checkStreamKeys(keys: unknown): readonly string[] {
  if (!Array.isArray(keys)) throw new SseTypeError('SSE_INVALID_FIELD', 'check() takes an array of stream keys.');
  for (const key of keys) checkStreamKey(key);
  return keys as string[];
}
